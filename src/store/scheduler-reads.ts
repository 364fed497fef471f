// What a webhook's scheduler reads of the deliveries it owes, and what those who wake it
// (the maintenance run) and watch it (the API's backlog) read: a partial index's range or a
// counts row per webhook, never the webhook's every delivery.
import type { DeliveryStatus } from "../domain/delivery";
import type { Delivery, StoredEvent } from "../domain/types";
import { contentsOf } from "./contents";
import { statusSum } from "./counters";
import { deliverySelect, dlvKey, toDelivery, type DeliveryRow } from "./delivery-rows";
import { apiIdSql, nameIdSql } from "./names";
import { fresh, owed, retrying, statusCode, statusOfCode } from "./transitions";

// What one webhook's scheduler reads. Each query reads a range or two of a partial index, so
// it reads about what it returns and no more, however large the table. A webhook's pending
// deliveries lie in two (migration 0033): fresh ones (never attempted: due since they were
// made, released or retried) in deliveries_owed_in_order's fresh range, in event order; those
// pending a retry in deliveries_pending_due, by due time. Its owed ones in event order are the
// merge of the owed index's two ranges (fresh, and the rest: held or pending a retry), a
// LIMIT of each.

/** A webhook's (`?1`) owed deliveries `d` in one range of deliveries_owed_in_order (fresh: 1, the rest: 0): add conditions. */
const owedRange = (isFresh: 0 | 1) => `d.webhook = ${nameIdSql("?1")} AND ${owed("d.status")} AND ${fresh("d")} = ${isFresh}`;

/** A webhook's (`?1`) deliveries `d` pending a retry, along deliveries_pending_due: add conditions. */
const RETRYING = `d.webhook = ${nameIdSql("?1")} AND ${retrying("d")}`;

/** The owed index's order within a range. */
const IN_EVENT_ORDER = "ORDER BY d.event_received_at, d.seq";

/**
 * The webhook (`?1`) is enabled: what a scheduler reads to send finds nothing of a disabled one, whose
 * pending deliveries a disable holds a chunk at a time (HOLD_CHUNK) and may not all have held yet.
 */
const ENABLED = "EXISTS (SELECT 1 FROM webhooks w WHERE w.uid = ?1 AND w.disabled = 0)";

/** Leaves out the deliveries whose ids are in the JSON array bound at `param` (in flight, say). */
const notIn = (param: string) => `d.id NOT IN (SELECT ${dlvKey("value")} FROM json_each(${param}))`;

/** A delivery the scheduler may send, with what it sends. */
export interface FlowJob {
  delivery: Delivery;
  event: Pick<StoredEvent, "id" | "eventType" | "body" | "receivedAt">;
}

type FlowJobRow = DeliveryRow & { e_event_type: string; e_seq: number; e_received_at: number };

/** A delivery with its event's type and place (its body is read apart, by jobsOf), and its place in its webhook's order. */
const JOB_SELECT = deliverySelect({
  columns: ", t.name AS e_event_type, e.seq AS e_seq, e.received_at AS e_received_at, d.event_received_at AS received_at",
  joins: " JOIN names t ON t.id = e.type",
});

/**
 * The first `limit` jobs of two ranges (each a condition and its index's order, the LIMIT of
 * each read alone), merged in `order` (of JOB_SELECT's columns): at most twice `limit` read.
 */
const mergedJobs = (ranges: [string, string], order: string, limit: string) =>
  `SELECT * FROM (${ranges.map((r) => `SELECT * FROM (${JOB_SELECT} WHERE ${r} LIMIT ${limit})`).join(" UNION ALL ")}) ORDER BY ${order} LIMIT ${limit}`;

/** The jobs of some rows: only pending ones carry their body (read and inflated here). */
async function jobsOf(db: D1Database, rows: FlowJobRow[]): Promise<FlowJob[]> {
  const pending = statusCode("pending");
  const contents = await contentsOf(db, rows.filter((r) => r.status === pending).map((r) => r.e_seq));
  return rows.map((r) => ({
    delivery: toDelivery(r),
    event: { id: r.event_id, eventType: r.e_event_type, receivedAt: r.e_received_at, body: r.status === pending ? (contents.get(r.e_seq)?.body ?? "") : "" },
  }));
}

/**
 * A webhook's pending deliveries due by `now`, leaving out `exclude` (in flight): the first `limit`
 * of its fresh ones (in event order) and of those whose retry is due (by due time), merged oldest
 * first: a fresh one, or one owed anew, by its event's receipt (a released one is due since then:
 * releaseHeld), a retry by backoff by its due time. None of a disabled webhook.
 */
export async function duePending(
  db: D1Database,
  webhookUid: string,
  opts: { now: number; limit: number; exclude: string[] },
): Promise<FlowJob[]> {
  const due = `d.next_attempt_at <= ?2 AND ${notIn("?3")} AND ${ENABLED}`;
  // Owed anew (released, retried by hand: due no later than that wrote it) goes by its receipt even
  // if attempted before (a held retry, an auto-disable's backlog): by its due time, the release's, it
  // went after every newer event pending, and each page released the next held ones until none was.
  const oldestFirst = `CASE WHEN attempt_count = 0 OR next_attempt_at <= updated_at THEN received_at ELSE next_attempt_at END, seq`;
  const { results } = await db
    .prepare(mergedJobs([`${owedRange(1)} AND ${due} ${IN_EVENT_ORDER}`, `${RETRYING} AND ${due} ORDER BY d.next_attempt_at, d.seq`], oldestFirst, "?4"))
    .bind(webhookUid, opts.now, JSON.stringify(opts.exclude), opts.limit)
    .all<FlowJobRow>();
  return jobsOf(db, results);
}

/**
 * A webhook's pending deliveries due by `now` whose event was received before `horizon` (past the
 * retention: expired instead of sent), leaving out `exclude`, the first `limit` in event order: the
 * start of each range of its owed index, where the oldest events lie, so about what is past the
 * horizon is read (with the held ones and retries not yet due among it, which the maintenance run expires).
 */
export async function duePastRetention(
  db: D1Database,
  webhookUid: string,
  opts: { now: number; horizon: number; limit: number; exclude: string[] },
): Promise<string[]> {
  const past = (isFresh: 0 | 1) =>
    `SELECT * FROM (SELECT ${apiIdSql("dlv_", "d.id")} AS id, d.event_received_at AS r, d.seq FROM deliveries d
     WHERE ${owedRange(isFresh)} AND d.event_received_at < ?2 AND d.next_attempt_at <= ?3 AND ${notIn("?4")} ${IN_EVENT_ORDER} LIMIT ?5)`;
  const { results } = await db
    .prepare(`SELECT id FROM (${past(1)} UNION ALL ${past(0)}) ORDER BY r, seq LIMIT ?5`)
    .bind(webhookUid, Math.trunc(opts.horizon), opts.now, JSON.stringify(opts.exclude), opts.limit)
    .all<{ id: string }>();
  return results.map((r) => r.id);
}

/**
 * When a webhook's next pending delivery (leaving out `exclude`) is due, if any: its first
 * fresh one's time, or its soonest retry's (none while it is disabled); and whether it holds
 * deliveries (from its counts: one row).
 */
export async function pendingOutlook(db: D1Database, webhookUid: string, exclude: string[]): Promise<{ nextDueAt: number | null; held: boolean }> {
  const kept = `${notIn("?2")} AND EXISTS (SELECT 1 FROM events e WHERE e.seq = d.event)`;
  const first = (range: string, order: string) => `SELECT t FROM (SELECT d.next_attempt_at AS t FROM deliveries d WHERE ${range} AND ${kept} ${order} LIMIT 1)`;
  const row = await db
    .prepare(
      `SELECT
         -- Asked once, before the ranges: as a term of their WHERE it was tested per row, and with no
         -- row passing the LIMIT never stopped the walk (every pending delivery of a disabled webhook read).
         CASE WHEN ${ENABLED} THEN (SELECT min(t) FROM (${first(owedRange(1), IN_EVENT_ORDER)} UNION ALL ${first(RETRYING, "ORDER BY d.next_attempt_at")})) END AS next_due_at,
         (SELECT ${statusSum("held")} FROM delivery_counts WHERE webhook = ${nameIdSql("?1")}) > 0 AS held`,
    )
    .bind(webhookUid, JSON.stringify(exclude))
    .first<{ next_due_at: number | null; held: number }>();
  return { nextDueAt: row?.next_due_at ?? null, held: row?.held === 1 };
}

/**
 * A webhook's first `limit` owed deliveries (held or pending) in the order their events were
 * received; only pending ones carry their body. None of a disabled webhook.
 */
export async function owedInOrder(db: D1Database, webhookUid: string, limit: number): Promise<FlowJob[]> {
  const { results } = await db
    .prepare(mergedJobs([`${owedRange(1)} AND ${ENABLED} ${IN_EVENT_ORDER}`, `${owedRange(0)} AND ${ENABLED} ${IN_EVENT_ORDER}`], "received_at, seq", "?2"))
    .bind(webhookUid, limit)
    .all<FlowJobRow>();
  return jobsOf(db, results);
}

/**
 * No held delivery of a webhook has an event received before this (null: it holds none, by its
 * counts: one row). The first `window` of its owed index's other range (held ones, and those
 * pending a retry) in event order: the first held one's receipt, or (all of them retries) the last one's.
 */
export async function heldFrom(db: D1Database, webhookUid: string, window: number): Promise<number | null> {
  const { results } = await db
    .prepare(
      // Its counts row first (CROSS JOIN keeps that order): holding none, its range is not walked at all.
      `SELECT d.status, d.event_received_at AS r FROM delivery_counts c CROSS JOIN deliveries d
       WHERE c.webhook = ${nameIdSql("?1")} AND ${statusSum("held")} > 0 AND ${owedRange(0)}
       ${IN_EVENT_ORDER} LIMIT ?2`,
    )
    .bind(webhookUid, window)
    .all<{ status: number; r: number }>();
  const held = results.find((r) => r.status === statusCode("held"));
  if (held) return held.r;
  return results.length === window ? (results.at(-1)?.r ?? null) : null;
}

/** A webhook's first owed delivery as far as what to send next depends on it: which, held or pending, and when due. */
export interface OwedHead {
  id: string;
  status: DeliveryStatus;
  nextAttemptAt: number | null;
}

/**
 * A webhook's first owed delivery in that order, if any: the head of each range of its owed index.
 * None of a disabled webhook: FIFO starts the head it read ahead when this finds it still first, and
 * a disable's chunk may have left it pending.
 */
export async function firstOwed(db: D1Database, webhookUid: string): Promise<OwedHead | null> {
  const head = (isFresh: 0 | 1) =>
    `SELECT * FROM (SELECT ${apiIdSql("dlv_", "d.id")} AS id, d.status, d.next_attempt_at, d.event_received_at AS r, d.seq FROM deliveries d WHERE ${owedRange(isFresh)} AND ${ENABLED} ${IN_EVENT_ORDER} LIMIT 1)`;
  const row = await db
    .prepare(`${head(1)} UNION ALL ${head(0)} ORDER BY r, seq LIMIT 1`)
    .bind(webhookUid)
    .first<{ id: string; status: number; next_attempt_at: number | null }>();
  return row ? { id: row.id, status: statusOfCode(row.status), nextAttemptAt: row.next_attempt_at } : null;
}

// What the API's backlog view and the maintenance run read: from the counts, or one probe per webhook.

/** A counts row's held and pending (OBJECT_GROUPS columns each). */
const OWED_COLUMNS = `${statusSum("held")} AS held, ${statusSum("pending")} AS pending`;

/** A webhook's (`?1`) held and pending deliveries, from its counts row (none without one). */
const COUNTS_SQL = `SELECT ${OWED_COLUMNS} FROM delivery_counts WHERE webhook = ${nameIdSql("?1")}`;

/** The same of some webhooks (a JSON array of uids at `?1`), a row each that has counts; a row dearer than COUNTS_SQL for one (its list's). */
const MANY_COUNTS_SQL = `SELECT j.value AS webhook_uid, ${OWED_COLUMNS} FROM json_each(?1) j CROSS JOIN delivery_counts c ON c.webhook = ${nameIdSql("j.value")}`;

/** What a webhook holds and has pending. */
export interface OwedCounts {
  held: number;
  pending: number;
}

/** A webhook's held and pending counts, for a caller's batch: `countsRead` takes its result. */
export function countsStatement(db: D1Database, webhookUid: string): D1PreparedStatement {
  return db.prepare(COUNTS_SQL).bind(webhookUid);
}

/** The counts of countsStatement's result rows (0 and 0 without a counts row). */
export function countsRead(rows: object[]): OwedCounts {
  const row = rows.find(isCountsRow);
  return { held: row?.held ?? 0, pending: row?.pending ?? 0 };
}

function isCountsRow(r: object): r is OwedCounts {
  return "held" in r && typeof r.held === "number" && "pending" in r && typeof r.pending === "number";
}

/** Some webhooks' held and pending counts, for a caller's batch: `manyCountsRead` takes its result. */
export function manyCountsStatement(db: D1Database, webhookUids: string[]): D1PreparedStatement {
  return db.prepare(MANY_COUNTS_SQL).bind(JSON.stringify(webhookUids));
}

/** Each webhook's counts from manyCountsStatement's result rows (0 and 0 without a counts row). */
export function manyCountsRead(webhookUids: string[], rows: object[]): Map<string, OwedCounts> {
  const out = new Map<string, OwedCounts>(webhookUids.map((uid) => [uid, countsRead([])]));
  for (const r of rows) if (isCountsRow(r) && "webhook_uid" in r && typeof r.webhook_uid === "string") out.set(r.webhook_uid, countsRead([r]));
  return out;
}

/** How many deliveries of a webhook are held (from its counts). */
export async function countHeld(db: D1Database, webhookUid: string): Promise<number> {
  const { results } = await countsStatement(db, webhookUid).all();
  return countsRead(results).held;
}

/**
 * Enabled webhooks that still hold deliveries (a release was cut short), at most
 * `limit`, drawn at random: from their counts. (So is webhooksOverdue's choice: with
 * more than `limit` of them, the same ones first every run would leave the rest out.)
 */
export async function webhooksWithHeld(db: D1Database, limit: number): Promise<string[]> {
  const { results } = await db
    .prepare(
      `SELECT w.uid FROM webhooks w JOIN names n ON n.name = w.uid JOIN delivery_counts c ON c.webhook = n.id
       WHERE w.disabled = 0 AND ${statusSum("held")} > 0 ORDER BY random() LIMIT ?`,
    )
    .bind(limit)
    .all<{ uid: string }>();
  return results.map((r) => r.uid);
}

/**
 * Enabled webhooks with a pending delivery due before `cutoff`, at most `limit`, drawn
 * at random: a wake-up of their scheduler may have been lost (or they are draining a
 * backlog, or paused, and stay overdue run after run).
 * Two probes per webhook, each the head of a range (never a walk of it): of its retries by
 * due time, and of its fresh deliveries in event order. A fresh delivery is due when it is
 * made, released or retried, and its scheduler sends the head first: one that was not told
 * leaves the head unsent until it is overdue too. Each is due from when its scheduler was
 * told at the earliest: a released one, due since its event's receipt (releaseHeld), from its
 * release (`updated_at`), so a release is not taken for a lost wake-up before its grace is over.
 */
export async function webhooksOverdue(db: D1Database, cutoff: number, limit: number): Promise<string[]> {
  const head = (range: string, order: string) =>
    `(SELECT max(d.next_attempt_at, d.updated_at) FROM deliveries d WHERE d.webhook = n.id AND ${range} ORDER BY ${order} LIMIT 1) < ?1`;
  const { results } = await db
    .prepare(
      // (The first retry's row is read only when it is due before the cutoff: its index holds its due time.)
      `SELECT w.uid FROM webhooks w JOIN names n ON n.name = w.uid WHERE w.disabled = 0
       AND (${head(`${retrying("d")} AND d.next_attempt_at < ?1`, "d.next_attempt_at")}
         OR ${head(`${owed("d.status")} AND ${fresh("d")} = 1`, "d.event_received_at, d.seq")})
       ORDER BY random() LIMIT ?2`,
    )
    .bind(cutoff, limit)
    .all<{ uid: string }>();
  return results.map((r) => r.uid);
}
