// Bounded scans: a list walks one or more index ranges newest first (each a
// "driver": a condition an index serves, ordered by seq), checks the other
// filters along the way, and stops after a fixed number of rows whether or not
// the page is full (filters see the walked row as `walked`). What it could not look at is where the next call continues,
// so a rare filter costs more calls, never a longer one.
import { chunksOf } from "./chunks";

/**
 * Positions (`seq`) in one block of a block index, as a power of two: the events
 * indexes by location and organization lead with `seq >> 12` (migrations 0024, 0025), so
 * a batch of events writes their entries into a few pages at the end of the index
 * instead of one page per location or organization across it.
 */
export const BLOCK_BITS = 12;
const BLOCK = 2 ** BLOCK_BITS;

/** Blocks one call seeks at most, shared by its block drivers: 4M positions for one. */
export const BLOCK_SEEKS = 1024;

/**
 * A condition one index serves in `seq` order (e.g. `webhook = 7 AND status = 1`),
 * or "1" for the table itself; or one that a block index (`seq >> BLOCK_BITS`, then
 * the condition's column, then `seq`) serves a block at a time, newest block first.
 */
export type Driver = string | BlockDriver;
export interface BlockDriver {
  index: string;
  where: string;
}

export interface ScanPage {
  /** Matching positions, newest first, at most `limit`. */
  seqs: number[];
  /** Where to continue (strictly below), or null when nothing is left. */
  nextBefore: number | null;
}

/** The blocks the block drivers of a call seek, newest first: `hi` down to `lo`, and whether `lo` holds the oldest row. */
interface BlockWindow {
  hi: number;
  lo: number;
  bottom: boolean;
}

/**
 * Walks each driver below `before` for scanRows / drivers rows, keeps
 * those matching `filter`, and merges them newest first. Every driver that ran
 * out of budget has seen everything from its last row up, and block drivers have
 * seen everything from their window's lowest block up: the page holds only rows
 * above the highest such place and continues below it. Conditions are SQL over
 * the table's columns built by the store from integers it holds, never from input.
 */
export async function boundedScan(
  db: D1Database,
  o: { table: string; columns: string; drivers: Driver[]; filter: string; before: number; limit: number; scanRows: number },
): Promise<ScanPage> {
  const blockDrivers = o.drivers.filter((d) => typeof d !== "string").length;
  const window = blockDrivers > 0 ? await blockWindow(db, o.table, o.before, Math.max(1, Math.floor(BLOCK_SEEKS / blockDrivers))) : NO_BLOCKS;
  if (window === null) return { seqs: [], nextBefore: null };
  // Without a filter every walked row is a hit: one more than a page settles a single walk.
  // Otherwise the walks share scanRows, however many there are (a walk short of a page
  // only makes the page shorter, with the cursor below its last row).
  const budget = o.filter === "1" && o.drivers.length === 1 ? o.limit + 1 : Math.max(1, Math.floor(o.scanRows / o.drivers.length));
  const walks = o.drivers.map((d, i) =>
    typeof d === "string"
      ? `SELECT * FROM (SELECT ${i} AS driver, ${o.columns} FROM ${o.table} WHERE ${d} AND seq < ?1 ORDER BY seq DESC LIMIT ${budget})`
      : // Ordered as the index is (block, then seq, both descending), SQLite takes the IN list's
        // blocks newest first and the walk stops at its budget without sorting what it found.
        `SELECT * FROM (SELECT ${i} AS driver, ${o.columns} FROM ${o.table} INDEXED BY ${d.index}
         WHERE (seq >> ${BLOCK_BITS}) IN (${blockList(window)})
           AND ${d.where} AND seq < ?1 ORDER BY (seq >> ${BLOCK_BITS}) DESC, seq DESC LIMIT ${budget})`,
  );
  // D1 allows five terms in a compound SELECT: five walks a statement, all in one batch.
  // Every walked row comes back as (driver, seq, hit): a few bytes each, and no
  // second pass over the walk in SQL.
  const statements = chunksOf(walks, 5).map((five) => {
    const sql = `SELECT driver, seq, (${o.filter}) AS hit FROM (${five.join(" UNION ALL ")}) AS walked`;
    return db.prepare(sql).bind(o.before);
  });
  const walked = (await db.batch<{ driver: number; seq: number; hit: number }>(statements)).flatMap((r) => r.results);
  const perDriver = new Map<number, { floor: number; walked: number }>();
  for (const r of walked) {
    const d = perDriver.get(r.driver) ?? { floor: r.seq, walked: 0 };
    perDriver.set(r.driver, { floor: Math.min(d.floor, r.seq), walked: d.walked + 1 });
  }
  const results = walked.map((r) => ({ ...r, ...perDriver.get(r.driver)! }));
  // The highest row below which some driver has not looked yet.
  let cutoff: number | null = window.bottom ? null : window.lo * BLOCK;
  for (const r of results) if (r.walked >= budget && (cutoff === null || r.floor > cutoff)) cutoff = r.floor;
  const hits = [...new Set(results.filter((r) => r.hit && (cutoff === null || r.seq >= cutoff)).map((r) => r.seq))].sort((a, b) => b - a);
  if (hits.length > o.limit) return { seqs: hits.slice(0, o.limit), nextBefore: hits[o.limit - 1]! };
  return { seqs: hits, nextBefore: cutoff };
}

/** The window of a scan without block drivers: nothing seeks it, nothing lies below it. */
const NO_BLOCKS: BlockWindow = { hi: 0, lo: 0, bottom: true };

/** The window's blocks, newest first, as SQL: integers the store computed. */
const blockList = (w: BlockWindow) => Array.from({ length: w.hi - w.lo + 1 }, (_, i) => w.hi - i).join(", ");

/** Up to `blocks` block numbers below `before`, from its block down, none below the oldest row's; null when no row is below it. */
async function blockWindow(db: D1Database, table: string, before: number, blocks: number): Promise<BlockWindow | null> {
  // Each in a query of its own: SQLite reads one end of the key for min() or max() alone, not for both.
  const span = await db
    .prepare(`SELECT (SELECT min(seq) FROM ${table}) AS oldest, (SELECT max(seq) FROM ${table}) AS newest`)
    .first<{ oldest: number | null; newest: number | null }>();
  if (span?.oldest == null || span.newest == null || before <= span.oldest) return null;
  const hi = Math.floor(Math.min(before - 1, span.newest) / BLOCK);
  const oldest = Math.floor(span.oldest / BLOCK);
  const lo = Math.max(oldest, hi - blocks + 1);
  return { hi, lo, bottom: lo === oldest };
}
