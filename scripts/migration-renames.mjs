// Migrations that were on main and were later renamed or removed. A database migrated at such a
// commit has the old name in its migrations table: wrangler would apply the successor again
// (`duplicate column name`, `table … already exists`) or one that assumes the removed one was
// not (`no such table`). Released migrations are never edited (docs/architecture.md), so the
// database is brought to what the current files expect before they are applied: by local-migrations.mjs
// (npm run dev, db:migrate:local), remote-migrations.mjs (db:migrate:remote) and `edgehook setup`.
// On a database migrated from the current files no rule applies: nothing is written.
//
// Migrations edited after they were on main (EDITED) are the same case: a database that applied the
// earlier text has the name recorded, so the edit never runs there. Each rule finds that earlier
// state in the schema itself (sqlite_master) and brings it to what the current text makes.

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

/** `p0, p1, … p{n-1}`: a counter row's columns. @param {string} p @param {number} n */
const cols = (p, n) => Array.from({ length: n }, (_, i) => `${p}${i}`);
const eventCols = cols("n", 30);
const attemptCols = [...cols("a", 30), ...cols("ok", 30)];

/**
 * What a database's sqlite_master says of one object.
 * @typedef {{ type?: unknown, name?: unknown, sql?: unknown }} SchemaRow
 */

/**
 * Migrations edited after they were on main: `when` a database that applied `after` shows the
 * earlier text's result in its schema, `sql` makes the current text's, rows kept. The other edits
 * change nothing a later migration or the Worker relies on (docs/operations.md, upgrading).
 * @type {{ after: string, why: string, when: (has: (type: string, name: string) => SchemaRow | undefined) => boolean, sql: string[] }[]}
 */
export const EDITED = [
  {
    // 0022 at first kept event_counts keyed by scope, with an hour index; now keyed by hour, with a scope index.
    after: "0022_event_count_marks.sql",
    why: "event_counts keyed hour first",
    when: (has) => has("index", "event_counts_hour") !== undefined,
    sql: [
      `CREATE TABLE event_counts_by_hour ( scope INTEGER NOT NULL, hour INTEGER NOT NULL, owner INTEGER NOT NULL, ${eventCols.map((c) => `${c} INTEGER NOT NULL DEFAULT 0`).join(", ")}, PRIMARY KEY (hour, scope, owner) ) WITHOUT ROWID`,
      `INSERT INTO event_counts_by_hour (scope, hour, owner, ${eventCols.join(", ")}) SELECT scope, hour, owner, ${eventCols.join(", ")} FROM event_counts`,
      "DROP TABLE event_counts",
      "ALTER TABLE event_counts_by_hour RENAME TO event_counts",
      "CREATE INDEX event_counts_scope ON event_counts (scope, hour, owner)",
    ],
  },
  {
    // 0032 at first had no partial index of failed deliveries.
    after: "0032_deliveries_webhook_index.sql",
    why: "deliveries_failed index",
    when: (has) => has("index", "deliveries_failed") === undefined,
    sql: ["CREATE INDEX deliveries_failed ON deliveries (webhook, seq) WHERE status = 3"],
  },
  {
    // 0036 at first kept the block indexes (0024, 0025) that nothing reads since.
    after: "0036_event_places.sql",
    why: "block indexes dropped",
    when: (has) => has("index", "events_location_block") !== undefined || has("index", "events_organization_block") !== undefined,
    sql: ["DROP INDEX IF EXISTS events_location_block", "DROP INDEX IF EXISTS events_organization_block"],
  },
  {
    // 0041's delete trigger at first left an hour's attempt_totals row behind, at zero, forever.
    after: "0041_counter_totals.sql",
    why: "attempt_totals row deleted with its hour's last counts",
    when: (has) => {
      const sql = has("trigger", "attempt_totals_removed")?.sql;
      return typeof sql === "string" && !sql.includes("DELETE FROM attempt_totals");
    },
    sql: [
      "DROP TRIGGER attempt_totals_removed",
      `CREATE TRIGGER attempt_totals_removed AFTER DELETE ON attempt_counts BEGIN UPDATE attempt_totals SET ${attemptCols.map((c) => `${c} = ${c} + -OLD.${c}`).join(", ")} WHERE hour = OLD.hour; DELETE FROM attempt_totals WHERE hour = OLD.hour AND NOT EXISTS (SELECT 1 FROM attempt_counts WHERE hour = OLD.hour); END`,
      // The rows it left: hours none of whose counts are left, so all zero.
      "DELETE FROM attempt_totals WHERE hour NOT IN (SELECT hour FROM attempt_counts)",
    ],
  },
  {
    // 0054 at first held the account-wide bound only, not each owner's share (which 0055 changes).
    after: "0054_filter_program_bound.sql",
    why: "filter programs' owner shares",
    when: (has) => has("table", "filter_program_shares") === undefined,
    sql: [
      `ALTER TABLE webhooks ADD COLUMN filter_owner TEXT GENERATED ALWAYS AS ( CASE WHEN coalesce(organization_uid, grant_organization_uid) IS NOT NULL THEN 'organization:' || coalesce(organization_uid, grant_organization_uid) WHEN location_uid IS NOT NULL THEN 'location:' || location_uid END ) VIRTUAL`,
      "CREATE TABLE filter_program_shares ( owner TEXT PRIMARY KEY, instructions INTEGER NOT NULL DEFAULT 0 ) WITHOUT ROWID",
      "INSERT INTO filter_program_shares (owner, instructions) SELECT filter_owner, sum(filter_program) FROM webhooks WHERE filter_owner IS NOT NULL AND filter_program <> 0 GROUP BY filter_owner",
      "CREATE TRIGGER filter_program_share_added AFTER INSERT ON webhooks WHEN NEW.filter_program <> 0 AND NEW.filter_owner IS NOT NULL BEGIN INSERT INTO filter_program_shares (owner) VALUES (NEW.filter_owner) ON CONFLICT DO NOTHING; UPDATE filter_program_shares SET instructions = instructions + NEW.filter_program WHERE owner = NEW.filter_owner; END",
      "CREATE TRIGGER filter_program_share_changed AFTER UPDATE OF filter_program, organization_uid, grant_organization_uid, location_uid ON webhooks WHEN NEW.filter_owner IS OLD.filter_owner AND NEW.filter_owner IS NOT NULL AND NEW.filter_program <> OLD.filter_program BEGIN INSERT INTO filter_program_shares (owner) VALUES (NEW.filter_owner) ON CONFLICT DO NOTHING; UPDATE filter_program_shares SET instructions = instructions + NEW.filter_program - OLD.filter_program WHERE owner = NEW.filter_owner; END",
      "CREATE TRIGGER filter_program_share_moved AFTER UPDATE OF filter_program, organization_uid, grant_organization_uid, location_uid ON webhooks WHEN NEW.filter_owner IS NOT OLD.filter_owner BEGIN UPDATE filter_program_shares SET instructions = instructions - OLD.filter_program WHERE owner = OLD.filter_owner AND OLD.filter_program <> 0; INSERT INTO filter_program_shares (owner) SELECT NEW.filter_owner WHERE NEW.filter_owner IS NOT NULL AND NEW.filter_program <> 0 ON CONFLICT DO NOTHING; UPDATE filter_program_shares SET instructions = instructions + NEW.filter_program WHERE owner = NEW.filter_owner AND NEW.filter_program <> 0; END",
      "CREATE TRIGGER filter_program_share_removed AFTER DELETE ON webhooks WHEN OLD.filter_program <> 0 AND OLD.filter_owner IS NOT NULL BEGIN UPDATE filter_program_shares SET instructions = instructions - OLD.filter_program WHERE owner = OLD.filter_owner; END",
      "CREATE TRIGGER filter_program_share_bound BEFORE UPDATE OF instructions ON filter_program_shares WHEN NEW.instructions > OLD.instructions AND NEW.instructions > 32768 BEGIN SELECT RAISE(ABORT, 'filter_program_share_bound'); END",
      "CREATE TRIGGER filter_program_share_emptied AFTER UPDATE OF instructions ON filter_program_shares WHEN NEW.instructions = 0 BEGIN DELETE FROM filter_program_shares WHERE owner = NEW.owner; END",
    ],
  },
];

/**
 * The statements that bring a database whose migrations table (`table`, quoted) names `applied`
 * and whose sqlite_master holds `schema` to what the current migrations expect: renamed ones
 * recorded (renameRepairs), then edited ones made as they are now; none on a database migrated
 * from the current files.
 * @param {Iterable<string>} applied @param {SchemaRow[]} schema @param {string} [table]
 * @returns {string[]}
 */
export function repairs(applied, schema, table = "d1_migrations") {
  const done = new Set(applied);
  const out = renameRepairs(done, table);
  for (const r of RENAMED) if (done.has(r.was)) for (const name of r.now) done.add(name);
  /** @param {string} type @param {string} name */
  const has = (type, name) => schema.find((o) => o.type === type && o.name === name);
  for (const e of EDITED) if (done.has(e.after) && e.when(has)) out.push(...e.sql);
  return out;
}

/**
 * repairs on a database reached by `query` (a remote one, through `wrangler d1 execute
 * --remote --json --command`): reads its schema and its migrations table, if it has one, and runs
 * the repairs, if any, in one command. Answers the statements run.
 * @param {(sql: string) => Promise<Record<string, unknown>[]>} query the rows of the command's last statement
 * @param {string} [table]
 * @returns {Promise<string[]>}
 */
export async function repairWith(query, table = "d1_migrations") {
  const schema = await query("SELECT type, name, sql FROM sqlite_master");
  if (!schema.some((o) => o.name === table)) return [];
  const out = repairs((await query(`SELECT name FROM ${table}`)).map((r) => String(r.name)), schema, table);
  if (out.length > 0) await query(out.join(";\n"));
  return out;
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
