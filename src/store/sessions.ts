import { isString, objectOf } from "../domain/guards";
import { toToken, type TokenRecord, type TokenRow } from "./tokens";

interface NewSession {
  /** Hex SHA-256 of the cookie's secret. */
  id: string;
  /** A scoped token's id, or the admin marker. */
  principal: string;
  createdAt: number;
  expiresAt: number;
}

export async function insertSession(db: D1Database, s: NewSession): Promise<void> {
  await db
    .prepare("INSERT INTO sessions (id, principal, created_at, expires_at) VALUES (?, ?, ?, ?)")
    .bind(s.id, s.principal, s.createdAt, s.expiresAt)
    .run();
}

/**
 * The live session with this id: its principal marker and, when that is a
 * scoped token still unrevoked, the token (one read for both).
 */
export async function liveSession(db: D1Database, id: string, now: number): Promise<{ principal: string; token: TokenRecord | null } | null> {
  const row = await db
    .prepare(
      `SELECT s.principal AS session_principal, t.*
       FROM sessions s LEFT JOIN tokens t ON t.id = s.principal AND t.revoked_at IS NULL
       WHERE s.id = ? AND s.expires_at > ?`,
    )
    .bind(id, now)
    .first<{ session_principal: string } & { [K in keyof TokenRow]: TokenRow[K] | null }>();
  if (!row) return null;
  const { session_principal, ...token } = row;
  return { principal: session_principal, token: isTokenRow(token) ? toToken(token) : null };
}

function isTokenRow(r: { [K in keyof TokenRow]: TokenRow[K] | null }): r is TokenRow {
  return r.id !== null && r.name !== null && r.scopes !== null && r.created_at !== null;
}

export async function deleteSession(db: D1Database, id: string): Promise<void> {
  await db.prepare("DELETE FROM sessions WHERE id = ?").bind(id).run();
}

/** Deletes up to `limit` expired sessions (by the expiry index); returns how many. */
export async function purgeExpiredSessions(db: D1Database, now: number, limit: number): Promise<number> {
  const res = await db
    .prepare("DELETE FROM sessions WHERE id IN (SELECT id FROM sessions WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)")
    .bind(now, limit)
    .run();
  return res.meta.changes ?? 0;
}

/** A secret made through the dashboard, to be shown once on the page after the form. */
export interface Reveal {
  /** The page's title, and the navigation entry it belongs to. */
  title: string;
  nav: string;
  /** What the secret signs ("webhook"), and where to go on. */
  what: string;
  href: string;
  /** Sealed for the session (the dashboard's showOnce): never kept in the clear. */
  secret: string;
  /** Epoch ms after which it is not shown. */
  until: number;
}

const isShown = objectOf<Omit<Reveal, "until">>({ title: isString, nav: isString, what: isString, href: isString, secret: isString });

/**
 * Keeps a secret for the page of this session that `id` names (session_reveals, migration 0042):
 * each creation its own row, so a second one (another tab) leaves the first's waiting for its page.
 */
export async function keepReveal(db: D1Database, sessionId: string, id: string, reveal: Reveal): Promise<void> {
  const { until, ...shown } = reveal;
  await db
    .prepare("INSERT INTO session_reveals (id, session_id, reveal, expires_at) VALUES (?, ?, ?, ?)")
    .bind(id, sessionId, JSON.stringify(shown), until)
    .run();
}

/** Takes the secret kept as `id` for this session, if it is still to be shown: deleted by the same statement, so it is shown once. */
export async function takeReveal(db: D1Database, sessionId: string, id: string, now: number): Promise<Reveal | null> {
  const row = await db
    .prepare("DELETE FROM session_reveals WHERE id = ? AND session_id = ? RETURNING reveal, expires_at")
    .bind(id, sessionId)
    .first<{ reveal: string; expires_at: number }>();
  if (!row || row.expires_at <= now) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(row.reveal);
  } catch {
    return null;
  }
  return isShown(parsed) ? { ...parsed, until: row.expires_at } : null;
}

/** Deletes up to `limit` secrets no page took before they expired (by the expiry index); returns how many. */
export async function purgeExpiredReveals(db: D1Database, now: number, limit: number): Promise<number> {
  const res = await db
    .prepare("DELETE FROM session_reveals WHERE id IN (SELECT id FROM session_reveals WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)")
    .bind(now, limit)
    .run();
  return res.meta.changes ?? 0;
}
