import type { Access } from "../domain/access";
import { eventAccessSql, webhookAccessSql } from "./access";

export interface Stats {
  events: { total: number; last24h: number };
  deliveries: Record<"held" | "pending" | "succeeded" | "failed" | "expired", number>;
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
  const [events, byStatus, perWebhook] = await db.batch<Record<string, unknown>>([
    db
      .prepare(`SELECT COUNT(*) AS total, COALESCE(SUM(received_at >= ?), 0) AS last24h FROM events e WHERE ${ev.sql}`)
      .bind(now - 86_400_000, ...ev.binds),
    db
      .prepare(
        `SELECT d.status AS status, COUNT(*) AS n FROM deliveries d JOIN events e ON e.id = d.event_id
         WHERE ${ev.sql} GROUP BY d.status`,
      )
      .bind(...ev.binds),
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
         WHERE ${wh.sql} GROUP BY w.uid ORDER BY failed DESC, w.uid`,
      )
      .bind(...wh.binds),
  ]);
  const counts = { held: 0, pending: 0, succeeded: 0, failed: 0, expired: 0 };
  for (const r of byStatus?.results ?? []) counts[r.status as keyof typeof counts] = r.n as number;
  const e = events?.results[0] ?? {};
  return {
    events: { total: Number(e.total ?? 0), last24h: Number(e.last24h ?? 0) },
    deliveries: counts,
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
