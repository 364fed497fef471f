// scripts/local-migrations.mjs: the local database migrated in one runtime (npm run dev, the seed,
// the benches and these tests' stacks), recorded as wrangler records them. And
// scripts/migration-renames.mjs: a database migrated at a commit of main whose migrations were
// renamed, removed or edited since upgrades to the current files' schema, its rows kept. Each old
// state is the current files before a cut plus the old ones (the removed ones in
// test/fixtures/removed-migrations, the edited ones' earlier text in test/fixtures/edited-migrations,
// as they were on main), applied as that commit's `npm run db:migrate:local` applied them.
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { getPlatformProxy, type PlatformProxy } from "wrangler";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyLocalMigrations, applyMigrationsTo } from "../../scripts/local-migrations.mjs";
import { renameRepairs, repairs, repairWith } from "../../scripts/migration-renames.mjs";

const root = resolve(import.meta.dirname, "../..");
const current = readdirSync(join(root, "migrations")).filter((f) => f.endsWith(".sql")).sort();
const oldDir = join(root, "test/fixtures/removed-migrations");
const editedDir = join(root, "test/fixtures/edited-migrations");
const dirs: string[] = [];
const tempDir = (prefix: string) => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe("applyLocalMigrations", () => {
  it("applies every migration to a new local database, and wrangler then finds none to apply", async () => {
    const state = tempDir("edgehook-migrate-test-");
    expect(await applyLocalMigrations({ persistTo: state })).toEqual(current);

    const list = spawnSync(process.execPath, [join(root, "node_modules/wrangler/bin/wrangler.js"), "d1", "migrations", "list", "DB", "--local", "--persist-to", state], {
      cwd: root,
      encoding: "utf8",
      env: { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false" },
    });
    expect(list.status, list.stderr).toBe(0);
    expect(list.stdout).toContain("No migrations to apply");

    expect(await applyLocalMigrations({ persistTo: state })).toEqual([]);
  }, 120_000);

  it("names a migration that fails, keeps those before it, and applies none of the one that failed", async () => {
    const project = tempDir("edgehook-migrate-project-");
    mkdirSync(join(project, "migrations"));
    const config = join(project, "wrangler.json");
    writeFileSync(config, JSON.stringify({ name: "m", compatibility_date: "2026-11-01", d1_databases: [{ binding: "DB", database_name: "m", database_id: "00000000-0000-0000-0000-00000000000a", migrations_dir: "migrations" }] }));
    writeFileSync(join(project, "migrations/0001_a.sql"), "CREATE TABLE a (x INTEGER);\n");
    writeFileSync(join(project, "migrations/0002_b.sql"), "CREATE TABLE b (x INTEGER);\nINSERT INTO missing VALUES (1);\n");
    const state = join(project, "state");

    await expect(applyLocalMigrations({ persistTo: state, config })).rejects.toThrow(/migration 0002_b\.sql failed: .*missing/);

    // Table b was not left behind (creating it again would fail), and 0001 is not applied again.
    writeFileSync(join(project, "migrations/0002_b.sql"), "CREATE TABLE b (x INTEGER);\nINSERT INTO a VALUES (1);\n");
    expect(await applyLocalMigrations({ persistTo: state, config })).toEqual(["0002_b.sql"]);
  }, 120_000);
});

// Renamed ones were the same statements as their successors (0042_health_disabled but for its comment).
const RENAMED_FROM: Record<string, string> = {
  "0017_alert_counts.sql": "0016_alert_counts.sql",
  "0042_health_disabled.sql": "0043_health_disabled.sql",
  "0042_rejection_hours.sql": "0044_rejection_hours.sql",
};

/** What this uses of the local runtime's D1 binding. */
type Db = { prepare(sql: string): Statement; batch(statements: Statement[]): Promise<unknown> };
type Statement = { run(): Promise<unknown>; all(): Promise<{ results: Record<string, unknown>[] }> };
const isDb = (v: unknown): v is Db => typeof v === "object" && v !== null && "prepare" in v && "batch" in v;

/**
 * Applies these files (the current ones, a renamed one's successor, the removed ones of oldDir, or
 * the `edited` one's earlier text) to `db`, as applyLocalMigrations applies them.
 */
async function migrateWith(db: Db, names: string[], edited?: string) {
  const migrationsDir = tempDir("edgehook-old-migrations-");
  for (const name of names) {
    const from =
      name === edited ? join(editedDir, name) : readdirSync(oldDir).includes(name) ? join(oldDir, name) : join(root, "migrations", RENAMED_FROM[name] ?? name);
    copyFileSync(from, join(migrationsDir, name));
  }
  return applyMigrationsTo(db, { migrationsDir });
}

/** The current files applied to `db`, as applyLocalMigrations (npm run dev, db:migrate:local) applies them. */
const migrate = (db: Db) => applyMigrationsTo(db, { migrationsDir: join(root, "migrations") });

/** Every table, column, index and trigger of the database, not the migrations' record; its SQL without comments or layout. */
const schemaOf = (db: Db) =>
  db
    .prepare("SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' AND name != 'd1_migrations' ORDER BY type, name")
    .all()
    .then((r) => r.results.map((o) => ({ ...o, sql: String(o.sql).replace(/--[^\n]*/g, "").replace(/\s+/g, " ").replace(/ ?([(),]) ?/g, "$1") })));

// The migrations applied at each commit of main that had a renamed or removed one.
const before = (cut: string) => current.filter((n) => n < cut);
const OLD_STATES: Record<string, string[]> = {
  "61232ea0": [...before("0016"), "0016_one_attempt_count.sql"],
  "1a35b639": [...before("0016"), "0016_one_attempt_count.sql", "0017_alert_counts.sql"],
  ecd7219b: [...before("0024"), "0024_place_blocks.sql"],
  "870bb607": [...before("0042"), "0042_health_disabled.sql", "0042_session_reveals.sql"],
  ba58825d: [...before("0042"), "0042_rejection_hours.sql", "0042_session_reveals.sql", "0043_health_disabled.sql"],
};

// The migrations applied at the commit before each edit of a migration on main that changed the
// schema it leaves (the commit, and the edited one).
const EDITED_STATES: Record<string, string> = {
  "2152b743": "0022_event_count_marks.sql",
  "1c45fe6e": "0032_deliveries_webhook_index.sql",
  "03617f29": "0036_event_places.sql",
  "8fb71017": "0041_counter_totals.sql",
  "66775c85": "0054_filter_program_bound.sql",
};

// Each database migrated at such a commit, and a fresh one, bound in one local runtime by ids of
// their own (a runtime per step of each took ~50 starts, most of the file's time).
const STATES = [
  ...Object.entries(OLD_STATES).map(([commit, names]) => ({ commit, names, edited: undefined })),
  ...Object.entries(EDITED_STATES).map(([commit, edited]) => ({ commit, names: [...before(edited.slice(0, 4)), edited], edited })),
];

describe("migrations renamed, removed or edited on main", () => {
  let proxy: PlatformProxy<Record<string, unknown>> | undefined;
  const db = (binding: string) => {
    const d = proxy?.env[binding];
    if (!isDb(d)) throw new Error(`the local runtime has no D1 binding ${binding}`);
    return d;
  };
  // A database migrated from the current files, and its sqlite_master.
  let freshSchema: Record<string, unknown>[] = [];
  beforeAll(async () => {
    const project = tempDir("edgehook-states-");
    const config = join(project, "wrangler.json");
    const bindings = ["FRESH", ...STATES.map((s) => `AT_${s.commit}`)];
    const d1 = bindings.map((binding, i) => ({ binding, database_name: binding, database_id: `00000000-0000-0000-0000-${String(i + 1).padStart(12, "0")}` }));
    writeFileSync(config, JSON.stringify({ name: "states", compatibility_date: "2026-11-01", d1_databases: d1 }));
    proxy = await getPlatformProxy<Record<string, unknown>>({ configPath: config, persist: { path: join(project, "v3") }, remoteBindings: false });
    expect(await migrate(db("FRESH"))).toEqual(current);
    freshSchema = (await db("FRESH").prepare("SELECT type, name, sql FROM sqlite_master").all()).results;
  }, 120_000);
  afterAll(() => proxy?.dispose());

  it("leave nothing to repair on a database migrated from the current files", () => {
    expect(renameRepairs(current)).toEqual([]);
    expect(renameRepairs([])).toEqual([]);
    expect(repairs(current, freshSchema)).toEqual([]);
  });

  it("remotely (db:migrate:remote, edgehook setup): reads the schema and the migrations table, if any, and runs the repairs in one command", async () => {
    const calls: string[] = [];
    const remote = (schema: Record<string, unknown>[], applied: string[]) => async (sql: string) => {
      calls.push(sql);
      if (sql.includes("sqlite_master")) return schema;
      return sql.startsWith("SELECT name FROM d1_migrations") ? applied.map((name) => ({ name })) : [];
    };
    expect(await repairWith(remote([], []))).toEqual([]);
    expect(await repairWith(remote(freshSchema, current))).toEqual([]);
    expect(calls).toHaveLength(3);
    calls.length = 0;
    const repairs = await repairWith(remote([{ type: "table", name: "d1_migrations" }], OLD_STATES["1a35b639"] ?? []));
    expect(repairs).toEqual([expect.stringContaining("CREATE TABLE IF NOT EXISTS webhook_attempt_hours"), "INSERT INTO d1_migrations (name) VALUES ('0016_alert_counts.sql')"]);
    expect(calls.slice(2)).toEqual([repairs.join(";\n")]);
    // An edited one, found from the schema: 0054 applied, its shares table missing.
    calls.length = 0;
    const edits = await repairWith(remote(freshSchema.filter((o) => o.name !== "filter_program_shares"), current));
    expect(edits[0]).toMatch(/^ALTER TABLE webhooks ADD COLUMN filter_owner/);
    expect(calls.slice(2)).toEqual([edits.join(";\n")]);
  });

  it("a database migrated at each such commit upgrades to a fresh one's schema, its rows kept, and then has nothing to apply", async () => {
    const want = await schemaOf(db("FRESH"));

    for (const { commit, names, edited } of STATES) {
      const at = db(`AT_${commit}`);
      expect(await migrateWith(at, names, edited), commit).toEqual(names);
      await at.batch([
        at.prepare("INSERT INTO names (name) VALUES ('kept-name')"),
        at.prepare("INSERT INTO tokens (id, name, token_hash, scopes, created_at) VALUES ('tok_kept', 'kept', 'ab', '[\"events:read\"]', 1)"),
        at.prepare("INSERT INTO event_counts (scope, hour, owner, n0) VALUES (1, 500000, 2, 7)"),
      ]);
      // 0041's first delete trigger left an hour's totals row at zero when its last counts went.
      const attempts = edited === "0041_counter_totals.sql";
      if (attempts)
        await at.batch([
          at.prepare("INSERT INTO attempt_counts (hour, webhook, a0) VALUES (7, 1, 1), (8, 1, 1)"),
          at.prepare("DELETE FROM attempt_counts WHERE hour = 8"),
        ]);

      // A renamed one is not applied again: 0016_alert_counts twice would take the alerts out of owner 0's counts twice.
      const upgraded = await migrate(at);
      const again = names.flatMap((n) => (n === "0024_place_blocks.sql" ? ["0024_location_block.sql", "0025_organization_block.sql"] : (RENAMED_FROM[n] ?? [])));
      expect(upgraded.filter((n) => again.includes(n)), commit).toEqual([]);
      expect.soft(await schemaOf(at), commit).toEqual(want);
      expect((await at.prepare("SELECT name FROM names WHERE name = 'kept-name'").all()).results, commit).toHaveLength(1);
      expect((await at.prepare("SELECT name FROM tokens WHERE id = 'tok_kept'").all()).results, commit).toEqual([{ name: "kept" }]);
      expect((await at.prepare("SELECT n0 FROM event_counts WHERE hour = 500000").all()).results, commit).toEqual([{ n0: 7 }]);
      if (attempts) {
        expect((await at.prepare("SELECT hour, a0 FROM attempt_totals").all()).results, commit).toEqual([{ hour: 7, a0: 1 }]);
        await at.prepare("DELETE FROM attempt_counts WHERE hour = 7").run();
        expect((await at.prepare("SELECT hour FROM attempt_totals").all()).results, commit).toEqual([]);
      }
      const recorded = new Set((await at.prepare("SELECT name FROM d1_migrations").all()).results.map((r) => r.name));
      expect(current.filter((n) => !recorded.has(n)), commit).toEqual([]);
      expect(await migrate(at), commit).toEqual([]);
    }
  }, 600_000);
});
