import type { Access } from "../domain/access";
import { deliveryAccessSql, eventAccessSql, webhookAccessSql } from "./access";

export const SERIES_BUCKET_MS = 10 * 60_000;
export const SERIES_BUCKETS = 36; // six hours

export interface Stats {
  events: { total: number; last24h: number };
  /** Six hours in ten-minute buckets, oldest first. */
  series: { start: number; events: number; attempts: number; succeededAttempts: number }[];
  deliveries: Record<"held" | "pending" | "succeeded" | "failed" | "expired", number>;
  /** Dead letters not replayed yet (whatever the access: they are an operator's alarm). */
  deadLetters: number;
  webhooks: {
    uid: string;
    url: string;
    disabled: boolean;
    succeeded: number;
    failed: number;
    pending: number;
    held: number;
    lastFailureAt: number | null;
    lastError: string | null;
  }[];
}

/** Counts for /v1/stats, limited to what `access` may see; one round trip. */
export async function stats(db: D1Database, access: Access | null, now = Date.now()): Promise<Stats> {
  const ev = eventAccessSql(access, "e");
  const wh = webhookAccessSql(access, "w");
  const dg = deliveryAccessSql(access, "d");
  const from = Math.floor(now / SERIES_BUCKET_MS) * SERIES_BUCKET_MS - (SERIES_BUCKETS - 1) * SERIES_BUCKET_MS;
  const [events, byStatus, perWebhook, eventSeries, attemptSeries, dead] = await db.batch<Record<string, unknown>>([
    db
      .prepare(`SELECT COUNT(*) AS total, COALESCE(SUM(received_at >= ?), 0) AS last24h FROM events e WHERE ${ev.sql}`)
      .bind(now - 86_400_000, ...ev.binds),
    db
      .prepare(
        `SELECT d.status AS status, COUNT(*) AS n FROM deliveries d JOIN events e ON e.id = d.event_id
         WHERE ${ev.sql} AND ${dg.sql} GROUP BY d.status`,
      )
      .bind(...ev.binds, ...dg.binds),
    db
      .prepare(
        `SELECT w.uid, w.url, w.disabled,
           COALESCE(SUM(d.status = 'succeeded'), 0) AS succeeded, COALESCE(SUM(d.status = 'failed'), 0) AS failed,
           COALESCE(SUM(d.status = 'pending'), 0) AS pending, COALESCE(SUM(d.status = 'held'), 0) AS held,
           (SELECT MAX(a.started_at) FROM attempts a JOIN deliveries d2 ON d2.id = a.delivery_id
              WHERE d2.webhook_uid = w.uid AND a.error IS NOT NULL) AS last_failure_at,
           (SELECT a.error FROM attempts a JOIN deliveries d2 ON d2.id = a.delivery_id
              WHERE d2.webhook_uid = w.uid AND a.error IS NOT NULL ORDER BY a.started_at DESC LIMIT 1) AS last_error
         FROM webhooks w LEFT JOIN deliveries d ON d.webhook_uid = w.uid
         WHERE w.kind = 'webhook' AND ${wh.sql} GROUP BY w.uid ORDER BY failed DESC, w.uid`,
      )
      .bind(...wh.binds),
    db
      .prepare(`SELECT CAST((e.received_at - ?1) / ?2 AS INTEGER) AS b, COUNT(*) AS n FROM events e WHERE e.received_at >= ?1 AND ${ev.sql} GROUP BY b`) // D1 binds numbers as REAL: CAST keeps buckets whole
      .bind(from, SERIES_BUCKET_MS, ...ev.binds),
    db
      .prepare(
        `SELECT CAST((a.started_at - ?1) / ?2 AS INTEGER) AS b, COUNT(*) AS n, COALESCE(SUM(a.error IS NULL), 0) AS ok
         FROM attempts a JOIN deliveries d ON d.id = a.delivery_id JOIN events e ON e.id = d.event_id
         WHERE a.started_at >= ?1 AND ${ev.sql} AND ${dg.sql} GROUP BY b`,
      )
      .bind(from, SERIES_BUCKET_MS, ...ev.binds, ...dg.binds),
    db.prepare("SELECT COUNT(*) AS n FROM dead_letters WHERE replayed_at IS NULL"),
  ]);
  const series = Array.from({ length: SERIES_BUCKETS }, (_, i) => ({
    start: from + i * SERIES_BUCKET_MS,
    events: 0,
    attempts: 0,
    succeededAttempts: 0,
  }));
  for (const r of eventSeries?.results ?? []) {
    const bucket = series[Number(r.b)];
    if (bucket) bucket.events = Number(r.n);
  }
  for (const r of attemptSeries?.results ?? []) {
    const bucket = series[Number(r.b)];
    if (bucket) {
      bucket.attempts = Number(r.n);
      bucket.succeededAttempts = Number(r.ok);
    }
  }
  const counts = { held: 0, pending: 0, succeeded: 0, failed: 0, expired: 0 };
  for (const r of byStatus?.results ?? []) counts[r.status as keyof typeof counts] = r.n as number;
  const e = events?.results[0] ?? {};
  return {
    events: { total: Number(e.total ?? 0), last24h: Number(e.last24h ?? 0) },
    series,
    deliveries: counts,
    deadLetters: Number(dead?.results[0]?.n ?? 0),
    webhooks: (perWebhook?.results ?? []).map((r) => ({
      uid: r.uid as string,
      url: r.url as string,
      disabled: r.disabled === 1,
      succeeded: r.succeeded as number,
      failed: r.failed as number,
      pending: r.pending as number,
      held: r.held as number,
      lastFailureAt: (r.last_failure_at as number | null) ?? null,
      lastError: (r.last_error as string | null) ?? null,
    })),
  };
}
