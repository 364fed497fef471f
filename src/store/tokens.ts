import { arrayOf, isStringArray } from "../domain/guards";
import { isScope, type Scope } from "../domain/scopes";
import { storedJson } from "./stored-json";

export interface TokenRecord {
  id: string;
  name: string;
  scopes: Scope[];
  organizationUids: string[] | null;
  locationUids: string[] | null;
  createdAt: number;
  lastUsedAt: number | null;
  revokedAt: number | null;
}

export interface TokenRow {
  id: string;
  name: string;
  scopes: string;
  organization_uids: string | null;
  location_uids: string | null;
  created_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
}

const isScopes = arrayOf(isScope);

export function toToken(r: TokenRow): TokenRecord {
  const list = (v: string | null, column: string) => (v === null ? null : storedJson(v, isStringArray, `token ${r.id} ${column}`));
  return {
    id: r.id,
    name: r.name,
    scopes: storedJson(r.scopes, isScopes, `token ${r.id} scopes`),
    organizationUids: list(r.organization_uids, "organization_uids"),
    locationUids: list(r.location_uids, "location_uids"),
    createdAt: r.created_at,
    lastUsedAt: r.last_used_at,
    revokedAt: r.revoked_at,
  };
}

export async function insertToken(db: D1Database, t: TokenRecord, tokenHash: string): Promise<void> {
  await db
    .prepare(
      `INSERT INTO tokens (id, name, token_hash, scopes, organization_uids, location_uids, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    )
    .bind(
      t.id,
      t.name,
      tokenHash,
      JSON.stringify(t.scopes),
      t.organizationUids === null ? null : JSON.stringify(t.organizationUids),
      t.locationUids === null ? null : JSON.stringify(t.locationUids),
      t.createdAt,
    )
    .run();
}

/** Of these token ids, those of live (not revoked) tokens. */
export async function liveTokenIds(db: D1Database, ids: string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const { results } = await db
    .prepare("SELECT id FROM tokens WHERE id IN (SELECT value FROM json_each(?)) AND revoked_at IS NULL")
    .bind(JSON.stringify(ids))
    .all<{ id: string }>();
  return new Set(results.map((r) => r.id));
}

/** The live (not revoked) token with this hash. */
export async function tokenByHash(db: D1Database, tokenHash: string): Promise<TokenRecord | null> {
  const row = await db
    .prepare("SELECT * FROM tokens WHERE token_hash = ? AND revoked_at IS NULL")
    .bind(tokenHash)
    .first<TokenRow>();
  return row ? toToken(row) : null;
}

/** The token with this id, revoked or not. */
export async function tokenById(db: D1Database, id: string): Promise<TokenRecord | null> {
  const row = await db.prepare("SELECT * FROM tokens WHERE id = ?").bind(id).first<TokenRow>();
  return row ? toToken(row) : null;
}

/** How stale a token's last_used_at may be: its use is recorded at most once so often. */
const TOUCH_EVERY_MS = 60_000;

/**
 * Records a use of the token as just read, at most once a minute: null, and no statement, when
 * its use was recorded within the minute (most calls of a token in use). The UPDATE checks again,
 * for calls that raced.
 */
export function touchToken(db: D1Database, token: Pick<TokenRecord, "id" | "lastUsedAt">, now = Date.now()): Promise<unknown> | null {
  if (token.lastUsedAt !== null && token.lastUsedAt >= now - TOUCH_EVERY_MS) return null;
  return db
    .prepare("UPDATE tokens SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)")
    .bind(now, token.id, now - TOUCH_EVERY_MS)
    .run();
}

/** A page of tokens newest first, (created_at, id) below `after`'s, by the index on them. */
export async function listTokens(db: D1Database, opts: { limit: number; after?: { createdAt: number; id: string } }): Promise<TokenRecord[]> {
  const after = opts.after ?? { createdAt: Number.MAX_SAFE_INTEGER, id: "" };
  const { results } = await db
    .prepare("SELECT * FROM tokens WHERE (created_at, id) < (?, ?) ORDER BY created_at DESC, id DESC LIMIT ?")
    .bind(after.createdAt, after.id, opts.limit)
    .all<TokenRow>();
  return results.map(toToken);
}

export async function revokeToken(db: D1Database, id: string, now = Date.now()): Promise<boolean> {
  const res = await db.prepare("UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL").bind(now, id).run();
  return (res.meta.changes ?? 0) > 0;
}
