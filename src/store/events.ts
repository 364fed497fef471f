import type { Access } from "../domain/access";
import type { DeliveryStatus, IngestMessage, StoredEvent } from "../domain/types";
import { eventAccessSql } from "./access";
import { insertDeliveryStatement, unattemptedPendingStatement, type NewDelivery } from "./deliveries";

/** An event ready to store: the queue message with its body resolved. */
export type EventRow = Omit<IngestMessage, "v" | "body" | "bodyKey"> & { body: string };

// D1 binds at most 100 parameters, so one statement inserts many events, their rows
// travelling as one JSON parameter. A chunk keeps that value under 1 MB (D1 allows
// 2 MB); a lone row can be larger and still fits, since a body is at most 256 KiB.
const MAX_CHUNK_BYTES = 1_000_000;
const INSERT_EVENTS = `INSERT INTO events (id, source_id, dedupe_key, event_type, location_uid, organization_uid, received_at, headers, body)
  SELECT value->>0, value->>1, value->>2, value->>3, value->>4, value->>5, value->>6, value->>7, value->>8
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
 * attempted: each is owed a queue message.
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

/**
 * Deletes up to `chunk` events received before `cutoff`, with their deliveries
 * and attempts, in one transaction. Returns how many events went.
 */
export async function purgeEvents(db: D1Database, cutoff: number, chunk: number): Promise<number> {
  const ids = `(SELECT id FROM events WHERE received_at < ?1 ORDER BY seq LIMIT ?2)`;
  const [, , del] = await db.batch([
    db
      .prepare(`DELETE FROM attempts WHERE delivery_id IN (SELECT id FROM deliveries WHERE event_id IN ${ids})`)
      .bind(cutoff, chunk),
    db.prepare(`DELETE FROM deliveries WHERE event_id IN ${ids}`).bind(cutoff, chunk),
    db.prepare(`DELETE FROM events WHERE id IN ${ids}`).bind(cutoff, chunk),
  ]);
  return del?.meta.changes ?? 0;
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

export async function getEvent(db: D1Database, id: string): Promise<StoredEvent | null> {
  const row = await db.prepare("SELECT * FROM events WHERE id = ?").bind(id).first<EventDbRow>();
  return row ? toEvent(row) : null;
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

/** Newest first, `limit` at a time, strictly below `before` (the insertion sequence). */
export async function listEvents(
  db: D1Database,
  opts: { limit: number; before?: number; filter?: EventFilter; access?: Access | null },
): Promise<EventPage> {
  const f = opts.filter ?? {};
  const clauses = ["seq < ?"];
  const binds: unknown[] = [opts.before ?? Number.MAX_SAFE_INTEGER];
  const add = (sql: string, value: unknown) => (clauses.push(sql), binds.push(value));
  if (f.eventType) add("event_type = ?", f.eventType);
  if (f.sourceId) add("source_id = ?", f.sourceId);
  if (f.locationUid) add("location_uid = ?", f.locationUid);
  if (f.organizationUid) add("organization_uid = ?", f.organizationUid);
  if (f.since !== undefined) add("received_at >= ?", f.since);
  if (f.until !== undefined) add("received_at < ?", f.until);
  if (f.status) add("id IN (SELECT event_id FROM deliveries WHERE status = ?)", f.status);
  const access = eventAccessSql(opts.access ?? null);
  clauses.push(access.sql);
  binds.push(...access.binds);

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
