// A webhook with a large backlog of deliveries waiting for a retry, and new ones beside it:
// its scheduler's reads stay about a page whatever the backlog (a new delivery is found in its
// webhook's order, not the due-time index: migration 0033), and a new delivery writes its row
// and three index entries (none by event: migration 0034).
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { meteredD1 } from "../../bench/d1-meter";
import { REDRIVE_GRACE_MS } from "../../src/pipeline/commands";
import { INSERT_DELIVERY_WEBHOOKS } from "../../src/store/delivery-webhooks";
import { duePending, firstOwed, owedInOrder, pendingOutlook, webhooksOverdue } from "../../src/store/scheduler-reads";
import { ingestMessage, podiumBody } from "./helpers";
import { pipeline, received } from "./pipeline";
import { setDelivery, setWebhookDeliveries, webhookDeliveryRows } from "./rows";

const BACKLOG = 5000;
const FRESH = 20;
const HOUR = 3_600_000;

/**
 * A webhook on an answering downstream owed BACKLOG deliveries whose retry is an hour away and
 * FRESH new ones (never attempted), their events received after the backlog's, or before it
 * (`freshFirst`). Its scheduler was told of none of them yet.
 */
async function backlogged(ordering: "unordered" | "fifo", freshFirst = false) {
  const p = pipeline();
  const { key, org, webhook } = await p.webhookOn("record", { ordering });
  const event = (receivedAt: number) => ingestMessage({ organizationUid: org, receivedAt, body: podiumBody({ organizationUid: org }) });
  // (A webhook is owed the events received once it exists. The backlog's, received at once, are owed in the order they were stored.)
  const t0 = Date.now();
  for (let b = 0; b < BACKLOG / 100; b++) await p.runIngest(Array.from({ length: 100 }, () => event(freshFirst ? t0 + FRESH : t0)));
  await setWebhookDeliveries(webhook.uid, "pending", "attempt_count = 1, next_attempt_at = ?1", Date.now() + HOUR);
  await p.runIngest(Array.from({ length: FRESH }, (_, i) => event(freshFirst ? t0 + i : t0 + 1 + i)));
  p.woken.splice(0);
  return { key, webhook, freshIds: (await webhookDeliveryRows(webhook.uid)).filter((d) => d.attempt_count === 0).map((d) => d.id) };
}

const meter = meteredD1(env.DB);

/**
 * The rows a job read costs, about: its index entries (two ranges merged read a LIMIT of each),
 * its row, its event's, the names it spells out, and its body's (~15 measured). A walk of the
 * backlog would read thousands.
 */
const PER_JOB = 20;

/** The D1 rows a read reads. */
async function rowsRead(read: (db: D1Database) => Promise<unknown>): Promise<number> {
  meter.reset();
  await read(meter.db);
  return meter.usage.rowsRead;
}

describe("a webhook's scheduler with a backlog waiting for retries", () => {
  it("unordered: finds and sends the new deliveries, reading about a page of deliveries whatever the backlog", async () => {
    const { key, webhook, freshIds } = await backlogged("unordered");
    const uid = webhook.uid;
    const due = await duePending(env.DB, uid, { now: Date.now(), limit: 50, exclude: [] });
    expect(due.map((j) => j.delivery.id).sort()).toEqual([...freshIds].sort());
    // Each read is a LIMIT of a range or two and what it joins (the event, its names, its body).
    expect(await rowsRead((db) => duePending(db, uid, { now: Date.now(), limit: 50, exclude: [] }))).toBeLessThanOrEqual(PER_JOB * FRESH);
    expect(await rowsRead((db) => duePending(db, uid, { now: Date.now(), limit: 5, exclude: freshIds.slice(0, 5) }))).toBeLessThanOrEqual(PER_JOB * 10);
    expect(await pendingOutlook(env.DB, uid, freshIds)).toEqual({ nextDueAt: expect.any(Number), held: false });
    expect((await pendingOutlook(env.DB, uid, freshIds)).nextDueAt).toBeGreaterThan(Date.now() + HOUR / 2);
    // (Those left out are walked past: the few in flight.)
    expect(await rowsRead((db) => pendingOutlook(db, uid, freshIds))).toBeLessThanOrEqual(5 * FRESH + 20);
    expect(await webhooksOverdue(env.DB, Date.now() + 1, 1000)).toContain(uid);
    expect(await webhooksOverdue(env.DB, Date.now() - REDRIVE_GRACE_MS, 1000)).not.toContain(uid);

    // A few of the backlog come due: its scheduler sends them and the new ones, and leaves the rest to their time.
    const dueNow = (await webhookDeliveryRows(uid)).filter((d) => d.attempt_count === 1).slice(-10).map((d) => d.id);
    for (const id of dueNow) await setDelivery(id, "next_attempt_at = ?1", Date.now() - 1);
    const p = pipeline({ DB: meter.db });
    p.woken.push(uid);
    meter.reset();
    await p.deliver();
    expect(await received(key)).toHaveLength(FRESH + dueNow.length);
    const read = meter.usage.rowsRead;
    expect((await webhookDeliveryRows(uid)).filter((d) => d.status === "succeeded").map((d) => d.id).sort()).toEqual([...freshIds, ...dueNow].sort());
    // The webhook, the pages read and the attempts recorded (each with its counts and health):
    // ~65 rows a delivery sent, measured; a walk of the backlog would read thousands.
    expect(read).toBeLessThanOrEqual(100 * (FRESH + dueNow.length));
  }, 60_000);

  it("FIFO: sends the new deliveries ahead of the backlog in order, and waits for the backlog's head, reading about a page whatever the backlog", async () => {
    const { key, webhook, freshIds } = await backlogged("fifo", true);
    const uid = webhook.uid;
    const owed = await owedInOrder(env.DB, uid, 30);
    const inOrder = (await webhookDeliveryRows(uid, "owed")).map((d) => d.id);
    expect(owed.map((j) => j.delivery.id)).toEqual(inOrder.slice(0, 30));
    expect((await firstOwed(env.DB, uid))?.id).toBe(inOrder[0]);
    expect(await rowsRead((db) => owedInOrder(db, uid, 30))).toBeLessThanOrEqual(PER_JOB * 30);
    expect(await rowsRead((db) => firstOwed(db, uid))).toBeLessThanOrEqual(10);

    const p = pipeline({ DB: meter.db });
    p.woken.push(uid);
    meter.reset();
    await p.deliver();
    const sent = (await received(key)).map((r) => r.headers["edgehook-event-id"]);
    const events = (await webhookDeliveryRows(uid, "owed")).map((d) => d.event_id);
    expect(sent).toEqual(events.slice(0, FRESH));
    expect(meter.usage.rowsRead).toBeLessThanOrEqual(100 * FRESH);
    // The head is now the backlog's first, due in an hour: nothing of it went out.
    expect((await firstOwed(env.DB, uid))?.id).toBe(inOrder[FRESH]);
    expect(freshIds).toEqual(inOrder.slice(0, FRESH));
  }, 60_000);
});

describe("a FIFO webhook's events received in the same millisecond", () => {
  it("are read and sent in the order they were stored, each read's range taking the first stored, not only sorting what it took", async () => {
    const p = pipeline();
    const { key, org, webhook } = await p.webhookOn("record", { ordering: "fifo" });
    const uid = webhook.uid;
    const at = Date.now();
    const stored = Array.from({ length: 4 }, () => ingestMessage({ organizationUid: org, receivedAt: at, body: podiumBody({ organizationUid: org }) }));
    for (const msg of stored) await p.runIngest([msg]);
    const ids = stored.map((m) => m.eventId);
    const rows = await webhookDeliveryRows(uid); // by seq: the order they were stored
    expect(rows.map((d) => d.event_id)).toEqual(ids);
    // Each read's LIMIT below their number.
    expect((await owedInOrder(env.DB, uid, 2)).map((j) => j.event.id)).toEqual(ids.slice(0, 2));
    expect((await duePending(env.DB, uid, { now: Date.now(), limit: 2, exclude: [] })).map((j) => j.event.id)).toEqual(ids.slice(0, 2));
    expect((await firstOwed(env.DB, uid))?.id).toBe(rows[0]!.id);
    await p.deliver();
    expect((await received(key)).map((r) => r.headers["edgehook-event-id"])).toEqual(ids);
  });
});

describe("a new delivery", () => {
  it("writes its row and two index entries, its group one packed row; its first failed attempt adds it to the due-time index, at no row more", async () => {
    const p = pipeline({ DB: meter.db, RETRY_BASE_SECONDS: "3600" });
    const { org, webhook } = await p.webhookOn("fail");
    meter.reset();
    await p.runIngest(Array.from({ length: FRESH }, () => ingestMessage({ organizationUid: org, body: podiumBody({ organizationUid: org }) })));
    const written = (prefix: string) =>
      Object.entries(meter.usage.bySql)
        .filter(([sql]) => sql.startsWith(prefix))
        .reduce((n, [, s]) => n + s.rowsWritten, 0);
    // The id and its webhook's order (fresh ones' range): none by due time, none by event (an
    // event's deliveries are a range of ids since migration 0034), none by (webhook, seq): the
    // group's one packed row says whose they are (migration 0038).
    expect(written("INSERT INTO deliveries")).toBe(3 * FRESH + 1); // (+1: the table's sequence, once a statement)
    expect(written(INSERT_DELIVERY_WEBHOOKS.split("\n")[0]!.slice(0, 100))).toBe(1); // (the meter's key: its first line's start)
    meter.reset();
    await p.deliver();
    const rows = await webhookDeliveryRows(webhook.uid);
    expect(rows.map((d) => [d.status, d.attempt_count])).toEqual(Array(FRESH).fill(["pending", 1]));
    // Its row, its entry in the owed index (in the other range now) and one by due time: as many
    // as before 0033, when an attempt setting the status wrote both entries again.
    expect(written("UPDATE deliveries SET attempts")).toBe(3 * FRESH);
  });
});
