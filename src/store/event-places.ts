// Where the events are (migration 0036): `event_places` rows, positions packed by key
// (packed.ts), holding for each location (names.id) the offsets (seq − first) of the range's
// events there, and the same for organizations. The lists by location or organization, and a
// limited token's events, walk these rows newest first (scan.ts): one row written per group
// instead of two index entries per event.
import { dropPackedStatements, insertPackedSql, type PackedDriver, type Packing } from "./packed";

export const EVENT_PLACES: Packing = {
  table: "event_places",
  source: "events",
  columns: [
    { stored: "locations", key: "location" },
    { stored: "organizations", key: "organization" },
  ],
};

/** The places of the group the statement just before it inserted (?1 events given, stored before or not): insertPackedSql. */
export const INSERT_PLACES = insertPackedSql(EVENT_PLACES);

/** The places of some of the events (the ids of names that the store holds, never input). */
export interface PlacesDriver {
  locations: number[];
  organizations: number[];
}

export const byLocation = (id: number): PlacesDriver => ({ locations: [id], organizations: [] });
export const byOrganization = (id: number): PlacesDriver => ({ locations: [], organizations: [id] });

/** A scan.ts driver along the places rows of these places. */
export const placesDriver = (d: PlacesDriver): PackedDriver => ({ packing: EVENT_PLACES, ids: [d.locations, d.organizations] });

/**
 * The purge's statements for some events it may have deleted (?1, their seqs as JSON: its
 * candidates, some kept by a replay made meanwhile), after their DELETE (dropPackedStatements).
 */
export function dropPlacesStatements(db: D1Database, purgedSeqs: string): D1PreparedStatement[] {
  return dropPackedStatements(db, EVENT_PLACES, "SELECT value FROM json_each(?1)", [purgedSeqs], true);
}
