// Migrations that were on main and were later renamed or removed. A database migrated at such a
// commit has the old name in its migrations table: wrangler would apply the successor again
// (`duplicate column name`, `table … already exists`) or one that assumes the removed one was
// not (`no such table`). Released migrations are never edited (docs/architecture.md), so the
// database is brought to what the current files expect before they are applied: by local-migrations.mjs
// (npm run dev, db:migrate:local), remote-migrations.mjs (db:migrate:remote) and `edgehook setup`.
// On a database migrated from the current files no rule applies: nothing is written.

/**
 * `was` applied means `now` is done: the same statements under another name (0017 renamed 0016,
 * 0042s renamed 0043 and 0044), or 0024_place_blocks split in two with the same end state.
 * @type {{ was: string, now: string[] }[]}
 */
export const RENAMED = [
  { was: "0017_alert_counts.sql", now: ["0016_alert_counts.sql"] },
  { was: "0024_place_blocks.sql", now: ["0024_location_block.sql", "0025_organization_block.sql"] },
  { was: "0042_health_disabled.sql", now: ["0043_health_disabled.sql"] },
  { was: "0042_rejection_hours.sql", now: ["0044_rejection_hours.sql"] },
];

/**
 * `was` applied and `until` not: `sql` gives `until` what it drops. 0016_one_attempt_count dropped
 * webhook_attempt_hours, which 0021_drop_unused drops later; the table is made again, empty (its
 * rows were gone with it), for 0021 to drop.
 * @type {{ was: string, until: string, sql: string }[]}
 */
export const REMOVED = [
  {
    was: "0016_one_attempt_count.sql",
    until: "0021_drop_unused.sql",
    sql: "CREATE TABLE IF NOT EXISTS webhook_attempt_hours (webhook_uid TEXT NOT NULL, hour INTEGER NOT NULL, attempts INTEGER NOT NULL, succeeded INTEGER NOT NULL, PRIMARY KEY (webhook_uid, hour)) WITHOUT ROWID",
  },
];

/**
 * The statements that bring a database whose migrations table (`table`, quoted) names `applied`
 * to what the current migrations expect; none when no renamed or removed migration is applied.
 * @param {Iterable<string>} applied @param {string} [table]
 * @returns {string[]}
 */
export function renameRepairs(applied, table = "d1_migrations") {
  const done = new Set(applied);
  /** @type {string[]} */
  const out = [];
  for (const r of REMOVED) if (done.has(r.was) && !done.has(r.until)) out.push(r.sql);
  for (const r of RENAMED) {
    if (!done.has(r.was)) continue;
    for (const name of r.now) if (!done.has(name)) out.push(`INSERT INTO ${table} (name) VALUES ('${name}')`);
  }
  return out;
}

/**
 * renameRepairs on a database reached by `query` (a remote one, through `wrangler d1 execute
 * --remote --json --command`): reads its migrations table, if it has one, and runs the repairs,
 * if any, in one command. Answers the statements run.
 * @param {(sql: string) => Promise<Record<string, unknown>[]>} query the rows of the command's last statement
 * @param {string} [table]
 * @returns {Promise<string[]>}
 */
export async function repairWith(query, table = "d1_migrations") {
  const has = await query(`SELECT name FROM sqlite_master WHERE type = 'table' AND name = '${table}'`);
  if (has.length === 0) return [];
  const repairs = renameRepairs((await query(`SELECT name FROM ${table}`)).map((r) => String(r.name)), table);
  if (repairs.length > 0) await query(repairs.join(";\n"));
  return repairs;
}

/**
 * The rows of the last statement `wrangler d1 execute --json` printed: an array of results, each
 * `{ results: rows }`; none for anything else (a dry run printed nothing).
 * @param {unknown} printed
 * @returns {Record<string, unknown>[]}
 */
export function rowsOf(printed) {
  const last = Array.isArray(printed) ? printed.at(-1) : undefined;
  const rows = typeof last === "object" && last !== null && "results" in last ? last.results : undefined;
  return Array.isArray(rows) ? rows.filter((r) => typeof r === "object" && r !== null) : [];
}
