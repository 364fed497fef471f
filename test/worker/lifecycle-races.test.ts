// The delivery lifecycle where a change lands while something else is under way: an
// attempt in flight, an ingest between its read of the webhooks and its commit, a
// queue message delivered again after its batch committed.
import { env } from "cloudflare:workers";
import { describe, expect, it, onTestFinished, vi } from "vitest";
import { failedDeliveryLetter } from "../../src/pipeline/attempt";
import { WebhookFlow } from "../../src/pipeline/flow";
import { recordAttempts } from "../../src/store/deliveries";
import { retryDeliveries } from "../../src/store/delivery-retry";
import { clockFrom } from "./clock";
import { d1Double } from "./d1-double";
import { ingestMessage, podiumBody, retriesWaitNearTheirCeiling } from "./helpers";
import { racing } from "./racing";
import { kept, recounted } from "./recount";
import { pipeline, received, RUN, uniqueKey, webhookSetup } from "./pipeline";
import { attemptCount, webhookDeliveryRows } from "./rows";

/** A webhook's deliveries as (status, attempts), in the order it is owed them. */
const states = async (webhookUid: string) => (await webhookDeliveryRows(webhookUid, "owed")).map((d) => [d.status, d.attempt_count]);

/** The open dead letters of an event. */
async function openDeadLetters(p: ReturnType<typeof pipeline>, eventId: string): Promise<unknown[]> {
  return (await p.api("GET", "/v1/dead-letters?open=true&limit=100")).json.data.filter((d: { eventId: string }) => d.eventId === eventId);
}

describe("an attempt in flight when its webhook is disabled", () => {
  // "the scheduler's own hold": its flow is woken by the disable while the attempt is out, and holds too.
  for (const hold of ["the API's hold", "the scheduler's own hold as well"]) {
    it.each([
      { outcome: "succeeds", behaviour: "slow?ms=300", hook: {}, status: "succeeded", deadLetters: 0 },
      { outcome: "fails for good", behaviour: "record?ms=300&fail=1", hook: { maxAttempts: 1 }, status: "failed", deadLetters: 1 },
    ])(`that $outcome settles its delivery (${hold}): it is not sent again once the webhook is enabled`, async ({ behaviour, hook, status, deadLetters }) => {
      const { p, key, webhook, event } = await webhookSetup(behaviour, hook);
      const eventId = await p.ingest(event());
      const sending = p.deliver();
      await vi.waitFor(async () => expect(await received(key)).toHaveLength(1), { timeout: 5_000, interval: 20 });
      expect((await p.api("PATCH", `/v1/webhooks/${webhook.uid}`, { disabled: true })).status).toBe(200);
      await Promise.all([sending, ...(hold === "the API's hold" ? [] : [p.deliver()])]);

      expect(await states(webhook.uid)).toEqual([[status, 1]]);
      expect(await openDeadLetters(p, eventId)).toHaveLength(deadLetters);
      const counts = (await p.api("GET", `/v1/stats?webhookUids=${webhook.uid}`)).json.webhooks.find((w: { uid: string }) => w.uid === webhook.uid);
      expect(counts).toMatchObject({ held: 0, pending: 0, [status]: 1 });

      await p.api("PATCH", `/v1/webhooks/${webhook.uid}`, { disabled: false });
      await p.deliver();
      expect(await received(key)).toHaveLength(1);
      expect(await states(webhook.uid)).toEqual([[status, 1]]);
      expect(await kept(env.DB)).toEqual(await recounted(env.DB));
    });
  }

  it("that fails with retries left stays held, its attempt recorded; enabled, it goes again", async () => {
    // Retries nearly an hour away: none comes due within the test.
    retriesWaitNearTheirCeiling();
    const { p, key, webhook, event } = await webhookSetup("record?ms=300&fail=1", { maxAttempts: 3 }, { RETRY_BASE_SECONDS: "3600" });
    const eventId = await p.ingest(event());
    const sending = p.deliver();
    await vi.waitFor(async () => expect(await received(key)).toHaveLength(1), { timeout: 5_000, interval: 20 });
    await p.api("PATCH", `/v1/webhooks/${webhook.uid}`, { disabled: true });
    await Promise.all([sending, p.deliver()]);
    expect(await states(webhook.uid)).toEqual([["held", 1]]);
    expect(await openDeadLetters(p, eventId)).toHaveLength(0);

    await p.api("PATCH", `/v1/webhooks/${webhook.uid}`, { disabled: false });
    await p.deliver();
    expect(await received(key)).toHaveLength(2);
    expect(await states(webhook.uid)).toEqual([["pending", 2]]);
    expect(await kept(env.DB)).toEqual(await recounted(env.DB));
  });
});

describe("an attempt in flight when its delivery is retried by hand", () => {
  // Retries an hour away: a delivery due within the test is due because it was retried.
  it.each([
    { attempt: "its last", maxAttempts: 1 },
    { attempt: "one with retries left", maxAttempts: 3 },
  ])("that fails ($attempt) does not settle it: the retry asked for is made at once", async ({ maxAttempts }) => {
    retriesWaitNearTheirCeiling();
    const { p, key, webhook, event } = await webhookSetup("record?ms=300&fail=1", { maxAttempts }, { RETRY_BASE_SECONDS: "3600" });
    const eventId = await p.ingest(event());
    const sending = p.deliver();
    await vi.waitFor(async () => expect(await received(key)).toHaveLength(1), { timeout: 5_000, interval: 20 });
    const [delivery] = await webhookDeliveryRows(webhook.uid);
    expect((await p.api("POST", `/v1/deliveries/${delivery?.id}/retry`)).status).toBe(202);
    await sending;

    // Due at once, not in an hour: the run sent it again. A last attempt spent, that one failed for good.
    expect(await received(key)).toHaveLength(2);
    expect(await states(webhook.uid)).toEqual([[maxAttempts === 1 ? "failed" : "pending", 2]]);
    expect(await openDeadLetters(p, eventId)).toHaveLength(maxAttempts === 1 ? 1 : 0);
    expect(await kept(env.DB)).toEqual(await recounted(env.DB));
  });

  // A Worker's clock moves only between I/O, and a retry by hand comes from another isolate: one
  // in the millisecond the attempt started is told apart from a row written then before the read.
  it.each([
    { case: "retried in its start's millisecond", retried: true, startsAfterRead: 5, status: "pending", deadLetters: 0 },
    { case: "retried in its start's millisecond, the delivery made in it too", retried: true, startsAfterRead: 0, status: "pending", deadLetters: 0 },
    { case: "made in its start's millisecond, not retried", retried: false, startsAfterRead: 0, status: "failed", deadLetters: 1 },
  ])("a failing last attempt ($case) settles the delivery only if no one asked again", async ({ retried, startsAfterRead, status, deadLetters }) => {
    const p = pipeline();
    const { webhook, event } = await p.webhookOn("fail", { maxAttempts: 1 });
    const eventId = await p.ingest(event());
    const [row] = await webhookDeliveryRows(webhook.uid);
    const startedAt = row!.updated_at + startsAfterRead;
    if (retried) expect((await retryDeliveries(env.DB, { ids: [row!.id] }, { limit: 1 }, 0, startedAt)).pending).toEqual([row!.id]);
    const attempt = { deliveryId: row!.id, number: 1, startedAt, durationMs: 5, statusCode: 500, error: "HTTP 500", responseSnippet: null };
    const deadLetter = failedDeliveryLetter({ deliveryId: row!.id, eventId, webhookUid: webhook.uid }, attempt);
    await recordAttempts(env.DB, webhook.uid, [{ attempt, readVersion: row!.updated_at, status: "failed", nextAttemptAt: null, deadLetter }]);

    expect(await states(webhook.uid)).toEqual([[status, 1]]);
    expect(await openDeadLetters(p, eventId)).toHaveLength(deadLetters);
    expect(await kept(env.DB)).toEqual(await recounted(env.DB));
  });

  // The row's updated_at may be ahead of the attempt's start with no one asking since the read: written
  // by another isolate whose clock is ahead (the delivery made by the ingest), or owed anew twice in a
  // millisecond (OWED_ANEW_AT's + 1). Unchanged since the scheduler read it, it is no request.
  it.each([
    { case: "made by a clock 3 ms ahead of the attempt's", retriedBeforeRead: false, ahead: 3 },
    { case: "owed anew a millisecond ahead of its start (OWED_ANEW_AT's + 1), before the read", retriedBeforeRead: true, ahead: 1 },
  ])("a failing last attempt of a delivery whose row is ahead of its start ($case) settles it", async ({ retriedBeforeRead, ahead }) => {
    const p = pipeline();
    const { webhook, event } = await p.webhookOn("fail", { maxAttempts: 1 });
    const eventId = await p.ingest(event());
    let [row] = await webhookDeliveryRows(webhook.uid);
    if (retriedBeforeRead) {
      expect((await retryDeliveries(env.DB, { ids: [row!.id] }, { limit: 1 }, 0, row!.updated_at)).pending).toEqual([row!.id]);
      [row] = await webhookDeliveryRows(webhook.uid);
    }
    const startedAt = row!.updated_at - ahead;
    const attempt = { deliveryId: row!.id, number: 1, startedAt, durationMs: 5, statusCode: 500, error: "HTTP 500", responseSnippet: null };
    const deadLetter = failedDeliveryLetter({ deliveryId: row!.id, eventId, webhookUid: webhook.uid }, attempt);
    await recordAttempts(env.DB, webhook.uid, [{ attempt, readVersion: row!.updated_at, status: "failed", nextAttemptAt: null, deadLetter }]);

    expect(await states(webhook.uid)).toEqual([["failed", 1]]);
    expect(await openDeadLetters(p, eventId)).toHaveLength(1);
    expect(await kept(env.DB)).toEqual(await recounted(env.DB));
  });

  it("that fails its last attempt after the webhook was disabled too does not settle it: held, the retry asked for is made once enabled", async () => {
    const { p, key, webhook, event } = await webhookSetup("record?ms=600&fail=1", { maxAttempts: 1 }, { RETRY_BASE_SECONDS: "3600" });
    const eventId = await p.ingest(event());
    const sending = p.deliver();
    await vi.waitFor(async () => expect(await received(key)).toHaveLength(1), { timeout: 5_000, interval: 20 });
    const [delivery] = await webhookDeliveryRows(webhook.uid);
    expect((await p.api("POST", `/v1/deliveries/${delivery?.id}/retry`)).json).toMatchObject({ status: "pending" });
    expect((await p.api("PATCH", `/v1/webhooks/${webhook.uid}`, { disabled: true })).status).toBe(200);
    await sending;

    // The attempt is recorded; the delivery waits, held, for the try asked for: not failed, no dead letter.
    expect(await states(webhook.uid)).toEqual([["held", 1]]);
    expect(await openDeadLetters(p, eventId)).toHaveLength(0);
    expect(await kept(env.DB)).toEqual(await recounted(env.DB));

    await p.api("PATCH", `/v1/webhooks/${webhook.uid}`, { disabled: false });
    await p.deliver();
    expect(await received(key)).toHaveLength(2);
    expect(await states(webhook.uid)).toEqual([["failed", 2]]);
    expect(await openDeadLetters(p, eventId)).toHaveLength(1);
    expect(await kept(env.DB)).toEqual(await recounted(env.DB));
  });

  it("held already (its webhook disabled while the attempt was out), that fails its last attempt does not settle it: the retry is made once enabled", async () => {
    const { p, key, webhook, event } = await webhookSetup("record?ms=600&fail=1", { maxAttempts: 1 }, { RETRY_BASE_SECONDS: "3600" });
    const eventId = await p.ingest(event());
    const sending = p.deliver();
    await vi.waitFor(async () => expect(await received(key)).toHaveLength(1), { timeout: 5_000, interval: 20 });
    const [delivery] = await webhookDeliveryRows(webhook.uid);
    expect((await p.api("PATCH", `/v1/webhooks/${webhook.uid}`, { disabled: true })).status).toBe(200);
    const retried = await p.api("POST", `/v1/deliveries/${delivery?.id}/retry`);
    expect(retried.status).toBe(202);
    expect(retried.json).toMatchObject({ status: "held" });
    await sending;

    expect(await states(webhook.uid)).toEqual([["held", 1]]);
    expect(await openDeadLetters(p, eventId)).toHaveLength(0);
    await p.api("PATCH", `/v1/webhooks/${webhook.uid}`, { disabled: false });
    await p.deliver();
    expect(await received(key)).toHaveLength(2);
    expect(await states(webhook.uid)).toEqual([["failed", 2]]);
    expect(await kept(env.DB)).toEqual(await recounted(env.DB));
  });

  it("that succeeds settles it: sent and answered, it is not sent again", async () => {
    const { p, key, webhook, event } = await webhookSetup("slow?ms=300");
    await p.ingest(event());
    const sending = p.deliver();
    await vi.waitFor(async () => expect(await received(key)).toHaveLength(1), { timeout: 5_000, interval: 20 });
    const [delivery] = await webhookDeliveryRows(webhook.uid);
    expect((await p.api("POST", `/v1/deliveries/${delivery?.id}/retry`)).status).toBe(202);
    await sending;
    await p.deliver();
    expect(await received(key)).toHaveLength(1);
    expect(await states(webhook.uid)).toEqual([["succeeded", 1]]);
    expect(await kept(env.DB)).toEqual(await recounted(env.DB));
  });
});

describe("why a scheduler is woken", () => {
  it("owed anew only by a retry or a release, which may owe again a delivery whose attempt is out; new events added; the rest changed", async () => {
    const p = pipeline({ RETRY_BASE_SECONDS: "0" });
    const { org, webhook } = await p.webhookOn("fail", { maxAttempts: 1 });
    const reasons = () => p.wakeReasons.splice(0).filter((r) => r.webhookUid === webhook.uid).map((r) => r.why);
    const eventId = await p.ingest(podiumBody({ organizationUid: org }));
    expect(reasons()).toEqual(["added"]);
    await p.deliver();
    const [delivery] = (await p.api("GET", `/v1/events/${eventId}`)).json.deliveries;
    reasons();
    expect((await p.api("POST", `/v1/deliveries/${delivery.id}/retry`)).status).toBe(202);
    expect(reasons()).toEqual(["owedAnew"]);
    expect((await p.api("PATCH", `/v1/webhooks/${webhook.uid}`, { disabled: true })).status).toBe(200);
    expect(reasons()).toEqual(["changed"]);
    // Enabled: what it held is released.
    expect((await p.api("PATCH", `/v1/webhooks/${webhook.uid}`, { disabled: false })).status).toBe(200);
    expect(reasons()).toContain("owedAnew");
    expect((await p.api("POST", `/v1/events/${eventId}/replay`, {})).status).toBe(202);
    expect(reasons()).toEqual(["changed"]);
  });
});

describe("a delivery made while its webhook is enabled or disabled", () => {
  /** A pipeline whose next write of deliveries waits for another writer to change the webhook first. */
  const racingDeliveries = () => racing((statements) => statements.some((s) => s.sql.includes("INSERT INTO deliveries")));

  it.each([
    { read: "disabled", meanwhile: "enabled", status: "pending", woken: true },
    { read: "enabled", meanwhile: "disabled", status: "held", woken: false },
  ])("by the ingest takes the webhook's state at the commit: read $read, $meanwhile meanwhile, it is $status", async ({ read, meanwhile, status, woken }) => {
    const r = racingDeliveries();
    const { key, org, webhook: hook } = await r.p.webhookOn("ok", { ordering: "fifo", disabled: read === "disabled" });
    r.before(() => r.other.api("PATCH", `/v1/webhooks/${hook.uid}`, { disabled: meanwhile === "disabled" }));
    const consumed = await r.p.runIngest([ingestMessage({ organizationUid: org, body: podiumBody({ organizationUid: org }) })]);
    expect(r.ran()).toBe(true);
    expect(consumed.acked).toHaveLength(1);
    expect(await states(hook.uid)).toEqual([[status, 0]]);
    // Its scheduler is woken exactly when it has something to send.
    expect(r.p.woken).toEqual(woken ? [hook.uid] : []);
    const counts = (await r.p.api("GET", `/v1/stats?webhookUids=${hook.uid}`)).json.webhooks.find((w: { uid: string }) => w.uid === hook.uid);
    expect(counts).toMatchObject({ held: status === "held" ? 1 : 0, pending: status === "pending" ? 1 : 0 });
    expect(await kept(env.DB)).toEqual(await recounted(env.DB));
    if (woken) {
      await r.p.deliver();
      expect(await received(key)).toHaveLength(1);
    }
  });

  it("by a replay takes the webhook's state at the commit: read disabled, enabled meanwhile, it is pending and its scheduler woken", async () => {
    const r = racingDeliveries();
    const { key, org, webhook: hook } = await r.other.webhookOn("ok");
    const eventId = await r.other.ingest(podiumBody({ organizationUid: org }));
    await r.other.deliver();
    await r.other.api("PATCH", `/v1/webhooks/${hook.uid}`, { disabled: true });
    r.before(() => r.other.api("PATCH", `/v1/webhooks/${hook.uid}`, { disabled: false }));
    expect((await r.p.api("POST", `/v1/events/${eventId}/replay`, { webhookUid: hook.uid })).json).toEqual({ deliveries: 1 });
    expect(r.ran()).toBe(true);
    expect(await states(hook.uid)).toEqual([["succeeded", 1], ["pending", 0]]);
    expect(r.p.woken).toEqual([hook.uid]);
    expect(await kept(env.DB)).toEqual(await recounted(env.DB));
    await r.p.deliver();
    expect(await received(key)).toHaveLength(2);
  });
});

describe("a scheduler's hold when its webhook changed since the scheduler read it", () => {
  it.each([
    { meanwhile: { disabled: false }, change: "enabled", status: "succeeded", sent: 1 },
    { meanwhile: { timeoutMs: 2000 }, change: "changed, still disabled", status: "held", sent: 0 },
  ])("holds nothing, says so once, and the outcome is right: $change meanwhile, the delivery ends $status", async ({ meanwhile, status, sent }) => {
    // The scheduler's next write of held statuses waits for the webhook to change first.
    const r = racing((statements) => statements.some((s) => /^UPDATE deliveries SET status = 0, next_attempt_at = NULL/.test(s.sql)));
    const { key, org, webhook: hook } = await r.other.webhookOn("ok");
    await r.other.ingest(podiumBody({ organizationUid: org }));
    // Disabled behind the API's back (its own hold lost): the delivery is still pending, for the scheduler to hold.
    await env.DB.prepare("UPDATE webhooks SET disabled = 1, updated_at = updated_at + 1 WHERE uid = ?").bind(hook.uid).run();
    r.before(() => r.other.api("PATCH", `/v1/webhooks/${hook.uid}`, meanwhile));
    const logged: unknown[][] = [];
    const log = vi.spyOn(console, "log").mockImplementation((...args: unknown[]) => void logged.push(args));
    const flow = new WebhookFlow(r.p.env, hook.uid);
    try {
      expect(await flow.run(RUN)).toBeNull();
    } finally {
      log.mockRestore();
    }
    expect(r.ran()).toBe(true);
    expect(logged).toEqual([
      ["scheduler hold skipped: the webhook changed since its scheduler read it", { webhookUid: hook.uid, readVersion: expect.any(Number), version: expect.any(Number) }],
    ]);
    expect(JSON.stringify(logged)).not.toContain(hook.secret);
    // Enabled: still pending, to be sent; changed and still disabled: held by the change itself.
    expect(await states(hook.uid)).toEqual([[status === "held" ? "held" : "pending", 0]]);

    // The change woke the scheduler, which reads the webhook again.
    flow.wake();
    expect(await flow.run(RUN)).toBeNull();
    expect(await received(key)).toHaveLength(sent);
    expect(await states(hook.uid)).toEqual([[status, sent]]);
    expect(await kept(env.DB)).toEqual(await recounted(env.DB));
  });
});

describe("attempts a scheduler could not record", () => {
  it("are recorded by a later run when the webhook was disabled meanwhile, not dropped", async () => {
    const { p, key, webhook, event } = await webhookSetup("slow?ms=300");
    await p.ingest(event());
    let refuse = true;
    const { db } = d1Double({ failBatch: (statements) => refuse && statements.some((s) => s.sql.startsWith("UPDATE deliveries SET attempts")) });
    const flow = new WebhookFlow({ ...p.env, DB: db }, webhook.uid); // as its Durable Object keeps it
    const started = Date.now();
    const running = flow.run(RUN);
    await vi.waitFor(async () => expect(await received(key)).toHaveLength(1), { timeout: 5_000, interval: 20 });
    await p.api("PATCH", `/v1/webhooks/${webhook.uid}`, { disabled: true });
    flow.wake();
    // D1 refused the attempt: the run says when to try recording it again.
    const next = await running;
    expect(next).toEqual(expect.any(Number));
    expect(next).toBeGreaterThan(started);
    expect(await states(webhook.uid)).toEqual([["held", 0]]);

    refuse = false;
    expect(await flow.run(RUN)).toBeNull();
    expect(await states(webhook.uid)).toEqual([["succeeded", 1]]);
    expect(await received(key)).toHaveLength(1);
  });
});

describe("an ingest message delivered again after its batch committed", () => {
  it.each([
    { change: "its types now take the event", before: { eventTypes: ["contact.*"] }, after: { eventTypes: ["*"] }, filteredOut: false },
    { change: "its filter now admits the event", before: { filter: { body: { data: { body: "not this one" } } } }, after: { filter: null }, filteredOut: true },
  ])("owes nothing to a webhook not owed the event when it was stored: $change", async ({ before, after, filteredOut }) => {
    const p = pipeline();
    const key = uniqueKey();
    const org = `org-${key}`;
    const owed = await p.createWebhook({ url: `https://downstream.test/ok/${key}-owed`, eventTypes: ["*"], organizationUid: org });
    const changed = await p.createWebhook({ url: `https://downstream.test/ok/${key}-changed`, eventTypes: ["*"], organizationUid: org, ...before });
    const message = ingestMessage({ organizationUid: org, body: podiumBody({ organizationUid: org }) });
    expect((await p.runIngest([message])).acked).toHaveLength(1);
    await p.deliver();
    expect((await p.api("PATCH", `/v1/webhooks/${changed.uid}`, after)).status).toBe(200);
    p.woken.splice(0);

    // The consumer was cut off after its commit, before the ack: the queue delivers the message again.
    expect((await p.runIngest([message])).acked).toHaveLength(1);
    expect(await webhookDeliveryRows(changed.uid)).toEqual([]);
    expect(await states(owed.uid)).toEqual([["succeeded", 1]]);
    expect(p.woken).toEqual([]);
    const stored = (await p.api("GET", `/v1/events/${message.eventId}`)).json;
    expect(stored.filteredOut).toEqual(filteredOut ? [changed.uid] : []);
    await p.deliver();
    expect(await received(`${key}-changed`)).toEqual([]);
    expect(await received(`${key}-owed`)).toHaveLength(1);
    expect(await kept(env.DB)).toEqual(await recounted(env.DB));
  });

  it("still wakes the scheduler of a delivery it stored and nobody was told of, and makes it once", async () => {
    const lost = pipeline({}, { unreachable: () => true });
    const { key, org, webhook: hook } = await lost.webhookOn("ok");
    const message = ingestMessage({ organizationUid: org, body: podiumBody({ organizationUid: org }) });
    await lost.runIngest([message]); // stored; the wake-up failed
    const p = pipeline();
    expect((await p.runIngest([message, ingestMessage({ organizationUid: org, body: podiumBody({ organizationUid: org }) })])).acked).toHaveLength(2);
    expect(p.woken).toEqual([hook.uid]);
    await p.deliver();
    expect(await states(hook.uid)).toEqual([["succeeded", 1], ["succeeded", 1]]);
    expect(await received(key)).toHaveLength(2);
  });
});

describe("FIFO, what its scheduler read ahead", () => {
  it("gives way to an older delivery owed again whose wake-up was lost: it goes next, before the newer ones read ahead", async () => {
    const { p, key, org, webhook } = await webhookSetup("slow?ms=600", { ordering: "fifo" });
    const old = await p.ingest(podiumBody({ organizationUid: org }));
    await p.deliver();
    const [oldDelivery] = await webhookDeliveryRows(webhook.uid);
    expect(oldDelivery).toMatchObject({ status: "succeeded", event_id: old });
    const newer: string[] = [];
    for (let i = 0; i < 3; i++) newer.push(await p.ingest(podiumBody({ organizationUid: org })));
    const sending = p.deliver();
    await vi.waitFor(async () => expect(await received(key)).toHaveLength(2), { timeout: 5_000, interval: 20 }); // the first newer one is out
    // Retried elsewhere, its wake-up lost: this scheduler is not told.
    const elsewhere = pipeline({}, { unreachable: () => true });
    expect((await elsewhere.api("POST", `/v1/deliveries/${oldDelivery!.id}/retry`)).status).toBe(202);
    await sending;
    expect((await received(key)).map((r) => r.headers["edgehook-event-id"])).toEqual([old, newer[0], old, newer[1], newer[2]]);
  });

  it("gives way to an older delivery owed again whose wake-up was lost while the head waited for its retry: it goes first", async () => {
    // A failed attempt waits its backoff's ceiling: a jittered one may be due at once.
    retriesWaitNearTheirCeiling();
    const { p, key, org, webhook } = await webhookSetup("ok", { ordering: "fifo" });
    const answering = (behaviour: string) => p.api("PATCH", `/v1/webhooks/${webhook.uid}`, { url: `https://downstream.test/${behaviour}/${key}` });
    const old = await p.ingest(podiumBody({ organizationUid: org }));
    await p.deliver({ asAlarms: true });
    const [oldDelivery] = await webhookDeliveryRows(webhook.uid);
    expect(oldDelivery).toMatchObject({ status: "succeeded", event_id: old });
    await answering("fail");
    const newer = await p.ingest(podiumBody({ organizationUid: org }));
    await p.deliver({ asAlarms: true }); // the head: 500, due again after its backoff
    await answering("ok");
    await p.deliver({ asAlarms: true }); // its scheduler reads the webhook again; the head waits
    // Retried elsewhere, its wake-up lost: this scheduler is not told.
    const elsewhere = pipeline({}, { unreachable: () => true });
    expect((await elsewhere.api("POST", `/v1/deliveries/${oldDelivery!.id}/retry`)).status).toBe(202);
    const due = (await webhookDeliveryRows(webhook.uid)).find((d) => d.event_id === newer)!.next_attempt_at!;
    // The clock moved on to the head's retry, rather than waited for.
    onTestFinished(clockFrom(due + 1));
    await p.deliver({ asAlarms: true }); // its alarm: the head's retry came due
    const heard = (await received(key)).map((r) => [r.headers["edgehook-event-id"], r.status]);
    expect(heard).toEqual([
      [old, 200],
      [newer, 500],
      [old, 200],
      [newer, 200],
    ]);
  });
});

describe("an attempt in flight when its webhook is deleted", () => {
  it("is kept in the delivery's history, and leaves no health row behind the webhook", async () => {
    const { p, key, webhook, event } = await webhookSetup("slow?ms=300");
    const eventId = await p.ingest(event());
    const sending = p.deliver();
    await vi.waitFor(async () => expect(await received(key)).toHaveLength(1), { timeout: 5_000, interval: 20 });
    expect((await p.api("DELETE", `/v1/webhooks/${webhook.uid}`)).status).toBe(204);
    await sending;
    expect(await attemptCount(eventId)).toBe(1);
    expect(await env.DB.prepare("SELECT * FROM webhook_health WHERE webhook_uid = ?").bind(webhook.uid).first()).toBeNull();
  });

  it.each([
    { outcome: "succeeds", behaviour: "slow?ms=300", hook: {}, status: "succeeded" },
    { outcome: "fails for good", behaviour: "record?ms=300&fail=1", hook: { maxAttempts: 1 }, status: "expired" },
  ])("that $outcome leaves its delivery $status: sent and answered, it was delivered; else it is not owed", async ({ behaviour, hook, status }) => {
    const { p, key, webhook, event } = await webhookSetup(behaviour, hook);
    const eventId = await p.ingest(event());
    const sending = p.deliver();
    await vi.waitFor(async () => expect(await received(key)).toHaveLength(1), { timeout: 5_000, interval: 20 });
    expect((await p.api("DELETE", `/v1/webhooks/${webhook.uid}`)).status).toBe(204);
    await sending;
    expect(await states(webhook.uid)).toEqual([[status, 1]]);
    expect(await openDeadLetters(p, eventId)).toHaveLength(0);
    const [delivery] = (await p.api("GET", `/v1/events/${eventId}`)).json.deliveries;
    expect(delivery).toMatchObject({ status, attemptCount: 1 });
    expect(await kept(env.DB)).toEqual(await recounted(env.DB));
  });
});

describe("a bulk retry when the webhook it walks is deleted between its read of the webhooks and its write", () => {
  it.each([
    { status: "failed", behaviour: "fail", hook: { maxAttempts: 1 }, letters: 1 },
    { status: "succeeded", behaviour: "ok", hook: {}, letters: 0 },
  ])("leaves its $status deliveries as they were: nothing owed to a deleted webhook, no dead letter closed", async ({ status, behaviour, hook, letters }) => {
    // The retry's write waits for the delete: the webhook was read as existing, it is gone at the write.
    const r = racing((statements) => statements.some((s) => s.sql.startsWith("UPDATE dead_letters SET replayed_at")));
    const { webhook: w, event } = await r.other.webhookOn(behaviour, hook);
    const eventId = await r.other.ingest(event());
    await r.other.deliver();
    expect(await states(w.uid)).toEqual([[status, 1]]);
    expect(await openDeadLetters(r.other, eventId)).toHaveLength(letters);
    r.before(() => r.other.api("DELETE", `/v1/webhooks/${w.uid}`));
    const retried = await r.p.api("POST", "/v1/deliveries/retry", { status, webhookUid: w.uid });
    expect(r.ran()).toBe(true);
    expect(retried.status).toBe(202);
    expect(retried.json).toMatchObject({ count: 0 });
    expect(await states(w.uid)).toEqual([[status, 1]]);
    expect(await openDeadLetters(r.other, eventId)).toHaveLength(letters);
    expect(await kept(env.DB)).toEqual(await recounted(env.DB));
  });
});

describe("a bulk retry when the webhook it walks is confined to another organization between its read of the webhooks and its write", () => {
  it("sends nothing of the events outside that organization to it again", async () => {
    const r = racing((statements) => statements.some((s) => s.sql.startsWith("UPDATE dead_letters SET replayed_at")));
    const key = uniqueKey();
    const [org, loc] = [`org-${key}`, `loc-${key}`];
    const w = await r.other.createWebhook({ url: `https://downstream.test/fail/${key}`, eventTypes: ["*"], locationUid: loc, maxAttempts: 1 });
    await r.other.ingest(podiumBody({ organizationUid: `other-${org}`, locationUid: `elsewhere-${key}` })); // the other organization, known
    const eventId = await r.other.ingest(podiumBody({ organizationUid: org, locationUid: loc }));
    await r.other.deliver();
    expect(await states(w.uid)).toEqual([["failed", 1]]);
    // Confined meanwhile (a token of another organization's grant changed it), as updateWebhook writes it; nothing was owed to expire.
    r.before(() =>
      env.DB.prepare("UPDATE webhooks SET grant_organization_uid = ?, updated_at = updated_at + 1 WHERE uid = ?").bind(`other-${org}`, w.uid).run(),
    );
    const retried = await r.p.api("POST", "/v1/deliveries/retry", { status: "failed", webhookUid: w.uid });
    expect(r.ran()).toBe(true);
    expect(retried.json).toMatchObject({ count: 0 });
    await r.p.deliver();
    expect(await received(key)).toHaveLength(1);
    expect(await states(w.uid)).toEqual([["failed", 1]]);
    expect(await openDeadLetters(r.other, eventId)).toHaveLength(1);
    expect(await kept(env.DB)).toEqual(await recounted(env.DB));
  });
});

describe("a webhook confined to an organization", () => {
  it("is sent none of the events without an organization it failed before, by a bulk retry as by a retry of one", async () => {
    const p = pipeline();
    const key = uniqueKey();
    const loc = `loc-${key}`;
    const w = await p.createWebhook({ url: `https://downstream.test/fail/${key}`, eventTypes: ["*"], locationUid: loc, maxAttempts: 1 });
    const body = JSON.parse(podiumBody({ locationUid: loc }));
    delete body.data.location.organizationUid;
    const eventId = await p.ingest(JSON.stringify(body));
    expect((await p.api("GET", `/v1/events/${eventId}`)).json.organizationUid).toBeNull();
    await p.deliver();
    expect(await states(w.uid)).toEqual([["failed", 1]]);
    const org = `org-${key}`;
    await p.ingest(podiumBody({ organizationUid: org, locationUid: `elsewhere-${key}` })); // known
    // Confined since (a token of that organization's grant changed it), as updateWebhook writes it.
    await env.DB.prepare("UPDATE webhooks SET grant_organization_uid = ?, updated_at = updated_at + 1 WHERE uid = ?").bind(org, w.uid).run();
    const [delivery] = await webhookDeliveryRows(w.uid);
    const refused = await p.api("POST", `/v1/deliveries/${delivery!.id}/retry`);
    expect(refused.status).toBe(409);
    expect(refused.json.error.details).toEqual({ reason: "outside_grant" });
    expect((await p.api("POST", "/v1/deliveries/retry", { status: "failed", webhookUid: w.uid })).json).toMatchObject({ count: 0 });
    await p.deliver();
    expect(await received(key)).toHaveLength(1);
    expect(await states(w.uid)).toEqual([["failed", 1]]);
  });
});
