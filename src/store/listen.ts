// What `edgehook listen` and `tail` read: events in insertion order (`seq`, the
// primary key), so every read here is a bounded range of the primary key.
import type { StoredEvent } from "../domain/types";
import { uidsOf } from "./events";

/** An event without its body and headers: enough to decide who may hear it, with the webhooks its routing filtered out. */
export type EventMeta = Omit<StoredEvent, "body" | "headers" | "dedupeKey"> & { filteredOut: string[] };

interface MetaRow {
  seq: number;
  id: string;
  source_id: string;
  event_type: string;
  location_uid: string | null;
  organization_uid: string | null;
  received_at: number;
  filtered_out: string | null;
}

const META = "seq, id, source_id, event_type, location_uid, organization_uid, received_at, filtered_out";

function toMeta(r: MetaRow): EventMeta {
  return {
    seq: r.seq,
    id: r.id,
    sourceId: r.source_id,
    eventType: r.event_type,
    locationUid: r.location_uid,
    organizationUid: r.organization_uid,
    receivedAt: r.received_at,
    filteredOut: uidsOf(r.filtered_out),
  };
}

/** The position of the newest stored event (0 when there is none). */
export async function lastEventSeq(db: D1Database): Promise<number> {
  const row = await db.prepare("SELECT seq FROM events ORDER BY seq DESC LIMIT 1").first<{ seq: number }>();
  return row?.seq ?? 0;
}

/** Up to `limit` events stored after position `seq`, oldest first. */
export async function eventsAfter(db: D1Database, seq: number, limit: number): Promise<EventMeta[]> {
  const { results } = await db
    .prepare(`SELECT ${META} FROM events WHERE seq > ? ORDER BY seq LIMIT ?`)
    .bind(seq, limit)
    .all<MetaRow>();
  return results.map(toMeta);
}

/** Up to `limit` events at or before position `seq`, newest first. */
export async function eventsUpTo(db: D1Database, seq: number, limit: number): Promise<EventMeta[]> {
  const { results } = await db
    .prepare(`SELECT ${META} FROM events WHERE seq <= ? ORDER BY seq DESC LIMIT ?`)
    .bind(seq, limit)
    .all<MetaRow>();
  return results.map(toMeta);
}

/** The raw bodies of some events, by id. */
export async function eventBodies(db: D1Database, ids: string[]): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map();
  const { results } = await db
    .prepare("SELECT id, body FROM events WHERE id IN (SELECT value FROM json_each(?))")
    .bind(JSON.stringify(ids))
    .all<{ id: string; body: string }>();
  return new Map(results.map((r) => [r.id, r.body]));
}

/** The event and webhook behind each of some deliveries. */
export async function deliveryContext(
  db: D1Database,
  deliveryIds: string[],
): Promise<Map<string, { webhook: { uid: string; organizationUid: string | null; locationUid: string | null }; event: EventMeta }>> {
  if (deliveryIds.length === 0) return new Map();
  const { results } = await db
    .prepare(
      `SELECT d.id AS delivery_id, d.webhook_uid, w.organization_uid AS w_organization_uid, w.location_uid AS w_location_uid,
         e.seq, e.id, e.source_id, e.event_type, e.location_uid, e.organization_uid, e.received_at, e.filtered_out
       FROM deliveries d JOIN events e ON e.id = d.event_id JOIN webhooks w ON w.uid = d.webhook_uid
       WHERE d.id IN (SELECT value FROM json_each(?))`,
    )
    .bind(JSON.stringify(deliveryIds))
    .all<MetaRow & { delivery_id: string; webhook_uid: string; w_organization_uid: string | null; w_location_uid: string | null }>();
  return new Map(
    results.map((r) => [
      r.delivery_id,
      { webhook: { uid: r.webhook_uid, organizationUid: r.w_organization_uid, locationUid: r.w_location_uid }, event: toMeta(r) },
    ]),
  );
}
