// What GET /v1/webhooks/{uid} reads of a webhook besides its row, and the notification endpoints'
// GET and list of theirs: their counts (held and pending) and their health, in one round trip (a D1
// call costs more than its statements do). A few rows a webhook, with its 25 hourly counts
// (store/health.ts), however many deliveries it is owed.
import { healthRead, healthStatements, unknownHealth, type HealthRead } from "./health";
import { countsRead, countsStatement, manyCountsRead, manyCountsStatement, type OwedCounts } from "./scheduler-reads";

export interface WebhookState {
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
    health: healthRead([webhookUid], rows?.results ?? [], hours?.results ?? []).get(webhookUid) ?? unknownHealth(),
  };
}

/** The same of some webhooks (a list's page), one batch of three statements however many. */
export async function webhookStatesOf(db: D1Database, webhookUids: string[], now: number): Promise<Map<string, WebhookState>> {
  if (webhookUids.length === 0) return new Map();
  const [counts, rows, hours] = await db.batch<Record<string, unknown>>([manyCountsStatement(db, webhookUids), ...healthStatements(db, webhookUids, now)]);
  const owed = manyCountsRead(webhookUids, counts?.results ?? []);
  const health = healthRead(webhookUids, rows?.results ?? [], hours?.results ?? []);
  return new Map(webhookUids.map((uid) => [uid, { owed: owed.get(uid) ?? countsRead([]), health: health.get(uid) ?? unknownHealth() }]));
}
