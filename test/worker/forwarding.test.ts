import { env } from "cloudflare:workers";
import { Webhook as StandardWebhook } from "standardwebhooks";
import { describe, expect, it, vi } from "vitest";
import { runMaintenance } from "../../src/maintenance/cron";
import { ATTEMPTS_FULL_CHARS } from "../../src/store/attempts";
import { REDRIVE_GRACE_MS, replay, storeAndRoute } from "../../src/pipeline/commands";
import { replayPlan, replayTargets } from "../../src/routing/match";
import { WebhookFlow } from "../../src/pipeline/flow";
import { utf8 } from "../../src/domain/crypto";
import type { IngestMessage } from "../../src/domain/types";
import { podium } from "../../src/schemes/podium";
import { webhooksOverdue, webhooksWithHeld } from "../../src/store/scheduler-reads";
import { getWebhook } from "../../src/store/webhooks";
import { HOUR_MS } from "../../src/domain/time";
import { clockFrom } from "./clock";
import { ingestMessage, podiumBody, retriesWaitNearTheirCeiling } from "./helpers";
import { pipeline, received, RUN, uniqueKey, webhookSetup } from "./pipeline";
import { attemptCount, deliveryRows, eventStored, setDelivery, setEventDeliveries, setWebhookDeliveries, webhookDeliveryRows } from "./rows";
import type { components } from "../../cli/src/api";


async function deliveryOf(eventId: string) {
  const [row] = await deliveryRows(eventId);
  return row!;
}

describe("delivery", () => {
  it("POSTs the stored body byte for byte, signed for the standardwebhooks package and Podium-style", async () => {
    const { p, key, webhook, event } = await webhookSetup("ok");
    const body = event("message.received");
    const eventId = await p.ingest(body);
    expect(p.woken).toEqual([webhook.uid]);
    await p.deliver();

    const [req] = await received(key);
    expect(req!.body).toBe(body);
    expect(req!.headers["content-type"]).toBe("application/json");
    expect(req!.headers["webhook-id"]).toBe(eventId);
    expect(req!.headers["edgehook-event-id"]).toBe(eventId);
    expect(req!.headers["edgehook-event-type"]).toBe("message.received");
    expect(req!.headers["edgehook-attempt"]).toBe("1");
    // A receiver using the standardwebhooks package verifies it unchanged.
    expect(() => new StandardWebhook(webhook.secret).verify(req!.body, req!.headers)).not.toThrow();
    expect(() => new StandardWebhook("whsec_" + btoa("another secret")).verify(req!.body, req!.headers)).toThrow();
    // Code that verifies Podium's own webhooks works unchanged (the Podium verifier the shared vectors pin).
    const ts = req!.headers["podium-timestamp"]!;
    expect(ts).toMatch(/^\d{13}$/);
    const asReceived = { headers: new Headers(req!.headers), raw: utf8(req!.body), now: Date.now() };
    await expect(podium.verify(asReceived, [webhook.secret], 300)).resolves.toBeUndefined();
    await expect(podium.verify(asReceived, ["another secret"], 300)).rejects.toMatchObject({ code: "invalid_signature" });
    // ...computed here as such code does, apart from Edgehook's own schemes: keyed by the whole
    // secret string's UTF-8 bytes, whsec_ prefix and all (not the key Standard Webhooks decodes from it).
    const podiumKey = await crypto.subtle.importKey("raw", utf8(webhook.secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    const podiumMac = await crypto.subtle.sign("HMAC", podiumKey, utf8(`${ts}.${req!.body}`));
    expect(req!.headers["podium-signature"]).toBe([...new Uint8Array(podiumMac)].map((b) => b.toString(16).padStart(2, "0")).join(""));

    const d = await deliveryOf(eventId);
    expect(d).toMatchObject({ status: "succeeded", attempt_count: 1 });
  });

  it("delivers a body too large for a queue message (claim-checked through R2) byte for byte, like any other", async () => {
    const { p, key, event } = await webhookSetup("ok");
    const sample = JSON.parse(event());
    // Characters of 1 to 4 UTF-8 bytes: 200 KiB and more, over a queue message, under the 256 KiB limit.
    sample.data.note = "a é € 😀 ".repeat(16_000);
    const body = JSON.stringify(sample);
    expect(utf8(body).byteLength).toBeGreaterThan(200 * 1024);
    const eventId = await p.receive(body);
    const [message] = p.queues.ingest.sent;
    expect(message).toMatchObject({ eventId, bodyKey: expect.any(String) });
    expect(message!.body).toBeUndefined();
    await p.runIngest(p.queues.ingest.sent.splice(0));
    await p.deliver();
    const [req] = await received(key);
    expect(req!.body).toBe(body);
    expect((await p.api("GET", `/v1/events/${eventId}`)).json.deliveries[0]).toMatchObject({ status: "succeeded", attemptCount: 1 });
  });

  it("names the delivery, so a replay, which shares its event's webhook-id, can be told from a redelivery", async () => {
    const { p, key, webhook, event } = await webhookSetup("ok");
    const eventId = await p.ingest(event());
    await p.deliver();
    expect((await p.api("POST", `/v1/events/${eventId}/replay`, { webhookUid: webhook.uid })).status).toBe(202);
    await p.deliver();
    const heard = await received(key);
    const deliveries = (await p.api("GET", `/v1/deliveries?eventId=${eventId}`)).json.data.map((d: { id: string }) => d.id);
    expect(heard.map((r) => r.headers["webhook-id"])).toEqual([eventId, eventId]);
    expect(heard.map((r) => r.headers["edgehook-delivery-id"]).sort()).toEqual([...deliveries].sort());
    expect(new Set(deliveries).size).toBe(2);
  });

  it("shows a transformation's credential headers redacted in what a downstream echoes back", async () => {
    const credential = `Bearer sk_live_${uniqueKey()}`;
    const { p, key, event } = await webhookSetup("echo", { transformHeaders: { authorization: `'${credential}'` } });
    const eventId = await p.ingest(event());
    await p.deliver();
    expect((await received(key))[0]!.headers.authorization).toBe(credential);
    const [snippet] = (await p.api("GET", `/v1/events/${eventId}`)).json.deliveries[0].attempts.map((a: { responseSnippet: string }) => a.responseSnippet);
    expect(snippet).not.toContain(credential.slice(0, 12));
    expect(snippet).toContain('"authorization":"<redacted>"');
    expect(snippet).toContain('"edgehook-event-type":"message.received"');
  });

  it("signs with the UTF-8 bytes of a secret given without the whsec_ prefix", async () => {
    const { p, key, event } = await webhookSetup("ok", { secret: "my-own-plain-secret" });
    const body = event();
    await p.ingest(body);
    await p.deliver();
    const [req] = await received(key);
    const raw = new TextEncoder().encode("my-own-plain-secret");
    expect(() => new StandardWebhook(raw, { format: "raw" }).verify(req!.body, req!.headers)).not.toThrow();
  });

  it("counts any 2xx as a success, and any other answer as a failed attempt", async () => {
    const p = pipeline();
    const answers = [200, 201, 202, 204, 299, 304, 400, 404, 410, 500] as const;
    const events: string[] = [];
    for (const code of answers) {
      // One attempt in all: a failed one fails the delivery at once, with no retry to wait for.
      const { event } = await p.webhookOn(`status?code=${code}`, { maxAttempts: 1 });
      events.push(await p.ingest(event()));
    }
    await p.deliver();
    const outcomes = await Promise.all(
      events.map(async (id) => {
        const [d] = (await p.api("GET", `/v1/events/${id}`)).json.deliveries;
        return [d.attempts[0].statusCode, d.status, d.attemptCount];
      }),
    );
    expect(outcomes).toEqual(answers.map((code) => [code, code >= 200 && code < 300 ? "succeeded" : "failed", 1]));
  });

  it("records every attempt and retries with backoff until the downstream answers 2xx", async () => {
    // A backoff of 0 s: each retry is due at once, so one run makes all three attempts.
    const { p, key, event } = await webhookSetup("flaky?fails=2", {}, { RETRY_BASE_SECONDS: "0" });
    const eventId = await p.ingest(event());
    await p.deliver();
    const heard = await received(key);
    expect(heard.map((r) => r.headers["edgehook-attempt"])).toEqual(["1", "2", "3"]);
    // A retry is the same message to the receiver: webhook-id (its idempotency key) stays the event id.
    expect(heard.map((r) => r.headers["webhook-id"])).toEqual([eventId, eventId, eventId]);

    const { json } = await p.api("GET", `/v1/events/${eventId}`);
    expect(json.deliveries).toHaveLength(1);
    const d = json.deliveries[0];
    expect(d).toMatchObject({ status: "succeeded", attemptCount: 3 });
    expect(d.attempts.map((a: components["schemas"]["Attempt"]) => [a.number, a.statusCode])).toEqual([[1, 503], [2, 503], [3, 200]]);
    expect(d.attempts[0].error).toBe("HTTP 503");
    expect(d.attempts[0].responseSnippet).toBe("not yet");
    expect(typeof d.attempts[0].durationMs).toBe("number");
  });

  it("schedules the next attempt within the backoff ceiling and does not attempt again before it is due", async () => {
    const { p, event } = await webhookSetup("fail", {}, { RETRY_BASE_SECONDS: "60", RETRY_CAP_SECONDS: "600" });
    const eventId = await p.ingest(event());
    const before = Date.now();
    await p.deliver();
    const d = await deliveryOf(eventId);
    // (A jitter of 0 s makes the retry due at once, and the run makes it: the ceiling doubles.)
    const ceiling = 60_000 * 2 ** (d.attempt_count - 1);
    expect(d.next_attempt_at).toBeGreaterThanOrEqual(before);
    expect(d.next_attempt_at).toBeLessThanOrEqual(Date.now() + ceiling + 1000);
    // Jitter may draw a due time of now: make it certainly later, so the wake-up below comes early.
    await setDelivery(d.id, "next_attempt_at = ?1", Date.now() + 60_000);
    // Woken again early (new deliveries, a re-drive), the scheduler does not attempt it again.
    await p.deliver();
    expect((await deliveryOf(eventId)).attempt_count).toBe(d.attempt_count);
  });

  it("keeps a delivery's further attempts without their snippet once its row holds a lot of them", async () => {
    // One attempt, then the one made due below: none at once.
    retriesWaitNearTheirCeiling();
    const { p, event } = await webhookSetup("fail", {}, { RETRY_BASE_SECONDS: "600" });
    const eventId = await p.ingest(event());
    await p.deliver();
    const d = await deliveryOf(eventId);
    const attempts = async () => (await p.api("GET", `/v1/events/${eventId}`)).json.deliveries[0].attempts;
    expect((await attempts())[0].responseSnippet).toEqual(expect.any(String));
    // As if retried for a long time: the row's attempts past ATTEMPTS_FULL_CHARS.
    const long = "x".repeat(ATTEMPTS_FULL_CHARS);
    await setDelivery(d.id, "attempts = json_replace(attempts, '$[0][5]', ?1), next_attempt_at = ?2", long, Date.now() - 1);
    await p.deliver();
    const [first, second] = await attempts();
    expect(first.responseSnippet).toBe(long);
    expect(second).toMatchObject({ number: 2, statusCode: first.statusCode, error: first.error, responseSnippet: null });
  });

  it("counts a downstream slower than timeoutMs as a failed attempt", async () => {
    const { p, key, event } = await webhookSetup("slow?ms=3000", { timeoutMs: 300 });
    const eventId = await p.ingest(event());
    await p.deliver();
    const { json } = await p.api("GET", `/v1/events/${eventId}`);
    // Pending again. Its retry's wait is drawn with full jitter from [0, RETRY_BASE_SECONDS]: a draw of 0 tries it again
    // at once (nothing pauses an unordered webhook for one delivery's silence), so this run may have made a second attempt.
    const [delivery] = json.deliveries;
    expect(delivery.status).toBe("pending");
    expect(delivery.attemptCount).toBeGreaterThanOrEqual(1);
    expect(delivery.attempts).toHaveLength(delivery.attemptCount);
    for (const attempt of delivery.attempts) expect(attempt).toMatchObject({ statusCode: null, error: "timed out after 300 ms" });
    // The API's times are ISO 8601, a pending delivery's next attempt and each attempt's start too.
    const isIso = (t: unknown) => typeof t === "string" && new Date(t).toISOString() === t;
    expect(delivery.nextAttemptAt).toSatisfy(isIso);
    for (const attempt of delivery.attempts) expect(attempt.startedAt).toSatisfy(isIso);
    expect(await received(key)).toHaveLength(delivery.attemptCount);
  });

  it("shows a delivery retried by hand due when it was retried, not at its event's receipt it is ordered by", async () => {
    const { p, webhook, event } = await webhookSetup("fail", { maxAttempts: 1 }, { RETRY_BASE_SECONDS: "0" });
    const eventId = await p.ingest(event());
    await p.deliver();
    const failed = await deliveryOf(eventId);
    expect(failed.status).toBe("failed");
    const receipt = Date.parse((await p.api("GET", `/v1/events/${eventId}`)).json.receivedAt);
    // Retried an hour after its event was received.
    const realClock = clockFrom(Date.now() + HOUR_MS);
    try {
      const before = Date.now();
      const retried = await p.api("POST", `/v1/deliveries/${failed.id}/retry`);
      expect(retried.status).toBe(202);
      // Stored due since its receipt, so it keeps its place in the webhook's order...
      expect((await deliveryOf(eventId)).next_attempt_at).toBe(receipt);
      // ...and read as due now, in each answer that shows it.
      const shown = [
        retried.json,
        (await p.api("GET", `/v1/deliveries?eventId=${eventId}`)).json.data[0],
        (await p.api("GET", `/v1/events/${eventId}`)).json.deliveries[0],
      ];
      for (const d of shown) {
        expect(d).toMatchObject({ id: failed.id, webhookUid: webhook.uid, status: "pending" });
        expect(Date.parse(d.nextAttemptAt)).toBeGreaterThanOrEqual(before);
        expect(d.nextAttemptAt).toBe(d.updatedAt);
      }
      // A retry waiting out its backoff still reads its own due time.
      const later = Date.now() + 60_000;
      await setDelivery(failed.id, "next_attempt_at = ?1", later);
      expect((await p.api("GET", `/v1/deliveries?eventId=${eventId}`)).json.data[0].nextAttemptAt).toBe(new Date(later).toISOString());
    } finally {
      realClock();
    }
  });

  it("fails a delivery after maxAttempts and records its one dead letter with the last attempt", async () => {
    const { p, webhook, event } = await webhookSetup("fail", { maxAttempts: 2 }, { RETRY_BASE_SECONDS: "0" });
    const eventId = await p.ingest(event());
    await p.deliver();
    const delivery = await deliveryOf(eventId);
    expect(delivery).toMatchObject({ status: "failed", attempt_count: 2 });
    const letters = await env.DB.prepare("SELECT * FROM dead_letters WHERE delivery_id = ?").bind(delivery.id).all<Record<string, unknown>>();
    expect(letters.results).toHaveLength(1);
    expect(letters.results[0]).toMatchObject({ event_id: eventId, attempts: 2, replayed_at: null });
    expect(JSON.parse(String(letters.results[0]!.body))).toMatchObject({ webhookUid: webhook.uid, attempts: 2, lastError: "HTTP 500" });
  });

  it("honours Retry-After up to the cap, treats a redirect as a failure, and reads only a snippet of a huge body", async () => {
    const ra = await webhookSetup("retry-after?s=120", {}, { RETRY_BASE_SECONDS: "0" });
    const raId = await ra.p.ingest(ra.event());
    const before = Date.now();
    await ra.p.deliver();
    expect((await deliveryOf(raId)).next_attempt_at).toBeGreaterThanOrEqual(before + 120_000);

    // Past RETRY_CAP_SECONDS, a Retry-After waits the cap, not what it asked.
    const capped = await webhookSetup("retry-after?s=7200", {}, { RETRY_BASE_SECONDS: "0", RETRY_CAP_SECONDS: "60" });
    const cappedId = await capped.p.ingest(capped.event());
    const from = Date.now();
    await capped.p.deliver();
    const until = Date.now();
    const next = (await deliveryOf(cappedId)).next_attempt_at;
    expect(next).toBeGreaterThanOrEqual(from + 60_000);
    expect(next).toBeLessThanOrEqual(until + 60_000);

    const rd = await webhookSetup("redirect");
    const rdId = await rd.p.ingest(rd.event());
    await rd.p.deliver();
    const rdJson = (await rd.p.api("GET", `/v1/events/${rdId}`)).json;
    expect(rdJson.deliveries[0].attempts[0]).toMatchObject({ statusCode: 302, error: "redirect 302 not followed" });
    expect(await received("redirected")).toHaveLength(0);

    const hg = await webhookSetup("huge");
    const hgId = await hg.p.ingest(hg.event());
    await hg.p.deliver();
    const hgJson = (await hg.p.api("GET", `/v1/events/${hgId}`)).json;
    expect(hgJson.deliveries[0].attempts[0].responseSnippet.length).toBeLessThanOrEqual(512);
  });

  it("serves webhooks concurrently: a slow downstream does not hold a fast one", async () => {
    const p = pipeline();
    const key = uniqueKey();
    const org = `org-${key}`;
    // The slow downstream answers only once the fast one has been sent to (or, 3 s on, 504).
    await p.createWebhook({ url: `https://downstream.test/await/${key}-slow?for=${key}-fast&ms=3000`, eventTypes: ["*"], organizationUid: org });
    await p.createWebhook({ url: `https://downstream.test/ok/${key}-fast`, eventTypes: ["*"], organizationUid: org });
    await p.ingest(podiumBody({ organizationUid: org }));
    expect(p.woken).toHaveLength(2);
    await p.deliver();
    const [slow] = await received(`${key}-slow`);
    const [fast] = await received(`${key}-fast`);
    // The fast one arrived while the slow one was still being answered: not queued behind it.
    expect(slow!.status).toBe(200);
    expect(fast!.at).toBeLessThanOrEqual(slow!.answeredAt);
  });

  it("sends one webhook a few deliveries at once (up to its maxConcurrency, 6 by default)", async () => {
    const { p, key, event } = await webhookSetup("slow?ms=400");
    for (let i = 0; i < 4; i++) await p.ingest(event(`message.n${i}`));
    await p.deliver();
    // All four were being answered at once, not one after another.
    expect(Math.max(...(await received(key)).map((r) => r.inFlight))).toBe(4);
  });

  it("creates a delivery once however often the ingest message is redelivered", async () => {
    const { p, key, event } = await webhookSetup("ok");
    const body = event();
    const eventId = await p.ingest(body);
    await p.deliver();
    // The same event from the provider twice more, and the queue redelivering it.
    await p.ingest(body);
    await p.ingest(body);
    expect(p.woken).toHaveLength(0); // nothing new is owed: no scheduler is woken
    expect(await deliveryRows(eventId)).toHaveLength(1);
    expect(await received(key)).toHaveLength(1);
  });

  it.each<[string, (message: IngestMessage, eventId: string) => Promise<IngestMessage>]>([
    // The ack path queued the provider's second copy with its own receipt time: other delivery ids.
    ["a provider's second copy of a stored event, received a minute later", async (m) => ({ ...m, receivedAt: m.receivedAt + 60_000 })],
    [
      "a redelivered message whose deliveries a release before time-ordered ids stored",
      async (m, eventId) => {
        await setEventDeliveries(eventId, "id = randomblob(16)"); // the id as that release made it (a hash)
        return m;
      },
    ],
  ])("owes nothing again for %s, and counts nothing twice", async (_case, again) => {
    const { p, key, webhook, event } = await webhookSetup("ok");
    const first = await p.ingestWithResult(event());
    const message = await again(first.acked[0]!, first.eventId);
    const [stored] = await deliveryRows(first.eventId);
    expect((await p.runIngest([message])).acked).toHaveLength(1);
    expect(await deliveryRows(first.eventId)).toEqual([stored]);
    await p.deliver();
    expect(await received(key)).toHaveLength(1);
    const counts = (await p.api("GET", `/v1/stats?webhookUids=${webhook.uid}`)).json.webhooks.find((w: { uid: string }) => w.uid === webhook.uid);
    expect(counts).toMatchObject({ succeeded: 1, pending: 0, held: 0, failed: 0 });
  });

  it("keeps a delivery whose scheduler could not be woken after the event was stored, and the maintenance run wakes it", async () => {
    const { p, key, webhook, event } = await webhookSetup("ok");
    const body = event();
    const failing = pipeline({}, { unreachable: () => true });
    // The ingest consumer stores the event and its delivery (the commit), then the wake-up fails: logged, acked.
    const first = await failing.ingestWithResult(body);
    expect(first.acked).toHaveLength(1);
    expect((await deliveryOf(first.eventId)).status).toBe("pending");
    await p.deliver();
    expect(await received(key)).toHaveLength(0); // nobody was told

    // Once overdue, the maintenance run wakes its scheduler: it goes out once.
    const overdue = Date.now() - REDRIVE_GRACE_MS - 60_000;
    await setEventDeliveries(first.eventId, "next_attempt_at = ?1, updated_at = ?1", overdue); // made that long ago
    const logs = vi.spyOn(console, "log").mockImplementation(() => {});
    const report = await runMaintenance(p.env);
    const named = logs.mock.calls.filter(([line]) => line === "overdue schedulers woken").flatMap(([, what]) => what.webhooks);
    logs.mockRestore();
    expect(report.redriven).toBeGreaterThanOrEqual(1);
    expect(p.woken).toContain(webhook.uid);
    // The log names the webhooks it woke.
    expect(named).toContain(webhook.uid);
    await p.deliver();
    expect(await received(key)).toHaveLength(1);
    expect((await deliveryOf(first.eventId)).status).toBe("succeeded");
  });

  it("wakes overdue webhooks drawn afresh each run, so a run's limit never leaves the same ones out", async () => {
    const p = pipeline();
    const uids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const { webhook, event } = await p.webhookOn("ok");
      const eventId = await p.ingest(event());
      await setEventDeliveries(eventId, "next_attempt_at = ?1, updated_at = ?1", 1_000 + i); // made, so overdue, long before any other test's
      uids.push(webhook.uid);
    }
    const drawn = new Set<string>();
    for (let run = 0; run < 100; run++) for (const uid of await webhooksOverdue(env.DB, 2_000, 1)) drawn.add(uid);
    expect([...drawn].sort()).toEqual([...uids].sort());
  });

  it("releases enabled webhooks that still hold deliveries drawn afresh each run, too", async () => {
    const p = pipeline();
    const uids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const { webhook, event } = await p.webhookOn("ok", { disabled: true });
      await p.ingest(event()); // held
      // Enabled with its release cut short: it still holds it.
      await env.DB.prepare("UPDATE webhooks SET disabled = 0 WHERE uid = ?").bind(webhook.uid).run();
      uids.push(webhook.uid);
    }
    const drawn = new Set<string>();
    for (let run = 0; run < 400; run++) for (const uid of await webhooksWithHeld(env.DB, 1)) drawn.add(uid);
    for (const uid of uids) expect(drawn).toContain(uid);
  });

  it.each([
    ["never tried", null],
    ["tried before they were held (an auto-disable's backlog)", "attempt_count = 1"],
  ] as const)("takes a webhook whose held deliveries (%s) a run just released for overdue only a minute after the release", async (_, tried) => {
    const p = pipeline();
    const { webhook, event } = await p.webhookOn("ok", { disabled: true });
    for (let i = 0; i < 2; i++) await p.ingest(event()); // held
    if (tried !== null) await setWebhookDeliveries(webhook.uid, "held", tried);
    // Enabled with its release cut short; the maintenance run releases what it holds ten minutes later.
    await env.DB.prepare("UPDATE webhooks SET disabled = 0, updated_at = updated_at + 1 WHERE uid = ?").bind(webhook.uid).run();
    const later = Date.now() + 10 * 60_000;
    const logs = vi.spyOn(console, "log").mockImplementation(() => {});
    const report = await runMaintenance(p.env, later);
    const named = logs.mock.calls.filter(([line]) => line === "overdue schedulers woken").flatMap(([, what]) => what.webhooks);
    logs.mockRestore();
    expect(report.failed).toEqual([]);
    expect((await webhookDeliveryRows(webhook.uid)).map((d) => d.status)).toEqual(["pending", "pending"]);
    // Due since their events' receipt, ten minutes before: the same run's redrive does not name it as one whose wake-up was lost.
    expect(named).not.toContain(webhook.uid);
    expect(await webhooksOverdue(env.DB, later - REDRIVE_GRACE_MS, 1000)).not.toContain(webhook.uid);
    // Its scheduler not told (the release's wake-up lost), the redrive wakes it once the grace after the release is over.
    expect(await webhooksOverdue(env.DB, later + 1, 1000)).toContain(webhook.uid);
  });

  it("sends nothing more once its webhook is deleted, not even what its scheduler had read ahead", async () => {
    const { p, key, webhook, event } = await webhookSetup("slow?ms=1000", { maxConcurrency: 1 });
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push(await p.ingest(event()));
    p.woken.splice(0);
    const flow = new WebhookFlow(p.env, webhook.uid); // as its Durable Object keeps it
    const running = flow.run(RUN);
    await vi.waitFor(async () => expect(await received(key)).toHaveLength(1), { timeout: 10_000, interval: 20 });

    expect((await p.api("DELETE", `/v1/webhooks/${webhook.uid}`)).status).toBe(204);
    expect(p.woken).toEqual([webhook.uid]); // the delete wakes its scheduler, as its Durable Object is woken
    flow.wake();
    expect(await running).toBeNull(); // it settled what was in flight and stopped: nothing is owed
    const sent = (await received(key)).length;
    expect(sent).toBeLessThanOrEqual(2); // the one in flight (one more if it had just started)
    // What had not gone out expired with the webhook (one that went out before the delete may have succeeded).
    const statuses = await Promise.all(ids.map(async (id) => (await deliveryOf(id)).status));
    expect(statuses.filter((st) => st === "expired").length).toBeGreaterThanOrEqual(ids.length - sent);
    expect(statuses.filter((st) => st !== "expired" && st !== "succeeded")).toEqual([]);
  });

  it("fails for good a delivery held while its last attempt was out, with its dead letter, and numbers its next attempt after that one", async () => {
    const { p, key, webhook, event } = await webhookSetup("chaos?fail=1&slow=1&ms=2000", { maxAttempts: 2 }, { RETRY_BASE_SECONDS: "0" });
    const eventId = await p.ingest(event());
    p.woken.splice(0);
    const flow = new WebhookFlow(p.env, webhook.uid); // as its Durable Object keeps it
    const running = flow.run(RUN);
    await vi.waitFor(async () => expect(await received(key)).toHaveLength(2), { timeout: 10_000, interval: 20 }); // the last attempt is out
    expect((await p.api("PATCH", `/v1/webhooks/${webhook.uid}`, { disabled: true })).status).toBe(200);
    flow.wake();
    expect(await running).toBeNull();
    // The attempt failed, and is recorded; it was the last: the delivery failed for good, held or not.
    expect(await received(key)).toHaveLength(2);
    const failed = await deliveryOf(eventId);
    expect(failed).toMatchObject({ status: "failed", attempt_count: 2 });
    expect(await attemptCount(eventId)).toBe(2);
    const letters = (await p.api("GET", "/v1/dead-letters?limit=100")).json.data as { eventId: string | null }[];
    expect(letters.filter((l) => l.eventId === eventId)).toHaveLength(1);

    // Enabled again, toward a downstream that answers: nothing is owed until it is retried by hand;
    // then attempt 3 goes out and is recorded.
    const fixed = uniqueKey();
    expect((await p.api("PATCH", `/v1/webhooks/${webhook.uid}`, { disabled: false, url: `https://downstream.test/ok/${fixed}` })).status).toBe(200);
    flow.wake();
    expect(await flow.run(RUN)).toBeNull();
    expect(await received(fixed)).toHaveLength(0);
    expect((await p.api("POST", `/v1/deliveries/${failed.id}/retry`)).status).toBe(202);
    flow.wake();
    await flow.run(RUN);
    expect(await received(fixed)).toHaveLength(1);
    expect(await deliveryOf(eventId)).toMatchObject({ status: "succeeded", attempt_count: 3 });
    expect(await attemptCount(eventId)).toBe(3);
  }, 30_000);

  it("makes no delivery, and counts none, for a webhook deleted after the ingest consumer read it", async () => {
    const { p, webhook, org } = await webhookSetup("ok");
    const read = await getWebhook(env.DB, webhook.uid); // the consumer's read of the webhooks
    expect((await p.api("DELETE", `/v1/webhooks/${webhook.uid}`)).status).toBe(204);
    const m = ingestMessage({ organizationUid: org });
    await storeAndRoute(p.env, [{ ...m, body: m.body ?? "" }], [read!]);
    expect(await eventStored(m.eventId)).toBe(true);
    expect(await deliveryRows(m.eventId)).toEqual([]);
    const counts = await env.DB.prepare(`SELECT * FROM delivery_counts WHERE webhook = (SELECT id FROM names WHERE name = ?)`)
      .bind(webhook.uid)
      .first<Record<string, number>>();
    expect(Object.entries(counts ?? {}).filter(([k, n]) => k !== "webhook" && n !== 0)).toEqual([]);

    // A replay read the webhook too, before the delete: it makes nothing, and says so.
    p.woken.splice(0); // (the delete woke its scheduler)
    const event = { id: m.eventId, receivedAt: m.receivedAt, sourceId: "podium", eventType: m.eventType, locationUid: null, organizationUid: org, content: null };
    const targets = replayTargets(replayPlan([], [read!]), event);
    expect(targets.map((w) => w.uid)).toEqual([webhook.uid]);
    const made = await replay(p.env, [{ event, targets }]);
    expect(made).toEqual([]);
    expect(await deliveryRows(m.eventId)).toEqual([]);
    expect(p.woken).not.toContain(webhook.uid);
  });
});
