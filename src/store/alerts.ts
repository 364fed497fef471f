import { isEpisodeType, WEBHOOK_EPISODE_TYPES, type AlertData, type EpisodeType } from "../domain/alerts";
import { isRecord } from "../domain/guards";
import { isJson } from "../domain/types";
import { apiIdSql, idKeySql } from "./names";
import { storedJson } from "./stored-json";
import { statusCode } from "./transitions";
import { atVersionSql, disableAppliesSql, goneSql } from "./webhook-version";

/** One alert episode: a condition on a subject, from when it opened to when it closed. */
export interface AlertEpisode {
  seq: number;
  id: string;
  type: EpisodeType;
  subject: string;
  openedAt: number;
  lastAt: number;
  closedAt: number | null;
  count: number;
  data: AlertData;
}

interface AlertRow {
  seq: number;
  id: string;
  type: string;
  subject: string;
  opened_at: number;
  last_at: number;
  closed_at: number | null;
  count: number;
  data: string;
}

function isAlertData(v: unknown): v is AlertData {
  return isRecord(v);
}

function toEpisode(r: AlertRow): AlertEpisode | null {
  const data = storedJson(r.data, isJson, `alert ${r.id} data`);
  // Only episode types are written; a row of another is skipped rather than mislabelled.
  if (!isEpisodeType(r.type) || !isAlertData(data)) return null;
  return { seq: r.seq, id: r.id, type: r.type, subject: r.subject, openedAt: r.opened_at, lastAt: r.last_at, closedAt: r.closed_at, count: r.count, data };
}

const episodes = (rows: AlertRow[]) => rows.flatMap((r) => toEpisode(r) ?? []);

/** What a webhook's attempts left, read in their transaction: its streak and its open episodes. */
export interface AttemptAlertContext {
  consecutive_failures: number | null;
  failing_since: number | null;
  /** When its last `webhook.failing` episode closed (closeEpisodeStatements). */
  failing_alert_closed_at: number | null;
  /** JSON array of the open episodes' types. */
  open: string;
  /** JSON array of the given deliveries that are failed for good, as the batch left them. */
  failed: string;
}

/**
 * What alerting needs to know of what a batch of attempts left: the webhook's health, its open
 * episodes, and which of `failing` (deliveries whose attempt decided they failed for good) did
 * fail: one held or expired meanwhile did not.
 */
export function attemptAlertContextStatement(db: D1Database, webhookUid: string, failing: string[]): D1PreparedStatement {
  return db
    .prepare(
      `SELECT h.consecutive_failures, h.failing_since, h.failing_alert_closed_at,
         (SELECT json_group_array(a.type) FROM alerts a WHERE a.subject = ?1 AND a.closed_at IS NULL) AS open,
         (SELECT json_group_array(${apiIdSql("dlv_", "d.id")}) FROM deliveries d
           WHERE d.id IN (SELECT ${idKeySql("dlv_", "value")} FROM json_each(?2)) AND d.status = ${statusCode("failed")}) AS failed
       FROM (SELECT 1) LEFT JOIN webhook_health h ON h.webhook_uid = ?1`,
    )
    .bind(webhookUid, JSON.stringify(failing));
}

/** The open episode of `type` on `subject`, if any (one at most: the partial unique index). */
export async function openEpisodeOf(db: D1Database, type: EpisodeType, subject: string): Promise<AlertEpisode | null> {
  const row = await db.prepare("SELECT * FROM alerts WHERE subject = ? AND type = ? AND closed_at IS NULL").bind(subject, type).first<AlertRow>();
  return row ? toEpisode(row) : null;
}

/** Counts `count` more in the open episode of `type` on `subject` (its count and last time only); false when none is open. */
export async function countIn(
  db: D1Database,
  e: { type: EpisodeType; subject: string; count: number; now: number },
  also: D1PreparedStatement[] = [],
): Promise<boolean> {
  const count = db
    .prepare("UPDATE alerts SET count = count + ?, last_at = max(last_at, ?) WHERE subject = ? AND type = ? AND closed_at IS NULL")
    .bind(e.count, e.now, e.subject, e.type);
  // `also` is written in the same transaction (bookkeeping of what was counted in).
  const [res] = also.length === 0 ? [await count.run()] : await db.batch([count, ...also]);
  return (res?.meta.changes ?? 0) > 0;
}

/** An episode about to open: what its row and its alert say. */
export type NewEpisode = Omit<AlertEpisode, "seq" | "closedAt">;

/**
 * Opens an episode, written in one transaction with the alert that announces it. No ON
 * CONFLICT: when another run opened one of its type on its subject meanwhile, the unique
 * index of open episodes refuses this one, and the transaction, its alert with it, is undone.
 */
export function openEpisodeStatement(db: D1Database, e: NewEpisode): D1PreparedStatement {
  return db
    .prepare("INSERT INTO alerts (id, type, subject, opened_at, last_at, closed_at, count, data) VALUES (?, ?, ?, ?, ?, NULL, ?, ?)")
    .bind(e.id, e.type, e.subject, e.openedAt, e.lastAt, e.count, JSON.stringify(e.data));
}

/**
 * Opens a webhook's `webhook.disabled` episode `e` in the transaction that disables it
 * (disableWebhookStatements), before the disable: only when the disable applies, checked as
 * it checks (disableAppliesSql); otherwise the count is NULL, which the column refuses, and
 * the whole transaction, the alert with it, is undone. One left open from an earlier disable
 * (its webhook enabled since, that closing lost) closes first, without a word.
 */
export function openDisabledEpisodeStatements(db: D1Database, e: NewEpisode, version: number, failingSince: number): D1PreparedStatement[] {
  const applies = disableAppliesSql("?2", "?3", "?4");
  return [
    db
      .prepare(`UPDATE alerts SET closed_at = ?1 WHERE subject = ?2 AND type = ?5 AND closed_at IS NULL AND ${applies}`)
      .bind(e.openedAt, e.subject, version, failingSince, e.type),
    db
      .prepare(
        `INSERT INTO alerts (id, type, subject, opened_at, last_at, closed_at, count, data)
         VALUES (?6, ?5, ?2, ?1, ?9, NULL, CASE WHEN ${applies} THEN ?7 END, ?8)`,
      )
      .bind(e.openedAt, e.subject, version, failingSince, e.type, e.id, e.count, JSON.stringify(e.data), e.lastAt),
  ];
}

/**
 * Closes an episode as it was read (`e`), written in one transaction with the alert that says
 * so, which carries its count. Counted in since it was read, it must not close with an alert
 * that misses those counts: its count would become NULL, which the column refuses, undoing the
 * transaction; it closes at a later run. One closed meanwhile is left as it is.
 */
export function closeEpisodeStatement(db: D1Database, e: AlertEpisode, now: number): D1PreparedStatement {
  return db
    .prepare(
      `UPDATE alerts SET closed_at = ?2, count = CASE WHEN count = ?3 AND last_at = ?4 THEN count END
       WHERE id = ?1 AND closed_at IS NULL`,
    )
    .bind(e.id, now, e.count, e.lastAt);
}

/**
 * closeEpisodeStatement, and for a `webhook.failing` episode, when it closed kept on its webhook's
 * health (only if this closed it), from which the re-open cool-down runs (attemptEpisodes).
 */
export function closeEpisodeStatements(db: D1Database, e: AlertEpisode, now: number): D1PreparedStatement[] {
  const close = closeEpisodeStatement(db, e, now);
  if (e.type !== "webhook.failing") return [close];
  return [
    close,
    db
      .prepare("UPDATE webhook_health SET failing_alert_closed_at = ?2 WHERE webhook_uid = ?1 AND EXISTS (SELECT 1 FROM alerts WHERE id = ?3 AND closed_at = ?2)")
      .bind(e.subject, now, e.id),
  ];
}

/**
 * Opens the `webhook.failing` episode `e` of a streak the maintenance run found lasting
 * (openLastingFailures), only while it stands as found: the webhook still there and enabled, its
 * streak still the one failing since `failingSince` and at its failingAfterAttempts. Otherwise the
 * count is NULL, which the column refuses, and the transaction, its alert with it, is undone.
 */
export function openLastingFailureStatement(db: D1Database, e: NewEpisode, failingSince: number): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO alerts (id, type, subject, opened_at, last_at, closed_at, count, data)
       VALUES (?1, 'webhook.failing', ?2, ?3, ?3, NULL, CASE WHEN EXISTS (
         SELECT 1 FROM webhook_health h CROSS JOIN webhooks w ON w.uid = h.webhook_uid
         WHERE h.webhook_uid = ?2 AND h.failing_since = ?4 AND w.disabled = 0 AND h.consecutive_failures >= w.failing_after_attempts
       ) THEN ?5 END, ?6)`,
    )
    .bind(e.id, e.subject, e.openedAt, failingSince, e.count, JSON.stringify(e.data));
}

/**
 * In the transaction that enables a webhook again, before the change and with its version
 * check: its `webhook.disabled` episode closes without a word (someone just did it).
 */
export function closeDisabledEpisodeStatement(db: D1Database, webhookUid: string, version: number, now: number): D1PreparedStatement {
  return db
    .prepare(`UPDATE alerts SET closed_at = ?3 WHERE subject = ?1 AND type = 'webhook.disabled' AND closed_at IS NULL AND ${atVersionSql("?1", "?2")}`)
    .bind(webhookUid, version, now);
}

/**
 * Closes `subject`'s open episodes of `types` without a word, in the
 * transaction that deletes it and only once it is gone (`goneWhere`, its id at ?2): nothing will
 * recover. Marked `mark` in their data so that /v1/alerts says so, not that they recovered.
 */
function closeDeletedStatement(
  db: D1Database,
  subject: string,
  now: number,
  how: { mark: "webhookDeleted" | "sourceDeleted"; goneWhere: string; types: readonly EpisodeType[] },
): D1PreparedStatement {
  return db
    // A row whose data is not JSON (a corruption its readers report) must not keep the subject from being deleted.
    .prepare(
      `UPDATE alerts SET closed_at = ?1, data = CASE WHEN json_valid(data) THEN json_set(data, '$.${how.mark}', json('true')) ELSE data END
       WHERE subject = ?2 AND closed_at IS NULL AND type IN (SELECT value FROM json_each(?3)) AND ${how.goneWhere}`,
    )
    .bind(now, subject, JSON.stringify(how.types));
}

/** In the transaction that deletes a webhook: its open episodes close, marked `webhookDeleted`. */
export function closeEpisodesOfStatement(db: D1Database, subject: string, now: number): D1PreparedStatement {
  return closeDeletedStatement(db, subject, now, { mark: "webhookDeleted", goneWhere: goneSql("?2"), types: WEBHOOK_EPISODE_TYPES });
}

/**
 * In the transaction that deletes a source: its `source.rejecting` episode closes, marked
 * `sourceDeleted`, so that one made again under its id counts none of it and opens its own.
 */
export function closeSourceEpisodeStatement(db: D1Database, sourceId: string, now: number): D1PreparedStatement {
  return closeDeletedStatement(db, sourceId, now, { mark: "sourceDeleted", goneWhere: sourceGoneSql("?2"), types: ["source.rejecting"] });
}

/** SQL: the source (id at `idParam`) is gone: what follows its delete writes only once it is. */
export const sourceGoneSql = (idParam: string) => `NOT EXISTS (SELECT 1 FROM sources WHERE id = ${idParam})`;

/** Open episodes of these types that last counted at or before `cutoff`, at most `limit` (the open ones are few: a partial index). */
export async function quietEpisodes(db: D1Database, types: EpisodeType[], cutoff: number, limit: number): Promise<AlertEpisode[]> {
  const { results } = await db
    .prepare("SELECT * FROM alerts WHERE closed_at IS NULL AND type IN (SELECT value FROM json_each(?)) AND last_at <= ? LIMIT ?")
    .bind(JSON.stringify(types), cutoff, limit)
    .all<AlertRow>();
  return episodes(results);
}

/**
 * Open `delivery.dead_lettered` episodes that last counted at or before `cutoff` and whose
 * webhook has delivered since (a success that ended after the last dead-lettering attempt ended,
 * the episode's `last_at`), at most
 * `limit`: the open ones are few (a partial index), each webhook's health one row.
 */
export async function deliveringAgainEpisodes(db: D1Database, cutoff: number, limit: number): Promise<AlertEpisode[]> {
  const { results } = await db
    .prepare(
      `SELECT a.* FROM alerts a JOIN webhook_health h ON h.webhook_uid = a.subject
       WHERE a.closed_at IS NULL AND a.type = 'delivery.dead_lettered' AND a.last_at <= ? AND h.last_success_at > a.last_at LIMIT ?`,
    )
    .bind(cutoff, limit)
    .all<AlertRow>();
  return episodes(results);
}

/** Episodes newest first, strictly below `before` (their sequence). */
export async function listAlerts(db: D1Database, opts: { limit: number; before?: number }): Promise<{ alerts: AlertEpisode[]; nextBefore: number | null }> {
  const { results } = await db
    .prepare("SELECT * FROM alerts WHERE seq < ? ORDER BY seq DESC LIMIT ?")
    .bind(opts.before ?? Number.MAX_SAFE_INTEGER, opts.limit + 1)
    .all<AlertRow>();
  const page = results.slice(0, opts.limit);
  const last = page[page.length - 1];
  return { alerts: episodes(page), nextBefore: results.length > opts.limit && last ? last.seq : null };
}

/**
 * Drops episodes closed before `cutoff`, the earliest closed first, at most `limit`: along the index of closed ones by
 * their closing (migration 0046), so a run reads what it deletes, not every episode kept.
 */
export async function purgeClosedAlerts(db: D1Database, cutoff: number, limit: number): Promise<number> {
  const res = await db
    .prepare("DELETE FROM alerts WHERE seq IN (SELECT seq FROM alerts WHERE closed_at IS NOT NULL AND closed_at < ? ORDER BY closed_at LIMIT ?)")
    .bind(cutoff, limit)
    .run();
  return res.meta.changes ?? 0;
}
