// The delivery lifecycle in SQL: every statement that changes a delivery's status
// takes its "from" and "to" here, from the one table in domain/delivery.ts.
// A status is stored as its position in DELIVERY_STATUSES (one byte a row and index entry).
import { DELIVERY_STATUSES, OWED_STATUSES, TRANSITIONS, type DeliveryStatus, type Transition } from "../domain/delivery";

/** The stored code of a status (as it is bound, and written into SQL). */
export const statusCode = (s: DeliveryStatus): number => DELIVERY_STATUSES.indexOf(s);

/** The status a stored code stands for. */
export function statusOfCode(code: number): DeliveryStatus {
  const s = DELIVERY_STATUSES[code];
  if (s === undefined) throw new Error(`unknown delivery status code ${code}`);
  return s;
}

/** `<column> IN (…)`: the statuses a transition may start from. */
export function from(t: Transition, column = "status"): string {
  return `${column} IN (${TRANSITIONS[t].from.map(statusCode).join(", ")})`;
}

/** `<expr> IN (…)`: the statuses a transition may end in. */
export function into(t: Transition, expr: string): string {
  return `${expr} IN (${TRANSITIONS[t].to.map(statusCode).join(", ")})`;
}

/** The status a transition ends in, as an SQL literal, for transitions with one end. */
export function to(t: "hold" | "release" | "expire"): string {
  const [end] = TRANSITIONS[t].to;
  return String(statusCode(end));
}

/**
 * The status of a delivery owed anew (made, or retried): held while its webhook is
 * disabled (`disabled`, an SQL condition on the webhook row as the statement finds it), else pending.
 */
export function owedAnew(disabled: string): string {
  return `CASE WHEN ${disabled} THEN ${statusCode("held")} ELSE ${statusCode("pending")} END`;
}

/**
 * `<column> IN (0, 1)` (held, pending): something is still owed. Written exactly as the
 * partial index deliveries_owed_in_order's condition, which SQLite uses only for a
 * query that repeats it.
 */
export function owed(column = "status"): string {
  return `${column} IN (${OWED_STATUSES.map(statusCode).join(", ")})`;
}

/**
 * `(<status> = 1 AND <attempt_count> = 0)`: pending and never attempted, a fresh delivery, due
 * since it was made (or released, or retried). Written exactly as the middle key of
 * deliveries_owed_in_order (migration 0033), which SQLite matches only when repeated: compare
 * it to 1 (fresh) or 0 (held, or pending a retry, which deliveries_pending_due holds). `d`: the
 * table's alias, if any.
 */
export function fresh(d?: string): string {
  const col = (c: string) => (d ? `${d}.${c}` : c);
  return `(${col("status")} = ${statusCode("pending")} AND ${col("attempt_count")} = 0)`;
}

/**
 * `<status> = 1 AND <attempt_count> > 0`: pending a retry, exactly deliveries_pending_due's
 * condition (migration 0033), which SQLite uses only for a query that repeats it.
 */
export function retrying(d?: string): string {
  const col = (c: string) => (d ? `${d}.${c}` : c);
  return `${col("status")} = ${statusCode("pending")} AND ${col("attempt_count")} > 0`;
}
