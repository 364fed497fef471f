// What is retried, for how long, where dead letters go when D1 is down, and
// what the retention purge may take: nothing acknowledged or owed disappears.
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import wranglerToml from "../../wrangler.toml?raw";
import { DAY_MS } from "../../src/domain/time";
import type { IngestMessage } from "../../src/domain/types";
import worker from "../../src/index";
import { EXPIRED_GRACE_MS } from "../../src/domain/delivery";
import { retention, RETENTION_GRID_MS, runMaintenance } from "../../src/maintenance/cron";
import { RETENTION_START, retentionStep } from "../../src/store/retention";
import { WebhookFlow } from "../../src/pipeline/flow";
import { QUEUES } from "../../src/pipeline/queues";
import { park } from "../../src/store/parked";
import { d1Double } from "./d1-double";
import { consumerSetting } from "./wrangler-config";
import { bucketWith } from "./fakes";
import { call, ingestMessage, podiumBody, podiumHeaders, post, recordingQueue } from "./helpers";
import { pipeline, received, RUN, uniqueKey } from "./pipeline";
import { deliveryRows, eventStored, setEvent } from "./rows";

const HOUR_S = 3600;
/** Queues deletes a message this long after it was first sent, retried or not. */
const QUEUE_RETENTION_S = 4 * 24 * HOUR_S;


/** A D1 binding that is down: every call fails. */
const downDb = d1Double({ down: true }).db;

const parkedKey = (queue: string, messageId: string) => `dead-letters/${queue}/${messageId}`;

describe("ingest retries span hours, and a dead letter D1 cannot take waits in R2", () => {
  it("loses nothing while D1 fails for longer than the whole retry window, and stores the event once D1 is back", async () => {
    const maxRetries = consumerSetting("edgehook-ingest", "max_retries");
    expect(maxRetries).toBeDefined();
    expect(maxRetries).toBeLessThanOrEqual(100);
    expect(consumerSetting("edgehook-ingest-dlq", "max_retries"), "edgehook-ingest-dlq max_retries").toBeGreaterThanOrEqual(10);

    const down = pipeline({ DB: downDb });
    // A body too large for one queue message: claim-checked in R2 for the whole ride.
    const body = podiumBody().replace('"body":"hello"', `"body":"${"x".repeat(150_000)}"`);
    const res = await call(post("/webhooks/podium", body, await podiumHeaders(body)), { INGEST: down.queues.ingest });
    expect(res.status).toBe(202);
    const { eventId } = (await res.json()) as { eventId: string };
    const [msg] = down.queues.ingest.sent.splice(0);
    expect(msg?.bodyKey).toEqual(expect.any(String));

    // Every delivery of the message the queue makes fails; the delays asked for add up to hours.
    let window = 0;
    for (let attempt = 1; attempt <= maxRetries! + 1; attempt++) {
      const r = await down.runQueue<IngestMessage>("edgehook-ingest", [msg!], attempt);
      expect(r.acked).toHaveLength(0);
      expect(r.retried).toHaveLength(1);
      if (attempt <= maxRetries!) window += r.retryDelays[0] ?? 0;
    }
    expect(window).toBeGreaterThanOrEqual(12 * HOUR_S);
    expect(window).toBeLessThan(QUEUE_RETENTION_S - 12 * HOUR_S);

    // The queue moves it to the DLQ; D1 is still down, so it is parked in R2 and acknowledged.
    const dlqId = `dlq-${uniqueKey()}`;
    const dead = await down.runQueue<IngestMessage>("edgehook-ingest-dlq", [msg!], 1, dlqId);
    expect(dead.acked).toHaveLength(1);
    const key = parkedKey("edgehook-ingest-dlq", `${dlqId}-0`);
    expect(await env.BODIES.head(key)).not.toBeNull();
    // Counted while it waits.
    const normal = pipeline();
    expect((await normal.api("GET", "/v1/stats")).json.parkedDeadLetters).toBeGreaterThanOrEqual(1);
    // The claim-checked body stays while its message is parked.
    expect(await env.BODIES.head(msg!.bodyKey!)).not.toBeNull();

    // The cron, still without D1, puts it back on the ingest queue and only then lets go of it.
    const report = await runMaintenance(down.env);
    expect(report.unparked).toBeGreaterThanOrEqual(1);
    expect(down.queues.ingest.sent).toContainEqual(msg);
    expect(await env.BODIES.head(key)).toBeNull();
    expect(await env.BODIES.head(msg!.bodyKey!)).not.toBeNull();

    // D1 is back: the next delivery of the message stores the event, byte for byte, once.
    const stored = await normal.runIngest(down.queues.ingest.sent.splice(0).filter((m) => m.eventId === eventId));
    expect(stored.acked).toHaveLength(1);
    const event = await normal.api("GET", `/v1/events/${eventId}`);
    expect(event.status).toBe(200);
    expect(event.json.body).toBe(body);
    const rows = { n: (await eventStored(eventId)) ? 1 : 0 };
    expect(rows?.n).toBe(1);
    expect(await env.BODIES.head(msg!.bodyKey!)).toBeNull();
  });

  it("waits before retrying an invocation that fails outright: every consumer has a retry_delay, the ingest one's spanning hours", () => {
    expect(wranglerToml.split("[[queues.consumers]]").length - 1).toBe(Object.values(QUEUES).length);
    for (const queue of Object.values(QUEUES)) {
      const delay = consumerSetting(queue, "retry_delay");
      expect(delay, `${queue} retry_delay`).toBeGreaterThanOrEqual(30);
      expect(delay, `${queue} retry_delay`).toBeLessThanOrEqual(12 * HOUR_S); // the longest Queues delays a message
    }
    const span = consumerSetting("edgehook-ingest", "retry_delay")! * consumerSetting("edgehook-ingest", "max_retries")!;
    expect(span).toBeGreaterThanOrEqual(2 * HOUR_S);
    expect(span).toBeLessThan(QUEUE_RETENTION_S - 12 * HOUR_S);
  });

  it("records a delivery dead letter left parked in R2 (by the deliveries queue's consumer of earlier versions) once D1 is back", async () => {
    const down = pipeline({ DB: downDb });
    const normal = pipeline();
    const deliveryId = `dlv_parked_${uniqueKey()}`;
    const letter = { deliveryId, eventId: "evt_x", webhookUid: "wh_x", attempts: 15, lastError: "HTTP 500" };
    const id = `dlq-${uniqueKey()}`;
    await park(env.BODIES, { queue: "edgehook-deliveries-dlq", messageId: id, attempts: 1, parkedAt: Date.now(), body: letter });
    const key = parkedKey("edgehook-deliveries-dlq", id);
    expect(await env.BODIES.head(key)).not.toBeNull();

    // While D1 stays down, the cron keeps it and reports it.
    const still = await runMaintenance(down.env);
    expect(still.parked).toBeGreaterThanOrEqual(1);
    expect(await env.BODIES.head(key)).not.toBeNull();

    const back = await runMaintenance(normal.env);
    expect(back.unparked).toBeGreaterThanOrEqual(1);
    expect(await env.BODIES.head(key)).toBeNull();
    const letters = (await normal.api("GET", "/v1/dead-letters?open=true")).json.data.filter(
      (d: { deliveryId: string }) => d.deliveryId === deliveryId,
    );
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({ queue: "edgehook-deliveries-dlq", reason: expect.stringContaining("HTTP 500") });
  });

  it("sets aside a parked object it cannot take back, so it never blocks the letters behind it", async () => {
    const normal = pipeline();
    const id = uniqueKey();
    // Sorted first: an object that is no letter, and an ingest letter that is no ingest message.
    const unreadable = parkedKey("edgehook-ingest-dlq", `0-${id}`);
    await env.BODIES.put(unreadable, "not a letter");
    const odd = `0-${id}-odd`;
    await park(env.BODIES, { queue: "edgehook-ingest-dlq", messageId: odd, attempts: 1, parkedAt: Date.now(), body: { not: "an ingest message" } });
    const fine = ingestMessage();
    await park(env.BODIES, { queue: "edgehook-ingest-dlq", messageId: `1-${id}`, attempts: 1, parkedAt: Date.now(), body: fine });

    await runMaintenance(normal.env);
    for (const key of [unreadable, parkedKey("edgehook-ingest-dlq", odd), parkedKey("edgehook-ingest-dlq", `1-${id}`)]) {
      expect(await env.BODIES.head(key), key).toBeNull();
    }
    // Kept for a look by hand, byte for byte.
    expect(await (await env.BODIES.get(`dead-letters-set-aside/edgehook-ingest-dlq/0-${id}`))?.text()).toBe("not a letter");
    expect(await env.BODIES.head(`dead-letters-set-aside/edgehook-ingest-dlq/${odd}`)).not.toBeNull();
    // The letter behind them went back on the ingest queue.
    expect(normal.queues.ingest.sent.map((m) => m.eventId)).toContain(fine.eventId);
  });

  it("records the delivery letters it holds even when the ingest queue refuses the ingest ones", async () => {
    const p = pipeline({
      INGEST: recordingQueue(true),
    });
    const id = uniqueKey();
    await park(env.BODIES, { queue: "edgehook-ingest-dlq", messageId: `0-${id}`, attempts: 1, parkedAt: Date.now(), body: ingestMessage() });
    const deliveryId = `dlv_parked_${id}`;
    const letter = { deliveryId, eventId: "evt_x", webhookUid: "wh_x", attempts: 15, lastError: "HTTP 500" };
    await park(env.BODIES, { queue: "edgehook-deliveries-dlq", messageId: `1-${id}`, attempts: 1, parkedAt: Date.now(), body: letter });

    const report = await runMaintenance(p.env);
    expect(report.failed).toContain("unpark");
    expect(await env.BODIES.head(parkedKey("edgehook-ingest-dlq", `0-${id}`))).not.toBeNull(); // kept for the next run
    expect(await env.BODIES.head(parkedKey("edgehook-deliveries-dlq", `1-${id}`))).toBeNull();
    const letters = (await p.api("GET", "/v1/dead-letters?open=true")).json.data.filter((d: { deliveryId: string }) => d.deliveryId === deliveryId);
    expect(letters).toHaveLength(1);
    await env.BODIES.delete(parkedKey("edgehook-ingest-dlq", `0-${id}`));
  });

  it("puts parked ingest letters back on the queue while D1 is down, however many delivery letters (which need D1) sort before them", async () => {
    const down = pipeline({ DB: downDb });
    const id = uniqueKey();
    // A page's worth of earlier versions' delivery letters: their queue's name sorts before the ingest one's.
    const olds = Array.from({ length: 50 }, (_, i) => `${id}-${String(i).padStart(2, "0")}`);
    for (const m of olds) {
      const body = { deliveryId: `dlv_parked_${m}`, eventId: "evt_x", webhookUid: "wh_x", attempts: 15, lastError: "HTTP 500" };
      await park(env.BODIES, { queue: "edgehook-deliveries-dlq", messageId: m, attempts: 1, parkedAt: Date.now(), body });
    }
    const message = ingestMessage();
    await park(env.BODIES, { queue: "edgehook-ingest-dlq", messageId: `blocked-${id}`, attempts: 1, parkedAt: Date.now(), body: message });

    try {
      const report = await runMaintenance(down.env);
      expect(down.queues.ingest.sent.map((m) => m.eventId)).toContain(message.eventId);
      expect(await env.BODIES.head(parkedKey("edgehook-ingest-dlq", `blocked-${id}`))).toBeNull();
      expect(report.failed).toContain("unpark"); // the delivery letters' recording, D1 being down
      // The delivery letters wait for D1.
      for (const m of olds) expect(await env.BODIES.head(parkedKey("edgehook-deliveries-dlq", m)), m).not.toBeNull();
    } finally {
      // Not left for the next tests' runs to find first.
      await env.BODIES.delete(olds.map((m) => parkedKey("edgehook-deliveries-dlq", m)));
    }
  });

  it("does not open again, from an earlier version's parked letter, the closed letter of a delivery retried since; one still failed is recorded", async () => {
    const p = pipeline({ RETRY_BASE_SECONDS: "0" });
    const { org } = await p.webhookOn("fail", { maxAttempts: 1 });
    const [retried, failed, lettered] = [
      await p.ingest(podiumBody({ organizationUid: org })),
      await p.ingest(podiumBody({ organizationUid: org })),
      await p.ingest(podiumBody({ organizationUid: org })),
    ];
    await p.deliver();
    const openLetters = async () => (await p.api("GET", "/v1/dead-letters?open=true&limit=100")).json.data;
    const letterOf = async (eventId: string) => (await openLetters()).find((d) => d.eventId === eventId)!;
    const [a, b, c] = [await letterOf(retried), await letterOf(failed), await letterOf(lettered)];
    // c's letter is of its own (later) failure: the old one must not write over it.
    await env.DB.prepare("DELETE FROM dead_letters WHERE seq = ?").bind(b.id).run();
    // Retried by hand: its letter closes, and its delivery is owed again.
    expect((await p.api("POST", `/v1/deliveries/${a.deliveryId}/retry`)).status).toBe(202);
    expect((await openLetters()).some((d) => d.id === a.id)).toBe(false);

    // An earlier version parked each failure in R2 (its D1 down then): the maintenance run takes both out.
    const id = uniqueKey();
    for (const [n, l] of [a, b, c].entries()) {
      const body = { deliveryId: l.deliveryId, eventId: l.eventId, webhookUid: "wh_x", attempts: 15, lastError: "OLD FAILURE" };
      await park(env.BODIES, { queue: "edgehook-deliveries-dlq", messageId: `old-${n}-${id}`, attempts: 5, parkedAt: Date.now(), body });
    }
    await runMaintenance(p.env);
    for (const n of [0, 1, 2]) expect(await env.BODIES.head(parkedKey("edgehook-deliveries-dlq", `old-${n}-${id}`))).toBeNull();
    const open = await openLetters();
    expect(open.some((d) => d.id === a.id)).toBe(false);
    // b, failed with no letter (this test took it out as D1 never lost it): the old failure is its letter.
    expect(open.filter((d) => d.deliveryId === b.deliveryId)).toMatchObject([{ reason: expect.stringContaining("OLD FAILURE") }]);
    expect(open.filter((d) => d.deliveryId === c.deliveryId)).toEqual([c]);
  });

  it("records parked delivery letters while the ingest queue refuses a page and more of ingest letters", async () => {
    const p = pipeline({ INGEST: recordingQueue(true) });
    const id = uniqueKey();
    const ingest = Array.from({ length: 51 }, (_, i) => `${id}-${String(i).padStart(2, "0")}`);
    for (const m of ingest) await park(env.BODIES, { queue: "edgehook-ingest-dlq", messageId: m, attempts: 1, parkedAt: Date.now(), body: ingestMessage() });
    const deliveryId = `dlv_parked_${id}`;
    const letter = { deliveryId, eventId: "evt_x", webhookUid: "wh_x", attempts: 15, lastError: "HTTP 500" };
    await park(env.BODIES, { queue: "edgehook-deliveries-dlq", messageId: `d-${id}`, attempts: 1, parkedAt: Date.now(), body: letter });
    try {
      const report = await runMaintenance(p.env);
      expect(report.failed).toContain("unpark");
      expect(await env.BODIES.head(parkedKey("edgehook-deliveries-dlq", `d-${id}`))).toBeNull();
      const letters = (await p.api("GET", "/v1/dead-letters?open=true")).json.data.filter((d: { deliveryId: string }) => d.deliveryId === deliveryId);
      expect(letters).toHaveLength(1);
    } finally {
      await env.BODIES.delete(ingest.map((m) => parkedKey("edgehook-ingest-dlq", m)));
    }
  });

  it("retries a dead letter that neither D1 nor R2 can take", async () => {
    const p = pipeline({
      DB: downDb,
      BODIES: bucketWith({ put: async () => Promise.reject(new Error("R2 down (test)")) }),
    });
    const res = await p.runQueue("edgehook-ingest-dlq", [ingestMessage()], 1, `dead-${uniqueKey()}`);
    expect(res.acked).toHaveLength(0);
    expect(res.retried).toHaveLength(1);
  });
});

describe("the retention purge never takes a delivery still owed", () => {
  const statuses = async (eventId: string) =>
    (await deliveryRows(eventId)).map((r) => [r.webhook_uid, r.status]);

  it("reports each delivery it expired, however few webhooks they belong to", async () => {
    const p = pipeline();
    const { org } = await p.webhookOn("ok");
    const ids = [await p.ingest(podiumBody({ organizationUid: org })), await p.ingest(podiumBody({ organizationUid: org }))];
    for (const id of ids) await setEvent(id, "received_at = received_at - 30 * ?1", DAY_MS);
    const now = Date.now();
    const step = await retentionStep(env.DB, { cutoff: now - 20 * DAY_MS, graceCutoff: now - DAY_MS, from: RETENTION_START, limit: 500, now });
    expect(step.expired).toBe(2);
    expect(step.purged).toBe(0); // they stay visible for the grace period
    expect((await Promise.all(ids.map(deliveryRows))).flat().map((r) => r.status)).toEqual(["expired", "expired"]);
  });

  it("settles held and pending deliveries as expired, keeps them visible for a grace period, then purges", async () => {
    const p = pipeline({ RETENTION_DAYS: "2" });
    const key = uniqueKey();
    const org = `org-${key}`;
    const held = await p.createWebhook({ url: `https://downstream.test/ok/${key}`, eventTypes: ["*"], organizationUid: org, disabled: true });
    const pending = await p.createWebhook({ url: `https://downstream.test/ok/${key}`, eventTypes: ["*"], organizationUid: org });
    const eventId = await p.ingest(podiumBody({ organizationUid: org }));
    expect(p.woken).toEqual([pending.uid]); // its scheduler is woken, and has not run yet
    expect(await statuses(eventId)).toEqual([
      [held.uid, "held"],
      [pending.uid, "pending"],
    ]);
    await setEvent(eventId, "received_at = received_at - 3 * ?1", DAY_MS);

    const now = Date.now();
    const first = await runMaintenance(p.env, now);
    expect(first.expired).toBeGreaterThanOrEqual(2);
    expect(await statuses(eventId)).toEqual([
      [held.uid, "expired"],
      [pending.uid, "expired"],
    ]);
    // Still visible through the API, with its deliveries' fate.
    const visible = await p.api("GET", `/v1/events/${eventId}`);
    expect(visible.status).toBe(200);
    expect(visible.json.deliveries.map((d: { status: string }) => d.status)).toEqual(["expired", "expired"]);
    // The scheduler, running late, finds it settled: nothing goes out.
    await p.deliver();
    expect(await received(key)).toHaveLength(0);

    // Within the grace period the event stays; after it, the purge takes it.
    await runMaintenance(p.env, now + EXPIRED_GRACE_MS - 60_000);
    expect((await p.api("GET", `/v1/events/${eventId}`)).status).toBe(200);
    const later = await runMaintenance(p.env, now + EXPIRED_GRACE_MS + 60_000);
    expect(later.purged).toBeGreaterThanOrEqual(1);
    expect((await p.api("GET", `/v1/events/${eventId}`)).status).toBe(404);
    expect(await statuses(eventId)).toEqual([]);
  });

  it("wakes the schedulers whose deliveries it expired, so none sends what it had read ahead", async () => {
    // The head's retry is drawn from up to 8 hours (the settings' bound): due again within the test once in ~60,000 runs.
    const p = pipeline({ RETENTION_DAYS: "2", RETRY_BASE_SECONDS: "28800", RETRY_CAP_SECONDS: "28800" });
    const { key, webhook, event } = await p.webhookOn("fail", { ordering: "fifo" });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push(await p.ingest(event()));
    p.woken.splice(0);
    const flow = new WebhookFlow(p.env, webhook.uid); // as its Durable Object keeps it: the head and what follows it read ahead
    expect(await flow.run(RUN)).not.toBeNull(); // the head failed; it is due again later
    expect(await received(key)).toHaveLength(1);
    for (const id of ids) await setEvent(id, "received_at = received_at - 3 * ?1", DAY_MS);

    await runMaintenance(p.env);
    for (const id of ids) expect((await deliveryRows(id)).map((d) => d.status)).toEqual(["expired"]);
    expect(p.woken).toContain(webhook.uid);
    flow.wake(); // as its Durable Object is woken
    expect(await flow.run(RUN)).toBeNull(); // nothing owed: nothing more goes out
    expect(await received(key)).toHaveLength(1);
  });

  it("wakes the schedulers whose deliveries it expired: an unordered one drops the page it read ahead, even with new events' wake-ups after", async () => {
    const p = pipeline({ RETENTION_DAYS: "2" });
    const key = uniqueKey();
    const org = `org-${key}`;
    // The first request is answered only once the test says so (a request under `${key}-go`).
    const webhook = await p.createWebhook({ url: `https://downstream.test/await/${key}?for=${key}-go&ms=25000`, eventTypes: ["*"], organizationUid: org, maxConcurrency: 1, timeoutMs: 30_000 });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push(await p.ingest(podiumBody({ organizationUid: org })));
    p.woken.splice(0);
    const flow = new WebhookFlow(p.env, webhook.uid);
    const run = flow.run(RUN);
    // One out, the other two read ahead: meanwhile they pass the retention.
    await vi.waitFor(async () => expect(await received(key)).toHaveLength(1), { timeout: 10_000, interval: 20 });
    for (const id of ids) await setEvent(id, "received_at = received_at - 3 * ?1", DAY_MS);
    await runMaintenance(p.env);
    expect(p.woken).toContain(webhook.uid);
    flow.wake(); // as its Durable Object is woken
    flow.wake("added"); // and by new events meanwhile
    await fetch(`https://downstream.test/ok/${key}-go`);
    expect(await run).toBeNull();
    expect(await received(key)).toHaveLength(1);
    for (const id of ids.slice(1)) expect((await deliveryRows(id)).map((d) => d.status)).toEqual(["expired"]);
    // The one out when it expired was answered with success: it was delivered (settleExpired).
    const [out] = ids;
    expect(out && (await deliveryRows(out)).map((d) => d.status)).toEqual(["succeeded"]);
  });

  it("wakes the schedulers of what it expired even when a later chunk fails", async () => {
    let marked = 0;
    const { db } = d1Double({ failBatch: (stmts) => stmts.some((st) => /retention_marks/.test(st.sql)) && ++marked === 2 });
    const p = pipeline({ RETENTION_DAYS: "2", DB: db });
    const [a, b] = [await p.webhookOn("ok"), await p.webhookOn("ok")]; // their schedulers never run: what they are owed stays pending
    const [ea, eb] = [await p.ingest(a.event()), await p.ingest(b.event())];
    const oldest = Date.now() - 500 * DAY_MS; // before anything other tests age
    await setEvent(ea, "received_at = ?1", oldest);
    await setEvent(eb, "received_at = ?1", oldest + 1);
    await env.DB.prepare("UPDATE retention_marks SET received_at = -1, seq = 0").run();
    p.woken.splice(0);

    await expect(retention(p.env, Date.now(), 2, { chunk: 1, chunks: 2 })).rejects.toThrow(/D1 write failed/);
    expect((await deliveryRows(ea)).map((d) => d.status)).toEqual(["expired"]); // the first chunk committed
    expect((await deliveryRows(eb)).map((d) => d.status)).toEqual(["pending"]); // the second did not
    expect(p.woken).toEqual([a.webhook.uid]);
  });

  it("leaves its mark where it was when a chunk's transaction fails, and goes on from there", async () => {
    let broken = true;
    const { db } = d1Double({ failBatch: (stmts) => broken && stmts.some((st) => /retention_marks/.test(st.sql)) });
    const p = pipeline({ RETENTION_DAYS: "2", DB: db });
    const quiet = `org-${uniqueKey()}`; // no webhook: its events owe nothing
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) ids.push(await p.ingest(podiumBody({ organizationUid: quiet })));
    for (const id of ids) await setEvent(id, "received_at = received_at - 3 * ?1", DAY_MS);
    await env.DB.prepare("UPDATE retention_marks SET received_at = -1, seq = 0").run();
    const mark = () => env.DB.prepare("SELECT received_at, seq FROM retention_marks").first();

    await expect(retention(p.env, Date.now(), 2)).rejects.toThrow(/D1 write failed/);
    expect(await mark()).toEqual({ received_at: -1, seq: 0 });
    for (const id of ids) expect(await eventStored(id)).toBe(true);
    broken = false;
    await retention(p.env, Date.now(), 2);
    for (const id of ids) expect(await eventStored(id)).toBe(false);
    expect((await mark())?.received_at).toBeGreaterThan(-1);
  });

  it("takes RETENTION_DAYS below a day as a day: 0 does not purge what was just received", async () => {
    const p = pipeline({ RETENTION_DAYS: "0" });
    const { event } = await p.webhookOn("ok");
    const owed = await p.ingest(event()); // pending: its scheduler has not run
    const settledOrg = `org-${uniqueKey()}`;
    const settled = await p.ingest(podiumBody({ organizationUid: settledOrg })); // owes nothing
    for (const id of [owed, settled]) await setEvent(id, "received_at = received_at - 12 * 3600 * 1000");
    await runMaintenance(p.env);
    expect((await deliveryRows(owed)).map((d) => d.status)).toEqual(["pending"]);
    expect(await eventStored(settled)).toBe(true);
  });

  it("expires only what is still owed: a delivery of the same event already made stays succeeded", async () => {
    const p = pipeline({ RETENTION_DAYS: "2" });
    const key = uniqueKey();
    const org = `org-${key}`;
    const sent = await p.createWebhook({ url: `https://downstream.test/ok/${key}`, eventTypes: ["*"], organizationUid: org });
    const held = await p.createWebhook({ url: `https://downstream.test/ok/${key}`, eventTypes: ["*"], organizationUid: org, disabled: true });
    const eventId = await p.ingest(podiumBody({ organizationUid: org }));
    await p.deliver();
    expect(Object.fromEntries(await statuses(eventId))).toEqual({ [sent.uid]: "succeeded", [held.uid]: "held" });
    await setEvent(eventId, "received_at = received_at - 3 * ?1", DAY_MS);
    await runMaintenance(p.env);
    expect(Object.fromEntries(await statuses(eventId))).toEqual({ [sent.uid]: "succeeded", [held.uid]: "expired" });
  });

  it("takes nothing before RETENTION_DAYS: the ten-minute grid moves the cutoff later, never earlier", async () => {
    const p = pipeline({ RETENTION_DAYS: "2" });
    const quiet = `org-${uniqueKey()}`; // no webhook: its events owe nothing
    const [young, old] = [await p.ingest(podiumBody({ organizationUid: quiet })), await p.ingest(podiumBody({ organizationUid: quiet }))];
    // A run whose horizon lies halfway between two grid lines (a day is a whole number of them).
    const base = Date.now();
    const now = base - (base % RETENTION_GRID_MS) + RETENTION_GRID_MS / 2;
    const horizon = now - 2 * DAY_MS;
    await setEvent(young, "received_at = ?1", horizon + 60_000); // a minute short of RETENTION_DAYS
    await setEvent(old, "received_at = ?1", horizon - RETENTION_GRID_MS - 60_000); // past it by more than the grid
    await env.DB.prepare("UPDATE retention_marks SET received_at = -1, seq = 0").run();
    await retention(p.env, now, 2);
    expect(await eventStored(young)).toBe(true);
    expect(await eventStored(old)).toBe(false);
  });

  it("purges an event whose deliveries are all settled at the retention, without a grace period", async () => {
    const p = pipeline({ RETENTION_DAYS: "2" });
    const { event } = await p.webhookOn("ok");
    const eventId = await p.ingest(event());
    await p.deliver();
    await setEvent(eventId, "received_at = received_at - 3 * ?1", DAY_MS);
    await runMaintenance(p.env);
    expect((await p.api("GET", `/v1/events/${eventId}`)).status).toBe(404);
  });
});

describe("the retention keeps moving past events kept for their grace period", () => {
  it("goes on from where its last run stopped, and takes the kept events from behind once their grace is over", async () => {
    const p = pipeline({ RETENTION_DAYS: "2" });
    const { event } = await p.webhookOn("ok"); // its scheduler never runs: what it is owed stays pending
    const quiet = `org-${uniqueKey()}`; // no webhook: its events owe nothing
    const oldest = Date.now() - 600 * DAY_MS; // before anything other tests age
    const owed: string[] = [];
    for (let i = 0; i < 6; i++) owed.push(await p.ingest(event()));
    const settled: string[] = [];
    for (let i = 0; i < 4; i++) settled.push(await p.ingest(podiumBody({ organizationUid: quiet })));
    for (const [i, id] of [...owed, ...settled].entries()) await setEvent(id, "received_at = ?1", oldest + i);
    await env.DB.prepare("UPDATE retention_marks SET received_at = -1, seq = 0").run();

    // Chunks of 2, 2 a run: the first run expires 4 of the owed, which then stay for their grace,
    // ahead of everything else. Each later run goes on past them.
    const bounds = { chunk: 2, chunks: 2 };
    const now = Date.now();
    const first = await retention(p.env, now, 2, bounds);
    expect(first).toEqual({ expired: 4, purged: 0 });
    for (let run = 0; run < 3; run++) await retention(p.env, now + run, 2, bounds);
    for (const id of owed) expect((await deliveryRows(id)).map((d) => d.status)).toEqual(["expired"]);
    for (const id of settled) expect(await eventStored(id)).toBe(false);
    for (const id of owed) expect(await eventStored(id)).toBe(true); // visible through their grace

    // Their grace over, the look behind the mark takes them, a chunk a run.
    const later = now + EXPIRED_GRACE_MS + 60_000;
    for (let run = 0; run < 4; run++) await retention(p.env, later + run, 2, bounds);
    for (const id of owed) expect(await eventStored(id)).toBe(false);
  });

  it("counts what its committed chunks did when a later one fails, and a maintenance run with a failed step fails its scheduled invocation", async () => {
    let marked = 0;
    let every = false;
    const { db } = d1Double({ failBatch: (stmts) => stmts.some((st) => /retention_marks/.test(st.sql)) && (every || ++marked === 2) });
    const p = pipeline({ RETENTION_DAYS: "2", DB: db });
    const a = await p.webhookOn("ok");
    const owed = [await p.ingest(a.event()), await p.ingest(a.event())];
    const oldest = Date.now() - 700 * DAY_MS;
    for (const [i, id] of owed.entries()) await setEvent(id, "received_at = ?1", oldest + i);
    await env.DB.prepare("UPDATE retention_marks SET received_at = -1, seq = 0").run();

    const total = { expired: 0, purged: 0 };
    await expect(retention(p.env, Date.now(), 2, { chunk: 1, chunks: 2 }, total)).rejects.toThrow(/D1 write failed/);
    expect(total.expired).toBe(1); // the first chunk committed: counted all the same

    // Every chunk fails now: the run's retention step fails, and so does its invocation, naming it.
    every = true;
    const report = await runMaintenance(p.env);
    expect(report.failed).toEqual(["retention"]);
    const controller: ScheduledController = { scheduledTime: Date.now(), cron: "* * * * *", noRetry: () => {} };
    await expect(worker.scheduled(controller, p.env)).rejects.toThrow(/maintenance steps failed: retention/);
    // (Left for the retention of later tests: nothing here is older than their own.)
    await retention(pipeline({ RETENTION_DAYS: "2" }).env, Date.now() + EXPIRED_GRACE_MS + 60_000, 2);
  });
});

describe("one delivery, one open dead letter", () => {
  it("updates the open dead letter when a retried delivery fails again, instead of adding one", async () => {
    const p = pipeline({ RETRY_BASE_SECONDS: "0" });
    const { event } = await p.webhookOn("fail", { maxAttempts: 1 });
    const eventId = await p.ingest(event());
    const before = (await p.api("GET", "/v1/stats")).json.deadLetters as number;

    const deliveryId = (await deliveryRows(eventId))[0]!.id;
    await p.deliver();
    expect((await p.api("GET", "/v1/stats")).json.deadLetters).toBe(before + 1);

    // A manual retry closes it...
    const retried = await p.api("POST", `/v1/deliveries/${deliveryId}/retry`);
    expect(retried.status).toBe(202);
    expect((await p.api("GET", "/v1/stats")).json.deadLetters).toBe(before);
    // ...and the failure that follows reopens the same record.
    await p.deliver();
    expect((await p.api("GET", "/v1/stats")).json.deadLetters).toBe(before + 1);

    const all = (await p.api("GET", "/v1/dead-letters")).json.data.filter((d: { eventId: string }) => d.eventId === eventId);
    expect(all).toHaveLength(1);
    expect(all[0]).toMatchObject({ deliveryId, replayedAt: null, reason: expect.stringContaining("after 2 attempts") });
    // Its scheduler woken again finds nothing owed: still one open dead letter.
    await p.deliver();
    expect((await p.api("GET", "/v1/stats")).json.deadLetters).toBe(before + 1);
  });
});
