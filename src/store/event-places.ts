// Where the events are (migration 0036): `event_places` rows, each over a range of positions
// (seq to last: one or more insert groups, PLACES_SPAN at most once joined), holding for each
// location (names.id) the offsets (seq − first) of the range's events there, and the same for
// organizations. The lists by location or organization, and a limited token's events, walk these
// rows newest first (scan.ts): one row written per group instead of two index entries per event.
import { arrayOf, isNumber, orNull } from "../domain/guards";
import { chunksOf } from "./chunks";
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
 * INSERT_PLACES' `column` for its row `t`: the group's events (start to last) added to what the
 * newest row held (`t.old_…`) when the group joins it. Only the group's events are read (D1
 * counts every row a statement reads or sorts): a place the row has already gets its array
 * written out whole with the group's offsets appended, as a merge patch (json_patch: an array in
 * the patch replaces the row's), and the row's other places stay as they are.
 */
const joined = (column: "location" | "organization", stored: "locations" | "organizations") => {
  const had = `json_extract(t.old_${stored}, '$."' || ${column} || '"')`;
  return `NULLIF(json_patch(coalesce(t.old_${stored}, '{}'), (SELECT json_group_object(${column},
      json(CASE WHEN ${had} IS NULL THEN offsets ELSE substr(${had}, 1, length(${had}) - 1) || ',' || substr(offsets, 2) END))
    FROM (SELECT ${column}, json_group_array(seq - t.first) AS offsets FROM
      (SELECT ${column}, seq FROM events WHERE seq BETWEEN t.start AND t.last AND ${column} IS NOT NULL ORDER BY ${column}, seq)
    GROUP BY ${column}))), '{}')`;
};

/**
 * Positions a places row spans at most once a group has joined it. Ingest's groups are as large
 * as its batches, a few events when traffic is light (the queue hands over what came in a quarter
 * second); joined into rows of up to this many positions, the rows a list walks (scan.ts) cover
 * about as many events at any traffic, and each stays a few KB of JSON to decode.
 */
export const PLACES_SPAN = 128;

/**
 * The places of the group the statement just before it inserted (?1 events given, stored
 * before or not): each takes a position of the table's sequence (AUTOINCREMENT allocates it
 * before the conflict), so the group is the range at its end, read by seq. The group joins the
 * newest places row while that row would span at most PLACES_SPAN positions and no event at a
 * place lies between them (one a release before 0036 stored: its row comes from running the
 * migration again, which skips positions a row spans), else it starts a row of its own: one row
 * written either way. A group none of whose events has a location or an organization (or none of
 * which was new) writes nothing.
 */
export const INSERT_PLACES = `WITH g AS MATERIALIZED (SELECT seq - ?1 + 1 AS first, seq AS last FROM sqlite_sequence WHERE name = 'events'),
  p AS MATERIALIZED (SELECT e.seq, e.locations, e.organizations FROM event_places e, g
    WHERE e.seq = (SELECT max(seq) FROM event_places) AND e.last < g.first AND g.last - e.seq < ${PLACES_SPAN}
      AND NOT EXISTS (SELECT 1 FROM events x WHERE x.seq > e.last AND x.seq < g.first AND (x.location IS NOT NULL OR x.organization IS NOT NULL))),
  t AS MATERIALIZED (SELECT coalesce(p.seq, g.first) AS first, g.first AS start, g.last AS last,
      p.locations AS old_locations, p.organizations AS old_organizations FROM g LEFT JOIN p
    WHERE EXISTS (SELECT 1 FROM events e WHERE e.seq BETWEEN g.first AND g.last AND (e.location IS NOT NULL OR e.organization IS NOT NULL)))
  INSERT INTO event_places (seq, last, locations, organizations)
  SELECT first, last, ${joined("location", "locations")}, ${joined("organization", "organizations")} FROM t WHERE true
  ON CONFLICT (seq) DO UPDATE SET last = excluded.last, locations = excluded.locations, organizations = excluded.organizations`;

/** The places of some of the events (the ids of names that the store holds, never input): a scan.ts driver. */
export interface PlacesDriver {
  locations: number[];
  organizations: number[];
}

export const byLocation = (id: number): PlacesDriver => ({ locations: [id], organizations: [] });
export const byOrganization = (id: number): PlacesDriver => ({ locations: [], organizations: [id] });

/**
 * Paths one json_extract takes at most: D1 refuses a function call of more than 32 arguments
 * (the column, id 0's path and these), which the local runtime does not enforce
 * (test/worker/d1-limits.test.ts); a token may be limited to 100 organizations and 100 locations.
 */
const PATHS_PER_CALL = 30;

/**
 * The places rows below ?1, newest first, at most `rows`, each with the offsets of its events at
 * the driver's places: a JSON array per column, one element per json_extract (each over up to
 * PATHS_PER_CALL places, its array one element per place, null where it has none), or NULL. A
 * row's JSON is decoded a few times at most however many places; json_each is not used, as D1
 * counts each element it yields as a row read (measured in test/worker/event-places.test.ts).
 */
export function placesRowsSql(d: PlacesDriver, rows: number): string {
  // With id 0 among the paths (no name has it), json_extract answers an array whatever the count.
  // The calls' arrays are joined by || (an operator: no argument limit), NULL with the column.
  const offsets = (column: string, ids: number[]) =>
    ids.length === 0
      ? "NULL"
      : `'[' || ${chunksOf(ids, PATHS_PER_CALL)
          .map((some) => `json_extract(${column}, ${[0, ...some].map((id) => `'$."${Math.trunc(id)}"'`).join(", ")})`)
          .join(" || ',' || ")} || ']'`;
  return `SELECT seq, last, ${offsets("locations", d.locations)} AS locations, ${offsets("organizations", d.organizations)} AS organizations
    FROM event_places WHERE seq < ?1 ORDER BY seq DESC LIMIT ${Math.trunc(rows)}`;
}

export interface PlacesRow {
  seq: number;
  last: number;
  locations: string | null;
  organizations: string | null;
}

const isOffsets = arrayOf(arrayOf(orNull(arrayOf(isNumber))));

/** The seqs of the events a placesRowsSql row names, newest first, without repeats. */
export function seqsOf(row: PlacesRow): number[] {
  const offsets = [row.locations, row.organizations].flatMap((column, i) =>
    column === null ? [] : storedJson(column, isOffsets, `event_places ${row.seq} ${i === 0 ? "locations" : "organizations"}`).flat(2),
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
