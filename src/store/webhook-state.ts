// What GET /v1/webhooks/{uid} reads of a webhook besides its row: its counts (held and pending) and
// its health, in one round trip (a D1 call costs more than its statements do).
import { NO_ATTEMPTS } from "../domain/health";
import { healthRead, healthStatements, type HealthRead } from "./health";
import { countsRead, countsStatement, type OwedCounts } from "./scheduler-reads";

interface WebhookState {
  /** Its held and pending deliveries, exact (its counts row). */
  owed: OwedCounts;
  health: HealthRead;
}

/** A webhook's counts (countsStatement: held and pending) and health (healthStatements), one batch. */
export async function webhookStateOf(db: D1Database, webhookUid: string, now: number): Promise<WebhookState> {
  const [counts, rows, hours] = await db.batch<Record<string, unknown>>([countsStatement(db, webhookUid), ...healthStatements(db, [webhookUid], now)]);
  const owed = countsRead(counts?.results ?? []);
  return {
    owed,
    health: healthRead([webhookUid], rows?.results ?? [], hours?.results ?? []).get(webhookUid) ?? { record: NO_ATTEMPTS, hours: [] },
  };
}
