import type { Access } from "../domain/access";
import type { DeliveryStatus, NewDelivery } from "../domain/delivery";
import type { Attempt, Delivery, StoredEvent, Webhook } from "../domain/types";
import { deliveryAccessSql, eventAccessSql } from "./access";
import { closeDeadLettersStatement, recordDeadLetterStatement, type NewDeadLetter } from "./dead-letters";
import { from, status, to } from "./transitions";
import { toWebhook, type WebhookRow } from "./webhooks";

interface DeliveryRow {
  seq: number;
  id: string;
  event_id: string;
  webhook_uid: string;
  status: DeliveryStatus;
  attempt_count: number;
  next_attempt_at: number | null;
  created_at: number;
  updated_at: number;
}

function toDelivery(r: DeliveryRow): Delivery {
  return {
    id: r.id,
    eventId: r.event_id,
    webhookUid: r.webhook_uid,
    status: r.status,
    attemptCount: r.attempt_count,
    nextAttemptAt: r.next_attempt_at,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/** Creates a delivery unless one with the same id exists. */
export function insertDeliveryStatement(db: D1Database, d: NewDelivery): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO deliveries (id, event_id, webhook_uid, status, attempt_count, next_attempt_at, created_at, updated_at)
       VALUES (?, ?, ?, ?, 0, ?, ?, ?) ON CONFLICT DO NOTHING`,
    )
    .bind(d.id, d.eventId, d.webhookUid, d.status, d.status === "pending" ? d.createdAt : null, d.createdAt, d.createdAt);
}

/** Of the given ids, those pending and never attempted: the ones a queue message is owed. */
export function unattemptedPendingStatement(db: D1Database, ids: string[]): D1PreparedStatement {
  return db
    .prepare(
      `SELECT id FROM deliveries WHERE id IN (SELECT value FROM json_each(?)) AND status = ${status("pending")} AND attempt_count = 0
       ORDER BY seq`,
    )
    .bind(JSON.stringify(ids));
}

/** Creates deliveries (replay) in one statement, in the given order; returns the ids of those pending, in order. */
export async function insertDeliveries(db: D1Database, deliveries: NewDelivery[]): Promise<string[]> {
  if (deliveries.length === 0) return [];
  const rows = deliveries.map((d) => [d.id, d.eventId, d.webhookUid, d.status, d.status === "pending" ? d.createdAt : null, d.createdAt]);
  await db
    .prepare(
      `INSERT INTO deliveries (id, event_id, webhook_uid, status, attempt_count, next_attempt_at, created_at, updated_at)
       SELECT value->>0, value->>1, value->>2, value->>3, 0, value->>4, value->>5, value->>5 FROM json_each(?) WHERE true
       ON CONFLICT DO NOTHING`,
    )
    .bind(JSON.stringify(rows))
    .run();
  return deliveries.filter((d) => d.status === "pending").map((d) => d.id);
}

/** Holds pending deliveries (their webhook is disabled): they go out when it is enabled. */
export async function holdDeliveries(db: D1Database, ids: string[], now = Date.now()): Promise<void> {
  await db
    .prepare(
      `UPDATE deliveries SET status = ${to("hold")}, next_attempt_at = NULL, updated_at = ?
       WHERE id IN (SELECT value FROM json_each(?)) AND ${from("hold")}`,
    )
    .bind(now, JSON.stringify(ids))
    .run();
}

/** Everything the delivery consumer needs for one delivery. */
export interface DeliveryJob {
  delivery: Delivery;
  webhook: Webhook | null;
  event: Pick<StoredEvent, "id" | "eventType" | "body"> | null;
}

/** A delivery joined with its event and webhook: either may be gone (NULL columns). */
interface JobRow extends DeliveryRow {
  e_id: string | null;
  e_event_type: string | null;
  e_body: string | null;
  w_uid: string | null;
  w_url: string | null;
  w_event_types: string | null;
  w_location_uid: string | null;
  w_organization_uid: string | null;
  w_source_ids: string | null;
  w_secret: string | null;
  w_disabled: number | null;
  w_timeout_ms: number | null;
  w_max_attempts: number | null;
  w_created_at: number | null;
  w_updated_at: number | null;
  w_filter: string | null;
  w_transform: string | null;
  w_transform_headers: string | null;
}

function webhookRowOf(r: JobRow): WebhookRow | null {
  const { w_uid: uid, w_url: url, w_event_types: event_types, w_secret: secret, w_disabled: disabled } = r;
  const { w_timeout_ms: timeout_ms, w_max_attempts: max_attempts, w_created_at: created_at, w_updated_at: updated_at } = r;
  if (uid === null || url === null || event_types === null || secret === null || disabled === null) return null;
  if (timeout_ms === null || max_attempts === null || created_at === null || updated_at === null) return null;
  return {
    uid,
    url,
    event_types,
    location_uid: r.w_location_uid,
    organization_uid: r.w_organization_uid,
    source_ids: r.w_source_ids,
    secret,
    disabled,
    timeout_ms,
    max_attempts,
    created_at,
    updated_at,
    filter: r.w_filter,
    transform: r.w_transform,
    transform_headers: r.w_transform_headers,
  };
}

/** Loads deliveries with their webhooks and events, in one query. */
export async function loadJobs(db: D1Database, ids: string[]): Promise<Map<string, DeliveryJob>> {
  const { results } = await db
    .prepare(
      `SELECT d.*, e.event_type AS e_event_type, e.body AS e_body, e.id AS e_id,
              w.uid AS w_uid, w.url AS w_url, w.event_types AS w_event_types, w.location_uid AS w_location_uid,
              w.organization_uid AS w_organization_uid, w.source_ids AS w_source_ids, w.secret AS w_secret,
              w.disabled AS w_disabled, w.timeout_ms AS w_timeout_ms, w.max_attempts AS w_max_attempts,
              w.created_at AS w_created_at, w.updated_at AS w_updated_at, w.filter AS w_filter,
              w.transform AS w_transform, w.transform_headers AS w_transform_headers
       FROM deliveries d
       LEFT JOIN events e ON e.id = d.event_id
       LEFT JOIN webhooks w ON w.uid = d.webhook_uid
       WHERE d.id IN (SELECT value FROM json_each(?))`,
    )
    .bind(JSON.stringify(ids))
    .all<JobRow>();
  const jobs = new Map<string, DeliveryJob>();
  for (const r of results) {
    const webhookRow = webhookRowOf(r);
    const event = r.e_id === null || r.e_event_type === null || r.e_body === null ? null : { id: r.e_id, eventType: r.e_event_type, body: r.e_body };
    jobs.set(r.id, { delivery: toDelivery(r), webhook: webhookRow && toWebhook(webhookRow), event });
  }
  return jobs;
}

/** An attempt and the delivery's state after it; a delivery failed for good carries its dead letter. */
export interface AttemptOutcome {
  attempt: Attempt;
  status: "pending" | "succeeded" | "failed";
  nextAttemptAt: number | null;
  deadLetter: NewDeadLetter | null;
}

/**
 * Records attempts, their deliveries' new states and the dead letters of those
 * failed for good, all in one transaction. Each update applies only if no other
 * attempt was recorded meanwhile (a duplicate message), so a delivery's count and
 * status stay consistent.
 */
export async function recordAttempts(db: D1Database, outcomes: AttemptOutcome[]): Promise<void> {
  if (outcomes.length === 0) return;
  await db.batch(
    outcomes.flatMap((o) => {
      const a = o.attempt;
      const dead = o.deadLetter ? [recordDeadLetterStatement(db, o.deadLetter)] : [];
      return [
        ...dead,
        db
          .prepare(
            `INSERT INTO attempts (delivery_id, number, started_at, duration_ms, status_code, error, response_snippet)
             VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
          )
          .bind(a.deliveryId, a.number, a.startedAt, a.durationMs, a.statusCode, a.error, a.responseSnippet),
        db
          .prepare(
            `UPDATE deliveries SET status = ?, attempt_count = ?, next_attempt_at = ?, updated_at = ?
             WHERE id = ? AND attempt_count = ? AND ${from("attempt")}`,
          )
          .bind(o.status, a.number, o.nextAttemptAt, a.startedAt + a.durationMs, a.deliveryId, a.number - 1),
      ];
    }),
  );
}

export async function getDelivery(db: D1Database, id: string): Promise<Delivery | null> {
  const row = await db.prepare("SELECT * FROM deliveries WHERE id = ?").bind(id).first<DeliveryRow>();
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

function where(f: DeliveryFilter): { sql: string; binds: unknown[] } {
  const clauses: string[] = [];
  const binds: unknown[] = [];
  if (f.access) {
    const a = eventAccessSql(f.access);
    const d = deliveryAccessSql(f.access);
    clauses.push(`event_id IN (SELECT id FROM events WHERE ${a.sql})`, d.sql);
    binds.push(...a.binds, ...d.binds);
  }
  if (f.status) clauses.push("status = ?"), binds.push(f.status);
  if (f.webhookUid) clauses.push("webhook_uid = ?"), binds.push(f.webhookUid);
  if (f.eventId) clauses.push("event_id = ?"), binds.push(f.eventId);
  if (f.since !== undefined) clauses.push("created_at >= ?"), binds.push(f.since);
  return { sql: clauses.length ? clauses.join(" AND ") : "1 = 1", binds };
}

/** Newest first, strictly below `before` (the insertion sequence). */
export async function listDeliveries(
  db: D1Database,
  f: DeliveryFilter,
  opts: { limit: number; before?: number },
): Promise<{ deliveries: Delivery[]; nextBefore: number | null }> {
  const w = where(f);
  const { results } = await db
    .prepare(`SELECT * FROM deliveries WHERE ${w.sql} AND seq < ? ORDER BY seq DESC LIMIT ?`)
    .bind(...w.binds, opts.before ?? Number.MAX_SAFE_INTEGER, opts.limit + 1)
    .all<DeliveryRow>();
  const page = results.slice(0, opts.limit);
  const last = page[page.length - 1];
  return { deliveries: page.map(toDelivery), nextBefore: results.length > opts.limit && last ? last.seq : null };
}

/** An event's deliveries to webhooks within `access`'s grant, each with its attempts, oldest first. */
export async function deliveriesOfEvent(
  db: D1Database,
  eventId: string,
  access: Access | null = null,
): Promise<(Delivery & { attempts: Attempt[] })[]> {
  const g = deliveryAccessSql(access, "d");
  const [deliveries, attempts] = await Promise.all([
    db.prepare(`SELECT * FROM deliveries d WHERE d.event_id = ? AND ${g.sql} ORDER BY d.seq`).bind(eventId, ...g.binds).all<DeliveryRow>(),
    db
      .prepare(
        `SELECT a.* FROM attempts a JOIN deliveries d ON d.id = a.delivery_id WHERE d.event_id = ? AND ${g.sql} ORDER BY a.delivery_id, a.number`,
      )
      .bind(eventId, ...g.binds)
      .all<AttemptRow>(),
  ]);
  const byDelivery = new Map<string, Attempt[]>();
  for (const a of attempts.results.map(toAttempt)) byDelivery.set(a.deliveryId, [...(byDelivery.get(a.deliveryId) ?? []), a]);
  return deliveries.results.map((r) => ({ ...toDelivery(r), attempts: byDelivery.get(r.id) ?? [] }));
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

/**
 * Tries matching deliveries again: pending and due now, or held when their
 * webhook is disabled (enabling it releases them). Deliveries already held, and
 * those whose webhook was deleted, are left alone. Their open dead letters close in
 * the same transaction (a new failure reopens the same one). Returns their ids oldest first.
 */
export async function retryDeliveries(
  db: D1Database,
  f: DeliveryFilter & { ids?: string[] },
  now = Date.now(),
): Promise<{ pending: string[]; held: string[] }> {
  const w = where(f);
  const idClause = f.ids ? " AND id IN (SELECT value FROM json_each(?))" : "";
  const matching = `${w.sql}${idClause} AND ${from("retry")} AND webhook_uid IN (SELECT uid FROM webhooks)`;
  const binds = [...w.binds, ...(f.ids ? [JSON.stringify(f.ids)] : [])];
  const disabled = "(SELECT w.disabled FROM webhooks w WHERE w.uid = deliveries.webhook_uid) = 1";
  const [, retried] = await db.batch<{ id: string; seq: number; status: string }>([
    closeDeadLettersStatement(db, `SELECT id FROM deliveries WHERE ${matching}`, binds, now),
    db
      .prepare(
        `UPDATE deliveries SET status = CASE WHEN ${disabled} THEN ${status("held")} ELSE ${status("pending")} END,
           next_attempt_at = CASE WHEN ${disabled} THEN NULL ELSE ? END, updated_at = ?
         WHERE ${matching} RETURNING id, seq, status`,
      )
      .bind(now, now, ...binds),
  ]);
  const sorted = (retried?.results ?? []).sort((x, y) => x.seq - y.seq);
  return { pending: sorted.filter((r) => r.status === "pending").map((r) => r.id), held: sorted.filter((r) => r.status === "held").map((r) => r.id) };
}

/** Releases held deliveries of enabled webhooks, oldest first, at most `limit`. */
export async function releaseHeld(db: D1Database, opts: { webhookUid?: string; limit: number }, now = Date.now()): Promise<string[]> {
  const { results } = await db
    .prepare(
      `UPDATE deliveries SET status = ${to("release")}, next_attempt_at = ?, updated_at = ?
       WHERE id IN (
         SELECT d.id FROM deliveries d JOIN webhooks w ON w.uid = d.webhook_uid
         WHERE ${from("release", "d.status")} AND w.disabled = 0 AND (? IS NULL OR d.webhook_uid = ?)
         ORDER BY d.seq LIMIT ?)
       RETURNING id, seq`,
    )
    .bind(now, now, opts.webhookUid ?? null, opts.webhookUid ?? null, opts.limit)
    .all<{ id: string; seq: number }>();
  return results.sort((x, y) => x.seq - y.seq).map((r) => r.id);
}

/** Held deliveries created before `cutoff` expire. Returns how many. */
export async function expireHeld(db: D1Database, cutoff: number, now = Date.now()): Promise<number> {
  const res = await db
    .prepare(`UPDATE deliveries SET status = ${to("expire")}, updated_at = ? WHERE status = ${status("held")} AND created_at < ?`)
    .bind(now, cutoff)
    .run();
  return res.meta.changes ?? 0;
}

/**
 * Pending deliveries whose next attempt is overdue by more than `graceMs`: their
 * queue message was lost. Pushes their due time to now and returns their ids.
 */
export async function claimOverdue(db: D1Database, graceMs: number, limit: number, now = Date.now()): Promise<string[]> {
  const { results } = await db
    .prepare(
      `UPDATE deliveries SET next_attempt_at = ?, updated_at = ?
       WHERE id IN (SELECT id FROM deliveries WHERE status = ${status("pending")} AND next_attempt_at < ? ORDER BY next_attempt_at LIMIT ?)
       RETURNING id, seq`,
    )
    .bind(now, now, now - graceMs, limit)
    .all<{ id: string; seq: number }>();
  return results.sort((x, y) => x.seq - y.seq).map((r) => r.id);
}

export async function countHeld(db: D1Database, webhookUid: string): Promise<number> {
  const row = await db
    .prepare(`SELECT COUNT(*) AS n FROM deliveries WHERE webhook_uid = ? AND status = ${status("held")}`)
    .bind(webhookUid)
    .first<{ n: number }>();
  return row?.n ?? 0;
}
