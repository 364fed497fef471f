import { isNumber, isString, objectOf } from "../domain/guards";
import { toToken, type TokenRecord, type TokenRow } from "./tokens";

export interface NewSession {
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
export async function purgeExpiredSessions(db: D1Database, now = Date.now(), limit = 1000): Promise<number> {
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

const isReveal = objectOf<Reveal>({ title: isString, nav: isString, what: isString, href: isString, secret: isString, until: isNumber });

/** Keeps a secret for the next page of this session (sessions.reveal, migration 0035), replacing any not taken. */
export async function keepReveal(db: D1Database, sessionId: string, reveal: Reveal): Promise<void> {
  await db.prepare("UPDATE sessions SET reveal = ? WHERE id = ?").bind(JSON.stringify(reveal), sessionId).run();
}

/** Takes the secret kept for this session, if any is still to be shown: it is cleared in the same transaction. */
export async function takeReveal(db: D1Database, sessionId: string, now: number): Promise<Reveal | null> {
  const [kept] = await db.batch<{ reveal: string | null }>([
    db.prepare("SELECT reveal FROM sessions WHERE id = ?").bind(sessionId),
    db.prepare("UPDATE sessions SET reveal = NULL WHERE id = ? AND reveal IS NOT NULL").bind(sessionId),
  ]);
  const text = kept?.results[0]?.reveal;
  if (typeof text !== "string") return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return null;
  }
  return isReveal(parsed) && parsed.until > now ? parsed : null;
}
