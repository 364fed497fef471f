// Where each insert group's events are (migration 0036): one `event_places` row per group, keyed
// by its first seq as its `contents` row is, holding for each location (names.id) the offsets
// (seq − first) of the group's events there, and the same for organizations: written with the
// group, kept in step by the purge. (Until the lists walk them, the events indexes by location and
// organization, migrations 0024 and 0025, are the drivers a bounded scan walks.)
import type { BlockDriver } from "./scan";

export const byLocation = (id: number): BlockDriver => ({ index: "events_location_block", where: `location = ${id}` });
export const byOrganization = (id: number): BlockDriver => ({ index: "events_organization_block", where: `organization = ${id}` });

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
