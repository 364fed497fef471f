import type { Access } from "../domain/access";
import { isOrdering } from "../domain/flow";
import type { Json, Webhook } from "../domain/types";
import { webhookAccessSql } from "./access";
import { expireWebhookStatements, holdWebhookStatements } from "./deliveries";

export interface WebhookRow {
  uid: string;
  url: string;
  event_types: string;
  location_uid: string | null;
  organization_uid: string | null;
  source_ids: string | null;
  secret: string;
  disabled: number;
  timeout_ms: number;
  max_attempts: number;
  rate_limit: number | null;
  max_concurrency: number;
  ordering: string;
  created_at: number;
  updated_at: number;
  filter: string | null;
  transform: string | null;
  transform_headers: string | null;
}

function parseJson(text: string): Json {
  return JSON.parse(text);
}

function isStringRecord(v: Json): v is Record<string, string> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && Object.values(v).every((x) => typeof x === "string");
}

/** The stored transformHeaders, or null when none (or not an object of strings, which nothing writes). */
function headersOf(text: string | null): Record<string, string> | null {
  if (text === null) return null;
  const v = parseJson(text);
  return isStringRecord(v) ? v : null;
}

/** The content columns of a webhook row, as written. */
function contentColumns(w: Webhook): [string | null, string | null, string | null] {
  return [
    w.filter === null ? null : JSON.stringify(w.filter),
    w.transform,
    w.transformHeaders === null ? null : JSON.stringify(w.transformHeaders),
  ];
}

export function toWebhook(r: WebhookRow): Webhook {
  return {
    uid: r.uid,
    url: r.url,
    eventTypes: JSON.parse(r.event_types) as string[],
    locationUid: r.location_uid,
    organizationUid: r.organization_uid,
    sourceIds: r.source_ids === null ? null : (JSON.parse(r.source_ids) as string[]),
    secret: r.secret,
    disabled: r.disabled === 1,
    timeoutMs: r.timeout_ms,
    maxAttempts: r.max_attempts,
    rateLimit: r.rate_limit,
    maxConcurrency: r.max_concurrency,
    // The column's CHECK allows only the two orderings.
    ordering: isOrdering(r.ordering) ? r.ordering : "unordered",
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    filter: r.filter === null ? null : parseJson(r.filter),
    transform: r.transform,
    transformHeaders: headersOf(r.transform_headers),
  };
}

/** Every webhook: routing reads them once per queue batch. */
export async function allWebhooks(db: D1Database): Promise<Webhook[]> {
  const { results } = await db.prepare("SELECT * FROM webhooks ORDER BY created_at, uid").all<WebhookRow>();
  return results.map(toWebhook);
}

export async function listWebhooks(
  db: D1Database,
  opts: { limit: number; after?: string; access?: Access | null },
): Promise<Webhook[]> {
  const a = webhookAccessSql(opts.access ?? null);
  const { results } = await db
    .prepare(`SELECT * FROM webhooks WHERE uid > ? AND ${a.sql} ORDER BY uid LIMIT ?`)
    .bind(opts.after ?? "", ...a.binds, opts.limit)
    .all<WebhookRow>();
  return results.map(toWebhook);
}

/** The webhooks of these uids that still exist. */
export async function webhooksByUid(db: D1Database, uids: string[]): Promise<Webhook[]> {
  if (uids.length === 0) return [];
  const { results } = await db.prepare("SELECT * FROM webhooks WHERE uid IN (SELECT value FROM json_each(?))").bind(JSON.stringify(uids)).all<WebhookRow>();
  return results.map(toWebhook);
}

export async function getWebhook(db: D1Database, uid: string): Promise<Webhook | null> {
  const row = await db.prepare("SELECT * FROM webhooks WHERE uid = ?").bind(uid).first<WebhookRow>();
  return row ? toWebhook(row) : null;
}

export async function insertWebhook(db: D1Database, w: Webhook): Promise<void> {
  await db
    .prepare(
      `INSERT INTO webhooks (uid, url, event_types, location_uid, organization_uid, source_ids, secret, disabled,
         timeout_ms, max_attempts, rate_limit, max_concurrency, ordering, created_at, updated_at, filter, transform, transform_headers)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .bind(
      w.uid,
      w.url,
      JSON.stringify(w.eventTypes),
      w.locationUid,
      w.organizationUid,
      w.sourceIds === null ? null : JSON.stringify(w.sourceIds),
      w.secret,
      w.disabled ? 1 : 0,
      w.timeoutMs,
      w.maxAttempts,
      w.rateLimit,
      w.maxConcurrency,
      w.ordering,
      w.createdAt,
      w.updatedAt,
      ...contentColumns(w),
    )
    .run();
}

/**
 * Saves the changeable fields. Disabling holds the webhook's pending deliveries
 * in the same transaction, so nothing goes out after the answer.
 */
export async function updateWebhook(db: D1Database, w: Webhook): Promise<void> {
  const stmts = [
    db
      .prepare(
        `UPDATE webhooks SET url = ?, event_types = ?, source_ids = ?, secret = ?, disabled = ?, timeout_ms = ?,
           max_attempts = ?, rate_limit = ?, max_concurrency = ?, ordering = ?, updated_at = ?, filter = ?, transform = ?, transform_headers = ? WHERE uid = ?`,
      )
      .bind(
        w.url,
        JSON.stringify(w.eventTypes),
        w.sourceIds === null ? null : JSON.stringify(w.sourceIds),
        w.secret,
        w.disabled ? 1 : 0,
        w.timeoutMs,
        w.maxAttempts,
        w.rateLimit,
        w.maxConcurrency,
        w.ordering,
        w.updatedAt,
        ...contentColumns(w),
        w.uid,
      ),
  ];
  if (w.disabled) stmts.push(...holdWebhookStatements(db, w.uid, w.updatedAt));
  await db.batch(stmts);
}

/** Deletes a webhook; what it was still owed expires (its history stays). */
export async function deleteWebhook(db: D1Database, uid: string, now = Date.now()): Promise<boolean> {
  const [del] = await db.batch([db.prepare("DELETE FROM webhooks WHERE uid = ?").bind(uid), ...expireWebhookStatements(db, uid, now)]);
  return (del?.meta.changes ?? 0) > 0;
}
