// Bounded scans: a list walks one or more index ranges newest first (each a
// "driver": a condition an index serves, ordered by seq), checks the other
// filters along the way, and stops after a fixed number of rows whether or not
// the page is full (filters see the walked row as `walked`). What it could not look at is where the next call continues,
// so a rare filter costs more calls, never a longer one.

/** A condition one index serves in `seq` order (e.g. `organization = 7`), or "1" for the table itself. */
export type Driver = string;

export interface ScanPage {
  /** Matching positions, newest first, at most `limit`. */
  seqs: number[];
  /** Where to continue (strictly below), or null when nothing is left. */
  nextBefore: number | null;
}

/**
 * Walks each driver below `before` for scanRows / drivers rows, keeps
 * those matching `filter`, and merges them newest first. Every driver that ran
 * out of budget has seen everything from its last row up, so the page holds only
 * rows above the highest such row and continues below it. Conditions are SQL over
 * the table's columns built by the store from integers it holds, never from input.
 */
export async function boundedScan(
  db: D1Database,
  o: { table: string; columns: string; drivers: Driver[]; filter: string; before: number; limit: number; scanRows: number },
): Promise<ScanPage> {
  // Without a filter every walked row is a hit: one more than a page settles a single walk.
  // Otherwise the walks share scanRows, however many there are (a walk short of a page
  // only makes the page shorter, with the cursor below its last row).
  const budget = o.filter === "1" && o.drivers.length === 1 ? o.limit + 1 : Math.max(1, Math.floor(o.scanRows / o.drivers.length));
  const walks = o.drivers.map(
    (d, i) => `SELECT * FROM (SELECT ${i} AS driver, ${o.columns} FROM ${o.table} WHERE ${d} AND seq < ?1 ORDER BY seq DESC LIMIT ${budget})`,
  );
  // D1 allows five terms in a compound SELECT: five walks a statement, all in one batch.
  // Every walked row comes back as (driver, seq, hit): a few bytes each, and no
  // second pass over the walk in SQL.
  const statements = Array.from({ length: Math.ceil(walks.length / 5) }, (_, i) =>
    db.prepare(`SELECT driver, seq, (${o.filter}) AS hit FROM (${walks.slice(i * 5, i * 5 + 5).join(" UNION ALL ")}) AS walked`).bind(o.before),
  );
  const walked = (await db.batch<{ driver: number; seq: number; hit: number }>(statements)).flatMap((r) => r.results);
  const perDriver = new Map<number, { floor: number; walked: number }>();
  for (const r of walked) {
    const d = perDriver.get(r.driver) ?? { floor: r.seq, walked: 0 };
    perDriver.set(r.driver, { floor: Math.min(d.floor, r.seq), walked: d.walked + 1 });
  }
  const results = walked.map((r) => ({ ...r, ...perDriver.get(r.driver)! }));
  // The highest row below which some driver has not looked yet.
  let cutoff: number | null = null;
  for (const r of results) if (r.walked >= budget && (cutoff === null || r.floor > cutoff)) cutoff = r.floor;
  const hits = [...new Set(results.filter((r) => r.hit && (cutoff === null || r.seq >= cutoff)).map((r) => r.seq))].sort((a, b) => b - a);
  if (hits.length > o.limit) return { seqs: hits.slice(0, o.limit), nextBefore: hits[o.limit - 1]! };
  return { seqs: hits, nextBefore: cutoff };
}
