// Events stored after their retention (an ingest dead letter replayed late, a D1 outage waited
// out), and deliveries owed again once their event is past it: nothing past the retention is sent.
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { meteredD1 } from "../../bench/d1-meter";
import { DAY_MS, MINUTE_MS } from "../../src/domain/time";
import { EXPIRED_GRACE_MS } from "../../src/domain/delivery";
import { RETENTION_GRID_MS, retention, runMaintenance } from "../../src/maintenance/cron";
import { WebhookFlow } from "../../src/pipeline/flow";
import { clockFrom } from "./clock";
import { d1Double, type SeenStatement } from "./d1-double";
import { ingestMessage, podiumBody } from "./helpers";
import { pipeline, received, RUN } from "./pipeline";
import { kept, recounted } from "./recount";
import { deliveryRows, setEvent, setEventDeliveries } from "./rows";

const RETENTION = { RETENTION_DAYS: "1" };

/** A webhook made a month ago (an event is owed to the webhooks that existed when it was received). */
async function oldWebhook(behaviour: string, hook: Record<string, unknown> = {}) {
  const p = pipeline(RETENTION);
  const made = await p.webhookOn(behaviour, hook);
  await env.DB.prepare("UPDATE webhooks SET created_at = created_at - 30 * ?1 WHERE uid = ?2").bind(DAY_MS, made.webhook.uid).run();
  return { p, ...made };
}

/** Stores an event received `agoMs` ago, as the ingest consumer does when its message arrives late. */
async function lateEvent(p: ReturnType<typeof pipeline>, org: string, agoMs: number): Promise<string> {
  const msg = ingestMessage({ body: podiumBody({ organizationUid: org }), organizationUid: org, receivedAt: Date.now() - agoMs });
  expect((await p.runIngest([msg])).acked).toHaveLength(1);
  return msg.eventId;
}

const statuses = async (eventId: string) => (await deliveryRows(eventId)).map((r) => r.status);

describe("events past the retention", () => {
  it("stores the deliveries of an event stored after its retention expired: never sent, visible until its grace is over", async () => {
    const { p, key, org } = await oldWebhook("ok");
    const late = await lateEvent(p, org, 2 * DAY_MS);
    // Stored expired: no scheduler is owed a wake-up for it.
    expect(await statuses(late)).toEqual(["expired"]);
    expect(p.woken).toEqual([]);
    await p.deliver();
    expect(await received(key)).toHaveLength(0);
    const shown = await p.api("GET", `/v1/events/${late}`);
    expect(shown.status).toBe(200);
    expect(shown.json.deliveries).toMatchObject([{ status: "expired", attemptCount: 0 }]);
    // A replay of it is refused: nothing is sent for an event past the retention.
    const replayed = await p.api("POST", `/v1/events/${late}/replay`, {});
    expect(replayed.status).toBe(409);
    expect(replayed.json.error.details).toEqual({ reason: "past_retention" });
    // An event in time is sent as ever.
    const fresh = await lateEvent(p, org, 0);
    await p.deliver();
    expect(await received(key)).toHaveLength(1);
    expect(await statuses(fresh)).toEqual(["succeeded"]);
  });

  it("says it stored deliveries expired only when it did: not for a late event owed nothing, nor for a copy stored before", async () => {
    const { p, org } = await oldWebhook("ok", { eventTypes: ["message.received"] });
    const warned = vi.spyOn(console, "warn").mockImplementation(() => {});
    try {
      const said = () => warned.mock.calls.filter(([line]) => String(line).startsWith("events stored past the retention"));
      const msg = ingestMessage({ body: podiumBody({ organizationUid: org }), organizationUid: org, receivedAt: Date.now() - 2 * DAY_MS });
      await p.runIngest([msg]);
      expect(said()).toEqual([["events stored past the retention: their deliveries expired unsent", { events: 1, deliveries: 1 }]]);
      // The same message again (a copy), and a late event no webhook is owed: nothing expired, nothing said.
      const unowed = ingestMessage({ body: podiumBody({ type: "contact.created", organizationUid: org }), eventType: "contact.created", organizationUid: org, receivedAt: Date.now() - 2 * DAY_MS });
      await p.runIngest([msg, unowed]);
      expect(await deliveryRows(unowed.eventId)).toEqual([]);
      expect(said()).toHaveLength(1);
    } finally {
      warned.mockRestore();
    }
  });

  it("never sends a late event held for a disabled webhook once it is enabled", async () => {
    const { p, key, org, webhook } = await oldWebhook("ok", { disabled: true });
    const late = await lateEvent(p, org, 2 * DAY_MS);
    expect(await statuses(late)).toEqual(["expired"]);
    expect((await p.api("PATCH", `/v1/webhooks/${webhook.uid}`, { disabled: false })).status).toBe(200);
    await p.deliver();
    expect(await received(key)).toHaveLength(0);
    expect(await statuses(late)).toEqual(["expired"]);
  });

  it("refuses a retry of a delivery whose event is past the retention, and expires one released by an enable unsent", async () => {
    const { p, key, org, webhook } = await oldWebhook("ok");
    const id = await lateEvent(p, org, 0);
    await p.deliver();
    expect(await received(key)).toHaveLength(1);
    // Two days on, in its grace (before the maintenance run reached it): retried by hand.
    await setEvent(id, "received_at = received_at - 2 * ?1", DAY_MS);
    await setEventDeliveries(id, "event_received_at = event_received_at - 2 * ?1", DAY_MS);
    const [delivery] = (await p.api("GET", `/v1/events/${id}`)).json.deliveries;
    // Retried by hand: refused as its replay is, the delivery left as it was.
    const retried = await p.api("POST", `/v1/deliveries/${delivery.id}/retry`);
    expect(retried.status).toBe(409);
    expect(retried.json.error.details).toEqual({ reason: "past_retention" });
    await p.deliver();
    expect(await received(key)).toHaveLength(1);
    expect(await statuses(id)).toEqual(["succeeded"]);

    // Held while its webhook was disabled, then released by the enable before a maintenance run expired it.
    const held = await lateEvent(p, org, 0);
    expect((await p.api("PATCH", `/v1/webhooks/${webhook.uid}`, { disabled: true })).status).toBe(200);
    expect(await statuses(held)).toEqual(["held"]);
    await setEvent(held, "received_at = received_at - 2 * ?1", DAY_MS);
    await setEventDeliveries(held, "event_received_at = event_received_at - 2 * ?1", DAY_MS);
    expect((await p.api("PATCH", `/v1/webhooks/${webhook.uid}`, { disabled: false })).status).toBe(200);
    await p.deliver();
    expect(await received(key)).toHaveLength(1);
    expect(await statuses(held)).toEqual(["expired"]);
  });

  it.each(["unordered", "fifo"] as const)("%s: tries an expiry D1 refused again later, not at once until the run's bound: the delivery stays owed, unsent", async (ordering) => {
    const { p, key, org, webhook } = await oldWebhook("ok", { ordering });
    const id = await lateEvent(p, org, 0);
    // Past the retention before it was sent, and before the maintenance run reached it.
    await setEvent(id, "received_at = received_at - 2 * ?1", DAY_MS);
    await setEventDeliveries(id, "event_received_at = event_received_at - 2 * ?1", DAY_MS);
    const isExpiry = (stmts: SeenStatement[]) => stmts.some((s) => s.sql.includes("WHERE e.seq = deliveries.event) <"));
    let refused = 0;
    const db = d1Double({ failBatch: (stmts) => isExpiry(stmts) && ++refused > 0 }).db;
    const before = Date.now();
    const next = await new WebhookFlow({ ...p.env, DB: db }, webhook.uid).run({ deadline: before + 20_000, maxStarts: 20, maxTransformSteps: Infinity, maxWaitMs: 0 });
    expect(refused).toBe(1);
    // The run ends, its next a few seconds on (the scheduler's alarm).
    expect(next).toBeGreaterThanOrEqual(before + 4_000);
    expect(await statuses(id)).toEqual(["pending"]);
    // D1 answering again, the next run expires it, unsent.
    await p.deliver();
    expect(await statuses(id)).toEqual(["expired"]);
    expect(await received(key)).toHaveLength(0);
  });

  it("passes over deliveries whose event is past the retention in a bulk retry, and refuses a dead letter's replay of one", async () => {
    const { p, key, org, webhook } = await oldWebhook("fail", { maxAttempts: 1 });
    const old = await lateEvent(p, org, 0);
    const fresh = await lateEvent(p, org, 0);
    await p.deliver();
    expect(await statuses(old)).toEqual(["failed"]);
    expect(await statuses(fresh)).toEqual(["failed"]);
    // The one is two days old now, in its grace before a maintenance run reached it.
    await setEvent(old, "received_at = received_at - 2 * ?1", DAY_MS);
    await setEventDeliveries(old, "event_received_at = event_received_at - 2 * ?1", DAY_MS);
    const before = (await received(key)).length;

    const letter = (await p.api("GET", "/v1/dead-letters?open=true")).json.data.find((d: { eventId: string }) => d.eventId === old);
    const replayed = await p.api("POST", `/v1/dead-letters/${letter.id}/replay`);
    expect(replayed.status).toBe(409);
    expect(replayed.json.error.details).toEqual({ reason: "past_retention" });

    const bulk = await p.api("POST", "/v1/deliveries/retry", { status: "failed", webhookUid: webhook.uid });
    expect(bulk.status).toBe(202);
    expect(bulk.json).toMatchObject({ count: 1 });
    await p.deliver();
    // Only the event in time went out again; the old one's delivery stays as it was, its purge not put off.
    expect((await received(key)).length).toBe(before + 1);
    expect(await statuses(old)).toEqual(["failed"]);
  });

  it("passes over an event past the retention in a range replay: nothing made, nothing counted, its purge not put off", async () => {
    const { p, key, org, webhook } = await oldWebhook("ok");
    const old = await lateEvent(p, org, 2 * DAY_MS);
    const fresh = await lateEvent(p, org, 0);
    await p.deliver();
    expect(await received(key)).toHaveLength(1);
    const range = { since: new Date(Date.now() - 3 * DAY_MS).toISOString(), until: new Date(Date.now() + 60_000).toISOString(), webhookUid: webhook.uid };
    // A dry run says what a real run sends: the event in time alone.
    const dry = await p.api("POST", "/v1/events/replay", { ...range, dryRun: true });
    expect(dry.status).toBe(200);
    expect(dry.json).toMatchObject({ events: 1, deliveries: 1 });
    const real = await p.api("POST", "/v1/events/replay", range);
    expect(real.status).toBe(202);
    expect(real.json).toMatchObject({ events: 1, deliveries: 1 });
    // No delivery made for the old one: an expired one made now would keep it a grace day more, each replay.
    expect(await statuses(old)).toEqual(["expired"]);
    expect(await statuses(fresh)).toHaveLength(2);
    await p.deliver();
    expect(await received(key)).toHaveLength(2);
  });

  it("purges a late event behind the retention's mark once its grace is over, reading a few rows", async () => {
    const { p, org } = await oldWebhook("ok");
    // The retention passes an event first: its mark moves past the time the late one was received.
    const early = await lateEvent(p, org, 0);
    await p.deliver();
    await setEvent(early, "received_at = received_at - ?1", 1.5 * DAY_MS);
    await setEventDeliveries(early, "event_received_at = event_received_at - ?1", 1.5 * DAY_MS);
    await runMaintenance(p.env);
    expect((await p.api("GET", `/v1/events/${early}`)).status).toBe(404);
    const mark = await env.DB.prepare("SELECT received_at FROM retention_marks WHERE id = 0").first<number>("received_at");

    const lateAt = Date.now() - 2 * DAY_MS;
    expect(mark).toBeGreaterThan(lateAt);
    const late = await lateEvent(p, org, 2 * DAY_MS);
    await runMaintenance(p.env);
    // Kept through its grace, expired.
    expect((await p.api("GET", `/v1/events/${late}`)).status).toBe(200);
    const after = Date.now() + EXPIRED_GRACE_MS + RETENTION_GRID_MS;
    const meter = meteredD1(env.DB);
    const done = await retention({ ...p.env, DB: meter.db }, after, 1);
    expect(done.purged).toBeGreaterThanOrEqual(1);
    expect((await p.api("GET", `/v1/events/${late}`)).status).toBe(404);
    // A chunk's purge costs its events' counter rows (their hours, places and webhooks): ~200 rows an event here.
    expect(meter.usage.rowsRead).toBeLessThanOrEqual(250 * done.purged);
    // Nothing is left behind the mark to read again: the next pass reads a few rows.
    meter.reset();
    expect(await retention({ ...p.env, DB: meter.db }, after, 1)).toEqual({ expired: 0, purged: 0 });
    expect(meter.usage.rowsRead).toBeLessThan(20);
  });

  // Last: its deliveries in time are left owed (paused), which the purge test above would read again.
  it("expires a delivery whose event crossed the retention during a Retry-After pause, though the downstream pauses again before reaching it", async () => {
    // Every request told to wait four minutes (503, Retry-After: 240); one at a time.
    const { p, key, org, webhook } = await oldWebhook("record?busy=1000&busyStatus=503&s=240", { maxConcurrency: 1 });
    // Two minutes from the retention's horizon; two events in time after it.
    const old = await lateEvent(p, org, DAY_MS - 2 * MINUTE_MS);
    await lateEvent(p, org, 0);
    await lateEvent(p, org, 0);
    // Its scheduler, kept across runs as its Durable Object keeps it (and its pause).
    const flow = new WebhookFlow(p.env, webhook.uid);
    await flow.run(RUN);
    // Retried by hand during the pause, which the admin's retry ends: tried at once, paused again, due again as the pause ends,
    // after the others (by its due time).
    const [delivery] = (await p.api("GET", `/v1/events/${old}`)).json.deliveries;
    expect((await p.api("POST", `/v1/deliveries/${delivery.id}/retry`)).status).toBe(202);
    flow.resume();
    flow.wake();
    await flow.run(RUN);
    expect(await received(key)).toHaveLength(2);
    expect(await statuses(old)).toEqual(["pending"]);

    // The pause over, its event is past the retention (the maintenance run's grid not there yet). The next one
    // goes out and is paused again: the old one, never reached, is expired all the same, and said so.
    const restore = clockFrom(Date.now() + 4 * MINUTE_MS + 10_000);
    const warn = vi.spyOn(console, "warn");
    try {
      await flow.run(RUN);
      expect(await received(key)).toHaveLength(3);
      expect(await statuses(old)).toEqual(["expired"]);
      expect(warn).toHaveBeenCalledWith("a delivery past the retention expired unsent", { webhookUid: webhook.uid, deliveryId: delivery.id });
    } finally {
      warn.mockRestore();
      restore();
    }
    // Through the one state change, its counts in its transaction. (The events' hour counts are out of step with
    // the receipts this file's tests move by hand.)
    const [have, want] = [await kept(env.DB), await recounted(env.DB)];
    expect(have.deliveries).toEqual(want.deliveries);
    expect(have.deliveryTotals).toEqual(want.deliveryTotals);
  });
});
