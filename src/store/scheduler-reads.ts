// What a webhook's scheduler reads of the deliveries it owes, and what those who wake it
// (the maintenance run) and watch it (the API's backlog) read: a partial index's range or a
// counts row per webhook, never the webhook's every delivery.
import type { Delivery, StoredEvent } from "../domain/types";
import { contentsOf } from "./contents";
import { statusSum } from "./counters";
import { deliverySelect, dlvKey, toDelivery, type DeliveryRow } from "./delivery-rows";
import { apiIdSql, nameIdSql } from "./names";
import { owed, status, statusCode } from "./transitions";

// What one webhook's scheduler reads. Each query is one range of a partial index
// (deliveries_owed_in_order, deliveries_pending_due), so it reads what it returns and
// no more, however large the table.

/** A delivery the scheduler may send, with what it sends. */
export interface FlowJob {
  delivery: Delivery;
  event: Pick<StoredEvent, "id" | "eventType" | "body">;
}

type FlowJobRow = DeliveryRow & { e_event_type: string };

/** A delivery with its event's type and place (its body is read apart, by jobsOf). */
const JOB_SELECT = deliverySelect({ columns: ", t.name AS e_event_type, e.seq AS e_seq", joins: " JOIN names t ON t.id = e.type" });

/** The jobs of some rows: only pending ones carry their body (read and inflated here). */
async function jobsOf(db: D1Database, rows: (FlowJobRow & { e_seq: number })[]): Promise<FlowJob[]> {
  const pending = statusCode("pending");
  const contents = await contentsOf(db, rows.filter((r) => r.status === pending).map((r) => r.e_seq));
  return rows.map((r) => ({
    delivery: toDelivery(r),
    event: { id: r.event_id, eventType: r.e_event_type, body: r.status === pending ? (contents.get(r.e_seq)?.body ?? "") : "" },
  }));
}

/** A webhook's pending deliveries due by `now`, soonest due first, leaving out `exclude` (in flight). */
export async function duePending(
  db: D1Database,
  webhookUid: string,
  opts: { now: number; limit: number; exclude: string[] },
): Promise<FlowJob[]> {
  const { results } = await db
    .prepare(
      `${JOB_SELECT}
       WHERE d.webhook = ${nameIdSql("?1")} AND d.status = ${status("pending")} AND d.next_attempt_at <= ?2
         AND d.id NOT IN (SELECT ${dlvKey("value")} FROM json_each(?3))
       ORDER BY d.next_attempt_at, d.seq LIMIT ?4`,
    )
    .bind(webhookUid, opts.now, JSON.stringify(opts.exclude), opts.limit)
    .all<FlowJobRow & { e_seq: number }>();
  return jobsOf(db, results);
}

/**
 * When a webhook's next pending delivery (leaving out `exclude`) is due, if any,
 * and whether it holds deliveries (from its counts: one row).
 */
export async function pendingOutlook(db: D1Database, webhookUid: string, exclude: string[]): Promise<{ nextDueAt: number | null; held: boolean }> {
  const row = await db
    .prepare(
      `SELECT
         (SELECT d.next_attempt_at FROM deliveries d
          WHERE d.webhook = ${nameIdSql("?1")} AND d.status = ${status("pending")} AND d.id NOT IN (SELECT ${dlvKey("value")} FROM json_each(?2))
            AND EXISTS (SELECT 1 FROM events e WHERE e.seq = d.event)
          ORDER BY d.next_attempt_at LIMIT 1) AS next_due_at,
         (SELECT ${statusSum("held")} FROM delivery_counts WHERE webhook = ${nameIdSql("?1")}) > 0 AS held`,
    )
    .bind(webhookUid, JSON.stringify(exclude))
    .first<{ next_due_at: number | null; held: number }>();
  return { nextDueAt: row?.next_due_at ?? null, held: row?.held === 1 };
}

/** A webhook's owed deliveries (held or pending) in the order their events were received: add LIMIT. */
const OWED_IN_ORDER = `WHERE d.webhook = ${nameIdSql("?1")} AND ${owed("d.status")} ORDER BY d.event_received_at, d.seq`;

/**
 * A webhook's first `limit` owed deliveries (held or pending) in the order their
 * events were received; only pending ones carry their body.
 */
export async function owedInOrder(db: D1Database, webhookUid: string, limit: number): Promise<FlowJob[]> {
  const { results } = await db
    .prepare(`${JOB_SELECT} ${OWED_IN_ORDER} LIMIT ?2`)
    .bind(webhookUid, limit)
    .all<FlowJobRow & { e_seq: number }>();
  return jobsOf(db, results);
}

/** The id of a webhook's first owed delivery in that order, if any: one index entry and its row. */
export async function firstOwed(db: D1Database, webhookUid: string): Promise<string | null> {
  const row = await db
    .prepare(`SELECT ${apiIdSql("dlv_", "d.id")} AS id FROM deliveries d ${OWED_IN_ORDER} LIMIT 1`)
    .bind(webhookUid)
    .first<{ id: string }>();
  return row?.id ?? null;
}

// What the API's backlog view and the maintenance run read: from the counts, or one probe per webhook.

/** How many deliveries of a webhook are held (from its counts). */
export async function countHeld(db: D1Database, webhookUid: string): Promise<number> {
  const row = await db
    .prepare(`SELECT ${statusSum("held")} AS n FROM delivery_counts WHERE webhook = ${nameIdSql("?")}`)
    .bind(webhookUid)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

/**
 * How many deliveries a webhook holds and has pending, reported up to `cap` in all
 * (held first): one row of its counts, however many are owed.
 */
export async function backlogOf(db: D1Database, webhookUid: string, cap: number): Promise<{ held: number; pending: number; capped: boolean }> {
  const row = await db
    .prepare(`SELECT ${statusSum("held")} AS held, ${statusSum("pending")} AS pending FROM delivery_counts WHERE webhook = ${nameIdSql("?")}`)
    .bind(webhookUid)
    .first<{ held: number; pending: number }>();
  const held = row?.held ?? 0;
  const pending = row?.pending ?? 0;
  if (held + pending <= cap) return { held, pending, capped: false };
  const shownHeld = Math.min(held, cap);
  return { held: shownHeld, pending: cap - shownHeld, capped: true };
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
 * One probe of the pending index per webhook.
 */
export async function webhooksOverdue(db: D1Database, cutoff: number, limit: number): Promise<string[]> {
  const { results } = await db
    .prepare(
      `SELECT w.uid FROM webhooks w JOIN names n ON n.name = w.uid WHERE w.disabled = 0
       AND EXISTS (SELECT 1 FROM deliveries d WHERE d.webhook = n.id AND d.status = ${status("pending")} AND d.next_attempt_at < ?)
       ORDER BY random() LIMIT ?`,
    )
    .bind(cutoff, limit)
    .all<{ uid: string }>();
  return results.map((r) => r.uid);
}
