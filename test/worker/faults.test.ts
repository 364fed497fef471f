// Fault injection inside workerd: break one piece at a time, then check that
// every event is stored once and every owed delivery ends succeeded once the
// fault clears, and that nothing was acknowledged before it was durable.
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { fetchHandlerOver } from "../../src/fetch";
import { runMaintenance } from "../../src/maintenance/cron";
import { REDRIVE_GRACE_MS } from "../../src/pipeline/commands";
import { OPEN_CONNECTIONS } from "../../src/domain/flow";
import { MAX_UNRECORDED, WebhookFlow } from "../../src/pipeline/flow";
import { insertWebhook } from "../../src/store/webhooks";
import { d1Double } from "./d1-double";
import { aWebhook, ingestMessage, podiumBody } from "./helpers";
import { pipeline, received, RUN, uniqueKey } from "./pipeline";
import { deliveryRows, setEventDeliveries, webhookDeliveryCount } from "./rows";
import { kept, recounted } from "./recount";

/** The test D1 with batch() failing, while `broken()` says so, when one of its statements' SQL matches. */
const flakyDb = (sqlPattern: RegExp, broken: () => boolean) =>
  d1Double({ failBatch: (stmts) => broken() && stmts.some((st) => sqlPattern.test(st.sql)) }).db;


const statuses = async (eventId: string) =>
  (await deliveryRows(eventId)).map((r) => r.status);

describe("fault injection in the delivery scheduler", () => {
  for (const [name, pattern] of [
    ["the attempt record", /UPDATE deliveries SET attempts/],
    ["the attempt counts", /INSERT INTO attempt_counts/],
  ] as const) {
    it(`records again when D1 fails at ${name}, and the delivery ends succeeded`, async () => {
      let broken = true;
      const p = pipeline({ DB: flakyDb(pattern, () => broken) });
      const { key, event } = await p.webhookOn("ok");
      const eventId = await p.ingest(event());
      await p.deliver();
      expect(await received(key)).toHaveLength(1);
      expect(await statuses(eventId)).toEqual(["pending"]); // the attempt is not recorded yet
      await p.deliver(); // still broken: kept, not sent again
      expect(await received(key)).toHaveLength(1);
      broken = false;
      await p.deliver();
      expect(await statuses(eventId)).toEqual(["succeeded"]);
      expect(await received(key)).toHaveLength(1);

      // Lost with its scheduler before it was recorded, the attempt is made again: at least once.
      broken = true;
      const again = pipeline({ DB: flakyDb(pattern, () => broken) });
      const second = await again.ingest(event());
      await again.deliver();
      expect(await received(key)).toHaveLength(2);
      broken = false;
      const fresh = pipeline();
      await runMaintenance(fresh.env, Date.now() + REDRIVE_GRACE_MS + 60_000); // a new scheduler knows nothing of it
      await fresh.deliver();
      expect(await statuses(second)).toEqual(["succeeded"]);
      expect(await received(key)).toHaveLength(3);
    });
  }

  it("stops starting attempts while too many wait to be recorded, and sends the rest once D1 records again", async () => {
    let broken = true;
    const p = pipeline({ DB: flakyDb(/UPDATE deliveries SET attempts/, () => broken) });
    const { key, org, webhook } = await p.webhookOn("ok");
    const backlog = MAX_UNRECORDED + 100;
    const message = () => ingestMessage({ organizationUid: org, body: podiumBody({ organizationUid: org }) });
    for (let n = 0; n < backlog; n += 100) await p.runIngest(Array.from({ length: Math.min(100, backlog - n) }, message));
    await p.deliver();
    // Each attempt D1 refused to record stays in the scheduler's memory: a bounded number, not the backlog.
    const sent = (await received(key)).length;
    expect(sent).toBeGreaterThanOrEqual(MAX_UNRECORDED);
    expect(sent).toBeLessThan(MAX_UNRECORDED + OPEN_CONNECTIONS);
    expect(await webhookDeliveryCount(webhook.uid, "succeeded")).toBe(0);
    broken = false;
    await p.deliver();
    expect(await webhookDeliveryCount(webhook.uid, "succeeded")).toBe(backlog);
    expect(await received(key)).toHaveLength(backlog); // none sent twice
  });

  it("records an attempt once when D1 committed its record and the answer was lost, failed or succeeded", async () => {
    for (const behaviour of ["ok", "fail"]) {
      let lost = 0;
      const db = d1Double({ loseAnswer: (stmts) => lost < 2 && stmts.some((st) => /UPDATE deliveries SET attempts/.test(st.sql)) && ++lost > 0 }).db;
      const p = pipeline({ DB: db });
      const { key, event } = await p.webhookOn(behaviour, { maxAttempts: 1 });
      const eventId = await p.ingest(event());
      await p.deliver();
      await p.deliver();
      await p.deliver();
      expect(lost).toBe(2);
      expect(await received(key)).toHaveLength(1);
      const rows = await deliveryRows(eventId);
      expect(rows.map((r) => r.status)).toEqual([behaviour === "ok" ? "succeeded" : "failed"]);
      expect(await kept(env.DB)).toEqual(await recounted(env.DB));
      const view = await p.api("GET", `/v1/events/${eventId}`);
      expect(view.json.deliveries[0].attempts).toHaveLength(1);
      if (behaviour === "fail") {
        const letters = (await p.api("GET", "/v1/dead-letters?limit=100")).json.data.filter((l: { eventId: string }) => l.eventId === eventId);
        expect(letters).toHaveLength(1);
      }
    }
  });

  it("sends nothing when its run fails on a D1 read, and delivers on the next run", async () => {
    let broken = true;
    const p = pipeline({ DB: d1Double({ failStatement: (s) => broken && /^\s*SELECT\b/i.test(s.sql) }).db });
    const ok = pipeline();
    const { key, event } = await ok.webhookOn("ok");
    const eventId = await ok.ingest(event());
    p.woken.push(...ok.woken.splice(0)); // its scheduler runs with the failing D1
    await expect(p.deliver()).rejects.toThrow(/D1 statement failed/);
    expect(await received(key)).toHaveLength(0);
    broken = false;
    await p.deliver();
    expect(await statuses(eventId)).toEqual(["succeeded"]);
  });

  it("keeps a wake whose read of the webhook failed: the next run, unwoken, reads it again", async () => {
    const faults = { down: false };
    const p = pipeline({ DB: d1Double(faults).db });
    const { key, webhook, event } = await p.webhookOn("ok");
    await p.ingest(event());
    const flow = new WebhookFlow(p.env, webhook.uid); // as its Durable Object keeps it between alarms
    await flow.run(RUN);
    expect(await received(key)).toHaveLength(1);
    // The URL changes (a wake), the next event waits, and the run that would read the webhook again fails.
    const moved = uniqueKey();
    expect((await p.api("PATCH", `/v1/webhooks/${webhook.uid}`, { url: `https://downstream.test/ok/${moved}` })).status).toBe(200);
    await p.ingest(event());
    flow.wake();
    faults.down = true;
    await expect(flow.run(RUN)).rejects.toThrow(/D1 unavailable/);
    faults.down = false;
    // The alarm's next run: no new wake, yet it goes to the new URL.
    await flow.run(RUN);
    expect(await received(moved)).toHaveLength(1);
    expect(await received(key)).toHaveLength(1);
  });
});

describe("fault injection in the ingest consumer", () => {
  it("survives some wake-ups failing: the schedulers not woken are woken by the maintenance run, and every owed delivery goes out once", async () => {
    const key = uniqueKey();
    const org = `org-${key}`;
    const now = Date.now() - 1000;
    // 130 webhooks owed the same event, each with its own scheduler.
    for (let i = 0; i < 130; i++) {
      await insertWebhook(
        env.DB,
        aWebhook({ uid: `wh-${key}-${i}`, url: `https://downstream.test/ok/${key}`, organizationUid: org, createdAt: now, updatedAt: now }),
      );
    }
    // 30 of their schedulers cannot be reached when the ingest consumer wakes them.
    const unreachable = new Set(Array.from({ length: 30 }, (_, i) => `wh-${key}-${100 + i}`));
    const halfBroken = pipeline({}, { unreachable: (uid) => unreachable.has(uid) });
    const body = podiumBody({ organizationUid: org });
    // Stored with its 130 deliveries (the commit): acked, though only 100 schedulers heard of it.
    const first = await halfBroken.ingestWithResult(body);
    expect(first.acked).toHaveLength(1);
    expect(halfBroken.woken).toHaveLength(100);
    await halfBroken.deliver();
    expect(await received(key)).toHaveLength(100);
    // Once overdue, the maintenance run wakes the 30 left behind (only pending ones are overdue), and only those of this test.
    await setEventDeliveries(first.eventId, "next_attempt_at = ?1, updated_at = ?1", Date.now() - REDRIVE_GRACE_MS - 60_000);
    const p = pipeline();
    await runMaintenance(p.env);
    expect(p.woken.filter((uid) => uid.startsWith(`wh-${key}-`)).sort()).toEqual([...unreachable].sort());
    await p.deliver();
    expect(await statuses(first.eventId)).toEqual(Array(130).fill("succeeded"));
    expect(await received(key)).toHaveLength(130);
  }, 30_000); // 130 schedulers, each reading and recording on its own

  it("stores a batch whose commit's answer was lost once, delivers each event once, and counts each once", async () => {
    const setup = pipeline();
    const { key, webhook, event } = await setup.webhookOn("ok");
    const eventIds = [await setup.receive(event()), await setup.receive(event())];
    const messages = setup.queues.ingest.sent.splice(0);
    // D1 commits the batch's transaction, and its answer is lost: the consumer never hears.
    let lost = false;
    const db = d1Double({ loseAnswer: (stmts) => !lost && stmts.some((st) => /INSERT INTO events/i.test(st.sql)) && (lost = true) }).db;
    const p = pipeline({ DB: db });
    const first = await p.runIngest(messages);
    expect(lost).toBe(true);
    expect(first.acked).toHaveLength(2);
    expect(p.woken).toContain(webhook.uid);
    await p.deliver();
    expect(await received(key)).toHaveLength(2);
    for (const id of eventIds) expect(await statuses(id)).toEqual(["succeeded"]);
    // The counters (what /v1/stats answers) agree with a recount of what is stored.
    expect(await kept(env.DB)).toEqual(await recounted(env.DB));
  });

});

describe("fault injection after a command's commit", () => {
  /** The test D1 where, once `armed()` says so, the statements matching `sql` fail (run alone or in a batch), once. */
  function failingOnceAfter(sql: RegExp, armed: (statements: { sql: string }[]) => boolean) {
    let state: "waiting" | "armed" | "failed" = "waiting";
    const { db } = d1Double({
      beforeBatch: async (statements) => {
        if (state === "waiting" && armed(statements)) state = "armed";
      },
      failStatement: (s) => state === "armed" && sql.test(s.sql) && ((state = "failed"), true),
    });
    return { db, failed: () => state === "failed" };
  }

  it("answers a retry committed before a later read failed with the retry, and wakes the scheduler", async () => {
    // The read of the webhooks the retry touched (whether their pause may end) fails once, after the retry committed.
    const fault = failingOnceAfter(/^SELECT \* FROM webhooks WHERE uid IN/, (stmts) => stmts.some((s) => /UPDATE dead_letters SET replayed_at/.test(s.sql)));
    const p = pipeline({ DB: fault.db });
    const { key, webhook, event } = await p.webhookOn("fail", { maxAttempts: 1 });
    const eventId = await p.ingest(event());
    await p.deliver();
    expect(await statuses(eventId)).toEqual(["failed"]);
    const [delivery] = await deliveryRows(eventId);
    p.woken.splice(0);

    const retried = await p.api("POST", `/v1/deliveries/${delivery!.id}/retry`);
    expect(fault.failed()).toBe(true);
    expect(retried.status).toBe(202);
    expect(retried.json.status).toBe("pending");
    expect(p.woken).toEqual([webhook.uid]);
    await p.deliver();
    expect(await received(key)).toHaveLength(2);
  });

  it("answers an enable committed before its release failed with the webhook enabled, and its scheduler releases what was held", async () => {
    // The release of the held deliveries fails once, after the enable committed.
    const fault = failingOnceAfter(/UPDATE deliveries SET status = .* next_attempt_at = min\(\?3, ifnull\(event_received_at, \?3\)\), updated_at = max\(\?3, updated_at \+ 1\)/s, () => true);
    const p = pipeline({ DB: fault.db });
    const { key, webhook, event } = await p.webhookOn("ok", { disabled: true });
    const eventId = await p.ingest(event());
    expect(await statuses(eventId)).toEqual(["held"]);

    const enabled = await p.api("PATCH", `/v1/webhooks/${webhook.uid}`, { disabled: false });
    expect(fault.failed()).toBe(true);
    expect(enabled.status).toBe(200);
    expect(enabled.json.disabled).toBe(false);
    expect(p.woken).toEqual([webhook.uid]);
    // Its run releases them (due from then on); with no wait within a test's run, the next run sends them.
    await p.deliver();
    await p.deliver();
    expect(await statuses(eventId)).toEqual(["succeeded"]);
    expect(await received(key)).toHaveLength(1);
  });

  it("wakes the schedulers of a maintenance release whose later webhook failed: those released, and the one left, which releases itself", async () => {
    const setup = pipeline();
    const hooks = [await setup.webhookOn("ok", { disabled: true }), await setup.webhookOn("ok", { disabled: true })];
    const events = [await setup.ingest(hooks[0]!.event()), await setup.ingest(hooks[1]!.event())];
    // Enabled behind the API's back (as if its release was cut short): the maintenance run releases them.
    for (const h of hooks) await env.DB.prepare("UPDATE webhooks SET disabled = 0 WHERE uid = ?").bind(h.webhook.uid).run();
    // The release of the second webhook fails, whichever the run takes first.
    const second = hooks[1]!.webhook.uid;
    let failed = false;
    const { db } = d1Double({
      failStatement: (s) => !failed && /UPDATE deliveries SET status = .* next_attempt_at = min\(\?3, ifnull\(event_received_at, \?3\)\), updated_at = max\(\?3, updated_at \+ 1\)/s.test(s.sql) && s.values.includes(second) && (failed = true),
    });
    const p = pipeline({ DB: db });
    const report = await runMaintenance(p.env);
    expect(failed).toBe(true);
    expect(report.failed).toContain("release");
    expect(p.woken).toEqual(expect.arrayContaining(hooks.map((h) => h.webhook.uid)));
    // (A scheduler that releases what is held sends it at its next run: no wait within a test's run.)
    await p.deliver();
    await p.deliver();
    for (const id of events) expect(await statuses(id)).toEqual(["succeeded"]);
    for (const h of hooks) expect(await received(h.key)).toHaveLength(1);
  });
});

describe("fault injection in the Worker's fetch handler", () => {
  it("answers a JSON 500 when the app's modules fail to load, and still acknowledges provider requests", async () => {
    const handler = fetchHandlerOver(() => Promise.reject(new Error("a module of the app failed to evaluate")));
    const ctx = createExecutionContext();
    const res = await handler(new Request("http://edgehook.test/v1/events"), env, ctx);
    expect(res.status).toBe(500);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(await res.json()).toMatchObject({ error: { code: "internal_error" } });
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    // The ack path never loads the app: an unknown source is answered by the ingress itself.
    const ack = await handler(new Request("http://edgehook.test/webhooks/no-such-source", { method: "POST", body: "{}" }), env, ctx);
    await waitOnExecutionContext(ctx);
    expect(ack.status).toBe(404);
    expect(await ack.json()).toMatchObject({ error: { code: "unknown_source" } });
  });
});
