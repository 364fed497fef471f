// Counters kept in the same transaction as the writes they count, so a read of a
// count never scans what it counts. Each writer adds a "delta" statement just
// before its own write, selecting the rows that write is about to change with the
// same conditions: inside one D1 transaction nothing changes in between, so the
// delta is exactly what the write does. Deltas are summed per counter row in SQL,
// so a batch of events writes one row per organization, location and hour it
// touches, not one per event; ingest writes even that as one row (event_count_deltas,
// migration 0031), which a later fold adds to event_counts for many batches at once, and the
// retention writes what a chunk purged as one row (event_count_purges, migration 0039), which
// it takes off event_counts an hour at a time.
import { DATA_SCOPE_OF_OBJECT, eventObjectOf } from "../domain/event-types";
import type { DeliveryStatus } from "../domain/delivery";
import { DELIVERY_STATUSES } from "../domain/delivery";
import { HOUR_MS, SERIES_BUCKET_MS } from "../domain/time";
import { chunksOf } from "./chunks";
import { arrayOf, isNumber } from "../domain/guards";
import { storedJson } from "./stored-json";
import { statusCode } from "./transitions";

/** Objects counted apart (a token may lack their data scope); everything else is the last group. */
export const COUNTED_OBJECTS = Object.keys(DATA_SCOPE_OF_OBJECT);
export const OBJECT_GROUPS = COUNTED_OBJECTS.length + 1;
/** Ten-minute steps of an hour (6): the stats' series reads one a step. */
export const TENTH_MS = SERIES_BUCKET_MS;
export const TENTHS = HOUR_MS / TENTH_MS;
/**
 * The `hour` of an event_counts row holding a scope's total over the hours in
 * (after, through] of `event_count_marks`; the scope's events stored are that
 * total plus its hour rows outside the range (foldEventCounts).
 */
export const TOTAL_HOUR = -1;

/**
 * The object group of an event type (the counters' and events' `object`, which the reads of a token
 * lacking a data scope leave out in SQL): whatever the type's case, as canSeeEvent decides.
 */
export function objectGroupOf(eventType: string): number {
  const i = COUNTED_OBJECTS.indexOf(eventObjectOf(eventType));
  return i === -1 ? COUNTED_OBJECTS.length : i;
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);
export const EVENT_COLUMNS = range(OBJECT_GROUPS * TENTHS).map((i) => `n${i}`);
export const DELIVERY_COLUMNS = range(DELIVERY_STATUSES.length * OBJECT_GROUPS).map((i) => `s${i}`);
export const ATTEMPT_COLUMNS = range(OBJECT_GROUPS * TENTHS).map((i) => `a${i}`);
export const ATTEMPT_OK_COLUMNS = range(OBJECT_GROUPS * TENTHS).map((i) => `ok${i}`);

/** The delivery_counts column of a status (its stored code) and an object group, as deliveryCountsStatement sums them. */
export const deliveryColumn = (s: DeliveryStatus, object: number) => `s${statusCode(s) * OBJECT_GROUPS + object}`;

/** SQL summing a status's columns of a delivery_counts row (every object). */
export function statusSum(s: DeliveryStatus): string {
  return `(${Array.from({ length: OBJECT_GROUPS }, (_, o) => deliveryColumn(s, o)).join(" + ")})`;
}

const cell = (at: string) => `(CAST(${at} AS INTEGER) % ${HOUR_MS}) / ${TENTH_MS}`;
const hourOf = (at: string) => `CAST(${at} AS INTEGER) / ${HOUR_MS}`;
const addAll = (cols: string[]) => cols.map((c) => `${c} = ${c} + excluded.${c}`).join(", ");

/** The `owner` of everyone's rows (scope 0) that count alerts: events only the admin counts. */
const ALERTS_OWNER = -1;

/** Whether an hour's counts are also in its scope's total row: it is in (after, through] of event_count_marks (foldEventCounts). */
const inTotals = (hour: string) => `${hour} > (SELECT after FROM event_count_marks) AND ${hour} <= (SELECT through FROM event_count_marks)`;

/**
 * The counter cells (`scope`, `owner`, `hour`, `col`) of the events a subquery selects (see
 * eventCountsStatement); without `totals`, those of their hours only.
 */
function eventCellsSql(rowsSql: string, totals = true): string {
  // r is read three times and k twice: each is worked out once (its name lookups and existence checks too).
  return `WITH r AS MATERIALIZED (${rowsSql}),
       k AS MATERIALIZED (
         SELECT 0 AS scope, alert * ${ALERTS_OWNER} AS owner, received_at, object FROM r
         UNION ALL SELECT org, 0, received_at, object FROM r WHERE org IS NOT NULL
         UNION ALL SELECT -loc, COALESCE(org, 0), received_at, object FROM r WHERE loc IS NOT NULL),
       c AS (
         SELECT scope, owner, ${hourOf("received_at")} AS hour, object * ${TENTHS} + ${cell("received_at")} AS col FROM k
         ${totals ? `UNION ALL SELECT scope, owner, ${TOTAL_HOUR}, object * ${TENTHS} + ${cell("received_at")} FROM k WHERE ${inTotals(hourOf("received_at"))}` : ""})`;
}

/**
 * The hour cells of the events a subquery selects as one row, `cells_row`: `first_hour`, `last_hour`,
 * `cell_count` and `cells` (JSON, [scope, hour, owner, col, n] each: n events in that cell); its
 * hours NULL when there is no event.
 */
function cellsRowSql(rowsSql: string): string {
  return `${eventCellsSql(rowsSql, false)},
       cells_row AS (
         SELECT min(hour) AS first_hour, max(hour) AS last_hour, COUNT(*) AS cell_count, json_group_array(json_array(scope, hour, owner, col, n)) AS cells
         FROM (SELECT scope, hour, owner, col, COUNT(*) AS n FROM c GROUP BY scope, hour, owner, col))`;
}

// Counts are never negative, so a row is empty when its largest is 0 (max(), not a chain of
// 60 ANDs, which is past D1's expression depth), taken 30 columns a call: D1 documents at most
// 32 arguments to a function (docs/testing.md), which the local runtime does not enforce.
const allZero = (cols: string[]) => {
  const calls = chunksOf(cols, 30).map((some) => `max(${some.join(", ")})`);
  return `${calls.length === 1 ? calls[0] : `max(${calls.join(", ")})`} = 0`;
};

/**
 * Adds (`sign` 1) or removes (-1) the events a subquery selects, as columns
 * `org` (names.id or NULL), `loc` (likewise), `received_at`, `object` and `alert`
 * (1 for an alert, else 0), to every counter row they belong to: everyone's (apart
 * for alerts), their organization's and their location's, for their hour, and for
 * the total when their hour is folded into it. (The retention takes events off later, an
 * hour's at once: eventCountPurgeStatement.)
 */
export function eventCountsStatement(db: D1Database, rowsSql: string, binds: unknown[], sign: 1 | -1): D1PreparedStatement {
  const sums = EVENT_COLUMNS.map((c, i) => `${sign} * SUM(col = ${i}) AS ${c}`).join(", ");
  return db
    .prepare(
      `${eventCellsSql(rowsSql)}
       INSERT INTO event_counts (scope, hour, owner, ${EVENT_COLUMNS.join(", ")})
       SELECT scope, hour, owner, ${sums} FROM c WHERE true GROUP BY scope, hour, owner
       ON CONFLICT (scope, hour, owner) DO UPDATE SET ${addAll(EVENT_COLUMNS)}`,
    )
    .bind(...binds);
}

/**
 * Pending deltas at most, and their cells (migration 0037): an ingest that reaches either folds
 * them, so the reads that add them (stats.ts) read at most so many rows and decode at most so many
 * cells. A fold writes a counter row per scope and hour its deltas touched, so the more events it
 * takes the fewer it writes each: 2,000 rows are ~6,000 events in batches of 3 (light traffic),
 * 50,000 cells ~20,000 events in batches of 100 (each ~250 cells over ~160 scopes).
 */
export const PENDING_DELTAS = 2_000;
export const PENDING_DELTA_CELLS = 50_000;

/** A pending delta's cell (an element of its `cells`) as columns `scope`, `hour`, `owner`, `col` and `n`, the events it adds. */
const CELL_COLUMNS = "value->>0 AS scope, value->>1 AS hour, value->>2 AS owner, value->>3 AS col, value->>4 AS n";

/** The cells of the pending deltas (event_count_deltas), as CELL_COLUMNS. */
export const PENDING_CELLS = `SELECT ${CELL_COLUMNS} FROM event_count_deltas, json_each(cells)`;

/** A cell of a pending delta: `n` events in `col` of the event_counts row (`scope`, `hour`, `owner`). */
export interface PendingCell {
  scope: number;
  hour: number;
  owner: number;
  col: number;
  n: number;
}

type Cell = [scope: number, hour: number, owner: number, col: number, n: number];
const isNumberArray = arrayOf(isNumber);
const isCell = (c: unknown): c is Cell => isNumberArray(c) && c.length === 5;
const isCells = arrayOf(isCell);

/**
 * The cells of a pending delta's `cells` (or a purge's, of `table`), taken apart outside SQL (where each is a row read). One
 * that does not read as cells throws, naming the row: a count left out silently would be wrong.
 */
export function pendingCells(cells: unknown, id: unknown, table = "event_count_deltas"): PendingCell[] {
  const text = typeof cells === "string" ? cells : "";
  return storedJson(text, isCells, `${table} ${String(id)} cells`).map(([scope, hour, owner, col, n]) => ({ scope, hour, owner, col, n }));
}

/** Each event count column's sum of the cells (col, n) that name it. */
const CELL_SUMS = EVENT_COLUMNS.map((c, i) => `SUM(n * (col = ${i})) AS ${c}`).join(", ");

/**
 * Folds every pending delta into event_counts when `when` holds (a condition on the deltas or
 * the marks, which the first statement leaves as they are), as eventCountsStatement adds events:
 * to the hour's row, and to the total's when the hour is in the totals now. The deltas go in
 * the same transaction, so a fold is done once.
 */
function foldDeltasStatements(db: D1Database, when: string, binds: unknown[]): D1PreparedStatement[] {
  // `when` decided once, before any delta is read: as a WHERE of the walk SQLite would test it
  // on every delta (each a row read, and every cell of it), folding or not.
  const go = `go AS MATERIALIZED (SELECT 1 WHERE ${when})`;
  return [
    db
      .prepare(
        `WITH ${go}, d AS MATERIALIZED (SELECT ${CELL_COLUMNS} FROM go CROSS JOIN event_count_deltas CROSS JOIN json_each(cells)),
         c AS (SELECT scope, hour, owner, col, n FROM d UNION ALL SELECT scope, ${TOTAL_HOUR}, owner, col, n FROM d WHERE ${inTotals("hour")})
         INSERT INTO event_counts (scope, hour, owner, ${EVENT_COLUMNS.join(", ")})
         SELECT scope, hour, owner, ${CELL_SUMS} FROM c WHERE true GROUP BY scope, hour, owner
         ON CONFLICT (scope, hour, owner) DO UPDATE SET ${addAll(EVENT_COLUMNS)}`,
      )
      .bind(...binds),
    db.prepare(`WITH ${go} DELETE FROM event_count_deltas WHERE id IN (SELECT id FROM go CROSS JOIN event_count_deltas)`).bind(...binds),
  ];
}

/**
 * Characters of cells a pending delta holds before a batch's stop joining it. Light traffic brings
 * batches of a few events, each a few cells: joined into the newest row, their deltas are one row
 * to delete at the fold for many batches (each delete is a row written), where a row a batch was
 * ~0.3 rows per event in batches of 3. Under load a batch's own row is about this size.
 */
export const DELTA_JOIN_CHARS = 8_192;

/**
 * Adds the events a subquery selects (as eventCountsStatement's) in one row, a delta of their
 * hours' cells, written at `now`, instead of a row per scope and hour: the newest delta's own,
 * while it holds under DELTA_JOIN_CHARS (its cells appended: one row written either way; it keeps
 * its `at`, the oldest), else a new one; then, once PENDING_DELTAS are waiting, folds them all.
 * The subquery's parameters are numbered (?1 …) and given in `binds`.
 */
export function eventCountDeltaStatements(db: D1Database, rowsSql: string, binds: unknown[], now: number): D1PreparedStatement[] {
  const at = `?${binds.length + 1}`;
  // (A row's cells are a JSON array: joined by text, as no cell is read; a row written with none is `[]`.)
  const appended = `CASE WHEN cells = '[]' THEN excluded.cells ELSE substr(cells, 1, length(cells) - 1) || ',' || substr(excluded.cells, 2) END`;
  return [
    db
      .prepare(
        `${cellsRowSql(rowsSql)},
         newest AS MATERIALIZED (SELECT id, length(cells) < ${DELTA_JOIN_CHARS} AS joins, cells_through FROM event_count_deltas ORDER BY id DESC LIMIT 1)
         INSERT INTO event_count_deltas (id, at, first_hour, cells, cells_through)
         SELECT CASE WHEN newest.joins THEN newest.id ELSE coalesce(newest.id, 0) + 1 END, ${at}, first_hour, cells, coalesce(newest.cells_through, 0) + cell_count
         FROM cells_row LEFT JOIN newest WHERE first_hour IS NOT NULL
         ON CONFLICT (id) DO UPDATE SET cells = ${appended}, first_hour = min(first_hour, excluded.first_hour), cells_through = excluded.cells_through`,
      )
      .bind(...binds, now),
    // (Every fold takes every delta, so ids start again from 1: the last row's id is their number,
    // and its cells_through their cells. One subquery reading that row, a constant SQLite works out
    // once; the table is not walked to decide.)
    ...foldDeltasStatements(
      db,
      `(SELECT id >= ${PENDING_DELTAS} OR cells_through >= ${PENDING_DELTA_CELLS} FROM event_count_deltas ORDER BY id DESC LIMIT 1)`,
      [],
    ),
  ];
}

/** The maintenance run's: folds every pending delta once the oldest was written before `writtenBefore` (all: by default). */
export async function foldEventCountDeltas(db: D1Database, writtenBefore = Number.MAX_SAFE_INTEGER): Promise<void> {
  await db.batch(foldDeltasStatements(db, "(SELECT at FROM event_count_deltas ORDER BY id LIMIT 1) < ?1", [writtenBefore]));
}

/**
 * Purge rows (event_count_purges, migration 0039) waiting at most, and their cells, when the
 * maintenance run applies them: once either is reached it takes them all, whatever their hours, so
 * that /v1/stats, which subtracts them (stats.ts), reads and decodes a bounded number: these and a
 * run's chunks (at most 5 of 5,000 events, each event 3 cells at most). At 1,000,000 events a day
 * an hour is ~12 chunks, each a cell per counter row and object group its ~3,500 events touch
 * (~1,100 rows), so an hour of one or two groups waits for its end.
 */
export const PENDING_PURGES = 24;
export const PENDING_PURGE_CELLS = 50_000;

/** The cells of the waiting purges (event_count_purges), as CELL_COLUMNS, `n` the events they take off. */
export const PURGED_CELLS = `SELECT ${CELL_COLUMNS} FROM event_count_purges, json_each(cells)`;

/**
 * Takes the events a subquery selects (as eventCountsStatement's) off the counters later: writes
 * their hours' cells as one row, a purge, instead of a row per scope and hour each chunk of the
 * retention (applyEventCountPurges takes an hour's purges off at once).
 */
export function eventCountPurgeStatement(db: D1Database, rowsSql: string, binds: unknown[]): D1PreparedStatement {
  return db
    .prepare(
      `${cellsRowSql(rowsSql)}
       INSERT INTO event_count_purges (last_hour, cell_count, cells) SELECT last_hour, cell_count, cells FROM cells_row WHERE last_hour IS NOT NULL`,
    )
    .bind(...binds);
}

/**
 * Takes the waiting purges off event_counts, in one transaction: those whose hours are all before
 * `doneBefore` (an SQL expression: the hour the retention has not passed yet, whose purges may
 * still grow), or all once PENDING_PURGES or PENDING_PURGE_CELLS are waiting. As
 * eventCountsStatement removes events: from the hour's row, and from the total's when the hour is
 * in the totals now (a waiting purge's hour is still counted in its row, which foldEventCounts
 * moves into and out of the totals whole). Ingest's pending deltas are folded first when any
 * reaches those hours (a late event's may be pending), so that what is taken off was added. A row
 * the purges empty is deleted, not updated (each is a row written), the others updated, and the
 * purges deleted. Answers how many purges it took off.
 */
export async function applyEventCountPurges(db: D1Database, doneBefore: string, binds: unknown[]): Promise<number> {
  const before = `(SELECT CASE WHEN COUNT(*) >= ${PENDING_PURGES} OR total(cell_count) >= ${PENDING_PURGE_CELLS} THEN ${Number.MAX_SAFE_INTEGER} ELSE ${doneBefore} END
    FROM event_count_purges)`;
  const when = `(SELECT min(last_hour) FROM event_count_purges) < ${before}`;
  // Decided once, before any purge is read (as foldDeltasStatements' `go`); `before` too.
  const go = `go AS MATERIALIZED (SELECT ${before} AS before WHERE ${when})`;
  const [from, which] = ["FROM go CROSS JOIN event_count_purges", "WHERE last_hour < go.before"];
  const off = `WITH ${go},
    p AS MATERIALIZED (SELECT ${CELL_COLUMNS} ${from} CROSS JOIN json_each(cells) ${which}),
    c AS (SELECT scope, hour, owner, col, n FROM p UNION ALL SELECT scope, ${TOTAL_HOUR}, owner, col, n FROM p WHERE ${inTotals("hour")}),
    s AS MATERIALIZED (SELECT scope, hour, owner, ${CELL_SUMS} FROM c GROUP BY scope, hour, owner)`;
  const key = (t: string) => `${t}.hour = s.hour AND ${t}.scope = s.scope AND ${t}.owner = s.owner`;
  // Asked first, alone: the answer is no but once an hour or so, and then one statement reads the
  // purges waiting (and an event), not each of the transaction's. The transaction asks again.
  if (!(await db.prepare(`SELECT ${when} AS due`).bind(...binds).first<number>("due"))) return 0;
  const done = await db.batch([
    // (Only when a delta counts an hour up to the purges' last: not this hour's, folded later with more.)
    ...foldDeltasStatements(db, `(SELECT min(first_hour) FROM event_count_deltas) <= (SELECT max(last_hour) FROM event_count_purges WHERE last_hour < ${before})`, binds),
    db
      .prepare(
        `${off} DELETE FROM event_counts WHERE (hour, scope, owner) IN (
           SELECT e.hour, e.scope, e.owner FROM s JOIN event_counts e ON ${key("e")} WHERE ${allZero(EVENT_COLUMNS.map((c) => `e.${c} - s.${c}`))})`,
      )
      .bind(...binds),
    db
      .prepare(`${off} UPDATE event_counts SET ${EVENT_COLUMNS.map((c) => `${c} = event_counts.${c} - s.${c}`).join(", ")} FROM s WHERE ${key("event_counts")}`)
      .bind(...binds),
    db.prepare(`WITH ${go} DELETE FROM event_count_purges WHERE id IN (SELECT id ${from} ${which})`).bind(...binds),
  ]);
  return done[done.length - 1]?.meta.changes ?? 0;
}

/**
 * Moves the deliveries a subquery selects between status counts: columns
 * `webhook`, `object`, `old_status` (NULL: being created) and `new_status`
 * (NULL: being deleted). `once`: the rows are worked out once (MATERIALIZED), for a
 * `new_status` that reads (a retry's reads the webhook row): each sum below names it, and
 * would read again for every column (~50 rows a delivery). Else inlined, which reads less.
 */
export function deliveryCountsStatement(db: D1Database, rowsSql: string, binds: unknown[], once = false): D1PreparedStatement {
  const code = (s: string) => `COALESCE(${s} * ${OBJECT_GROUPS} + object, -1)`;
  const sums = DELIVERY_COLUMNS.map((c, i) => `SUM((${code("new_status")} = ${i}) - (${code("old_status")} = ${i})) AS ${c}`).join(", ");
  return db
    .prepare(
      `WITH r AS ${once ? "MATERIALIZED " : ""}(${rowsSql})
       INSERT INTO delivery_counts (webhook, ${DELIVERY_COLUMNS.join(", ")})
       SELECT webhook, ${sums} FROM r WHERE true GROUP BY webhook
       ON CONFLICT (webhook) DO UPDATE SET ${addAll(DELIVERY_COLUMNS)}`,
    )
    .bind(...binds);
}

/**
 * Deletes the delivery_counts rows of some webhooks (a subquery of their names ids over `binds`) that count nothing and
 * whose webhook is deleted: nothing can be made for it again, and every maintenance run reads each row (expireHeld,
 * deletedWithOwed), so a row kept for every webhook ever deleted made those reads grow for good. For the transaction of
 * the retention's purge of its deliveries (after their counts are taken off) and of the webhook's delete.
 */
export function dropDeletedDeliveryCountsStatement(db: D1Database, webhooksSql: string, binds: unknown[]): D1PreparedStatement {
  return db
    .prepare(
      `DELETE FROM delivery_counts WHERE webhook IN (${webhooksSql}) AND ${allZero(DELIVERY_COLUMNS)}
         AND NOT EXISTS (SELECT 1 FROM names n JOIN webhooks w ON w.uid = n.name WHERE n.id = delivery_counts.webhook)`,
    )
    .bind(...binds);
}

/**
 * Adds or removes the attempts a subquery selects: columns `webhook`, `object`,
 * `started_at` and `ok` (1 when it succeeded).
 */
export function attemptCountsStatement(db: D1Database, rowsSql: string, binds: unknown[], sign: 1 | -1): D1PreparedStatement {
  const col = `object * ${TENTHS} + ${cell("started_at")}`;
  const sums = [
    ...ATTEMPT_COLUMNS.map((c, i) => `${sign} * SUM(${col} = ${i}) AS ${c}`),
    ...ATTEMPT_OK_COLUMNS.map((c, i) => `${sign} * SUM(${col} = ${i} AND ok) AS ${c}`),
  ].join(", ");
  const all = [...ATTEMPT_COLUMNS, ...ATTEMPT_OK_COLUMNS];
  return db
    .prepare(
      `WITH r AS (${rowsSql})
       INSERT INTO attempt_counts (hour, webhook, ${all.join(", ")})
       SELECT ${hourOf("started_at")} AS hour, webhook, ${sums} FROM r WHERE true GROUP BY 1, 2
       ON CONFLICT (hour, webhook) DO UPDATE SET ${addAll(all)}`,
    )
    .bind(...binds);
}

/** The same for attempt_counts: the rows of the attempts a subquery selects (`webhook`, `started_at`) that a removal left at zero. */
export function dropEmptyAttemptCountsStatement(db: D1Database, rowsSql: string, binds: unknown[]): D1PreparedStatement {
  return db
    .prepare(
      `WITH r AS (${rowsSql})
       DELETE FROM attempt_counts WHERE (hour, webhook) IN (SELECT ${hourOf("started_at")}, webhook FROM r)
         AND ${allZero([...ATTEMPT_COLUMNS, ...ATTEMPT_OK_COLUMNS])}`,
    )
    .bind(...binds);
}

/**
 * `event_count_marks.through` at or past this: every hour stays in the totals and the
 * maintenance run moves nothing (scripts/freeze-event-counts.sql, before going back to
 * a release older than migration 0022, which reads and writes the totals only).
 */
export const FROZEN_THROUGH = 2_000_000_000;
/** Hours moved into or out of the totals per maintenance run at most (catching up after an outage). */
const HOURS_PER_RUN = 48;

/**
 * Moves hours into and out of the event totals. The marks are brought to the clock
 * (`through` at most the hour after `currentHour`, never below `after`: migration 0022
 * leaves it far ahead, so that the release before it, which writes every event into
 * both rows, stays right until this one runs); every closed hour (before
 * `currentHour`) not folded yet is added to its scopes' total rows; and every folded
 * hour up to `cutoffHour` (the one the retention's cutoff falls in) is taken out of
 * them, with the total rows that leaves empty. Nothing is taken out while `through`
 * is not behind the clock, as in the hour or two after the first run (the previous
 * release's last invocations may still purge). Run before the retention, so the
 * retention purges hours already out: ingest writes the current hour's rows only and
 * the retention the purged hours' rows only, half the counter rows a batch writes. A
 * late event of a folded hour is added to both. Reads one key range per hour moved:
 * at most HOURS_PER_RUN folded or taken out a run (bringing the marks to the clock
 * reads only hours ahead of it); idempotent.
 */
export async function foldEventCounts(db: D1Database, currentHour: number, cutoffHour: number): Promise<void> {
  const sums = (sign: 1 | -1) => EVENT_COLUMNS.map((c) => `${sign} * SUM(${c}) AS ${c}`).join(", ");
  const move = (sign: 1 | -1, hours: string) =>
    `INSERT INTO event_counts (scope, hour, owner, ${EVENT_COLUMNS.join(", ")})
     SELECT scope, ${TOTAL_HOUR}, owner, ${sums(sign)} FROM event_counts WHERE ${hours} GROUP BY scope, owner
     ON CONFLICT (scope, hour, owner) DO UPDATE SET ${addAll(EVENT_COLUMNS)}`;
  // The total rows of the scopes of some hours, once what was moved left them at zero.
  const dropEmptyTotals = (hours: string) =>
    `DELETE FROM event_counts WHERE hour = ${TOTAL_HOUR} AND (scope, owner) IN (SELECT scope, owner FROM event_counts WHERE ${hours})
       AND ${allZero(EVENT_COLUMNS)}`;
  const through = "(SELECT through FROM event_count_marks)";
  const after = "(SELECT after FROM event_count_marks)";
  // ?1: the current hour; ?2: the cutoff's. Taking out starts from the oldest hour with rows.
  const lowerTo = `max(?1 + 1, ${after})`;
  const lowering = `${through} < ${FROZEN_THROUGH} AND hour > ${lowerTo} AND hour <= ${through}`;
  const foldTo = `min(?1 - 1, ${through} + ${HOURS_PER_RUN})`;
  const outTo = (a: string, t: string) =>
    `min(${t}, ?2, max(${a}, coalesce((SELECT min(hour) FROM event_counts WHERE hour >= 0) - 1, ?2)) + ${HOURS_PER_RUN})`;
  const unfolding = `${through} < ?1 AND hour > ${after} AND hour <= ${outTo(after, through)}`;
  await db.batch([
    db.prepare(move(-1, lowering)).bind(currentHour),
    db.prepare(dropEmptyTotals(lowering)).bind(currentHour),
    db
      .prepare(`UPDATE event_count_marks SET through = max(?1 + 1, after) WHERE through > max(?1 + 1, after) AND through < ${FROZEN_THROUGH}`)
      .bind(currentHour),
    db.prepare(move(1, `hour > ${through} AND hour <= ${foldTo}`)).bind(currentHour),
    db.prepare(`UPDATE event_count_marks SET through = min(?1 - 1, through + ${HOURS_PER_RUN}) WHERE through < ?1 - 1`).bind(currentHour),
    db.prepare(move(-1, unfolding)).bind(currentHour, cutoffHour),
    db.prepare(dropEmptyTotals(unfolding)).bind(currentHour, cutoffHour),
    db
      .prepare(`UPDATE event_count_marks SET after = ${outTo("after", "through")} WHERE through < ?1 AND after < ${outTo("after", "through")}`)
      .bind(currentHour, cutoffHour),
  ]);
}
