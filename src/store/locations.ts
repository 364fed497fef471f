export interface LocationOwner {
  locationUid: string;
  organizationUid: string;
}

/**
 * Records where locations belong, for the ingest transaction. A row is written
 * only when its organization changed, so a busy location costs no write per event.
 * null when there is nothing to learn.
 */
export function learnLocations(db: D1Database, pairs: LocationOwner[], now = Date.now()): D1PreparedStatement | null {
  const latest = new Map(pairs.map((p) => [p.locationUid, p.organizationUid]));
  if (latest.size === 0) return null;
  return db
    .prepare(
      `INSERT INTO locations (location_uid, organization_uid, updated_at)
       SELECT value->>0, value->>1, ? FROM json_each(?) WHERE true
       ON CONFLICT (location_uid) DO UPDATE SET organization_uid = excluded.organization_uid, updated_at = excluded.updated_at
       WHERE locations.organization_uid IS NOT excluded.organization_uid`,
    )
    .bind(now, JSON.stringify([...latest]));
}

/** The known organization of each of these locations (unknown ones are absent). */
export async function locationOrganizations(db: D1Database, locationUids: Iterable<string>): Promise<Map<string, string>> {
  const uids = [...new Set(locationUids)];
  if (uids.length === 0) return new Map();
  const { results } = await db
    .prepare("SELECT location_uid, organization_uid FROM locations WHERE location_uid IN (SELECT value FROM json_each(?))")
    .bind(JSON.stringify(uids))
    .all<{ location_uid: string; organization_uid: string }>();
  return new Map(results.map((r) => [r.location_uid, r.organization_uid]));
}
