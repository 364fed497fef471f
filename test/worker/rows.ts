// Stored rows as the tests look at them, in the API's terms (ids and status names):
// the schema keeps ids as bytes, names as integers and statuses as codes.
import { env } from "cloudflare:workers";
import { DELIVERY_STATUSES, newDelivery, type DeliveryStatus } from "../../src/domain/delivery";
import { attemptsOfSql } from "../../src/store/attempts";
import { deliveryCountsStatement } from "../../src/store/counters";
import { insertDeliveries } from "../../src/store/deliveries";
import { deliverySeqsOf } from "../../src/store/event-deliveries";
import { apiIdSql, idKeySql } from "../../src/store/names";

/** idKeySql for one positional `?` parameter (the expression repeats what it is given). */
const idKeyParamSql = (prefix: "evt_" | "dlv_") => `(SELECT ${idKeySql(prefix, "p.v")} FROM (SELECT ? AS v) p)`;
import { statusCode } from "../../src/store/transitions";

const statusName = `CASE d.status ${DELIVERY_STATUSES.map((s, i) => `WHEN ${i} THEN '${s}'`).join(" ")} END`;
/** SQL for the position of the event whose API id is bound at `param`. */
export const eventSeqSql = (param?: string) => `(SELECT seq FROM events WHERE id = ${param ? idKeySql("evt_", param) : idKeyParamSql("evt_")})`;
export const deliveryKeySql = (param?: string) => (param ? idKeySql("dlv_", param) : idKeyParamSql("dlv_"));

export interface DeliveryRow {
  id: string;
  event_id: string;
  webhook_uid: string;
  status: string;
  attempt_count: number;
  next_attempt_at: number | null;
  created_at: number;
  updated_at: number;
}

const SELECT = `SELECT ${apiIdSql("dlv_", "d.id")} AS id, ${apiIdSql("evt_", "e.id")} AS event_id, w.name AS webhook_uid,
    ${statusName} AS status, d.attempt_count, d.next_attempt_at, d.created_at, d.updated_at
  FROM deliveries d JOIN events e ON e.seq = d.event JOIN names w ON w.id = d.webhook`;

/** An event's deliveries, oldest first. */
export async function deliveryRows(eventId: string): Promise<DeliveryRow[]> {
  return (await env.DB.prepare(`${SELECT} WHERE d.event = ${eventSeqSql()} ORDER BY d.seq`).bind(eventId).all<DeliveryRow>()).results;
}

/**
 * The deliveries of these events, newest first (as an event's API page lists them), in one read:
 * the admin's event pages would be a call per event.
 */
export async function eventsDeliveryRows(eventIds: string[]): Promise<DeliveryRow[]> {
  return (
    await env.DB.prepare(`${SELECT} WHERE e.id IN (SELECT ${idKeySql("evt_", "value")} FROM json_each(?)) ORDER BY d.seq DESC`)
      .bind(JSON.stringify(eventIds))
      .all<DeliveryRow>()
  ).results;
}

const webhookIdSql = (param: string) => `(SELECT id FROM names WHERE name = ${param})`;

/** A webhook's deliveries, oldest first, or in the order it is owed them (`"owed"`: their events' receipt). */
export async function webhookDeliveryRows(webhookUid: string, order: "made" | "owed" = "made"): Promise<DeliveryRow[]> {
  const by = order === "owed" ? "d.event_received_at, d.seq" : "d.seq";
  return (await env.DB.prepare(`${SELECT} WHERE d.webhook = ${webhookIdSql("?")} ORDER BY ${by}`).bind(webhookUid).all<DeliveryRow>()).results;
}

/** How many of a webhook's deliveries are in `status`: a count, for polling while thousands are sent (webhookDeliveryRows reads them all). */
export async function webhookDeliveryCount(webhookUid: string, status: DeliveryStatus): Promise<number> {
  const row = await env.DB.prepare(`SELECT count(*) AS n FROM deliveries d WHERE d.webhook = ${webhookIdSql("?")} AND d.status = ?`)
    .bind(webhookUid, statusCode(status))
    .first<{ n: number }>();
  return row?.n ?? 0;
}

/** When each attempt of a webhook's deliveries started, in the order it is owed them. */
export async function webhookAttemptStarts(webhookUid: string): Promise<number[]> {
  const { results } = await env.DB.prepare(
    `SELECT started_at FROM (${attemptsOfSql(`SELECT seq, attempts, event_received_at FROM deliveries WHERE webhook = ${webhookIdSql("?")}`, ["seq", "event_received_at"])})
     ORDER BY event_received_at, seq, number`,
  )
    .bind(webhookUid)
    .all<{ started_at: number }>();
  return results.map((r) => r.started_at);
}

/** Changes columns of a webhook's deliveries in a status behind the store's back. */
export async function setWebhookDeliveries(webhookUid: string, status: DeliveryStatus, set: string, ...binds: unknown[]): Promise<void> {
  const n = binds.length;
  await env.DB.prepare(`UPDATE deliveries SET ${set} WHERE webhook = ${webhookIdSql(`?${n + 1}`)} AND status = ?${n + 2}`)
    .bind(...binds, webhookUid, DELIVERY_STATUSES.indexOf(status))
    .run();
}

/**
 * Gives a webhook `n` more deliveries of a stored event (replays), then fails each of its
 * pending deliveries for good, with the counts the store keeps (no attempts, no dead letters).
 */
export async function failedDeliveries(eventId: string, webhookUid: string, n: number): Promise<void> {
  await settledDeliveries(eventId, webhookUid, n, "failed");
}

/** `n` more deliveries of an event to a webhook, settled as `to` (its pending ones with them). */
export async function settledDeliveries(eventId: string, webhookUid: string, n: number, to: "failed" | "succeeded"): Promise<void> {
  const receivedAt = await env.DB.prepare(`SELECT received_at FROM events WHERE id = ${idKeyParamSql("evt_")}`).bind(eventId).first<number>("received_at");
  if (receivedAt === null) throw new Error(`no event ${eventId}`);
  const made = await Promise.all(Array.from({ length: n }, () => newDelivery("replay", { id: eventId, receivedAt }, { uid: webhookUid }, Date.now())));
  if ((await insertDeliveries(env.DB, made)).length !== n) throw new Error("deliveries not stored");
  await settlePending(webhookUid, to);
}

/** Every pending delivery of a webhook fails for good (behind the store's back, with its counts): as if tried and failed. */
export async function failPending(webhookUid: string): Promise<void> {
  await settlePending(webhookUid, "failed");
}

/** Every pending delivery of a webhook settles as `to` (behind the store's back, with its counts): as if tried. */
export async function settlePending(webhookUid: string, to: "failed" | "succeeded"): Promise<void> {
  const pending = `webhook = ${webhookIdSql("?")} AND status = ${statusCode("pending")}`;
  await env.DB.batch([
    deliveryCountsStatement(env.DB, `SELECT webhook, object, status AS old_status, ${statusCode(to)} AS new_status FROM deliveries WHERE ${pending}`, [webhookUid]),
    env.DB.prepare(`UPDATE deliveries SET status = ${statusCode(to)}, next_attempt_at = NULL WHERE ${pending}`).bind(webhookUid),
  ]);
}

export async function deliveryRow(deliveryId: string): Promise<DeliveryRow | null> {
  return env.DB.prepare(`${SELECT} WHERE d.id = ${deliveryKeySql()}`).bind(deliveryId).first<DeliveryRow>();
}

/** Changes columns of an event's deliveries behind the store's back (time passing). */
export async function setEventDeliveries(eventId: string, set: string, ...binds: unknown[]): Promise<void> {
  await env.DB.prepare(`UPDATE deliveries SET ${set} WHERE event = ${eventSeqSql(`?${binds.length + 1}`)}`).bind(...binds, eventId).run();
}

export async function setDelivery(deliveryId: string, set: string, ...binds: unknown[]): Promise<void> {
  await env.DB.prepare(`UPDATE deliveries SET ${set} WHERE id = ${deliveryKeySql(`?${binds.length + 1}`)}`).bind(...binds, deliveryId).run();
}

/**
 * Changes columns of an event behind the store's back (its age). Its deliveries' ids keep the
 * receipt time they were made with: those no longer in its id range are listed as strays, as
 * migration 0034 lists the deliveries stored before whose ids do not follow their event's time.
 */
export async function setEvent(eventId: string, set: string, ...binds: unknown[]): Promise<void> {
  const event = idKeySql("evt_", `?${binds.length + 1}`);
  await env.DB.batch([
    env.DB.prepare(`UPDATE events SET ${set} WHERE id = ${event}`).bind(...binds, eventId),
    env.DB.prepare(
      `INSERT OR IGNORE INTO stray_deliveries (event, delivery)
       SELECT e.seq, d.seq FROM events e JOIN deliveries d ON d.event = e.seq
       WHERE e.id = ${idKeySql("evt_", "?1")} AND d.seq NOT IN (${deliverySeqsOf("e.seq", "e.received_at")})`,
    ).bind(eventId),
  ]);
}

export async function attemptCount(eventId: string): Promise<number> {
  const row = await env.DB.prepare(`SELECT COUNT(*) AS n FROM (${attemptsOfSql(`SELECT seq, attempts FROM deliveries WHERE event = ${eventSeqSql()}`, ["seq"])})`)
    .bind(eventId)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

export async function eventStored(eventId: string): Promise<boolean> {
  return (await env.DB.prepare(`SELECT 1 FROM events WHERE id = ${idKeyParamSql("evt_")}`).bind(eventId).first()) !== null;
}

export async function eventSeq(eventId: string): Promise<number | null> {
  return (await env.DB.prepare(`SELECT seq FROM events WHERE id = ${idKeyParamSql("evt_")}`).bind(eventId).first<{ seq: number }>())?.seq ?? null;
}

/** An event's type and organization by source, oldest first. */
export async function eventsOfSource(source: string): Promise<{ event_type: string; organization_uid: string | null }[]> {
  return (
    await env.DB.prepare(
      `SELECT t.name AS event_type, o.name AS organization_uid FROM events e JOIN names t ON t.id = e.type LEFT JOIN names o ON o.id = e.organization
       WHERE e.source = (SELECT id FROM names WHERE name = ?) ORDER BY e.seq`,
    )
      .bind(source)
      .all<{ event_type: string; organization_uid: string | null }>()
  ).results;
}

/**
 * Makes `n - 1` copies of a webhook (uids `<uid>-1`, …), each created a millisecond earlier than
 * the one before, so an event received after the first is owed to all: many webhooks at the
 * cost of one statement, not one API call each.
 */
export async function copyWebhook(uid: string, n: number): Promise<void> {
  const columns = (await env.DB.prepare("SELECT name FROM pragma_table_info('webhooks')").all<{ name: string }>()).results.map((r) => r.name);
  const copied = columns.map((c) => (c === "uid" ? "w.uid || '-' || n.i" : c === "created_at" ? "w.created_at - n.i" : `w.${c}`));
  await env.DB.prepare(
    `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${n - 1})
     INSERT INTO webhooks (${columns.join(", ")}) SELECT ${copied.join(", ")} FROM webhooks w, n WHERE w.uid = ?`,
  )
    .bind(uid)
    .run();
}
