import type { Access } from "../domain/access";
import type { DeliveryStatus, NewDelivery } from "../domain/delivery";
import type { IngestMessage, StoredEvent } from "../domain/types";
import { eventAccessSql } from "./access";
import { insertDeliveryStatement, unattemptedPendingStatement } from "./deliveries";
import { from, to } from "./transitions";

/** An event ready to store: the queue message with its body resolved, and the webhooks whose filter excluded it. */
export type EventRow = Omit<IngestMessage, "v" | "body" | "bodyKey"> & { body: string; filteredOut?: string[] };

// D1 binds at most 100 parameters, so one statement inserts many events, their rows
// travelling as one JSON parameter. A chunk keeps that value under 1 MB (D1 allows
// 2 MB); a lone row can be larger and still fits, since a body is at most 256 KiB.
const MAX_CHUNK_BYTES = 1_000_000;
const INSERT_EVENTS = `INSERT INTO events (id, source_id, dedupe_key, event_type, location_uid, organization_uid, received_at, headers, body,
    filtered_out)
  SELECT value->>0, value->>1, value->>2, value->>3, value->>4, value->>5, value->>6, value->>7, value->>8, value->>9
  FROM json_each(?) WHERE true
  ON CONFLICT DO NOTHING`;

function insertStatements(db: D1Database, events: EventRow[]): D1PreparedStatement[] {
  const chunks: string[][] = [];
  let rows: string[] = [];
  let bytes = 0;
  for (const e of events) {
    const row = JSON.stringify([
      e.eventId,
      e.sourceId,
      e.dedupeKey,
      e.eventType,
      e.locationUid,
      e.organizationUid,
      e.receivedAt,
      JSON.stringify(e.headers),
      e.body,
      e.filteredOut?.length ? JSON.stringify(e.filteredOut) : null,
    ]);
    const rowBytes = row.length * 3; // a UTF-16 unit is at most 3 bytes of UTF-8
    if (rows.length > 0 && bytes + rowBytes > MAX_CHUNK_BYTES) {
      chunks.push(rows);
      rows = [];
      bytes = 0;
    }
    rows.push(row);
    bytes += rowBytes;
  }
  chunks.push(rows);
  return chunks.map((chunk) => db.prepare(INSERT_EVENTS).bind(`[${chunk.join(",")}]`));
}

/**
 * Stores events and the deliveries they are owed in one transaction, with `also`
 * (what the batch teaches other tables); an event or a delivery already stored is
 * left as it is. Returns the ids of the given deliveries that are pending and never
 * attempted: their webhooks' schedulers are owed a wake-up.
 */
export async function storeEvents(
  db: D1Database,
  events: EventRow[],
  deliveries: NewDelivery[] = [],
  also: D1PreparedStatement[] = [],
): Promise<string[]> {
  if (events.length === 0) return [];
  const stmts = [...insertStatements(db, events), ...also, ...deliveries.map((d) => insertDeliveryStatement(db, d))];
  if (deliveries.length > 0) stmts.push(unattemptedPendingStatement(db, deliveries.map((d) => d.id)));
  const results = await db.batch<{ id: string }>(stmts);
  return deliveries.length > 0 ? (results[results.length - 1]?.results ?? []).map((r) => r.id) : [];
}

/** Where a retention pass has got to: events are taken in (received_at, seq) order. */
export interface RetentionCursor {
  receivedAt: number;
  seq: number;
}

export const RETENTION_START: RetentionCursor = { receivedAt: -1, seq: 0 };

export interface RetentionStep {
  /** Held or pending deliveries of the chunk's events settled as `expired` now. */
  expired: number;
  purged: number;
  /** Where the next chunk starts, or null when no event past the cutoff is left. */
  next: RetentionCursor | null;
}

// An event still owes something while a delivery is held or pending, and stays
// visible while a delivery expired within the grace period (?2 = its cutoff).
const OWED = from("expire", "d.status");
const GRACED = `d.status = ${to("expire")} AND d.updated_at >= ?2`;
const PURGEABLE = `SELECT j.value FROM json_each(?1) j
  WHERE NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = j.value AND (${OWED} OR (${GRACED})))`;

/**
 * One chunk of the retention pass over events received before `cutoff`, after
 * `from`: their held and pending deliveries expire (nothing owed disappears
 * silently), and the events with nothing owed and no delivery expired since
 * `graceCutoff` are deleted with their deliveries and attempts. The rest stay
 * visible until the grace period is over. One read, then one transaction.
 */
export async function retentionStep(
  db: D1Database,
  opts: { cutoff: number; graceCutoff: number; from: RetentionCursor; limit: number; now: number },
): Promise<RetentionStep> {
  const { results } = await db
    .prepare(
      `SELECT e.id, e.seq, e.received_at,
         EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id AND ${OWED}) AS owed,
         EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id AND ${GRACED}) AS graced
       FROM events e
       WHERE e.received_at >= ?1 AND e.received_at < ?3 AND (e.received_at > ?1 OR e.seq > ?4)
       ORDER BY e.received_at, e.seq LIMIT ?5`,
    )
    .bind(opts.from.receivedAt, opts.graceCutoff, opts.cutoff, opts.from.seq, opts.limit)
    .all<{ id: string; seq: number; received_at: number; owed: number; graced: number }>();
  const last = results[results.length - 1];
  if (!last) return { expired: 0, purged: 0, next: null };
  const owed = results.filter((r) => r.owed).map((r) => r.id);
  const candidates = JSON.stringify(results.filter((r) => !r.owed && !r.graced).map((r) => r.id));

  // The purge checks again inside the transaction: a delivery made meanwhile (a replay) keeps its event.
  const [expire, , , purge] = await db.batch([
    db
      .prepare(
        `UPDATE deliveries SET status = ${to("expire")}, next_attempt_at = NULL, updated_at = ?2
         WHERE event_id IN (SELECT value FROM json_each(?1)) AND ${from("expire")}`,
      )
      .bind(JSON.stringify(owed), opts.now),
    db
      .prepare(`DELETE FROM attempts WHERE delivery_id IN (SELECT id FROM deliveries WHERE event_id IN (${PURGEABLE}))`)
      .bind(candidates, opts.graceCutoff),
    db.prepare(`DELETE FROM deliveries WHERE event_id IN (${PURGEABLE})`).bind(candidates, opts.graceCutoff),
    db.prepare(`DELETE FROM events WHERE id IN (${PURGEABLE})`).bind(candidates, opts.graceCutoff),
  ]);
  return {
    expired: expire?.meta.changes ?? 0,
    purged: purge?.meta.changes ?? 0,
    next: results.length < opts.limit ? null : { receivedAt: last.received_at, seq: last.seq },
  };
}

export async function eventExists(db: D1Database, id: string): Promise<boolean> {
  return (await db.prepare("SELECT 1 FROM events WHERE id = ?").bind(id).first()) !== null;
}

interface EventDbRow {
  seq: number;
  id: string;
  source_id: string;
  dedupe_key: string;
  event_type: string;
  location_uid: string | null;
  organization_uid: string | null;
  received_at: number;
  headers: string;
  body: string;
}

/** Uids in a `filtered_out` column. */
export function uidsOf(text: string | null): string[] {
  if (text === null) return [];
  const v: unknown = JSON.parse(text);
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
}

function toEvent(r: EventDbRow): StoredEvent {
  return {
    seq: r.seq,
    id: r.id,
    sourceId: r.source_id,
    dedupeKey: r.dedupe_key,
    eventType: r.event_type,
    locationUid: r.location_uid,
    organizationUid: r.organization_uid,
    receivedAt: r.received_at,
    headers: JSON.parse(r.headers) as Record<string, string>,
    body: r.body,
  };
}

/** An event, with the uids of the webhooks whose filter excluded it when it was stored. */
export async function getEvent(db: D1Database, id: string): Promise<(StoredEvent & { filteredOut: string[] }) | null> {
  const row = await db.prepare("SELECT * FROM events WHERE id = ?").bind(id).first<EventDbRow & { filtered_out: string | null }>();
  return row ? { ...toEvent(row), filteredOut: uidsOf(row.filtered_out) } : null;
}

export interface EventPage {
  events: Omit<StoredEvent, "body" | "headers">[];
  /** The seq to continue below, or null at the end. */
  nextBefore: number | null;
}

export interface EventFilter {
  eventType?: string;
  sourceId?: string;
  locationUid?: string;
  organizationUid?: string;
  /** Events with at least one delivery in this status. */
  status?: DeliveryStatus;
  since?: number;
  until?: number;
}

/** The SQL conditions of a filter and an access on `events` rows. */
function filterSql(f: EventFilter, access: Access | null): { clauses: string[]; binds: unknown[] } {
  const clauses: string[] = [];
  const binds: unknown[] = [];
  const add = (sql: string, value: unknown) => (clauses.push(sql), binds.push(value));
  if (f.eventType) add("event_type = ?", f.eventType);
  if (f.sourceId) add("source_id = ?", f.sourceId);
  if (f.locationUid) add("location_uid = ?", f.locationUid);
  if (f.organizationUid) add("organization_uid = ?", f.organizationUid);
  if (f.since !== undefined) add("received_at >= ?", f.since);
  if (f.until !== undefined) add("received_at < ?", f.until);
  if (f.status) add("id IN (SELECT event_id FROM deliveries WHERE status = ?)", f.status);
  const a = eventAccessSql(access);
  clauses.push(a.sql);
  binds.push(...a.binds);
  return { clauses, binds };
}

/** Newest first, `limit` at a time, strictly below `before` (the insertion sequence). */
export async function listEvents(
  db: D1Database,
  opts: { limit: number; before?: number; filter?: EventFilter; access?: Access | null },
): Promise<EventPage> {
  const where = filterSql(opts.filter ?? {}, opts.access ?? null);
  const clauses = ["seq < ?", ...where.clauses];
  const binds: unknown[] = [opts.before ?? Number.MAX_SAFE_INTEGER, ...where.binds];

  const { results } = await db
    .prepare(
      `SELECT seq, id, source_id, dedupe_key, event_type, location_uid, organization_uid, received_at, '{}' AS headers, '' AS body
       FROM events WHERE ${clauses.join(" AND ")} ORDER BY seq DESC LIMIT ?`,
    )
    .bind(...binds, opts.limit + 1)
    .all<EventDbRow>();
  const page = results.slice(0, opts.limit).map(toEvent);
  const events = page.map(({ body: _b, headers: _h, ...rest }) => rest);
  const last = page[page.length - 1];
  return { events, nextBefore: results.length > opts.limit && last ? last.seq : null };
}

/** A place in time order: events are read by `received_at`, then insertion order. */
export interface TimePosition {
  receivedAt: number;
  seq: number;
}

/**
 * Events received in [since, until), oldest first, after `after`, at most `limit`:
 * one range of the `received_at` index (which holds `seq`), so a page reads at most
 * `limit` rows however many events the account keeps.
 */
export async function eventsInRange(
  db: D1Database,
  opts: { since: number; until: number; after: TimePosition | null; limit: number },
): Promise<Omit<StoredEvent, "body" | "headers">[]> {
  const after = opts.after ?? { receivedAt: opts.since, seq: -1 };
  const { results } = await db
    .prepare(
      `SELECT seq, id, source_id, dedupe_key, event_type, location_uid, organization_uid, received_at, '{}' AS headers, '' AS body
       FROM events WHERE received_at >= ? AND received_at < ? AND (received_at, seq) > (?, ?)
       ORDER BY received_at, seq LIMIT ?`,
    )
    .bind(opts.since, opts.until, after.receivedAt, after.seq, opts.limit)
    .all<EventDbRow>();
  return results.map(toEvent).map(({ body: _b, headers: _h, ...rest }) => rest);
}

/** A bounded read of events with their bodies (`eventsWithBodies`). */
export interface BodiesRead {
  /** The events examined that pass the filter and access, in the order read, each with its body and headers. */
  events: (StoredEvent & TimePosition)[];
  /** Where reading stopped (the last event examined, visible or not), or null when nothing was left. */
  last: TimePosition | null;
  /** Whether the range may hold more events past `last`: a bound was reached. */
  more: boolean;
}

/**
 * Events received in [since, until), newest or oldest first, strictly past `after`,
 * with their bodies: at most `limit` events are examined, and no more once their
 * bodies reach `maxChars` characters (the first is always taken), in one range of
 * the `received_at` index. The filter and access apply to the events examined, not
 * before the bound, so a search or replay page costs at most `limit` rows however
 * few of them the caller may see (their bodies are not returned). The one read of
 * many bodies at once.
 */
export async function eventsWithBodies(
  db: D1Database,
  opts: {
    since: number;
    until: number;
    after: TimePosition | null;
    order: "newest" | "oldest";
    limit: number;
    maxChars: number;
    filter?: Omit<EventFilter, "since" | "until">;
    access?: Access | null;
  },
): Promise<BodiesRead> {
  const newest = opts.order === "newest";
  const dir = newest ? "DESC" : "ASC";
  const after = opts.after ?? (newest ? { receivedAt: opts.until, seq: -1 } : { receivedAt: opts.since, seq: -1 });
  // The cursor's time bounds the index range too, so a later page does not walk the earlier ones again.
  const past = newest ? "received_at <= ?3 AND (received_at, seq) < (?3, ?4)" : "received_at >= ?3 AND (received_at, seq) > (?3, ?4)";
  const where = filterSql(opts.filter ?? {}, opts.access ?? null);
  const { results } = await db
    .prepare(
      `WITH examined AS (
         SELECT seq AS s, received_at AS r, length(body) AS chars FROM events
         WHERE received_at >= ?1 AND received_at < ?2 AND ${past}
         ORDER BY received_at ${dir}, seq ${dir} LIMIT ?5),
       bounded AS (
         SELECT s, r, SUM(chars) OVER (ORDER BY r ${dir}, s ${dir}) - chars AS before FROM examined),
       capped AS (SELECT s FROM bounded WHERE before < ?6),
       -- The filter's plain ? parameters come after ?6 in the text, so they number from ?7.
       judged AS (
         SELECT events.seq AS s, (${where.clauses.join(" AND ")}) AS visible FROM capped JOIN events ON events.seq = capped.s)
       SELECT events.seq, events.id, events.source_id, events.dedupe_key, events.event_type, events.location_uid,
         events.organization_uid, events.received_at,
         CASE WHEN judged.visible THEN events.headers ELSE '{}' END AS headers,
         CASE WHEN judged.visible THEN events.body ELSE '' END AS body,
         judged.visible AS visible, (SELECT COUNT(*) FROM examined) AS examined
       FROM judged JOIN events ON events.seq = judged.s
       ORDER BY events.received_at ${dir}, events.seq ${dir}`,
    )
    .bind(opts.since, opts.until, after.receivedAt, after.seq, opts.limit, opts.maxChars, ...where.binds)
    .all<EventDbRow & { visible: number; examined: number }>();
  const lastRow = results[results.length - 1];
  const examined = lastRow?.examined ?? 0;
  return {
    events: results.filter((r) => r.visible === 1).map((r) => ({ ...toEvent(r), receivedAt: r.received_at, seq: r.seq })),
    last: lastRow ? { receivedAt: lastRow.received_at, seq: lastRow.seq } : null,
    more: examined === opts.limit || results.length < examined,
  };
}
