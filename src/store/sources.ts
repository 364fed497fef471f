import type { HmacConfig } from "../domain/hmac-config";
import { isProviderName, type ProviderName, type Source } from "../domain/types";
import type { VersionedWrite } from "../domain/version";
import { newEventSalt } from "../domain/ids";
import { isStringArray } from "../domain/guards";
import { closeSourceEpisodeStatement, sourceGoneSql } from "./alerts";
import { storedJson } from "./stored-json";
import { versionedOutcome, writeAtVersion } from "./versioned-write";

interface SourceRow {
  id: string;
  name: string;
  provider: string;
  verification: string;
  secrets: string;
  tolerance_seconds: number | null;
  disabled: number;
  hmac: string | null;
  shop_domain: string | null;
  organization_uid: string | null;
  teaches_locations: number;
  event_salt: string | null;
  created_at: number;
  updated_at: number;
}

/** A source as stored: `toleranceSeconds` null means the SIGNATURE_TOLERANCE_S default. */
export interface StoredSource {
  id: string;
  name: string;
  provider: ProviderName;
  verification: "signature" | "none";
  secrets: string[];
  toleranceSeconds: number | null;
  disabled: boolean;
  hmac: HmacConfig | null;
  shopDomain: string | null;
  /** The owning organization; null: none owns it. */
  organizationUid: string | null;
  /** Whether its events teach where locations belong (made by the admin). */
  teachesLocations: boolean;
  /** Its events' ids' salt (eventIdFor): set when inserted, never changed, never shown; null for one stored before migration 0060. */
  eventSalt: string | null;
  createdAt: number;
  updatedAt: number;
}

// The stored hmac config's guard, loaded by the first row that has one: it is a zod schema, and
// zod's top level was the largest part left of the Worker's startup, which every new isolate pays
// before its first ack (docs/performance.md); the ingress reads a row once per source per
// isolate's cache. A dynamic import: the bundle evaluates zod when it first runs
// (test/e2e/bundle.test.ts).
let hmacGuard: Promise<(typeof import("../domain/hmac-config"))["isHmacConfig"]> | undefined;
const loadHmacGuard = () => (hmacGuard ??= import("../domain/hmac-config").then((m) => m.isHmacConfig));

async function toStored(r: SourceRow): Promise<StoredSource> {
  if (!isProviderName(r.provider)) throw new Error(`source ${r.id} provider: "${r.provider}" is no provider this Worker knows`);
  return {
    id: r.id,
    name: r.name,
    provider: r.provider,
    verification: r.verification === "none" ? "none" : "signature",
    secrets: storedJson(r.secrets, isStringArray, `source ${r.id} secrets`),
    toleranceSeconds: r.tolerance_seconds,
    disabled: r.disabled === 1,
    hmac: r.hmac === null ? null : storedJson(r.hmac, await loadHmacGuard(), `source ${r.id} hmac`),
    shopDomain: r.shop_domain,
    organizationUid: r.organization_uid,
    teachesLocations: r.teaches_locations === 1,
    eventSalt: r.event_salt,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export async function getStoredSource(db: D1Database, id: string): Promise<StoredSource | null> {
  const row = await db.prepare("SELECT * FROM sources WHERE id = ?").bind(id).first<SourceRow>();
  return row ? toStored(row) : null;
}

/** A stored source, as the ingress uses it, or null. `defaultTolerance` fills a row without its own. */
export async function getSource(db: D1Database, id: string, defaultTolerance: number): Promise<Source | null> {
  const s = await getStoredSource(db, id);
  if (!s) return null;
  return {
    id: s.id,
    name: s.name,
    provider: s.provider,
    verification: s.verification,
    secrets: s.secrets,
    toleranceSeconds: s.toleranceSeconds ?? defaultTolerance,
    disabled: s.disabled,
    fromConfig: false,
    hmac: s.hmac,
    shopDomain: s.shopDomain,
    organizationUid: s.organizationUid,
    teachesLocations: s.teachesLocations,
    madeAt: s.createdAt,
    eventSalt: s.eventSalt,
  };
}

/**
 * A page of stored sources by id, after `after`, but the `except` ids: every one, or (`owners`
 * given) those these organizations own. A limited token's page takes at most `limit` of each
 * of its organizations (by the index on (organization_uid, id)) before keeping the first
 * `limit`, so a page reads no more than its organizations' next few, however many they own.
 */
export async function listStoredSources(
  db: D1Database,
  opts: { limit: number; after?: string; owners?: string[] | null; except?: string[] },
): Promise<StoredSource[]> {
  const after = opts.after ?? "";
  const { results } = await (opts.owners == null
    ? db
        .prepare("SELECT * FROM sources WHERE id > ? AND id NOT IN (SELECT value FROM json_each(?)) ORDER BY id LIMIT ?")
        .bind(after, JSON.stringify(opts.except ?? []), opts.limit)
    : db
        .prepare(
          `WITH owners AS (SELECT DISTINCT value FROM json_each(?))
           SELECT s.* FROM owners JOIN sources s ON s.id IN
             (SELECT i.id FROM sources i WHERE i.organization_uid = owners.value AND i.id > ?
                AND i.id NOT IN (SELECT value FROM json_each(?)) ORDER BY i.id LIMIT ?)
           ORDER BY s.id LIMIT ?`,
        )
        .bind(JSON.stringify(opts.owners), after, JSON.stringify(opts.except ?? []), opts.limit, opts.limit)
  ).all<SourceRow>();
  return Promise.all(results.map(toStored));
}

export type NewSource = Omit<StoredSource, "createdAt" | "updatedAt" | "shopDomain" | "eventSalt"> & { shopDomain?: string | null };
/** Those of these ids that name stored sources, with their providers and owners. */
export async function providersOf(db: D1Database, ids: string[]): Promise<{ id: string; provider: string; organizationUid: string | null }[]> {
  const { results } = await db
    .prepare("SELECT id, provider, organization_uid FROM sources WHERE id IN (SELECT value FROM json_each(?))")
    .bind(JSON.stringify(ids))
    .all<{ id: string; provider: string; organization_uid: string | null }>();
  return results.map((r) => ({ id: r.id, provider: r.provider, organizationUid: r.organization_uid }));
}


/** The changeable columns' values: name, verification, secrets, tolerance_seconds, disabled, hmac, shop_domain. */
function changeableColumns(s: NewSource): unknown[] {
  return [
    s.name,
    s.verification,
    JSON.stringify(s.secrets),
    s.toleranceSeconds,
    s.disabled ? 1 : 0,
    s.hmac === null ? null : JSON.stringify(s.hmac),
    s.shopDomain ?? null,
  ];
}

/** Inserts a source and answers the row as written (a delete right after cannot take it from the caller); null when the id is taken. */
export async function insertSource(db: D1Database, s: NewSource, now = Date.now()): Promise<StoredSource | null> {
  // (What a deleted source's refusals recorded late is not read as this one's: store/rejections.ts
  // reads a source's log from its created_at.) Nor are a deleted one's stored events its own: a
  // salt of its own makes its events' ids (eventIdFor).
  const row = await db
    .prepare(
      `INSERT INTO sources (id, provider, name, verification, secrets, tolerance_seconds, disabled, hmac, shop_domain, organization_uid,
         teaches_locations, event_salt, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING RETURNING *`,
    )
    .bind(s.id, s.provider, ...changeableColumns(s), s.organizationUid, s.teachesLocations ? 1 : 0, newEventSalt(), now, now)
    .first<SourceRow>();
  return row ? toStored(row) : null;
}

/**
 * Saves a source's changeable fields, made from the row as read at version `read` (its
 * updated_at), only if the row is still at that version; otherwise nothing is written.
 * `s.updatedAt` must be later than `read`.
 */
export async function updateSource(db: D1Database, s: StoredSource, read: number): Promise<VersionedWrite> {
  return writeAtVersion(
    db,
    [
      db
        .prepare(
          `UPDATE sources SET name = ?, verification = ?, secrets = ?, tolerance_seconds = ?, disabled = ?, hmac = ?, shop_domain = ?,
           updated_at = ? WHERE id = ? AND updated_at = ?`,
        )
        .bind(...changeableColumns(s), s.updatedAt, s.id, read),
    ],
    db.prepare("SELECT 1 AS found FROM sources WHERE id = ?").bind(s.id),
  );
}

/** Deletes a source (with `version`, only while it is still at that version: "changed" otherwise, and nothing is written). */
export async function deleteSource(db: D1Database, id: string, version?: number, now = Date.now()): Promise<VersionedWrite> {
  // Its rejection log goes with it (a few hundred rows at most: counts by hour within the
  // retention, and the latest samples): a source made again under its id may be another tenant's.
  // So do the types it received: a deleted source's would still count as received for a webhook of
  // every source, and one made again under its id would inherit them (no unseen-type warning, a
  // typo let be). Found by source (migration 0051). Only once it is gone: a delete at a version may delete nothing.
  const gone = sourceGoneSql("?1");
  const results = await db.batch([
    db.prepare("DELETE FROM sources WHERE id = ?1 AND (?2 IS NULL OR updated_at = ?2)").bind(id, version ?? null),
    ...["rejection_counts", "rejection_hours", "rejections", "source_event_types"].map((table) =>
      db.prepare(`DELETE FROM ${table} WHERE source_id = ?1 AND ${gone}`).bind(id),
    ),
    // Its open source.rejecting episode closes, as a deleted webhook's do (nothing sent): else one
    // made again under its id would count its refusals into the deleted one's and never alert.
    closeSourceEpisodeStatement(db, id, now),
    db.prepare("SELECT 1 AS found FROM sources WHERE id = ?").bind(id),
  ]);
  return versionedOutcome(results[0], results.at(-1));
}
