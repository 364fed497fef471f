import type { Access } from "../domain/access";
import type { DeliveryStatus, NewDelivery } from "../domain/delivery";
import type { Attempt, Delivery, StoredEvent } from "../domain/types";
import { deliveryAccessSql, eventAccessSql } from "./access";
import { closeDeadLettersStatement, recordDeadLetterStatement, type NewDeadLetter } from "./dead-letters";
import { attemptHealthStatements } from "./health";
import { from, owed, status, to } from "./transitions";

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
      `INSERT INTO deliveries (id, event_id, event_received_at, webhook_uid, status, attempt_count, next_attempt_at, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?) ON CONFLICT DO NOTHING`,
    )
    .bind(d.id, d.eventId, d.eventReceivedAt, d.webhookUid, d.status, d.status === "pending" ? d.createdAt : null, d.createdAt, d.createdAt);
}

/** Of the given ids, those pending and never attempted: the ones whose scheduler is owed a wake-up. */
export function unattemptedPendingStatement(db: D1Database, ids: string[]): D1PreparedStatement {
  return db
    .prepare(
      `SELECT id FROM deliveries WHERE id IN (SELECT value FROM json_each(?)) AND status = ${status("pending")} AND attempt_count = 0
       ORDER BY seq`,
    )
    .bind(JSON.stringify(ids));
}

/** Creates deliveries (replay) in one statement, in the given order; returns those pending, in order. */
export async function insertDeliveries(db: D1Database, deliveries: NewDelivery[]): Promise<NewDelivery[]> {
  if (deliveries.length === 0) return [];
  const rows = deliveries.map((d) => [d.id, d.eventId, d.eventReceivedAt, d.webhookUid, d.status, d.status === "pending" ? d.createdAt : null, d.createdAt]);
  await db
    .prepare(
      `INSERT INTO deliveries (id, event_id, event_received_at, webhook_uid, status, attempt_count, next_attempt_at, created_at, updated_at)
       SELECT value->>0, value->>1, value->>2, value->>3, value->>4, 0, value->>5, value->>6, value->>6 FROM json_each(?) WHERE true
       ON CONFLICT DO NOTHING`,
    )
    .bind(JSON.stringify(rows))
    .run();
  return deliveries.filter((d) => d.status === "pending");
}

/** Holds every pending delivery of a webhook (it is disabled): they go out when it is enabled. */
export function holdPendingStatement(db: D1Database, webhookUid: string, now: number): D1PreparedStatement {
  return db
    .prepare(`UPDATE deliveries SET status = ${to("hold")}, next_attempt_at = NULL, updated_at = ? WHERE webhook_uid = ? AND ${from("hold")}`)
    .bind(now, webhookUid);
}

/** An attempt and the delivery's state after it; a delivery failed for good carries its dead letter. */
export interface AttemptOutcome {
  attempt: Attempt;
  status: "pending" | "succeeded" | "failed";
  nextAttemptAt: number | null;
  deadLetter: NewDeadLetter | null;
}

/**
 * Records a webhook's attempts, their deliveries' new states, the dead letters of
 * those failed for good and the webhook's health (store/health.ts), all in one
 * transaction, then runs `then` in it (a read of what the batch left). Each update
 * applies only if no other attempt was recorded meanwhile (a duplicate message),
 * so a delivery's count and status, and the health counters, stay consistent.
 */
export async function recordAttempts<T = unknown>(
  db: D1Database,
  webhookUid: string,
  outcomes: AttemptOutcome[],
  then?: D1PreparedStatement,
): Promise<T | null> {
  if (outcomes.length === 0) return null;
  const results = await db.batch<T>([
    ...outcomes.flatMap((o) => {
      const a = o.attempt;
      const dead = o.deadLetter ? [recordDeadLetterStatement(db, o.deadLetter)] : [];
      return [
        db
          .prepare(
            `INSERT INTO attempts (delivery_id, number, started_at, duration_ms, status_code, error, response_snippet)
             VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
          )
          .bind(a.deliveryId, a.number, a.startedAt, a.durationMs, a.statusCode, a.error, a.responseSnippet),
        // Right after the INSERT: they apply only if it stored the attempt.
        ...attemptHealthStatements(db, webhookUid, a, o.status === "succeeded"),
        ...dead,
        db
          .prepare(
            `UPDATE deliveries SET status = ?, attempt_count = ?, next_attempt_at = ?, updated_at = ?
             WHERE id = ? AND attempt_count = ? AND ${from("attempt")}`,
          )
          .bind(o.status, a.number, o.nextAttemptAt, a.startedAt + a.durationMs, a.deliveryId, a.number - 1),
      ];
    }),
    ...(then ? [then] : []),
  ]);
  return then ? (results.at(-1)?.results[0] ?? null) : null;
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
 * the same transaction (a new failure reopens the same one). Returns their ids oldest
 * first, and the webhooks that now have deliveries pending.
 */
export async function retryDeliveries(
  db: D1Database,
  f: DeliveryFilter & { ids?: string[] },
  now = Date.now(),
): Promise<{ pending: string[]; held: string[]; webhooks: string[] }> {
  const w = where(f);
  const idClause = f.ids ? " AND id IN (SELECT value FROM json_each(?))" : "";
  const matching = `${w.sql}${idClause} AND ${from("retry")} AND webhook_uid IN (SELECT uid FROM webhooks)`;
  const binds = [...w.binds, ...(f.ids ? [JSON.stringify(f.ids)] : [])];
  const disabled = "(SELECT w.disabled FROM webhooks w WHERE w.uid = deliveries.webhook_uid) = 1";
  const [, retried] = await db.batch<{ id: string; seq: number; status: string; webhook_uid: string }>([
    closeDeadLettersStatement(db, `SELECT id FROM deliveries WHERE ${matching}`, binds, now),
    db
      .prepare(
        `UPDATE deliveries SET status = CASE WHEN ${disabled} THEN ${status("held")} ELSE ${status("pending")} END,
           next_attempt_at = CASE WHEN ${disabled} THEN NULL ELSE ? END, updated_at = ?,
           event_received_at = COALESCE(event_received_at, (SELECT e.received_at FROM events e WHERE e.id = deliveries.event_id))
         WHERE ${matching} RETURNING id, seq, status, webhook_uid`,
      )
      .bind(now, now, ...binds),
  ]);
  const sorted = (retried?.results ?? []).sort((x, y) => x.seq - y.seq);
  const pending = sorted.filter((r) => r.status === "pending");
  return {
    pending: pending.map((r) => r.id),
    held: sorted.filter((r) => r.status === "held").map((r) => r.id),
    webhooks: [...new Set(pending.map((r) => r.webhook_uid))],
  };
}

/**
 * Releases the oldest held deliveries of a webhook, at most `limit`, in the order
 * their events were received, unless it is disabled. Returns how many.
 */
export async function releaseHeld(db: D1Database, webhookUid: string, limit: number, now = Date.now()): Promise<number> {
  const res = await db
    .prepare(
      `UPDATE deliveries SET status = ${to("release")}, next_attempt_at = ?1, updated_at = ?1
       WHERE id IN (
         SELECT d.id FROM deliveries d WHERE d.webhook_uid = ?2 AND ${owed("d.status")} AND ${from("release", "d.status")}
         ORDER BY d.event_received_at, d.seq LIMIT ?3)
       AND (SELECT w.disabled FROM webhooks w WHERE w.uid = ?2) = 0`,
    )
    .bind(now, webhookUid, limit)
    .run();
  return res.meta.changes ?? 0;
}

/** Enabled webhooks that still hold deliveries (a release was cut short), at most `limit`. */
export async function webhooksWithHeld(db: D1Database, limit: number): Promise<string[]> {
  const { results } = await db
    .prepare(
      `SELECT w.uid FROM webhooks w WHERE w.disabled = 0
       AND EXISTS (SELECT 1 FROM deliveries d WHERE d.webhook_uid = w.uid AND d.status = ${status("held")}) LIMIT ?`,
    )
    .bind(limit)
    .all<{ uid: string }>();
  return results.map((r) => r.uid);
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
 * Enabled webhooks with a pending delivery due before `cutoff`, at most `limit`: a
 * wake-up of their scheduler may have been lost (or they are draining a backlog).
 * One probe of the pending index per webhook.
 */
export async function webhooksOverdue(db: D1Database, cutoff: number, limit: number): Promise<string[]> {
  const { results } = await db
    .prepare(
      `SELECT w.uid FROM webhooks w WHERE w.disabled = 0
       AND EXISTS (SELECT 1 FROM deliveries d WHERE d.webhook_uid = w.uid AND d.status = ${status("pending")} AND d.next_attempt_at < ?) LIMIT ?`,
    )
    .bind(cutoff, limit)
    .all<{ uid: string }>();
  return results.map((r) => r.uid);
}

export async function countHeld(db: D1Database, webhookUid: string): Promise<number> {
  const row = await db
    .prepare(`SELECT COUNT(*) AS n FROM deliveries WHERE webhook_uid = ? AND status = ${status("held")}`)
    .bind(webhookUid)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

// What one webhook's scheduler reads. Each query is one range of a partial index
// (migration 0011), so it reads what it returns and no more, however large the table.

/** A delivery the scheduler may send, with what it sends. */
export interface FlowJob {
  delivery: Delivery;
  event: Pick<StoredEvent, "id" | "eventType" | "body">;
}

interface FlowJobRow extends DeliveryRow {
  e_event_type: string;
  e_body: string | null;
}

function toJob(r: FlowJobRow): FlowJob {
  return { delivery: toDelivery(r), event: { id: r.event_id, eventType: r.e_event_type, body: r.e_body ?? "" } };
}

const JOB_COLUMNS = `d.*, e.event_type AS e_event_type, CASE WHEN d.status = ${status("pending")} THEN e.body END AS e_body`;

/** A webhook's pending deliveries due by `now`, soonest due first, leaving out `exclude` (in flight). */
export async function duePending(
  db: D1Database,
  webhookUid: string,
  opts: { now: number; limit: number; exclude: string[] },
): Promise<FlowJob[]> {
  const { results } = await db
    .prepare(
      `SELECT ${JOB_COLUMNS} FROM deliveries d JOIN events e ON e.id = d.event_id
       WHERE d.webhook_uid = ? AND d.status = ${status("pending")} AND d.next_attempt_at <= ?
         AND d.id NOT IN (SELECT value FROM json_each(?))
       ORDER BY d.next_attempt_at, d.seq LIMIT ?`,
    )
    .bind(webhookUid, opts.now, JSON.stringify(opts.exclude), opts.limit)
    .all<FlowJobRow>();
  return results.map(toJob);
}

/**
 * When a webhook's next pending delivery (leaving out `exclude`) is due, if any,
 * and whether it holds deliveries.
 */
export async function pendingOutlook(db: D1Database, webhookUid: string, exclude: string[]): Promise<{ nextDueAt: number | null; held: boolean }> {
  const row = await db
    .prepare(
      `SELECT
         (SELECT d.next_attempt_at FROM deliveries d
          WHERE d.webhook_uid = ?1 AND d.status = ${status("pending")} AND d.id NOT IN (SELECT value FROM json_each(?2))
            AND EXISTS (SELECT 1 FROM events e WHERE e.id = d.event_id)
          ORDER BY d.next_attempt_at LIMIT 1) AS next_due_at,
         EXISTS (SELECT 1 FROM deliveries d WHERE d.webhook_uid = ?1 AND d.status = ${status("held")}) AS held`,
    )
    .bind(webhookUid, JSON.stringify(exclude))
    .first<{ next_due_at: number | null; held: number }>();
  return { nextDueAt: row?.next_due_at ?? null, held: row?.held === 1 };
}

/**
 * A webhook's first `limit` owed deliveries (held or pending) in the order their
 * events were received; only pending ones carry their body.
 */
export async function owedInOrder(db: D1Database, webhookUid: string, limit: number): Promise<FlowJob[]> {
  const { results } = await db
    .prepare(
      `SELECT ${JOB_COLUMNS} FROM deliveries d JOIN events e ON e.id = d.event_id
       WHERE d.webhook_uid = ? AND ${owed("d.status")}
       ORDER BY d.event_received_at, d.seq LIMIT ?`,
    )
    .bind(webhookUid, limit)
    .all<FlowJobRow>();
  return results.map(toJob);
}

/** How many deliveries a webhook holds and has pending, counting at most `cap` of them. */
export async function backlogOf(db: D1Database, webhookUid: string, cap: number): Promise<{ held: number; pending: number; capped: boolean }> {
  const { results } = await db
    .prepare(
      `SELECT status, COUNT(*) AS n FROM (SELECT status FROM deliveries WHERE webhook_uid = ? AND ${owed()} LIMIT ?) GROUP BY status`,
    )
    .bind(webhookUid, cap + 1)
    .all<{ status: string; n: number }>();
  const count = (s: DeliveryStatus) => results.find((r) => r.status === s)?.n ?? 0;
  const held = count("held");
  const pending = count("pending");
  if (held + pending <= cap) return { held, pending, capped: false };
  // One row more than the cap was read, only to know there are more.
  return pending > 0 ? { held, pending: pending - 1, capped: true } : { held: held - 1, pending, capped: true };
}
