import { idKeySql } from "./names";

export interface LocationOwner {
  locationUid: string;
  organizationUid: string;
}

/** Where an event said a location belongs: the event, and when it was received. */
export interface LocationClaim extends LocationOwner {
  eventId: string;
  receivedAt: number;
}

/**
 * Records where locations belong, for the ingest transaction (after its events' inserts).
 * A row is written only when its organization changed, so a busy location costs no write per
 * event. Only an event this transaction stored teaches (one stored before, with another receipt
 * time, is a redelivery: old news), and only if received no earlier than what last moved the
 * location (an ingest retry may store an event after a later one). null when there is nothing to learn.
 */
export function learnLocations(db: D1Database, claims: LocationClaim[]): D1PreparedStatement | null {
  if (claims.length === 0) return null;
  const rows = claims.map((c) => [c.locationUid, c.organizationUid, c.eventId, c.receivedAt]);
  return db
    .prepare(
      `INSERT INTO locations (location_uid, organization_uid, updated_at)
       SELECT j.value->>0, j.value->>1, j.value->>3 FROM json_each(?) j
       JOIN events e ON e.id = ${idKeySql("evt_", "j.value->>2")} AND e.received_at = j.value->>3
       WHERE true ORDER BY j.value->>3, j.key
       ON CONFLICT (location_uid) DO UPDATE SET organization_uid = excluded.organization_uid, updated_at = excluded.updated_at
       WHERE locations.organization_uid IS NOT excluded.organization_uid AND excluded.updated_at >= locations.updated_at`,
    )
    .bind(JSON.stringify(rows));
}

/** Places locations as given, with no event behind them: for seeding a database (benches), never at ingest. */
export function placeLocations(db: D1Database, places: LocationOwner[], at: number): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO locations (location_uid, organization_uid, updated_at) SELECT value->>0, value->>1, ? FROM json_each(?) WHERE true
       ON CONFLICT (location_uid) DO UPDATE SET organization_uid = excluded.organization_uid, updated_at = excluded.updated_at`,
    )
    .bind(at, JSON.stringify(places.map((p) => [p.locationUid, p.organizationUid])));
}

/** Where a known location belongs, and when that was learned (the receipt time of the event that placed it there). */
export interface KnownPlace {
  organizationUid: string;
  since: number;
}

/** The known place of each of these locations (unknown ones are absent). */
export async function locationPlaces(db: D1Database, locationUids: Iterable<string>): Promise<Map<string, KnownPlace>> {
  const uids = [...new Set(locationUids)];
  if (uids.length === 0) return new Map();
  const { results } = await db
    .prepare("SELECT location_uid, organization_uid, updated_at FROM locations WHERE location_uid IN (SELECT value FROM json_each(?))")
    .bind(JSON.stringify(uids))
    .all<{ location_uid: string; organization_uid: string; updated_at: number }>();
  return new Map(results.map((r) => [r.location_uid, { organizationUid: r.organization_uid, since: r.updated_at }]));
}

/** The known organization of each of these locations (unknown ones are absent). */
export async function locationOrganizations(db: D1Database, locationUids: Iterable<string>): Promise<Map<string, string>> {
  const places = await locationPlaces(db, locationUids);
  return new Map([...places].map(([uid, place]) => [uid, place.organizationUid]));
}
