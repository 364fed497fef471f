// Webhook health: the per-webhook row, written with the attempts it follows
// (store/deliveries.ts recordAttempts), and the hourly attempt counts the stats keep
// (attempt_counts, store/counters.ts), read a webhook at a time: one row and at most
// 25 hourly ones.
import { NO_ATTEMPTS, type HealthRecord, type HourCount } from "../domain/health";
import { HOUR_MS } from "../domain/time";
import { ATTEMPT_COLUMNS, ATTEMPT_OK_COLUMNS } from "./counters";
import { atVersionSql, goneSql } from "./webhook-version";

/** Hours read: the last day's success rate, and the share of the previous hour. */
const HOURS_READ = 25;

interface HealthRow {
  webhook_uid: string;
  consecutive_failures: number;
  failing_since: number | null;
  last_success_at: number | null;
  last_failure_at: number | null;
  last_error: string | null;
}

function toRecord(r: HealthRow): HealthRecord {
  return {
    consecutiveFailures: r.consecutive_failures,
    failingSince: r.failing_since,
    lastSuccessAt: r.last_success_at,
    lastFailureAt: r.last_failure_at,
    lastError: r.last_error,
  };
}

/**
 * What a batch of a webhook's attempts changes in its health, for the transaction
 * that records them, before their INSERT: `rowsSql` selects the attempts not
 * recorded yet (so an attempt recorded twice is counted once), in the order they
 * were made, as columns `k` (that order), `started_at`, `ended_at`, `error` and `ok`.
 * The streak is what follows the batch's last success (or adds to the stored one when
 * none succeeded). Nothing for a webhook deleted while its attempts were out: its health
 * went with it. `disabled` is the webhook's as it stands (the row is written anyway): a
 * webhook disabled before its first attempt was recorded makes its row out of the
 * auto-disable's walk, and a row left out of step (by code before migration 0043 that
 * enabled a webhook the migration marked) cannot keep a failing webhook from being disabled.
 */
export function attemptsHealthStatement(db: D1Database, webhookUid: string, rowsSql: string, binds: unknown[]): D1PreparedStatement {
  const n = binds.length;
  const uid = `?${n + 1}`;
  return db
    .prepare(
      `WITH r AS MATERIALIZED (${rowsSql}),
       b AS (SELECT (SELECT MAX(k) FROM r WHERE ok) AS last_ok, (SELECT MAX(ended_at) FROM r WHERE ok) AS ok_at, (SELECT COUNT(*) FROM r) AS total),
       t AS (SELECT COUNT(*) AS fails, MIN(started_at) AS first FROM r WHERE NOT ok AND k > COALESCE((SELECT last_ok FROM b), -1)),
       l AS (SELECT ended_at, error FROM r WHERE NOT ok ORDER BY k DESC LIMIT 1)
       INSERT INTO webhook_health (webhook_uid, consecutive_failures, failing_since, last_success_at, last_failure_at, last_error, disabled)
       SELECT ${uid}, t.fails, CASE WHEN t.fails > 0 THEN t.first END, b.ok_at, (SELECT ended_at FROM l), (SELECT error FROM l), w.disabled
       FROM b, t, webhooks w WHERE b.total > 0 AND w.uid = ${uid}
       ON CONFLICT (webhook_uid) DO UPDATE SET
         disabled = excluded.disabled,
         consecutive_failures = CASE WHEN excluded.last_success_at IS NULL THEN consecutive_failures + excluded.consecutive_failures ELSE excluded.consecutive_failures END,
         failing_since = CASE WHEN excluded.last_success_at IS NULL THEN coalesce(failing_since, excluded.failing_since) ELSE excluded.failing_since END,
         last_success_at = CASE WHEN excluded.last_success_at IS NULL THEN last_success_at ELSE max(coalesce(last_success_at, 0), excluded.last_success_at) END,
         last_failure_at = coalesce(excluded.last_failure_at, last_failure_at),
         last_error = CASE WHEN excluded.last_failure_at IS NULL THEN last_error ELSE excluded.last_error END`,
    )
    .bind(...binds, webhookUid);
}

/** A webhook's health as read: its row's record (NO_ATTEMPTS without one) and its last HOURS_READ hourly counts. */
export interface HealthRead {
  record: HealthRecord;
  hours: HourCount[];
}

/** The health rows and last HOURS_READ hourly counts of some webhooks: one indexed read each. */
export async function healthOf(db: D1Database, webhookUids: string[], now: number): Promise<Map<string, HealthRead>> {
  if (webhookUids.length === 0) return new Map();
  const [rows, hours] = await db.batch<Record<string, unknown>>(healthStatements(db, webhookUids, now));
  return healthRead(webhookUids, rows?.results ?? [], hours?.results ?? []);
}

/** healthOf's two statements, for a caller's batch that reads more (one round trip in all); `healthRead` takes their results. */
export function healthStatements(db: D1Database, webhookUids: string[], now: number): [D1PreparedStatement, D1PreparedStatement] {
  const uids = JSON.stringify(webhookUids);
  return [
    db.prepare("SELECT * FROM webhook_health WHERE webhook_uid IN (SELECT value FROM json_each(?))").bind(uids),
    // One point lookup per (hour, webhook), in this order (CROSS JOIN): attempt_counts is keyed by the hour first.
    db
      .prepare(
        `SELECT n.name AS webhook_uid, c.hour * ${HOUR_MS} AS hour, ${ATTEMPT_COLUMNS.join(" + ")} AS attempts, ${ATTEMPT_OK_COLUMNS.join(" + ")} AS succeeded
         FROM names n CROSS JOIN json_each(?2) h CROSS JOIN attempt_counts c
         WHERE n.name IN (SELECT value FROM json_each(?1)) AND c.hour = h.value AND c.webhook = n.id`,
      )
      .bind(uids, JSON.stringify(Array.from({ length: HOURS_READ }, (_, i) => Math.floor(now / HOUR_MS) - i))),
  ];
}

/** Each webhook's health from the results of healthStatements (`rows`, then `hours`). */
/** A webhook never attempted: no health row, no hourly counts. */
export const unknownHealth = (): HealthRead => ({ record: NO_ATTEMPTS, hours: [] });

export function healthRead(webhookUids: string[], rows: object[], hours: object[]): Map<string, HealthRead> {
  const out = new Map<string, HealthRead>();
  for (const uid of webhookUids) out.set(uid, unknownHealth());
  for (const r of rows.filter(isHealthRow)) out.set(r.webhook_uid, { record: toRecord(r), hours: [] });
  for (const h of hours.filter(isHourRow)) out.get(h.webhook_uid)?.hours.push({ hour: h.hour, attempts: h.attempts, succeeded: h.succeeded });
  return out;
}

function isHealthRow(r: object): r is HealthRow {
  return "consecutive_failures" in r;
}

function isHourRow(r: object): r is HourCount & { webhook_uid: string } {
  return "hour" in r;
}

/**
 * Enabled webhooks failing (failingAfterAttempts in a row) whose every attempt has failed for
 * their autoDisableAfterMinutes by `now`, at most `limit`. Fewer failures than that and then
 * silence is no streak: a quiet webhook is not disabled on that (one that reached it is, attempts
 * or none since: docs/alerts.md). `version`: the webhook row's, as this decided.
 * Along the streaks of webhooks not disabled (webhook_health_due, migration 0043): those disabled
 * keep theirs, and would otherwise be read every minute, however many.
 */
export async function webhooksToAutoDisable(
  db: D1Database,
  now: number,
  limit: number,
): Promise<{ uid: string; failingSince: number; lastError: string | null; version: number }[]> {
  const { results } = await db
    .prepare(
      `SELECT h.webhook_uid, h.failing_since, h.last_error, w.updated_at
       FROM webhook_health h INDEXED BY webhook_health_due CROSS JOIN webhooks w ON w.uid = h.webhook_uid
       WHERE h.failing_since IS NOT NULL AND h.disabled = 0 AND h.failing_since <= ?1 AND w.disabled = 0 AND w.kind = 'webhook'
         AND w.auto_disable_after_minutes IS NOT NULL AND h.failing_since <= ?1 - w.auto_disable_after_minutes * 60000
         AND h.consecutive_failures >= w.failing_after_attempts
       LIMIT ?2`,
    )
    .bind(now, limit)
    .all<{ webhook_uid: string; failing_since: number; last_error: string | null; updated_at: number }>();
  return results.map((r) => ({ uid: r.webhook_uid, failingSince: r.failing_since, lastError: r.last_error, version: r.updated_at }));
}

/**
 * Enabled webhooks (not notification endpoints) whose last `webhook.failing` episode closed at
 * `closedFrom` or later and that have been failing since `lastedFrom` or before, at their
 * failingAfterAttempts, with no open `webhook.failing` episode, at most `limit`: the streaks the
 * re-open cool-down passed over (openLastingFailures). Along webhook_health_refailing (migration
 * 0059): only failing webhooks that recovered lately are read, not those alerted at once.
 */
export async function unannouncedFailures(
  db: D1Database,
  range: { closedFrom: number; lastedFrom: number },
  limit: number,
): Promise<{ uid: string; url: string; consecutiveFailures: number; failingSince: number; lastError: string | null }[]> {
  const { results } = await db
    .prepare(
      `SELECT h.webhook_uid, w.url, h.consecutive_failures, h.failing_since, h.last_error
       FROM webhook_health h INDEXED BY webhook_health_refailing CROSS JOIN webhooks w ON w.uid = h.webhook_uid
       WHERE h.failing_since IS NOT NULL AND h.failing_alert_closed_at IS NOT NULL AND h.disabled = 0
         AND h.failing_alert_closed_at >= ?1 AND h.failing_since <= ?2 AND w.disabled = 0 AND w.kind = 'webhook'
         AND h.consecutive_failures >= w.failing_after_attempts
         AND NOT EXISTS (SELECT 1 FROM alerts a WHERE a.subject = h.webhook_uid AND a.type = 'webhook.failing' AND a.closed_at IS NULL)
       LIMIT ?3`,
    )
    .bind(range.closedFrom, range.lastedFrom, limit)
    .all<{ webhook_uid: string; url: string; consecutive_failures: number; failing_since: number; last_error: string | null }>();
  return results.map((r) => ({ uid: r.webhook_uid, url: r.url, consecutiveFailures: r.consecutive_failures, failingSince: r.failing_since, lastError: r.last_error }));
}

/**
 * A webhook enabled again starts a new streak: the old one no longer counts towards disabling it,
 * and the next is walked by the auto-disable again. Only while the webhook row is still at `version`
 * (webhook-version.ts).
 */
export function resetStreakStatement(db: D1Database, webhookUid: string, version: number): D1PreparedStatement {
  return db
    .prepare(`UPDATE webhook_health SET consecutive_failures = 0, failing_since = NULL, disabled = 0 WHERE webhook_uid = ?1 AND ${atVersionSql("?1", "?2")}`)
    .bind(webhookUid, version);
}

/**
 * A webhook disabled keeps its streak, out of the auto-disable's walk (webhooksToAutoDisable). For
 * the disable's transaction, before it: only while the webhook row is still at `version`, and (given)
 * its streak still the one failing since `failingSince`, as the disable itself.
 */
export function streakDisabledStatement(db: D1Database, webhookUid: string, version: number, failingSince?: number): D1PreparedStatement {
  const streak = failingSince === undefined ? "" : " AND failing_since = ?3";
  return db
    .prepare(`UPDATE webhook_health SET disabled = 1 WHERE webhook_uid = ?1 AND disabled = 0 AND ${atVersionSql("?1", "?2")}${streak}`)
    .bind(webhookUid, version, ...(failingSince === undefined ? [] : [failingSince]));
}

/** A deleted webhook's health goes with it (only once it is gone: a delete at a version may delete nothing). */
export function forgetHealthStatement(db: D1Database, webhookUid: string): D1PreparedStatement {
  return db.prepare(`DELETE FROM webhook_health WHERE webhook_uid = ?1 AND ${goneSql("?1")}`).bind(webhookUid);
}
