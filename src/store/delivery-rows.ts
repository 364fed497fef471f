// A deliveries row as the API and the schedulers read it, and how the ids that key it are
// written in SQL: one row shape and one SELECT for every read of whole deliveries.
import type { Delivery } from "../domain/types";
import { apiIdSql, idKeySql } from "./names";
import type { DeliveryStatus } from "../domain/delivery";
import { statusCode, statusOfCode } from "./transitions";

export interface DeliveryRow {
  seq: number;
  id: string;
  event_id: string;
  webhook_uid: string;
  status: number;
  attempt_count: number;
  next_attempt_at: number | null;
  created_at: number;
  updated_at: number;
}

/**
 * SELECT … FROM deliveries d with its ids and webhook spelled out: add WHERE, ORDER BY, LIMIT.
 * `more` adds columns, and joins after the event's (`e`).
 */
export const deliverySelect = (more: { columns: string; joins: string } = { columns: "", joins: "" }) =>
  `SELECT d.seq, ${apiIdSql("dlv_", "d.id")} AS id, ${apiIdSql("evt_", "e.id")} AS event_id, wn.name AS webhook_uid,
    d.status, d.attempt_count, d.next_attempt_at, d.created_at, d.updated_at${more.columns}
  FROM deliveries d JOIN events e ON e.seq = d.event${more.joins} JOIN names wn ON wn.id = d.webhook`;

/**
 * A webhook's deliveries in one status along an index of that status alone, where one exists:
 * failed ones, the few a busy webhook has among thousands that succeeded, keep a partial index
 * (migration 0032); other statuses are read on the rows the webhook's packed rows name
 * (delivery-webhooks.ts). `column`:
 * the status column as the query names it.
 */
export function ownStatusIndex(status: DeliveryStatus | undefined, column: string): { index: string; where: string } | null {
  return status === "failed" ? { index: "deliveries_failed", where: `${column} = ${statusCode("failed")}` } : null;
}

export function toDelivery(r: DeliveryRow): Delivery {
  return {
    id: r.id,
    eventId: r.event_id,
    webhookUid: r.webhook_uid,
    status: statusOfCode(r.status),
    attemptCount: r.attempt_count,
    nextAttemptAt: r.next_attempt_at,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export const dlvKey = (expr: string) => idKeySql("dlv_", expr);
export const evtKey = (expr: string) => idKeySql("evt_", expr);
