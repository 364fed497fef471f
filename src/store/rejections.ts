import { ERROR_CODES, isErrorCode, type ErrorCode } from "../domain/errors";
import { isStringArray } from "../domain/guards";
import { HOUR_MS, hourStart } from "../domain/time";
import type { RejectionsMessage, RejectionSample } from "../domain/types";
import { storedJson } from "./stored-json";

/** Samples kept per source: the latest few hundred. */
export const SAMPLES_KEPT = 200;

/** What a batch of tallies claimed of a source's hour for `source.rejecting` (recordRejections). */
export interface RejectionClaim {
  sourceId: string;
  hour: number;
  /** The hour's refusals, this batch's included. */
  total: number;
  /** Of them, what this batch gives an episode: the whole hour when it reaches the threshold, then each batch's own; 0 under it. */
  claimed: number;
  /** Whether the hour has already counted in an episode (markHoursAlertedStatement): it opens no other. */
  alerted: boolean;
}

interface ClaimRow {
  source_id: string;
  hour: number;
  total: number;
  claimed: number;
  alerted: number;
}

/**
 * Records tallies of refused requests in one transaction: counts added to their
 * hour, samples appended, and each source's samples pruned to the latest SAMPLES_KEPT.
 * In the same transaction each (source, hour) touched adds to its total and, once that reaches
 * `threshold`, claims what no batch claimed before: two batches recorded at once are serialized by
 * D1, so the second claims only its own refusals, never the first's. Returns the claims.
 */
export async function recordRejections(db: D1Database, messages: RejectionsMessage[], threshold: number): Promise<RejectionClaim[]> {
  const counts = messages.flatMap((m) => m.counts);
  const samples = messages.flatMap((m) => m.samples);
  if (counts.length === 0) return [];
  const sources = [...new Set(samples.map((s) => s.sourceId))];
  // A refusal by a source that no longer holds its id (deleted, perhaps made again under it by
  // another tenant, while an isolate still knew the old one) is recorded for neither: `made` is
  // the created_at of the source that refused it, given by the ingress; a tally without it (no
  // stored source, or sent by an older version) is judged by time alone, as before.
  const held = (made: number) => `(value->>${made} IS NULL OR value->>${made} = (SELECT created_at FROM sources WHERE id = value->>0))`;
  const made = (x: { sourceCreatedAt?: number }) => x.sourceCreatedAt ?? null;
  const results = await db.batch<ClaimRow>([
    db
      .prepare(
        `INSERT INTO rejection_counts (source_id, reason, hour, count, last_at)
         SELECT value->>0, value->>1, value->>2, value->>3, value->>4 FROM json_each(?) WHERE ${held(5)}
         ON CONFLICT (source_id, reason, hour) DO UPDATE SET count = count + excluded.count, last_at = max(last_at, excluded.last_at)`,
      )
      .bind(JSON.stringify(counts.map((c) => [c.sourceId, c.reason, hourStart(c.lastAt), c.count, c.lastAt, made(c)]))),
    // The right-hand sides of an upsert's SET read the row as it was: `total` there is the old total.
    db
      .prepare(
        `INSERT INTO rejection_hours (source_id, hour, total, counted, claimed)
         SELECT s, h, n, CASE WHEN n >= ?2 THEN n ELSE 0 END, CASE WHEN n >= ?2 THEN n ELSE 0 END
         FROM (SELECT value->>0 AS s, value->>1 AS h, sum(value->>2) AS n FROM json_each(?1)
               WHERE value->>3 >= coalesce((SELECT created_at FROM sources WHERE id = value->>0), 0) AND ${held(4)} GROUP BY 1, 2)
         WHERE true
         ON CONFLICT (source_id, hour) DO UPDATE SET
           total = total + excluded.total,
           claimed = CASE WHEN total + excluded.total >= ?2 THEN total + excluded.total - counted ELSE 0 END,
           counted = CASE WHEN total + excluded.total >= ?2 THEN total + excluded.total ELSE counted END
         RETURNING source_id, hour, total, claimed, alerted`,
      )
      // A tally whose last refusal came before its source was made is a deleted one's (a source made
      // again under its id): as the summaries leave it out, it counts towards no episode of the new one.
      .bind(JSON.stringify(counts.map((c) => [c.sourceId, hourStart(c.lastAt), c.count, c.lastAt, made(c)])), threshold),
    db
      .prepare(
        `INSERT INTO rejections (source_id, requested, at, reason, client, user_agent, header_names)
         SELECT value->>0, value->>1, value->>2, value->>3, value->>4, value->>5, value->>6 FROM json_each(?) WHERE ${held(7)}`,
      )
      .bind(JSON.stringify(samples.map((s) => [s.sourceId, s.requested, s.at, s.reason, s.client, s.userAgent, JSON.stringify(s.headerNames), made(s)]))),
    ...sources.map((id) =>
      db
        .prepare(
          `DELETE FROM rejections WHERE source_id = ?1
           AND seq <= (SELECT seq FROM rejections WHERE source_id = ?1 ORDER BY seq DESC LIMIT 1 OFFSET ?2)`,
        )
        .bind(id, SAMPLES_KEPT),
    ),
  ]);
  return (results[1]?.results ?? []).map((r) => ({ sourceId: r.source_id, hour: r.hour, total: r.total, claimed: r.claimed, alerted: r.alerted === 1 }));
}

/**
 * Gives claimed refusals back (an episode could not be told of them): the hour's next batch
 * claims them again with its own. Counted, not set, so a batch claiming meanwhile keeps its share.
 */
export async function releaseClaims(db: D1Database, claims: RejectionClaim[]): Promise<void> {
  await db
    .prepare(
      `UPDATE rejection_hours SET counted = counted - (SELECT value->>2 FROM json_each(?1) WHERE value->>0 = source_id AND value->>1 = hour)
       WHERE (source_id, hour) IN (SELECT value->>0, value->>1 FROM json_each(?1))`,
    )
    .bind(JSON.stringify(claims.map((c) => [c.sourceId, c.hour, c.claimed])))
    .run();
}

/**
 * Marks a source's hours as counted in its open `type` episode, so that none of them opens another
 * once it closes; written after the count (or the opening) in its transaction, and only when an
 * episode is open, so an hour is never marked for a count that was not written.
 */
export function markHoursAlertedStatement(db: D1Database, type: string, sourceId: string, hours: number[]): D1PreparedStatement {
  return db
    .prepare(
      // (alerted = 0: each batch of an open episode's hour would else write its row again.)
      `UPDATE rejection_hours SET alerted = 1 WHERE source_id = ?1 AND hour IN (SELECT value FROM json_each(?2)) AND alerted = 0
       AND EXISTS (SELECT 1 FROM alerts WHERE subject = ?1 AND type = ?3 AND closed_at IS NULL)`,
    )
    .bind(sourceId, JSON.stringify(hours), type);
}

export interface RejectionSummary {
  reason: ErrorCode;
  /** Refusals in the current clock hour. */
  thisHour: number;
  /** Refusals in the last 24 clock hours (this one included). */
  lastDay: number;
  lastAt: number;
}

// A row's `reason` is TEXT (here and in SampleRow): only a code this release knows is read back
// (isErrorCode); a row with another (written by hand, or by a release with codes this one lacks)
// is left out rather than passed on as an ErrorCode.
interface CountRow {
  source_id: string;
  reason: string;
  hour: number;
  count: number;
  last_at: number;
}

/**
 * Per source and reason, the last day's refusals: one read of at most 24 hourly rows per source and
 * reason; an hour's row whose last refusal came before the source was made is a deleted one's.
 * The reasons are named (only codes are read back anyway) so the key (source, reason, hour) seeks
 * each reason's last day: with the source alone it would read every hour the retention keeps.
 */
export async function rejectionSummaries(db: D1Database, sourceIds: string[], now = Date.now()): Promise<Map<string, RejectionSummary[]>> {
  const out = new Map<string, RejectionSummary[]>();
  if (sourceIds.length === 0) return out;
  const thisHour = hourStart(now);
  const { results } = await db
    .prepare(
      `SELECT source_id, reason, hour, count, last_at FROM rejection_counts
       WHERE source_id IN (SELECT value FROM json_each(?1)) AND reason IN (SELECT value FROM json_each(?3)) AND hour > ?2
         AND last_at >= coalesce((SELECT created_at FROM sources WHERE id = source_id), 0)`,
    )
    .bind(JSON.stringify(sourceIds), thisHour - 24 * HOUR_MS, JSON.stringify(ERROR_CODES))
    .all<CountRow>();
  for (const r of results) {
    const reason = r.reason;
    if (!isErrorCode(reason)) continue;
    const list = out.get(r.source_id) ?? [];
    let s = list.find((x) => x.reason === reason);
    if (!s) list.push((s = { reason, thisHour: 0, lastDay: 0, lastAt: 0 }));
    s.lastDay += r.count;
    if (r.hour === thisHour) s.thisHour += r.count;
    s.lastAt = Math.max(s.lastAt, r.last_at);
    out.set(r.source_id, list);
  }
  for (const list of out.values()) list.sort((a, b) => b.lastAt - a.lastAt);
  return out;
}

interface SampleRow {
  seq: number;
  source_id: string;
  requested: string;
  at: number;
  reason: string;
  client: string;
  user_agent: string | null;
  header_names: string;
}

/** A source's latest refused requests since it was made (one deleted before it had its id), newest first. */
export async function latestRejections(db: D1Database, sourceId: string, limit: number): Promise<RejectionSample[]> {
  const { results } = await db
    .prepare(
      `SELECT seq, source_id, requested, at, reason, client, user_agent, header_names FROM rejections
       WHERE source_id = ?1 AND at >= coalesce((SELECT created_at FROM sources WHERE id = ?1), 0) ORDER BY seq DESC LIMIT ?2`,
    )
    .bind(sourceId, limit)
    .all<SampleRow>();
  return results.flatMap(({ reason, ...r }) =>
    isErrorCode(reason)
      ? [
          {
            sourceId: r.source_id,
            requested: r.requested,
            at: r.at,
            reason,
            client: r.client,
            userAgent: r.user_agent,
            headerNames: storedJson(r.header_names, isStringArray, `rejection ${r.seq} header_names`),
          },
        ]
      : [],
  );
}

/**
 * Drops samples taken before `cutoff`, at most `limit`: pruning to SAMPLES_KEPT alone would keep a
 * source's few old refusals, client addresses and all, forever. It reads the oldest `limit` rows by
 * sequence (inserted in about the order they were taken), never the whole table.
 */
export async function purgeRejectionSamples(db: D1Database, cutoff: number, limit: number): Promise<number> {
  const res = await db
    .prepare("DELETE FROM rejections WHERE seq IN (SELECT seq FROM rejections ORDER BY seq LIMIT ?2) AND at < ?1")
    .bind(cutoff, limit)
    .run();
  return res.meta.changes ?? 0;
}

/**
 * Drops counts older than `cutoff`, at most `limit` (the table holds sources × reasons × retained hours), and as many of their
 * hours' claims: each found along its table's index by hour (migrations 0044, 0045), so a run reads what it deletes.
 */
export async function purgeRejectionCounts(db: D1Database, cutoff: number, limit: number): Promise<number> {
  const [res] = await db.batch([
    db
      .prepare(
        `DELETE FROM rejection_counts WHERE (source_id, reason, hour) IN
           (SELECT source_id, reason, hour FROM rejection_counts WHERE hour < ? LIMIT ?)`,
      )
      .bind(cutoff, limit),
    db
      .prepare("DELETE FROM rejection_hours WHERE (source_id, hour) IN (SELECT source_id, hour FROM rejection_hours WHERE hour < ? LIMIT ?)")
      .bind(cutoff, limit),
  ]);
  return res?.meta.changes ?? 0;
}
