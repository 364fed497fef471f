// The deliveries the API reads: one by id (alone, or with its attempts), a filtered list, a page of an event's with their attempts.
import { isLimited, type Access } from "../domain/access";
import type { DeliveryStatus } from "../domain/delivery";
import type { Attempt, Delivery } from "../domain/types";
import { accessNames, eventAccessIds, grantedWebhookIdsUpTo, grantListsJson, webhookInGrantSql } from "./access";
import { attemptsOfSql } from "./attempts";
import { statusSum } from "./counters";
import { deliverySelect, dlvKey, evtKey, ownStatusIndex, toDelivery, type DeliveryRow } from "./delivery-rows";
import { deliveriesOfEventUpTo, deliverySeqsOfEvent } from "./event-deliveries";
import { apiIdSql, nameIds, nameIdSql } from "./names";
import { byWebhooks } from "./delivery-webhooks";
import { boundedScan, type Drivers, type ScanPage } from "./scan";
import { statusCode } from "./transitions";

const DELIVERY_SELECT = deliverySelect();

/**
 * Whether deliveries to the webhook `uid` are kept (its row of counts, left until the retention
 * purges the last of them): of a deleted webhook too. One row read by its key.
 */
export async function keepsDeliveriesTo(db: D1Database, uid: string): Promise<boolean> {
  return (await db.prepare(`SELECT 1 AS kept FROM delivery_counts WHERE webhook = ${nameIdSql("?")}`).bind(uid).first()) !== null;
}

export async function getDelivery(db: D1Database, id: string): Promise<Delivery | null> {
  const row = await db.prepare(`${DELIVERY_SELECT} WHERE d.id = ${dlvKey("?1")}`).bind(id).first<DeliveryRow>();
  return row ? toDelivery(row) : null;
}

export interface DeliveryFilter {
  status?: DeliveryStatus;
  webhookUid?: string;
  eventId?: string;
  since?: number;
  /** Only deliveries of events this access may see, to webhooks within its grant. */
  access?: Access | null;
}

/** Rows one list call examines at most. */
const DELIVERY_SCAN_ROWS = 4_000;

/**
 * Rows one list call examines at most when it tests each delivery's webhook against a token's grant (one of more
 * than LISTED_DELIVERY_WEBHOOKS): about 7 rows a delivery with its event's access and its grant test, and the
 * grant's read (up to ~1,600 rows) besides, under the 10,000 of a read.
 */
const GRANT_TEST_SCAN_ROWS = 900;

/**
 * The webhooks of a token's grant its deliveries lists walk each along its own rows, their ids read and listed; past
 * them, every delivery newest first, each tested against the grant: bounded, but most of a call may be other
 * tenants' deliveries, so only past what reading the ids allows (measured at 1,000 webhooks with a pending delivery
 * each: by status 8,515 rows a call at most, all 5,515, failed 5,014; at 8,000: 49,518, 25,518).
 */
export const LISTED_DELIVERY_WEBHOOKS = 800;

/**
 * Webhooks a status list walks the deliveries of, each along its own rows, at most: past them
 * (read from the first STATUS_WEBHOOKS + 1 counts rows) the admin's list walks every delivery
 * newest first within DELIVERY_SCAN_ROWS, checking the status, as a list with no filter does.
 */
const STATUS_WEBHOOKS = 1_000;

/**
 * An event with at most this many deliveries has them read along its id range, all at once
 * (~3 rows each) and then paged newest first; one with more (replayed again and again) is
 * walked newest first by seq within DELIVERY_SCAN_ROWS instead, as the unfiltered list is:
 * its ids are in random order within the range, so its newest would otherwise take reading
 * every one, and a call's rows would grow with its replays.
 */
export const EVENT_RANGE_DELIVERIES = 1_000;

/**
 * Newest first, strictly below `before` (the insertion sequence). A webhook or
 * status filter walks the packed rows (delivery-webhooks.ts) of the webhooks it names (for a
 * status, those whose counts have deliveries in it; failed ones, each one's range of their
 * partial index) and checks the status on each delivery they name,
 * an event its deliveries (event-deliveries.ts; past EVENT_RANGE_DELIVERIES, every
 * delivery newest first); a call examines at most DELIVERY_SCAN_ROWS deliveries and may
 * answer fewer than `limit` with `nextBefore` set. A token whose grant holds more than
 * LISTED_DELIVERY_WEBHOOKS webhooks walks every delivery newest first (its event's, if one is given), testing
 * each one's webhook against the grant, GRANT_TEST_SCAN_ROWS a call.
 */
export async function listDeliveries(
  db: D1Database,
  f: DeliveryFilter,
  opts: { limit: number; before?: number },
): Promise<{ deliveries: Delivery[]; nextBefore: number | null }> {
  const page = await deliveryPage(db, f, opts);
  if (page.seqs.length === 0) return { deliveries: [], nextBefore: page.nextBefore };
  const { results } = await deliveriesAt(db, page.seqs).all<DeliveryRow>();
  return { deliveries: results.map(toDelivery), nextBefore: page.nextBefore };
}

/**
 * A page of an event's deliveries to webhooks within `access`'s grant, each with its attempts:
 * the page `listDeliveries` answers for the event (same order, same `nextBefore`).
 */
export async function eventDeliveries(
  db: D1Database,
  eventId: string,
  access: Access | null,
  opts: { limit: number; before?: number },
): Promise<{ deliveries: (Delivery & { attempts: Attempt[] })[]; nextBefore: number | null }> {
  const page = await deliveryPage(db, { eventId, access }, opts);
  if (page.seqs.length === 0) return { deliveries: [], nextBefore: page.nextBefore };
  return { deliveries: await withAttempts(db, "d.seq IN (SELECT value FROM json_each(?1))", JSON.stringify(page.seqs)), nextBefore: page.nextBefore };
}

/** One delivery with its attempts, or null: its row and its attempts by its key, in one round trip. */
export async function getDeliveryWithAttempts(db: D1Database, id: string): Promise<(Delivery & { attempts: Attempt[] }) | null> {
  return (await withAttempts(db, `d.id = ${dlvKey("?1")}`, id))[0] ?? null;
}

/** The deliveries `where` (on deliveries `d`, its one parameter ?1 bound to `value`) selects, newest first, each with its attempts. */
async function withAttempts(db: D1Database, where: string, value: string): Promise<(Delivery & { attempts: Attempt[] })[]> {
  const [deliveries, attempts] = await db.batch<Record<string, unknown>>([
    db.prepare(`${DELIVERY_SELECT} WHERE ${where} ORDER BY d.seq DESC`).bind(value),
    db
      .prepare(`SELECT * FROM (${attemptsOfSql(`SELECT d.seq, d.attempts, ${apiIdSql("dlv_", "d.id")} AS delivery_id FROM deliveries d WHERE ${where}`, ["seq", "delivery_id"])}) ORDER BY seq, number`)
      .bind(value),
  ]);
  const byDelivery = new Map<string, Attempt[]>();
  for (const a of (attempts?.results ?? []).filter(isAttemptRow).map(toAttempt)) {
    byDelivery.set(a.deliveryId, [...(byDelivery.get(a.deliveryId) ?? []), a]);
  }
  return (deliveries?.results ?? []).filter(isDeliveryRow).map((r) => ({ ...toDelivery(r), attempts: byDelivery.get(r.id) ?? [] }));
}

/** The deliveries at `seqs`, newest first. */
const deliveriesAt = (db: D1Database, seqs: number[]) =>
  db.prepare(`${DELIVERY_SELECT} WHERE d.seq IN (SELECT value FROM json_each(?)) ORDER BY d.seq DESC`).bind(JSON.stringify(seqs));

/** Where `listDeliveries` finds its page: the positions of its deliveries, newest first, and where to continue. */
async function deliveryPage(db: D1Database, f: DeliveryFilter, opts: { limit: number; before?: number }): Promise<ScanPage> {
  const access = f.access ?? null;
  const limited = isLimited(access);
  const ids = await nameIds(db, [...(f.webhookUid ? [f.webhookUid] : []), ...accessNames(access)]);
  const empty = { seqs: [], nextBefore: null, rowsRead: 0 };
  let webhooks: number[] | null = null; // null: any
  if (f.webhookUid) {
    const id = ids.get(f.webhookUid);
    if (id === undefined) return empty;
    webhooks = [id];
  }
  // A grant of more than LISTED_DELIVERY_WEBHOOKS, no webhook named: each delivery's webhook tested against it (`grantTest`), not listed.
  let grantTest: string | undefined;
  if (limited) {
    const granted = (await grantedWebhookIdsUpTo(db, access, LISTED_DELIVERY_WEBHOOKS)).ids;
    if (granted !== null) webhooks = webhooks === null ? granted : webhooks.filter((w) => granted.includes(w));
    // The webhook a filter names, tested once: one outside the grant answers nothing at once, as with a list (a walk of
    // its deliveries would answer empty pages with a cursor, telling that it has some).
    else if (webhooks !== null) {
      const within = await db.prepare(`SELECT ${webhookInGrantSql("?1", 2)} AS within`).bind(webhooks[0], grantListsJson(access)).first<{ within: number }>();
      if (!within?.within) return empty;
    } else grantTest = webhookInGrantSql("walked.webhook", 2);
    if (webhooks !== null && webhooks.length === 0) return empty;
  }
  const seen = access ? eventAccessIds(access, ids) : null;
  if (seen?.none) return empty;
  let event: { seq: number; receivedAt: number; inRange: boolean } | undefined;
  if (f.eventId) {
    const within = deliveriesOfEventUpTo("e.seq", "e.received_at", "e.id", EVENT_RANGE_DELIVERIES + 1);
    // An event the access may not see is read as none at all: its deliveries' walk (past EVENT_RANGE_DELIVERIES,
    // every delivery newest first) would answer empty pages with a cursor, telling that it exists and has many.
    const row = await db
      .prepare(`SELECT e.seq, e.received_at, ${within} AS within FROM events e WHERE e.id = ${evtKey("?1")}${seen?.sql ? ` AND ${seen.sql}` : ""}`)
      .bind(f.eventId)
      .first<{ seq: number; received_at: number; within: number }>();
    if (!row) return empty;
    event = { seq: row.seq, receivedAt: row.received_at, inRange: row.within <= EVENT_RANGE_DELIVERIES };
  }
  // The webhooks as one bound JSON value (?2 of the scan): thousands written into the SQL would pass D1's 100 KB a statement.
  const list = webhooks === null ? undefined : JSON.stringify(webhooks);
  // More webhooks than their own walks take: the table walked instead (the admin's past STATUS_WEBHOOKS, a grant's past LISTED_DELIVERY_WEBHOOKS).
  let many = grantTest !== undefined;
  if (f.status && event === undefined && !many) {
    // Only the webhooks that have deliveries in this status (their counts): one index range each.
    // The admin's: the first STATUS_WEBHOOKS + 1 counts rows, so the read stays bounded however many webhooks.
    const sum = statusSum(f.status);
    const { results } =
      list === undefined
        ? await db.prepare(`SELECT webhook, ${sum} > 0 AS has FROM delivery_counts LIMIT ${STATUS_WEBHOOKS + 1}`).all<{ webhook: number; has: number }>()
        : await db.prepare(`SELECT webhook, 1 AS has FROM delivery_counts WHERE ${sum} > 0 AND webhook IN (SELECT value FROM json_each(?))`).bind(list).all<{ webhook: number; has: number }>();
    many = list === undefined && results.length > STATUS_WEBHOOKS;
    if (!many) {
      webhooks = results.filter((r) => r.has).map((r) => r.webhook);
      if (webhooks.length === 0) return empty;
    }
  }

  const conditions: string[] = [];
  if (f.status) conditions.push(`status = ${statusCode(f.status)}`);
  // (Walking the webhooks' own rows already keeps to them; an event's deliveries are checked against the list.)
  const checksList = list !== undefined && event !== undefined;
  if (checksList) conditions.push("webhook IN (SELECT value FROM json_each(?2))");
  if (event !== undefined) conditions.push(`event = ${event.seq}`);
  if (f.since !== undefined) conditions.push(`created_at >= ${Math.trunc(f.since)}`);
  // (After the cheap conditions: a delivery they exclude costs no test.)
  if (grantTest !== undefined) conditions.push(grantTest);
  // (An event's deliveries need no test each: the event itself was.)
  if (seen?.sql && event === undefined) conditions.push(`EXISTS (SELECT 1 FROM events ev WHERE ev.seq = event AND ${seen.sql})`);
  let drivers: Drivers;
  if (event !== undefined) {
    // Past the bound, every delivery newest first, the event's picked out by the filter (`event =`).
    drivers = [event.inRange ? `seq IN (${deliverySeqsOfEvent(String(event.seq), String(event.receivedAt), `(SELECT id FROM events WHERE seq = ${event.seq})`)})` : "1"];
  }
  // Failed deliveries along their own partial index (migration 0032); any other status is
  // checked on the deliveries the webhooks' packed rows name.
  else if (webhooks !== null && !many) {
    const own = ownStatusIndex(f.status, "status");
    drivers = own ? webhooks.map((w) => `webhook = ${w} AND ${own.where}`) : byWebhooks(webhooks);
  }
  else drivers = ["1"];

  return boundedScan(db, {
    table: "deliveries",
    columns: "seq, event, webhook, status, created_at",
    drivers,
    filter: conditions.join(" AND ") || "1",
    list: grantTest !== undefined && limited ? grantListsJson(access) : checksList ? list : undefined,
    before: opts.before ?? Number.MAX_SAFE_INTEGER,
    limit: opts.limit,
    scanRows: grantTest === undefined ? DELIVERY_SCAN_ROWS : GRANT_TEST_SCAN_ROWS,
  });
}

interface AttemptRow {
  delivery_id: string;
  number: number;
  started_at: number;
  duration_ms: number;
  status_code: number | null;
  error: string | null;
  response_snippet: string | null;
}

const isAttemptRow = (r: Record<string, unknown>): r is Record<string, unknown> & AttemptRow => typeof r.delivery_id === "string";
const isDeliveryRow = (r: Record<string, unknown>): r is Record<string, unknown> & DeliveryRow => typeof r.webhook_uid === "string";

function toAttempt(r: AttemptRow): Attempt {
  return {
    deliveryId: r.delivery_id,
    number: r.number,
    startedAt: r.started_at,
    durationMs: r.duration_ms,
    statusCode: r.status_code,
    error: r.error,
    responseSnippet: r.response_snippet,
  };
}
