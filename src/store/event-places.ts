// Where each insert group's events are (migration 0036): one `event_places` row per group, keyed
// by its first seq as its `contents` row is, holding for each location (names.id) the offsets
// (seq − first) of the group's events there, and the same for organizations. The lists by
// location or organization, and a limited token's events, walk these rows newest first
// (scan.ts): one row written per group instead of two index entries per event.
import { arrayOf, isNumber, orNull } from "../domain/guards";
import { storedJson } from "./stored-json";

/**
 * A group's `locations` or `organizations` (`column` of events) from the events stored in
 * [first, last] (SQL expressions): a JSON object, id → its events' offsets, or NULL when none
 * of them has one. Migration 0036 backfills with the same expression (test/worker/event-places.test.ts).
 */
const placesOf = (column: "location" | "organization", first: string, last: string) =>
  `NULLIF((SELECT json_group_object(${column}, json(offsets)) FROM
     (SELECT ${column}, json_group_array(seq - ${first}) AS offsets FROM
       (SELECT ${column}, seq FROM events WHERE seq BETWEEN ${first} AND ${last} AND ${column} IS NOT NULL ORDER BY ${column}, seq)
     GROUP BY ${column})), '{}')`;

/**
 * The places row of the group the statement just before it inserted (?1 events given, stored
 * before or not): each takes a position of the table's sequence (AUTOINCREMENT allocates it
 * before the conflict), so the group is the range at its end, read by seq. A group none of
 * whose events has a location or an organization (or none of which was new) gets no row.
 */
export const INSERT_PLACES = `WITH g AS MATERIALIZED
    (SELECT first, last, ${placesOf("location", "first", "last")} AS locations, ${placesOf("organization", "first", "last")} AS organizations
     FROM (SELECT seq - ?1 + 1 AS first, seq AS last FROM sqlite_sequence WHERE name = 'events'))
  INSERT INTO event_places (seq, last, locations, organizations)
  SELECT first, last, locations, organizations FROM g WHERE locations IS NOT NULL OR organizations IS NOT NULL`;

/** The places of some of the events (the ids of names that the store holds, never input): a scan.ts driver. */
export interface PlacesDriver {
  locations: number[];
  organizations: number[];
}

export const byLocation = (id: number): PlacesDriver => ({ locations: [id], organizations: [] });
export const byOrganization = (id: number): PlacesDriver => ({ locations: [], organizations: [id] });

/** One driver for the events at any of several places: a places row is read once for all of them. */
export const anyOf = (drivers: PlacesDriver[]): PlacesDriver => ({
  locations: [...new Set(drivers.flatMap((d) => d.locations))],
  organizations: [...new Set(drivers.flatMap((d) => d.organizations))],
});

/**
 * The places rows below ?1, newest first, at most `rows`, each with the offsets of its events at
 * the driver's places: a JSON array per column, one element per place (null where it has none), or
 * NULL. One json_extract a column, so a row's JSON is decoded once however many places; json_each
 * is not used, as D1 counts each element it yields as a row read (measured in
 * test/worker/event-places.test.ts).
 */
export function placesRowsSql(d: PlacesDriver, rows: number): string {
  // With id 0 among the paths (no name has it), json_extract answers an array whatever the count.
  const offsets = (column: string, ids: number[]) =>
    ids.length === 0 ? "NULL" : `json_extract(${column}, ${[0, ...ids].map((id) => `'$."${Math.trunc(id)}"'`).join(", ")})`;
  return `SELECT seq, last, ${offsets("locations", d.locations)} AS locations, ${offsets("organizations", d.organizations)} AS organizations
    FROM event_places WHERE seq < ?1 ORDER BY seq DESC LIMIT ${Math.trunc(rows)}`;
}

export interface PlacesRow {
  seq: number;
  last: number;
  locations: string | null;
  organizations: string | null;
}

const isOffsets = arrayOf(orNull(arrayOf(isNumber)));

/** The seqs of the events a placesRowsSql row names, newest first, without repeats. */
export function seqsOf(row: PlacesRow): number[] {
  const offsets = [row.locations, row.organizations].flatMap((column, i) =>
    column === null ? [] : storedJson(column, isOffsets, `event_places ${row.seq} ${i === 0 ? "locations" : "organizations"}`).flat(),
  );
  return [...new Set(offsets.flatMap((o) => (o === null ? [] : [row.seq + o])))].sort((a, b) => b - a);
}

/** The places rows of the groups holding some events (?1, their seqs as JSON): the greatest key not above each, if its range holds it. */
const GROUPS_OF = `SELECT p.seq FROM json_each(?1) j JOIN event_places p ON p.seq = (SELECT max(q.seq) FROM event_places q WHERE q.seq <= j.value)
  WHERE j.value <= p.last`;

/**
 * The purge's statements for some events it may have deleted (?1, their seqs as JSON), after
 * their DELETE in its transaction: the places rows of their groups with no event at a place left
 * go, and the others are written again from the events left (a group partly purged: an event
 * received out of order, or a chunk's first or last), so every row says where the stored events are.
 */
export function dropPlacesStatements(db: D1Database, purgedSeqs: string): D1PreparedStatement[] {
  return [
    db
      .prepare(
        `DELETE FROM event_places WHERE seq IN (${GROUPS_OF}) AND NOT EXISTS (SELECT 1 FROM events e
           WHERE e.seq BETWEEN event_places.seq AND event_places.last AND (e.location IS NOT NULL OR e.organization IS NOT NULL))`,
      )
      .bind(purgedSeqs),
    db
      .prepare(
        `UPDATE event_places SET locations = ${placesOf("location", "event_places.seq", "event_places.last")},
           organizations = ${placesOf("organization", "event_places.seq", "event_places.last")}
         WHERE seq IN (${GROUPS_OF})`,
      )
      .bind(purgedSeqs),
  ];
}
