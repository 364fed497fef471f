// Bounded scans: a list walks one or more index ranges newest first (each a
// "driver": a condition an index serves, ordered by seq), checks the other
// filters along the way, and stops after a fixed number of rows whether or not
// the page is full (filters see the walked row as `walked`). What it could not look at is where the next call continues,
// so a rare filter costs more calls, never a longer one. A filter may also answer UNDECIDED for a
// row (rowsBoundedScan's: it could not tell within the rows it may read): the page ends above the
// newest such row and continues from it.
import { chunksOf } from "./chunks";
import { packedRowsAtOnce, packedRowsSql, seqsOf, type PackedDriver, type PackedRow } from "./packed";

/**
 * Conditions each an index serves in `seq` order (e.g. `webhook = 7 AND status = 3`),
 * or "1" for the table itself; or the packed rows (packed.ts) of some keys: events'
 * locations and organizations, deliveries' webhooks, walked a row at a time, newest first.
 */
export type Drivers = string[] | PackedDriver;

/** Packed rows one call walks at most: each spans up to PACKED_SPAN positions (packed.ts), a group of more alone. */
export const PACKED_ROWS = 4000;
/**
 * The packed rows a call walks at each step, until its page is full: a busy key's page is in its
 * newest rows, a rarer one's further on (a step is two statements, one after the other).
 */
const PACKED_STEPS = [50, 200, 750, PACKED_ROWS - 1000];
/** A packed walk's steps at most, the rates' extra step (of the rows they held back) included: each checks its named rows in a statement (rowsBoundedScan prices each). */
export const PACKED_WALK_STEPS = PACKED_STEPS.length + 1;

export interface ScanPage {
  /** Matching positions, newest first, at most `limit`. */
  seqs: number[];
  /** Where to continue (strictly below), or null when nothing is left. */
  nextBefore: number | null;
  /** D1 rows its statements read (their meta). */
  rowsRead: number;
  /** The row the filter answered UNDECIDED for, where the page stopped (nextBefore is just above it). */
  undecided?: number;
  /** A packed walk's packed rows whose named rows it took, and those rows: its rate for the next call's walk. */
  packed?: { rows: number; named: number };
}

/** A filter's answer for a row it could not tell within its bound (else 1 or 0, as SQL booleans). */
export const UNDECIDED = 2;
const isHit = (hit: unknown) => Boolean(hit) && hit !== UNDECIDED;
/** What a scan walks and checks: `filter` may name ?2, bound to `list` (a JSON list of ids too long to write into the SQL). */
interface ScanOptions {
  table: string;
  columns: string;
  drivers: Drivers;
  filter: string;
  list?: string;
  before: number;
  limit: number;
  scanRows: number;
}

/** A statement of a scan: ?1 the position below which it walks, ?2 the filter's list when it has one. */
const scanStatement = (db: D1Database, sql: string, before: number, list: string | undefined) =>
  list === undefined ? db.prepare(sql).bind(before) : db.prepare(sql).bind(before, list);

/**
 * Walks each driver below `before` for scanRows / drivers rows, keeps
 * those matching `filter`, and merges them newest first. Every driver that ran
 * out of budget has seen everything from its last row up: the page holds only rows
 * above the highest such place and continues below it. (Packed drivers: packedScan.)
 * Conditions are SQL over the table's columns built by the store from integers it
 * holds, never from input.
 */
export async function boundedScan(db: D1Database, o: ScanOptions & { exact?: boolean; perNamed?: number }): Promise<ScanPage> {
  if (!Array.isArray(o.drivers)) return packedScan(db, { ...o, driver: o.drivers });
  const drivers = o.drivers;
  // Without a filter every walked row is a hit: one more than a page settles a single walk.
  // Otherwise the walks share scanRows, however many there are (a walk short of a page
  // only makes the page shorter, with the cursor below its last row).
  const budget = o.filter === "1" && drivers.length === 1 ? o.limit + 1 : Math.max(1, Math.floor(o.scanRows / drivers.length));
  const walks = drivers.map(
    (d, i) => `SELECT * FROM (SELECT ${i} AS driver, ${o.columns} FROM ${o.table} WHERE ${d} AND seq < ?1 ORDER BY seq DESC LIMIT ${budget})`,
  );
  // D1 allows five terms in a compound SELECT: five walks a statement, all in one batch.
  // Every walked row comes back as (driver, seq, hit): a few bytes each, and no
  // second pass over the walk in SQL.
  const statements = chunksOf(walks, 5).map((five) => {
    const sql = `SELECT driver, seq, (${o.filter}) AS hit FROM (${five.join(" UNION ALL ")}) AS walked`;
    return scanStatement(db, sql, o.before, o.list);
  });
  const done = await db.batch<{ driver: number; seq: number; hit: number }>(statements);
  const rowsRead = done.reduce((n, r) => n + r.meta.rows_read, 0);
  const walked = done.flatMap((r) => r.results);
  const perDriver = new Map<number, { floor: number; walked: number }>();
  for (const r of walked) {
    const d = perDriver.get(r.driver) ?? { floor: r.seq, walked: 0 };
    perDriver.set(r.driver, { floor: Math.min(d.floor, r.seq), walked: d.walked + 1 });
  }
  const results = walked.map((r) => ({ ...r, ...perDriver.get(r.driver)! }));
  // The highest row below which some driver has not looked yet.
  let cutoff: number | null = null;
  for (const r of results) if (r.walked >= budget && (cutoff === null || r.floor > cutoff)) cutoff = r.floor;
  const seen = results.filter((r) => cutoff === null || r.seq >= cutoff);
  const undecided = newestUndecided(seen);
  const hits = [...new Set(seen.filter((r) => isHit(r.hit) && (undecided === undefined || r.seq > undecided)).map((r) => r.seq))].sort((a, b) => b - a);
  if (hits.length > o.limit) return { seqs: hits.slice(0, o.limit), nextBefore: hits[o.limit - 1]!, rowsRead };
  if (undecided !== undefined) return { seqs: hits, nextBefore: undecided + 1, rowsRead, undecided };
  return { seqs: hits, nextBefore: cutoff, rowsRead };
}

/**
 * A scan of the table along the packed rows (packed.ts) of some keys, newest row first: at most
 * PACKED_ROWS packed rows (scanRows if fewer), and at most scanRows / 2 of the rows they name, read by seq and
 * checked against the filter (a position in a list costs a row read, as its row does). It takes
 * the rows named by whole packed rows (a few hundred positions each: far fewer than its bound), so
 * a call that stops at either bound has seen everything from its lowest packed row up and continues
 * below it. A few rows first, as a busy key fills a page from them, then more
 * (PACKED_STEPS) only while the page is not full, and no more than the rates seen so far say
 * should fill it or reach the named rows' bound (rowsLikelyNeeded). A step of rowsBoundedScan's
 * (`exact`) takes its few named rows in one step, its packed rows sized by `perNamed`.
 */
async function packedScan(
  db: D1Database,
  o: Omit<ScanOptions, "drivers" | "table"> & { driver: PackedDriver; exact?: boolean; perNamed?: number },
): Promise<ScanPage> {
  const hits: number[] = [];
  let before = o.before;
  let rowsRead = 0;
  // A costly filter (a status: each event's deliveries read) examines fewer rows, and walks fewer packed rows.
  let packedLeft = Math.min(PACKED_ROWS, o.scanRows);
  // (`exact`: never more named rows than that, at least one, taking part of a packed row if need be.)
  let namedLeft = o.exact ? Math.max(1, Math.floor(o.scanRows / 2)) : Math.floor(o.scanRows / 2);
  // What the steps so far found: packed rows whose named rows were taken, those rows, the hits among them.
  let taken = 0;
  let namedSeen = 0;
  // Rows the estimates kept the steps from reading: the extra step's share.
  let heldBack = 0;
  const rate = () => ({ rows: taken, named: namedSeen });
  for (let step = 0; step < PACKED_WALK_STEPS; step++) {
    // A step of rowsBoundedScan's (`exact`, its rows already few) walks at once to all the rows it may
    // name, at the rate its earlier steps saw (`perNamed`; a packed row a named row before any): each
    // packed step is two D1 calls one after the other (an organization token's status list made 24,
    // ~200 ms at 1M events). A rate too low only leaves the rest to the steps after.
    const sized = step === 0 && o.exact === true;
    const most = Math.min(sized ? packedLeft : (PACKED_STEPS[step] ?? heldBack), packedLeft, packedRowsAtOnce(o.driver));
    // (Sized, a quarter more than the rate says, so that a page's rows rarely need a step after.)
    const rowsNow = sized
      ? Math.min(most, Math.ceil(1.25 * namedLeft * (o.perNamed ?? 1)) + MIN_PACKED_STEP)
      : step === 0
        ? most
        : Math.min(most, rowsLikelyNeeded(taken, namedSeen, namedLeft, hits.length, o.limit));
    if (rowsNow <= 0) break;
    heldBack += most - rowsNow;
    // (The first step's rows are a page's worth, a packed row or two more.)
    const namedNow = step === 0 && !sized ? Math.min(2 * (o.limit + 1), namedLeft) : namedLeft;
    const { results: rows, meta } = await db.prepare(packedRowsSql(o.driver, rowsNow)).bind(before).all<PackedRow>();
    rowsRead += meta.rows_read;
    packedLeft -= rows.length;
    let cutoff: number | null = rows.length >= rowsNow ? rows[rows.length - 1]!.seq : null;
    const seqs: number[] = [];
    for (const row of rows) {
      // (The row holding `before` is walked from below it.)
      const found = seqsOf(o.driver, row).filter((s) => s < before);
      const room = namedNow - seqs.length;
      if (o.exact && found.length > room && room > 0) {
        // Its newest, and on below the last of them.
        seqs.push(...found.slice(0, room));
        cutoff = found[room - 1]!;
        break;
      }
      if ((seqs.length > 0 || o.exact) && found.length > room) {
        cutoff = row.last + 1;
        break;
      }
      seqs.push(...found);
      taken++;
    }
    namedLeft -= seqs.length;
    namedSeen += seqs.length;
    if (seqs.length > 0) {
      // Positions the store read, as literals (integers; ?1 is not used). Only the rows the filter
      // takes (or leaves undecided) come back: a walk's hundreds of others cost ~2.5 µs each to send
      // and decode (a rare key's walk answered ~4,000 rows for its 50). The LIMIT keeps SQLite from
      // merging the outer WHERE into the filter's query, which would run the filter twice a row
      // taken (its reads of deliveries again): the filter runs once a row, reading what it did.
      const named = `SELECT seq, (${o.filter}) AS hit FROM (SELECT ${o.columns} FROM ${o.driver.packing.source} WHERE seq IN (${seqs.map((s) => Math.trunc(s)).join(", ")})) AS walked LIMIT -1`;
      const sql = `SELECT seq, hit FROM (${named}) WHERE hit`;
      const { results, meta: walkedMeta } = await (o.list === undefined ? db.prepare(sql) : scanStatement(db, sql, before, o.list)).all<{ seq: number; hit: number }>();
      rowsRead += walkedMeta.rows_read;
      const undecided = newestUndecided(results);
      hits.push(...results.filter((r) => isHit(r.hit) && (undecided === undefined || r.seq > undecided)).map((r) => r.seq).sort((a, b) => b - a));
      if (undecided !== undefined && hits.length <= o.limit) return { seqs: hits, nextBefore: undecided + 1, rowsRead, undecided, packed: rate() };
    }
    if (hits.length > o.limit) return { seqs: hits.slice(0, o.limit), nextBefore: hits[o.limit - 1]!, rowsRead, packed: rate() };
    if (cutoff === null || hits.length === o.limit || packedLeft <= 0 || namedLeft <= 0) return { seqs: hits, nextBefore: cutoff, rowsRead, packed: rate() };
    before = cutoff;
  }
  return { seqs: hits, nextBefore: before, rowsRead, packed: rate() };
}

/**
 * The packed rows a later step walks: as many as, at the rates the steps so far saw, should reach
 * the named rows' bound or fill the page (limit + 1 hits), whichever comes first, with a margin;
 * none known yet, no fewer than its share. A busy key (an organization's token: about a named row
 * a packed row) reaches its 2,000 named rows some 1,200 rows into a step of 3,000, and a page is
 * often full a few hundred rows in: the rest were read for nothing (~40% of such a walk's rows and
 * time, on the seeded million). Fewer rows than needed only end the page sooner, at its cursor;
 * a walk has one step more for that (PACKED_STEPS), of the rows held back, never more rows.
 */
function rowsLikelyNeeded(taken: number, named: number, namedLeft: number, hits: number, limit: number): number {
  const needs: number[] = [];
  // Named rows come at a steady rate (hundreds a step): a quarter more. Hits are fewer, so twice as many.
  if (named > 0) needs.push(1.25 * ((namedLeft * taken) / named));
  if (hits > 0) needs.push(2 * (((limit + 1 - hits) * taken) / hits));
  return needs.length === 0 ? Number.POSITIVE_INFINITY : Math.ceil(Math.min(...needs)) + MIN_PACKED_STEP;
}
/** The fewest packed rows rowsLikelyNeeded adds to its estimate (few hits: a rate a few rows off). */
const MIN_PACKED_STEP = 20;

/** The newest row the filter answered UNDECIDED for. */
function newestUndecided(rows: { seq: number; hit: unknown }[]): number | undefined {
  let newest: number | undefined;
  for (const r of rows) if (r.hit === UNDECIDED && (newest === undefined || r.seq > newest)) newest = r.seq;
  return newest;
}

/**
 * boundedScan for a filter whose cost per row examined is not known beforehand (a status: each
 * event's deliveries read, as many as it has): steps of it, a few rows first, then more as the D1
 * rows left of `maxRowsRead` allow at what rows examined have cost (cautiously: below), until the
 * page is full, `scanRows` were examined or the rows read near the bound. The bound is hard: each
 * step's filter is built (`filterWithin`) to read at most so many rows per row it examines that
 * the step stays within the rows left (the first, within half of them), and answers UNDECIDED for
 * a row it could not tell within them; the step's page ends above that row, and the next step
 * examines it alone, with every row left (half the bound at least: else the call ends there, and
 * the next one gets to it after its first step). A row not decided even so (an event with over
 * ~3,000 deliveries, none of those read in the status) is decided by `exactFilter`, reading what
 * that row takes: the one call that passes the bound, by one event's deliveries, as a filter's
 * answer is never a guess.
 */
export async function rowsBoundedScan(
  db: D1Database,
  o: Omit<ScanOptions, "filter"> & {
    /** The filter (1, 0 or UNDECIDED) reading at most so many rows per row examined, that row's own included; null if none can. */
    filterWithin: (rowsPerRow: number) => string | null;
    /** The same filter, 1 or 0, whatever it reads: for a row filterWithin could not decide even alone. */
    exactFilter: string;
    /** The fewest rows a later step leaves its filter a row (room to decide a typical one). */
    minRoom: number;
    /** The rows each statement of the filter reads once, whatever it examines (its bound list, read where it is probed). */
    statementRows?: number;
    maxRowsRead: number;
  },
): Promise<ScanPage> {
  const seqs: number[] = [];
  let before = o.before;
  let examined = 0;
  let rowsRead = 0;
  let perRow = 0;
  // A packed walk's packed rows taken and the rows they named so far (its later steps' walks are sized by them).
  const packed = { rows: 0, named: 0 };
  let step = Math.min(FIRST_STEP, o.scanRows);
  for (let first = true; ; first = false) {
    // The first step knows nothing of what rows cost: it keeps half the rows for a row it could not decide.
    const left = o.maxRowsRead - rowsRead;
    const shape = stepShape(o.drivers, step);
    // (With no room left for even the cheapest check: the call ends, unless it has moved nowhere yet, as
    // its next would do the same: then the exact check, past the bound, of the one row left to decide.)
    const fixed = shape.walked + shape.statements * (o.statementRows ?? 0);
    const filter = o.filterWithin(Math.floor(((first ? left / 2 : left) - fixed) / shape.examined)) ?? (before < o.before ? null : o.exactFilter);
    if (filter === null) return { seqs, nextBefore: before, rowsRead };
    const perNamed = packed.named > 0 ? packed.rows / packed.named : undefined;
    const page = await boundedScan(db, { ...o, filter, before, limit: o.limit - seqs.length, scanRows: step, exact: true, perNamed });
    examined += step;
    rowsRead += page.rowsRead;
    packed.rows += page.packed?.rows ?? 0;
    packed.named += page.packed?.named ?? 0;
    if (page.undecided !== undefined && page.undecided === before - 1 && step === 1) {
      // Not decided alone: with half the bound or more left, decided by `exactFilter` (see above); else the next
      // call decides it, unless this call has moved nowhere yet (its next would do the same: decided here).
      if (left < o.maxRowsRead / 2 && before < o.before) return { seqs, nextBefore: before, rowsRead };
      const alone = await scanStatement(db, `SELECT (${o.exactFilter}) AS hit FROM (SELECT ${o.columns} FROM ${o.table} WHERE seq = ?1) AS walked`, page.undecided, o.list).all<{ hit: number }>();
      rowsRead += alone.meta.rows_read;
      if (alone.results[0]?.hit) seqs.push(page.undecided);
      before = page.undecided;
    } else {
      seqs.push(...page.seqs);
      if (page.nextBefore === null || seqs.length >= o.limit) return { seqs, nextBefore: page.nextBefore, rowsRead };
      before = page.nextBefore;
    }
    if (seqs.length >= o.limit) return { seqs, nextBefore: before, rowsRead };
    // An estimate, so a cautious one: older events can cost more than the newest (cheap newest
    // events averaged in once let a step of 1,800 costly ones read 12,519 rows), and a packed walk
    // takes whole packed rows, more than a small step's share. So: the costliest step's rate so far,
    // half the rows left (and so, as its filter may read all of them, twice that rate a row), at least
    // minRoom a row, at most twice what was examined; and not a step too small to be worth its
    // statement. After an undecided row, that row alone.
    perRow = Math.max(perRow, Math.max(1, page.rowsRead) / step);
    if (page.undecided !== undefined && before === page.undecided + 1) step = 1;
    else {
      step = Math.min(o.scanRows - examined, examined, Math.floor((o.maxRowsRead - rowsRead) / Math.max(2 * perRow, o.minRoom)));
      if (step < 1 || (step < MIN_STEP && step * perRow < MIN_STEP_ROWS)) return { seqs, nextBefore: before, rowsRead };
    }
  }
}

/**
 * The rows a step of `step` (its scanRows) examines at most, the rows it reads walking to
 * them besides (a packed walk's packed rows; a walk of the table reads each row as it examines it),
 * and the statements that check them at most (a packed walk's, one each of its steps; else five walks a statement).
 */
function stepShape(drivers: Drivers, step: number): { examined: number; walked: number; statements: number } {
  if (!Array.isArray(drivers)) return { examined: Math.max(1, Math.floor(step / 2)), walked: Math.min(PACKED_ROWS, step), statements: PACKED_WALK_STEPS };
  return { examined: Math.max(1, Math.floor(step / Math.max(1, drivers.length))) * drivers.length, walked: 0, statements: Math.ceil(drivers.length / 5) };
}

/** rowsBoundedScan's first step: a busy filter's page is found in it. */
const FIRST_STEP = 200;
/** rowsBoundedScan's smallest later step, unless it may read MIN_STEP_ROWS (costly rows): below it the call answers its cursor. */
const MIN_STEP = 50;
const MIN_STEP_ROWS = 500;
