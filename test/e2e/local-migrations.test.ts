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
import { getPlatformProxy } from "wrangler";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyLocalMigrations } from "../../scripts/local-migrations.mjs";
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

// wrangler.toml's database, which local-migrations.mjs finds by its id.
const DATABASE_ID = "00000000-0000-0000-0000-000000000000";

// Renamed ones were the same statements as their successors (0042_health_disabled but for its comment).
const RENAMED_FROM: Record<string, string> = {
  "0017_alert_counts.sql": "0016_alert_counts.sql",
  "0042_health_disabled.sql": "0043_health_disabled.sql",
  "0042_rejection_hours.sql": "0044_rejection_hours.sql",
};

/**
 * Applies these files (the current ones, a renamed one's successor, the removed ones of oldDir, or
 * the `edited` one's earlier text) to the local database in `state`.
 */
async function migrateWith(state: string, names: string[], edited?: string) {
  const project = tempDir("edgehook-old-migrations-");
  mkdirSync(join(project, "migrations"));
  for (const name of names) {
    const from =
      name === edited ? join(editedDir, name) : readdirSync(oldDir).includes(name) ? join(oldDir, name) : join(root, "migrations", RENAMED_FROM[name] ?? name);
    copyFileSync(from, join(project, "migrations", name));
  }
  const config = join(project, "wrangler.json");
  writeFileSync(config, JSON.stringify({ name: "old", compatibility_date: "2026-11-01", d1_databases: [{ binding: "DB", database_name: "edgehook", database_id: DATABASE_ID, migrations_dir: "migrations" }] }));
  return applyLocalMigrations({ persistTo: state, config });
}

/** What this uses of the local runtime's D1 binding. */
type Db = { prepare(sql: string): Statement; batch(statements: Statement[]): Promise<unknown> };
type Statement = { all(): Promise<{ results: Record<string, unknown>[] }> };
const isDb = (v: unknown): v is Db => typeof v === "object" && v !== null && "prepare" in v && "batch" in v;

/** Runs `fn` on the local database in `state`. */
async function withDb<T>(state: string, fn: (db: Db) => Promise<T>): Promise<T> {
  const project = tempDir("edgehook-read-");
  const config = join(project, "wrangler.json");
  writeFileSync(config, JSON.stringify({ name: "read", compatibility_date: "2026-11-01", d1_databases: [{ binding: "DB", database_name: "edgehook", database_id: DATABASE_ID }] }));
  const proxy = await getPlatformProxy({ configPath: config, persist: { path: join(state, "v3") }, remoteBindings: false });
  try {
    const db = proxy.env.DB;
    if (!isDb(db)) throw new Error("the local runtime has no D1 binding DB");
    return await fn(db);
  } finally {
    await proxy.dispose();
  }
}

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

describe("migrations renamed, removed or edited on main", () => {
  // A database migrated from the current files, and its sqlite_master.
  const fresh = tempDir("edgehook-fresh-");
  let freshSchema: Record<string, unknown>[] = [];
  beforeAll(async () => {
    expect(await applyLocalMigrations({ persistTo: fresh })).toEqual(current);
    freshSchema = await withDb(fresh, (db) => db.prepare("SELECT type, name, sql FROM sqlite_master").all().then((r) => r.results));
  }, 120_000);

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
    const want = await withDb(fresh, schemaOf);

    const states = [
      ...Object.entries(OLD_STATES).map(([commit, names]) => ({ commit, names, edited: undefined })),
      ...Object.entries(EDITED_STATES).map(([commit, edited]) => ({ commit, names: [...before(edited.slice(0, 4)), edited], edited })),
    ];
    for (const { commit, names, edited } of states) {
      const state = tempDir(`edgehook-at-${commit}-`);
      await migrateWith(state, names, edited);
      await withDb(state, (db) =>
        db.batch([
          db.prepare("INSERT INTO names (name) VALUES ('kept-name')"),
          db.prepare("INSERT INTO tokens (id, name, token_hash, scopes, created_at) VALUES ('tok_kept', 'kept', 'ab', '[\"events:read\"]', 1)"),
          db.prepare("INSERT INTO event_counts (scope, hour, owner, n0) VALUES (1, 500000, 2, 7)"),
        ]),
      );
      // 0041's first delete trigger left an hour's totals row at zero when its last counts went.
      const attempts = edited === "0041_counter_totals.sql";
      if (attempts)
        await withDb(state, (db) =>
          db.batch([
            db.prepare("INSERT INTO attempt_counts (hour, webhook, a0) VALUES (7, 1, 1), (8, 1, 1)"),
            db.prepare("DELETE FROM attempt_counts WHERE hour = 8"),
          ]),
        );

      // A renamed one is not applied again: 0016_alert_counts twice would take the alerts out of owner 0's counts twice.
      const upgraded = await applyLocalMigrations({ persistTo: state });
      const again = names.flatMap((n) => (n === "0024_place_blocks.sql" ? ["0024_location_block.sql", "0025_organization_block.sql"] : (RENAMED_FROM[n] ?? [])));
      expect(upgraded.filter((n) => again.includes(n)), commit).toEqual([]);
      await withDb(state, async (db) => {
        expect.soft(await schemaOf(db), commit).toEqual(want);
        expect((await db.prepare("SELECT name FROM names WHERE name = 'kept-name'").all()).results, commit).toHaveLength(1);
        expect((await db.prepare("SELECT name FROM tokens WHERE id = 'tok_kept'").all()).results, commit).toEqual([{ name: "kept" }]);
        expect((await db.prepare("SELECT n0 FROM event_counts WHERE hour = 500000").all()).results, commit).toEqual([{ n0: 7 }]);
        if (attempts) {
          expect((await db.prepare("SELECT hour, a0 FROM attempt_totals").all()).results, commit).toEqual([{ hour: 7, a0: 1 }]);
          await db.prepare("DELETE FROM attempt_counts WHERE hour = 7").all();
          expect((await db.prepare("SELECT hour FROM attempt_totals").all()).results, commit).toEqual([]);
        }
        const recorded = new Set((await db.prepare("SELECT name FROM d1_migrations").all()).results.map((r) => r.name));
        expect(current.filter((n) => !recorded.has(n)), commit).toEqual([]);
      });
      expect(await applyLocalMigrations({ persistTo: state }), commit).toEqual([]);
    }
  }, 600_000);
});
