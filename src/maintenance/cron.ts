import { settings } from "../domain/settings";
import type { Env } from "../env";
import { enqueueDeliveries } from "../pipeline/enqueue";
import { claimOverdue, expireHeld, releaseHeld } from "../store/deliveries";
import { purgeEvents } from "../store/events";
import { purgeExpiredSessions } from "../store/sessions";

const DAY_MS = 86_400_000;
/** A pending delivery this far past due has lost its queue message. */
export const REDRIVE_GRACE_MS = 10 * 60_000;
/** Bounds per run, so one run stays well inside the cron's limits. */
const RELEASE_LIMIT = 1000;
const REDRIVE_LIMIT = 1000;
const PURGE_CHUNK = 500;
const PURGE_CHUNKS = 20;

export interface MaintenanceReport {
  released: number;
  expired: number;
  purged: number;
  redriven: number;
}

/** The every-minute maintenance run (CONTRACT §6). Each step is idempotent. */
export async function runMaintenance(env: Env, now = Date.now()): Promise<MaintenanceReport> {
  const s = settings(env);
  const retentionCutoff = now - s.retentionDays * DAY_MS;

  const expired = await expireHeld(env.DB, retentionCutoff, now);
  const released = await releaseHeld(env.DB, { limit: RELEASE_LIMIT }, now);
  await enqueueDeliveries(env, released, { ordered: true });

  let purged = 0;
  for (let i = 0; i < PURGE_CHUNKS; i++) {
    const n = await purgeEvents(env.DB, retentionCutoff, PURGE_CHUNK);
    purged += n;
    if (n < PURGE_CHUNK) break;
  }

  await purgeExpiredSessions(env.DB, now);
  const overdue = await claimOverdue(env.DB, REDRIVE_GRACE_MS, REDRIVE_LIMIT, now);
  await enqueueDeliveries(env, overdue);

  const report = { released: released.length, expired, purged, redriven: overdue.length };
  if (Object.values(report).some((n) => n > 0)) console.log("maintenance", report);
  return report;
}
