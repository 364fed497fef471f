import { createScheduledController, createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";
import type { Env } from "../../src/env";
import { DAY_MS } from "../../src/domain/time";
import { RETENTION_GRID_MS, runMaintenance } from "../../src/maintenance/cron";
import { REDRIVE_GRACE_MS } from "../../src/pipeline/commands";
import { meteredD1 } from "../../bench/d1-meter";
import { BULK_RETRY_LIMIT } from "../../src/api/routes/deliveries";
import { expireHeld } from "../../src/store/deliveries";
import { retryDeliveries, type RetryPosition } from "../../src/store/delivery-retry";
import { pipeline, received, uniqueKey } from "./pipeline";
import { as, DATA_SCOPES, makeToken } from "./tokens";
import { attemptCount, deliveryRows, failedDeliveries, failPending, setDelivery, setEvent, setEventDeliveries, webhookDeliveryRows } from "./rows";

async function scoped(behaviour = "ok", hook: Record<string, unknown> = {}, overrides: Record<string, string> = {}) {
  const p = pipeline(overrides);
  const { key, org, webhook, event } = await p.webhookOn(behaviour, hook);
  return { p, key, org, webhook, event: (n = 0) => event(`message.n${n}`) };
}

const statusOf = async (eventId: string) =>
  (await deliveryRows(eventId)).map((r) => r.status);

describe("held deliveries", () => {
  it("holds what a disabled webhook is owed, then releases it oldest first when enabled", async () => {
    // One request at a time, so the order they start in is the order they arrive in
    // (strict order whatever the concurrency is `ordering: "fifo"`: flow tests).
    const { p, key, webhook, event } = await scoped("ok", { disabled: true, maxConcurrency: 1 });
    const bodies = [event(1), event(2), event(3)];
    const ids: string[] = [];
    for (const b of bodies) ids.push(await p.ingest(b));
    expect(p.woken).toHaveLength(0);
    for (const id of ids) expect(await statusOf(id)).toEqual(["held"]);
    expect((await p.api("GET", `/v1/webhooks/${webhook.uid}`)).json.heldDeliveries).toBe(3);

    const enabled = await p.api("PATCH", `/v1/webhooks/${webhook.uid}`, { disabled: false });
    expect(enabled.json.heldDeliveries).toBe(0);
    expect(p.woken).toEqual([webhook.uid]);
    await p.deliver();
    expect((await received(key)).map((r) => r.body)).toEqual(bodies);
    for (const id of ids) expect(await statusOf(id)).toEqual(["succeeded"]);
  });

  it("holds pending deliveries when a webhook is disabled, and the cron releases held ones of enabled webhooks", async () => {
    const { p, key, webhook, event } = await scoped("ok");
    const id = await p.ingest(event());
    expect(p.woken).toEqual([webhook.uid]); // its scheduler is woken...
    await p.api("PATCH", `/v1/webhooks/${webhook.uid}`, { disabled: true });
    expect(await statusOf(id)).toEqual(["held"]);
    // ...and runs once it is held: nothing goes out.
    await p.deliver();
    expect(await received(key)).toHaveLength(0);
    expect(await statusOf(id)).toEqual(["held"]);

    // Enabled behind the API's back (as if the release enqueue was lost): the cron catches it.
    await env.DB.prepare("UPDATE webhooks SET disabled = 0 WHERE uid = ?").bind(webhook.uid).run();
    const report = await runMaintenance(p.env);
    expect(report.released).toBeGreaterThanOrEqual(1);
    await p.deliver();
    expect(await received(key)).toHaveLength(1);
  });

  it("expires held deliveries older than the retention; enabling does not send them", async () => {
    const { p, key, webhook, event } = await scoped("ok", { disabled: true }, { RETENTION_DAYS: "1" });
    const id = await p.ingest(event());
    await runMaintenance(p.env);
    expect(await statusOf(id)).toEqual(["held"]);
    await setEventDeliveries(id, "created_at = created_at - 2 * 86400000, event_received_at = event_received_at - 2 * 86400000");
    await runMaintenance(p.env);
    expect(await statusOf(id)).toEqual(["expired"]);
    await p.api("PATCH", `/v1/webhooks/${webhook.uid}`, { disabled: false });
    await p.deliver();
    expect(await received(key)).toHaveLength(0);
  });

  it("expires them a bounded pass at a time, reading what expires rather than every held delivery", async () => {
    const { p, webhook, event } = await scoped("ok", { disabled: true });
    const ids: string[] = [];
    for (let i = 0; i < 60; i++) ids.push(await p.ingest(event(i)));
    const old = ids.slice(0, 50);
    for (const id of old) await setEventDeliveries(id, "created_at = 1000, event_received_at = 1000");
    const meter = meteredD1(env.DB);
    const rowsOf = async (limit: number) => {
      meter.reset();
      const n = await expireHeld(meter.db, 5000, Date.now(), limit);
      return { n, rows: meter.usage.rowsRead };
    };
    const webhooks = (await env.DB.prepare("SELECT COUNT(*) AS n FROM delivery_counts").first<number>("n"))!;
    // Per webhook its count row and one probe of the owed index, twice (counted, then changed), the
    // counts' own rows, and ~8 per delivery that expires: not every one due before the LIMIT (a sort
    // would read all 50), nor every held delivery.
    const bound = (expiring: number) => 4 * webhooks + 8 + 8 * expiring;
    const first = await rowsOf(5);
    expect(first.n).toBe(5);
    expect(first.rows).toBeLessThanOrEqual(bound(5));
    expect((await rowsOf(1000)).n).toBe(45);
    const last = await rowsOf(5);
    expect(last.n).toBe(0);
    expect(last.rows).toBeLessThanOrEqual(bound(0));
    expect((await Promise.all(old.map(statusOf))).flat()).toEqual(old.map(() => "expired"));
    expect((await p.api("GET", `/v1/webhooks/${webhook.uid}`)).json.heldDeliveries).toBe(10);
  });
});

describe("maintenance", () => {
  it("purges events past RETENTION_DAYS with their deliveries and attempts", async () => {
    const { p, event } = await scoped("ok");
    const id = await p.ingest(event());
    await p.deliver();
    await setEvent(id, "received_at = received_at - 11 * 86400000");
    const fresh = await p.ingest(event(2));
    await runMaintenance(p.env);
    expect((await p.api("GET", `/v1/events/${id}`)).status).toBe(404);
    expect(await statusOf(id)).toEqual([]);
    expect(await attemptCount(id)).toBe(0);
    expect((await p.api("GET", `/v1/events/${fresh}`)).status).toBe(200);
  });

  it("purges on a ten-minute grid: an event past RETENTION_DAYS waits for the grid line after it", async () => {
    const { p, event } = await scoped("ok");
    const [before, after] = [await p.ingest(event(1)), await p.ingest(event(2))];
    await p.deliver();
    const now = Date.now();
    const line = Math.floor((now - 10 * DAY_MS) / RETENTION_GRID_MS) * RETENTION_GRID_MS;
    await setEvent(before, "received_at = ?1", line - 1);
    await setEvent(after, "received_at = ?1", line);
    expect((await runMaintenance(p.env, now)).purged).toBe(1);
    expect((await p.api("GET", `/v1/events/${before}`)).status).toBe(404);
    expect((await p.api("GET", `/v1/events/${after}`)).status).toBe(200);
    // The next grid line passes it.
    expect((await runMaintenance(p.env, now + RETENTION_GRID_MS)).purged).toBe(1);
    expect((await p.api("GET", `/v1/events/${after}`)).status).toBe(404);
  });

  it("wakes the scheduler of a webhook whose pending delivery lost its wake-up", async () => {
    const { p, key, webhook, event } = await scoped("ok");
    const id = await p.ingest(event());
    expect(p.woken.splice(0)).toEqual([webhook.uid]); // the wake-up is lost
    const ours = (await deliveryRows(id))[0]!.id;
    await runMaintenance(p.env);
    expect(p.woken).not.toContain(webhook.uid); // not yet overdue
    // Time passes: the delivery is now overdue.
    await setDelivery(ours, "next_attempt_at = ?1, updated_at = ?1", Date.now() - REDRIVE_GRACE_MS - 60_000);
    await runMaintenance(p.env);
    expect(p.woken).toContain(webhook.uid);
    await p.deliver();
    expect(await received(key)).toHaveLength(1);
    expect(await statusOf(id)).toEqual(["succeeded"]);
  });

  it("runs from the Worker's scheduled handler", async () => {
    const { p, event } = await scoped("ok");
    const id = await p.ingest(event());
    await p.deliver(); // settled: nothing owed holds the purge back
    await setEvent(id, "received_at = 0");
    const ctx = createExecutionContext();
    await (worker as ExportedHandler<Env>).scheduled!(createScheduledController({ scheduledTime: Date.now() }), p.env, ctx);
    await waitOnExecutionContext(ctx);
    expect((await p.api("GET", `/v1/events/${id}`)).status).toBe(404);
  });
});

describe("replay and retry", () => {
  it("replays an event to every matching webhook, or to the one named", async () => {
    const { p, key, org, webhook, event } = await scoped("ok");
    const other = await p.createWebhook({ url: `https://downstream.test/ok/${key}-b`, eventTypes: ["message.*"], organizationUid: org });
    const id = await p.ingest(event());
    await p.deliver();
    const all = await p.api("POST", `/v1/events/${id}/replay`, {});
    expect(all).toMatchObject({ status: 202, json: { deliveries: 2 } });
    await p.deliver();
    expect(await received(key)).toHaveLength(2);
    expect(await received(`${key}-b`)).toHaveLength(2);
    const one = await p.api("POST", `/v1/events/${id}/replay`, { webhookUid: other.uid });
    expect(one.json.deliveries).toBe(1);
    await p.deliver();
    expect(await received(`${key}-b`)).toHaveLength(3);
    expect(await received(key)).toHaveLength(2);
    expect((await p.api("GET", `/v1/events/${id}`)).json.deliveries).toHaveLength(5);
    expect((await p.api("POST", `/v1/events/${id}/replay`, { webhookUid: "nope" })).status).toBe(404);
    expect((await p.api("POST", "/v1/events/evt_nope/replay", {})).status).toBe(404);
    void webhook;
  });

  it("retries a failed delivery by hand, and in bulk by filter", async () => {
    const { p, key, webhook, event } = await scoped("fail", { maxAttempts: 1 });
    const ids = [await p.ingest(event(1)), await p.ingest(event(2))];
    await p.deliver();
    for (const id of ids) expect(await statusOf(id)).toEqual(["failed"]);
    // The downstream is fixed.
    await p.api("PATCH", `/v1/webhooks/${webhook.uid}`, { url: `https://downstream.test/ok/${key}` });

    const list = await p.api("GET", `/v1/deliveries?status=failed&webhookUid=${webhook.uid}`);
    expect(list.json.data).toHaveLength(2);
    const one = await p.api("POST", `/v1/deliveries/${list.json.data[0].id}/retry`);
    expect(one.status).toBe(202);
    expect(one.json.status).toBe("pending");
    await p.deliver();
    expect((await p.api("GET", `/v1/deliveries?status=failed&webhookUid=${webhook.uid}`)).json.data).toHaveLength(1);

    const bulk = await p.api("POST", "/v1/deliveries/retry", { status: "failed", webhookUid: webhook.uid });
    expect(bulk).toMatchObject({ status: 202, json: { count: 1 } });
    await p.deliver();
    for (const id of ids) expect(await statusOf(id)).toEqual(["succeeded"]);
    expect((await p.api("POST", "/v1/deliveries/dlv_nope/retry")).status).toBe(404);
    expect((await p.api("POST", "/v1/deliveries/retry", { status: "bogus" })).status).toBe(400);
    // A webhook that is none (a typo, a deleted one) is named in a 404, not an empty retry.
    const typo = await p.api("POST", "/v1/deliveries/retry", { status: "failed", webhookUid: "no-such-webhook" });
    expect(typo).toMatchObject({ status: 404, json: { error: { code: "not_found", message: expect.stringContaining("no-such-webhook") } } });
  });

  it(`retries at most ${BULK_RETRY_LIMIT} deliveries a call, oldest first, and answers a cursor while more remain`, async () => {
    const { p, webhook, event } = await scoped("ok");
    const id = await p.ingest(event());
    await failedDeliveries(id, webhook.uid, BULK_RETRY_LIMIT); // with the one ingested: the bound and one more, all failed
    const statuses = async () => (await webhookDeliveryRows(webhook.uid)).map((r) => r.status);
    expect(await statuses()).toEqual(Array(BULK_RETRY_LIMIT + 1).fill("failed"));

    const first = await p.api("POST", "/v1/deliveries/retry", { status: "failed", webhookUid: webhook.uid });
    expect(first).toMatchObject({ status: 202, json: { count: BULK_RETRY_LIMIT, held: 0, nextCursor: expect.any(String) } });
    expect(await statuses()).toEqual([...Array(BULK_RETRY_LIMIT).fill("pending"), "failed"]);
    const rest = await p.api("POST", "/v1/deliveries/retry", { status: "failed", webhookUid: webhook.uid, cursor: first.json.nextCursor });
    expect(rest).toMatchObject({ status: 202, json: { count: 1, held: 0, nextCursor: null } });
    expect(await statuses()).toEqual(Array(BULK_RETRY_LIMIT + 1).fill("pending"));
    expect((await p.api("GET", `/v1/stats?webhookUids=${webhook.uid}`)).json.webhooks.find((w: { uid: string }) => w.uid === webhook.uid)).toMatchObject({ failed: 0, pending: BULK_RETRY_LIMIT + 1 });

    const bad = await p.api("POST", "/v1/deliveries/retry", { status: "failed", cursor: "nope" });
    expect(bad.status).toBe(400);
    expect(bad.json.error.code).toBe("invalid_request");
  });

  it("pages webhook by webhook, each oldest first, with a cursor that moves past what was retried even when it matches again", async () => {
    const { p, org, webhook: a, event } = await scoped("ok");
    const b = await p.createWebhook({ url: `https://downstream.test/ok/${uniqueKey()}`, eventTypes: ["*"], organizationUid: org });
    const id = await p.ingest(event()); // one delivery to each
    await failedDeliveries(id, a.uid, 600); // a: 601 failed
    await failedDeliveries(id, b.uid, 599); // b: 600 failed, made after a's
    const { token } = await makeToken(p, ["events:replay", ...DATA_SCOPES], { organizationUids: [org] });
    const retry = (cursor?: string) => as(p, token, "POST", "/v1/deliveries/retry", { status: "failed", ...(cursor ? { cursor } : {}) });
    const statuses = async (uid: string) => (await webhookDeliveryRows(uid)).map((r) => r.status);

    const first = await retry();
    expect(first).toMatchObject({ status: 202, json: { count: BULK_RETRY_LIMIT, held: 0, nextCursor: expect.any(String) } });
    // a's (the webhook made first) all, then b's oldest.
    expect(await statuses(a.uid)).toEqual(Array(601).fill("pending"));
    expect(await statuses(b.uid)).toEqual([...Array(BULK_RETRY_LIMIT - 601).fill("pending"), ...Array(1201 - BULK_RETRY_LIMIT).fill("failed")]);

    // Those retried fail again: they match again, and the cursor still takes the ones after them.
    await failPending(a.uid);
    await failPending(b.uid);
    const rest = await retry(first.json.nextCursor);
    expect(rest).toMatchObject({ status: 202, json: { count: 1201 - BULK_RETRY_LIMIT, held: 0, nextCursor: null } });
    expect(await statuses(a.uid)).toEqual(Array(601).fill("failed"));
    expect(await statuses(b.uid)).toEqual([...Array(BULK_RETRY_LIMIT - 601).fill("failed"), ...Array(1201 - BULK_RETRY_LIMIT).fill("pending")]);
  });

  it("reads as much for a call whether 300 matches are left or 5: a page and an entry per webhook, never every match to sort", async () => {
    const { p, org, webhook, event } = await scoped("ok");
    await failedDeliveries(await p.ingest(event()), webhook.uid, 299); // 300 failed
    const access = { hiddenObjects: [], organizationUids: [org], locationUids: null };
    const meter = meteredD1(env.DB);
    const webhooks = (await env.DB.prepare("SELECT COUNT(*) AS n FROM delivery_counts").first<number>("n"))!;
    let after: RetryPosition | undefined;
    const reads: number[] = [];
    for (;;) {
      meter.reset();
      const page = await retryDeliveries(meter.db, { status: "failed", access }, { limit: 5, after }, 0);
      if (!page.full || !page.last) break;
      reads.push(meter.usage.rowsRead);
      after = page.last;
    }
    expect(reads).toHaveLength(60);
    // Each of the page's three statements reads the matches it takes and probes each
    // webhook: sorting every match left (295 in the first call) would read hundreds more.
    const lastFull = reads.at(-1)!;
    for (const n of reads) expect(n).toBeLessThanOrEqual(lastFull + 3 * 2 * webhooks);
    expect((await webhookDeliveryRows(webhook.uid)).map((r) => r.status)).toEqual(Array(300).fill("pending"));
  });

  it("never walks another organization's deliveries for a limited token's retry: what it reads does not grow with theirs", async () => {
    const theirs = await scoped("ok");
    const theirEvent = await theirs.p.ingest(theirs.event());
    const mine = await scoped("ok");
    const mineEvent = await mine.p.ingest(mine.event());
    const access = { hiddenObjects: [], organizationUids: [mine.org], locationUids: null };
    const meter = meteredD1(env.DB);
    const readFor = async (theirFailed: number) => {
      await failedDeliveries(theirEvent, theirs.webhook.uid, theirFailed); // not this token's
      await failedDeliveries(mineEvent, mine.webhook.uid, 1);
      meter.reset();
      const page = await retryDeliveries(meter.db, { status: "failed", access }, { limit: 1 }, 0); // one of its own each time
      expect(page.pending).toHaveLength(1);
      return meter.usage.rowsRead;
    };
    const few = await readFor(10);
    const many = await readFor(1_000);
    expect(many - few).toBeLessThan(20);
    expect((await webhookDeliveryRows(theirs.webhook.uid)).every((r) => r.status === "failed")).toBe(true);
  });

  it("reads as much to retry one delivery however many webhooks there are: its own webhook's row, not each", async () => {
    const { p, event, webhook } = await scoped("ok");
    await failedDeliveries(await p.ingest(event()), webhook.uid, 1);
    const meter = meteredD1(env.DB);
    const readFor = async () => {
      await failPending(webhook.uid);
      const failed = (await webhookDeliveryRows(webhook.uid)).filter((d) => d.status === "failed");
      meter.reset();
      const page = await retryDeliveries(meter.db, { ids: [failed[0]!.id] }, { limit: 1 }, 0);
      expect(page.pending).toHaveLength(1);
      return meter.usage.rowsRead;
    };
    const few = await readFor();
    for (let i = 0; i < 50; i++) await p.createWebhook({ url: `https://downstream.test/ok/${uniqueKey()}`, eventTypes: ["*"], organizationUid: `org-${uniqueKey()}` });
    expect((await readFor()) - few).toBeLessThan(20);
  });

  it("accepts a retry of a held delivery (202) and keeps it held: it goes out when its webhook is enabled", async () => {
    const { p, event, webhook } = await scoped("ok", { disabled: true });
    const id = await p.ingest(event());
    const d = (await p.api("GET", `/v1/deliveries?eventId=${id}`)).json.data[0];
    expect(d.status).toBe("held");
    const res = await p.api("POST", `/v1/deliveries/${d.id}/retry`);
    expect(res.status).toBe(202);
    expect(res.json).toMatchObject({ id: d.id, status: "held", attemptCount: 0 });
    expect((await p.api("GET", `/v1/deliveries?eventId=${id}`)).json.data[0].status).toBe("held");
    expect((await p.api("PATCH", `/v1/webhooks/${webhook.uid}`, { disabled: false })).status).toBe(200);
    await p.deliver();
    expect((await p.api("GET", `/v1/deliveries?eventId=${id}`)).json.data[0]).toMatchObject({ status: "succeeded", attemptCount: 1 });
  });
});
