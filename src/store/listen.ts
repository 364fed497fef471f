// What `edgehook listen` and `tail` read: events in insertion order (`seq`, the
// primary key), so every read here is a bounded range of the primary key.
import type { WebhookOwner } from "../domain/access";
import type { EventContent } from "./content";
import { contentsOf } from "./contents";
import { stringsIn } from "./stored-json";
import { EVENT_COLUMNS, EVENT_JOINS, toMeta, type EventDbRow, type EventMeta } from "./events";
import { apiIdSql, idKeySql } from "./names";

/** An event without its body and headers, with the webhooks its routing filtered out: enough to decide who may hear it. */
export type ListenEvent = EventMeta & { filteredOut: string[] };

const listenEvent = (r: EventDbRow): ListenEvent => ({ ...toMeta(r), filteredOut: stringsIn(r.filtered_out) });

/** The position of the newest stored event (0 when there is none). */
export async function lastEventSeq(db: D1Database): Promise<number> {
  const row = await db.prepare("SELECT seq FROM events ORDER BY seq DESC LIMIT 1").first<{ seq: number }>();
  return row?.seq ?? 0;
}

/** Up to `limit` events stored after position `seq`, oldest first. */
export async function eventsAfter(db: D1Database, seq: number, limit: number): Promise<ListenEvent[]> {
  const { results } = await db
    .prepare(`SELECT ${EVENT_COLUMNS} FROM events e ${EVENT_JOINS} WHERE e.seq > ? ORDER BY e.seq LIMIT ?`)
    .bind(seq, limit)
    .all<EventDbRow>();
  return results.map(listenEvent);
}

/** Up to `limit` events at or before position `seq`, newest first. */
export async function eventsUpTo(db: D1Database, seq: number, limit: number): Promise<ListenEvent[]> {
  const { results } = await db
    .prepare(`SELECT ${EVENT_COLUMNS} FROM events e ${EVENT_JOINS} WHERE e.seq <= ? ORDER BY e.seq DESC LIMIT ?`)
    .bind(seq, limit)
    .all<EventDbRow>();
  return results.map(listenEvent);
}

/** The raw bodies and stored headers of some events, by id. */
export async function eventContents(db: D1Database, ids: string[]): Promise<Map<string, EventContent>> {
  if (ids.length === 0) return new Map();
  const { results } = await db
    .prepare(`SELECT ${apiIdSql("evt_", "id")} AS id, seq FROM events WHERE id IN (SELECT ${idKeySql("evt_", "value")} FROM json_each(?))`)
    .bind(JSON.stringify(ids))
    .all<{ id: string; seq: number }>();
  const contents = await contentsOf(db, results.map((r) => r.seq));
  return new Map(results.flatMap((r) => {
    const c = contents.get(r.seq);
    return c ? [[r.id, c] as const] : [];
  }));
}

/** The event and webhook behind each of some deliveries. */
export async function deliveryContext(
  db: D1Database,
  deliveryIds: string[],
): Promise<Map<string, { webhook: WebhookOwner & { uid: string }; event: ListenEvent }>> {
  if (deliveryIds.length === 0) return new Map();
  const { results } = await db
    .prepare(
      `SELECT ${apiIdSql("dlv_", "d.id")} AS delivery_id, w.uid AS webhook_uid, w.organization_uid AS w_organization_uid,
         w.location_uid AS w_location_uid, w.grant_organization_uid AS w_grant_organization_uid, ${EVENT_COLUMNS}
       FROM deliveries d JOIN events e ON e.seq = d.event ${EVENT_JOINS}
       JOIN names wn ON wn.id = d.webhook JOIN webhooks w ON w.uid = wn.name
       WHERE d.id IN (SELECT ${idKeySql("dlv_", "value")} FROM json_each(?))`,
    )
    .bind(JSON.stringify(deliveryIds))
    .all<
      EventDbRow & { delivery_id: string; webhook_uid: string; w_organization_uid: string | null; w_location_uid: string | null; w_grant_organization_uid: string | null }
    >();
  return new Map(
    results.map((r) => [
      r.delivery_id,
      {
        webhook: { uid: r.webhook_uid, organizationUid: r.w_organization_uid, locationUid: r.w_location_uid, grantOrganizationUid: r.w_grant_organization_uid },
        event: listenEvent(r),
      },
    ]),
  );
}
