// What GET /v1/webhooks/{uid} reads of a webhook besides its row: its counts (held, and its backlog
// up to a cap) and its health, in one round trip (a D1 call costs more than its statements do).
import { NO_ATTEMPTS } from "../domain/health";
import { healthRead, healthStatements, type HealthRead } from "./health";
import { cappedBacklog, countsRead, countsStatement, type OwedCounts } from "./scheduler-reads";

interface WebhookState {
  /** Its held and pending deliveries, uncapped (heldDeliveries, and the drain estimate, are of all of them). */
  owed: OwedCounts;
  /** The same up to the cap in all (cappedBacklog), as the backlog shows them. */
  backlog: OwedCounts & { capped: boolean };
  health: HealthRead;
}

/** A webhook's counts (countsStatement: held, and its backlog up to `cap`) and health (healthStatements), one batch. */
export async function webhookStateOf(db: D1Database, webhookUid: string, cap: number, now: number): Promise<WebhookState> {
  const [counts, rows, hours] = await db.batch<Record<string, unknown>>([countsStatement(db, webhookUid), ...healthStatements(db, [webhookUid], now)]);
  const owed = countsRead(counts?.results ?? []);
  return {
    owed,
    backlog: cappedBacklog(owed, cap),
    health: healthRead([webhookUid], rows?.results ?? [], hours?.results ?? []).get(webhookUid) ?? { record: NO_ATTEMPTS, hours: [] },
  };
}
