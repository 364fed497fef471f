// Positions packed by key (migrations 0036, 0038), in place of an index by (key, seq) on a table
// whose rows take positions of its AUTOINCREMENT sequence: rows each over a range of positions
// (seq to last: one or more insert groups, PACKED_SPAN at most once joined), holding for each key
// (names.id) the offsets (seq − first) of the range's rows with that key, one JSON object a
// packed column. One row written per insert group instead of an index entry per row and key.
// Events by location and organization (event-places.ts), deliveries by webhook
// (delivery-webhooks.ts); lists walk them newest first (scan.ts), a bulk retry oldest first.
import { arrayOf, isNumber, orNull, recordOf } from "../domain/guards";
import { chunksOf } from "./chunks";
import { storedJson } from "./stored-json";

/** A table of packed rows: its name, the table whose positions it packs, and each packed column with the column keying it there. */
export interface Packing {
  table: string;
  source: string;
  columns: readonly { stored: string; key: string }[];
}

/** Some rows of the source, by their keys: the names.id to look for in each packed column, in the packing's order. */
export interface PackedDriver {
  packing: Packing;
  ids: number[][];
}

/** On a source row `alias`: it has a key in some packed column (only such rows are packed). */
const keyed = (p: Packing, alias: string) => `(${p.columns.map((c) => `${alias}.${c.key} IS NOT NULL`).join(" OR ")})`;

/**
 * A packed column of the range [first, last] (SQL expressions) from the rows stored there (and
 * passing `where`, a condition on them): a JSON object, key → its rows' offsets, or NULL when
 * none has one. Migrations backfill with the same expression (their tests keep them in step).
 */
function packedOf(p: Packing, key: string, first: string, last: string, where = "") {
  return `NULLIF((SELECT json_group_object(${key}, json(offsets)) FROM
     (SELECT ${key}, json_group_array(seq - ${first}) AS offsets FROM
       (SELECT ${key}, seq FROM ${p.source} WHERE seq BETWEEN ${first} AND ${last} AND ${key} IS NOT NULL${where ? ` AND ${where}` : ""} ORDER BY ${key}, seq)
     GROUP BY ${key})), '{}')`;
}

/**
 * insertPackedSql's column for its row `t`: the group's rows (start to last) added to what the
 * newest row held (`t.old_…`) when the group joins it. Only the group's rows are read (D1
 * counts every row a statement reads or sorts): a key the row has already gets its array
 * written out whole with the group's offsets appended, as a merge patch (json_patch: an array in
 * the patch replaces the row's), and the row's other keys stay as they are.
 */
function joined(p: Packing, c: { stored: string; key: string }) {
  const had = `json_extract(t.old_${c.stored}, '$."' || ${c.key} || '"')`;
  return `NULLIF(json_patch(coalesce(t.old_${c.stored}, '{}'), (SELECT json_group_object(${c.key},
      json(CASE WHEN ${had} IS NULL THEN offsets ELSE substr(${had}, 1, length(${had}) - 1) || ',' || substr(offsets, 2) END))
    FROM (SELECT ${c.key}, json_group_array(seq - t.first) AS offsets FROM
      (SELECT ${c.key}, seq FROM ${p.source} WHERE seq BETWEEN t.start AND t.last AND ${c.key} IS NOT NULL ORDER BY ${c.key}, seq)
    GROUP BY ${c.key}))), '{}')`;
}

/**
 * Positions a packed row spans at most once a group has joined it. Ingest's groups are as large
 * as its batches, a few rows when traffic is light (the queue hands over what came in a quarter
 * second); joined into rows of up to this many positions, the rows a list walks (scan.ts) cover
 * about as many at any traffic, and each stays a few KB of JSON to decode.
 */
export const PACKED_SPAN = 128;

/**
 * The packed row of the group the statement just before it inserted (?1 rows given to it, stored
 * before or not): each stored takes a position of the source's sequence (AUTOINCREMENT allocates
 * it before the conflict), so the group lies in the last ?1 positions, read by seq, past the
 * newest packed row (positions another statement of the transaction packed already: a delivery
 * filtered out takes none). The group joins the newest row while that row would span at most
 * PACKED_SPAN positions and no keyed row lies between them (one a release before the packing's
 * migration stored: its row comes from running the migration again, which skips positions a row
 * spans), else it starts a row of its own: one row written either way. A group none of whose rows
 * has a key (or none of which was new) writes nothing.
 */
export function insertPackedSql(p: Packing): string {
  const newest = `(SELECT max(seq) FROM ${p.table})`;
  const stored = p.columns.map((c) => c.stored);
  return `WITH g AS MATERIALIZED (SELECT max(seq - ?1 + 1, coalesce((SELECT n.last FROM ${p.table} n WHERE n.seq = ${newest}), 0) + 1) AS first, seq AS last
      FROM sqlite_sequence WHERE name = '${p.source}'),
  p AS MATERIALIZED (SELECT e.seq, ${stored.map((s) => `e.${s}`).join(", ")} FROM ${p.table} e, g
    WHERE e.seq = ${newest} AND e.last < g.first AND g.last - e.seq < ${PACKED_SPAN}
      AND NOT EXISTS (SELECT 1 FROM ${p.source} x WHERE x.seq > e.last AND x.seq < g.first AND ${keyed(p, "x")})),
  t AS MATERIALIZED (SELECT coalesce(p.seq, g.first) AS first, g.first AS start, g.last AS last,
      ${stored.map((s) => `p.${s} AS old_${s}`).join(", ")} FROM g LEFT JOIN p
    WHERE EXISTS (SELECT 1 FROM ${p.source} e WHERE e.seq BETWEEN g.first AND g.last AND ${keyed(p, "e")}))
  INSERT INTO ${p.table} (seq, last, ${stored.join(", ")})
  SELECT first, last, ${p.columns.map((c) => joined(p, c)).join(", ")} FROM t WHERE true
  ON CONFLICT (seq) DO UPDATE SET last = excluded.last, ${stored.map((s) => `${s} = excluded.${s}`).join(", ")}`;
}

/**
 * Paths one json_extract takes at most: D1 refuses a function call of more than 32 arguments
 * (the column, id 0's path and these), which the local runtime does not enforce
 * (test/worker/d1-limits.test.ts); a token may be limited to 100 organizations and 100 locations.
 */
const PATHS_PER_CALL = 30;

/**
 * Keys a driver names at most for its packed rows to be read as offsets at those keys (below);
 * past them each row's whole column is read and its keys picked here. Each key is ~13 bytes of
 * SQL: D1 refuses a statement over 100 KB, which a status list over every webhook reached near
 * 7,000 webhooks (test/worker/many-webhooks.test.ts). Reading a row's whole column costs no more
 * rows, but more bytes (packedRowsAtOnce).
 */
const INLINE_KEYS = 1_000;

/** Whether packedRowsSql reads the driver's rows whole, their keys picked by seqsOf. */
const readWhole = (d: PackedDriver) => d.ids.reduce((n, ids) => n + ids.length, 0) > INLINE_KEYS;

/**
 * Packed rows one statement should read at most for driver `d`. Read whole, a row holds every
 * key's offsets: a few KB, but ~75 KB for a group of 5,000 deliveries stored alone (the most one
 * insert statement takes), so 100 rows keep an answer under ~8 MB (D1 answers at most 50 MB; the
 * Worker has 128 MB), where a walk's 3,000 could reach 225 MB.
 */
export const packedRowsAtOnce = (d: PackedDriver) => (readWhole(d) ? WHOLE_ROWS_AT_ONCE : Number.POSITIVE_INFINITY);
const WHOLE_ROWS_AT_ONCE = 100;

/**
 * The packed rows next to ?1, at most `rows`, each with the offsets of its rows at the driver's
 * keys: newest first below ?1, or oldest first from the one holding ?1 (`from`). Each column a
 * JSON array, one element per json_extract (each over up to PATHS_PER_CALL keys, its array one
 * element per key, null where it has none), or NULL; with more than INLINE_KEYS keys, the
 * column as stored. A row's JSON is decoded a few times at most
 * however many keys; json_each is not used, as D1 counts each element it yields as a row read
 * (measured in test/worker/event-places.test.ts).
 */
export function packedRowsSql(d: PackedDriver, rows: number, direction: "below" | "from" = "below"): string {
  const t = d.packing.table;
  // With id 0 among the paths (no name has it), json_extract answers an array whatever the count.
  // The calls' arrays are joined by || (an operator: no argument limit), NULL with the column.
  const offsets = (column: string, ids: number[]) =>
    ids.length === 0
      ? "NULL"
      : readWhole(d)
        ? column
        : prefiltered(
            column,
            ids,
            `'[' || ${chunksOf(ids, PATHS_PER_CALL)
              .map((some) => `json_extract(${column}, ${[0, ...some].map((id) => `'$."${Math.trunc(id)}"'`).join(", ")})`)
              .join(" || ',' || ")} || ']'`,
          );
  const columns = d.packing.columns.map((c, i) => `${offsets(c.stored, d.ids[i] ?? [])} AS ${c.stored}`).join(", ");
  const where =
    direction === "below" ? "seq < ?1 ORDER BY seq DESC" : `seq >= coalesce((SELECT max(q.seq) FROM ${t} q WHERE q.seq <= ?1), 0) ORDER BY seq`;
  return `SELECT seq, last, ${columns} FROM ${t} WHERE ${where} LIMIT ${Math.trunc(rows)}`;
}

/**
 * For a single key, the offsets only in rows whose JSON holds its quoted name (`"7"`: only a key is
 * quoted, and the quote before it keeps `"17"` from matching), else NULL, as seqsOf reads a row
 * without the key: decoding a row's JSON was most of a walk's time (4,000 rows of ~1 KB: ~20 of
 * ~33 ms, measured on the seeded million), a search for the name a fraction, and a rare key is in
 * few rows. Not for more keys: each is a search of the whole text, costlier than one decoding.
 */
const prefiltered = (column: string, ids: number[], offsets: string) =>
  ids.length === 1 ? `CASE WHEN instr(${column}, '"${Math.trunc(ids[0]!)}"') > 0 THEN ${offsets} END` : offsets;

/** A packedRowsSql row: its range, and per packed column (by name) its offsets' JSON or NULL. */
export type PackedRow = { seq: number; last: number } & Record<string, unknown>;

const isOffsets = arrayOf(arrayOf(orNull(arrayOf(isNumber))));
const isWhole = recordOf(arrayOf(isNumber));

/** The seqs of the rows a packedRowsSql row of driver `d` names, newest first, without repeats. */
export function seqsOf(d: PackedDriver, row: PackedRow): number[] {
  const whole = readWhole(d);
  const offsets = d.packing.columns.flatMap(({ stored }, i) => {
    const column = row[stored];
    if (typeof column !== "string") return [];
    const what = `${d.packing.table} ${row.seq} ${stored}`;
    if (!whole) return storedJson(column, isOffsets, what).flat(2);
    const keys = storedJson(column, isWhole, what);
    return (d.ids[i] ?? []).flatMap((id) => keys[String(id)] ?? []);
  });
  return [...new Set(offsets.flatMap((o) => (o === null ? [] : [row.seq + o])))].sort((a, b) => b - a);
}

/**
 * The purge's statements for some rows of the source it deletes, `gone` (a SELECT of their seqs as
 * `value`, over `binds`), in its transaction before or after (`after`) their DELETE: the packed rows of
 * their groups with no keyed row left go, and the others are written again from the rows left (a
 * group partly purged: a row received out of order, or a chunk's first or last), so every row
 * says where the stored ones are. Each statement reads `gone` once. Before the DELETE, `gone` must
 * be exactly the rows it deletes (they are left out); after it, those it may have deleted (the rows
 * still stored are what is left: a candidate the purge kept keeps its place).
 */
export function dropPackedStatements(db: D1Database, p: Packing, gone: string, binds: unknown[], after = false): D1PreparedStatement[] {
  const t = p.table;
  const with_ = `WITH gone AS MATERIALIZED (${gone}),
    groups AS MATERIALIZED (SELECT r.seq FROM gone JOIN ${t} r ON r.seq = (SELECT max(q.seq) FROM ${t} q WHERE q.seq <= gone.value) WHERE gone.value <= r.last)`;
  // (The packed rows holding them: the greatest key not above each, if its range holds it.)
  const left = after ? "" : "seq NOT IN (SELECT value FROM gone)";
  return [
    db
      .prepare(`${with_} DELETE FROM ${t} WHERE seq IN (SELECT seq FROM groups) AND NOT EXISTS (SELECT 1 FROM ${p.source} e
        WHERE e.seq BETWEEN ${t}.seq AND ${t}.last AND ${keyed(p, "e")}${left ? ` AND e.${left}` : ""})`)
      .bind(...binds),
    db
      .prepare(`${with_} UPDATE ${t} SET ${p.columns.map((c) => `${c.stored} = ${packedOf(p, c.key, `${t}.seq`, `${t}.last`, left)}`).join(", ")}
        WHERE seq IN (SELECT seq FROM groups)`)
      .bind(...binds),
  ];
}
