// Applies the D1 migrations to a local database in one local runtime. `wrangler d1 migrations
// apply --local` starts a runtime for each migration (~0.85 s each: over half a minute for a new
// database); this starts one. Each migration is applied and recorded as wrangler does it (its
// statements and the row naming it in the migrations table, in one transaction), so wrangler
// and this see the same migrations applied. Remote databases stay with wrangler.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { repairs } from "./migration-renames.mjs";

const root = resolve(import.meta.dirname, "..");

/**
 * What this uses of the local runtime's D1 binding.
 * @typedef {{ prepare(sql: string): LocalStatement, batch(statements: LocalStatement[]): Promise<unknown> }} LocalD1
 * @typedef {{ run(): Promise<unknown>, all(): Promise<{ results: Record<string, unknown>[] }> }} LocalStatement
 */

/** @param {unknown} v @returns {v is LocalD1} */
const isLocalD1 = (v) => typeof v === "object" && v !== null && "prepare" in v && "batch" in v;

/**
 * Applies the migrations of `migrationsDir` not yet recorded in `table` of the D1 database `db`
 * (a local runtime's binding), in order, after the repairs a database migrated at an older commit
 * needs (migration-renames.mjs), and answers their file names. A migration that fails is named in
 * the error; those before it stay applied. applyLocalMigrations' work, on a binding the caller
 * has: its tests bind many databases in one runtime.
 * @param {LocalD1} db @param {{ migrationsDir: string, table?: string }} o
 * @returns {Promise<string[]>}
 */
export async function applyMigrationsTo(db, o) {
  const { unstable_splitSqlQuery } = await import("wrangler");
  const table = `"${(o.table ?? "d1_migrations").replace(/"/g, '""')}"`;
  await db.prepare(`CREATE TABLE IF NOT EXISTS ${table} (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE, applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL)`).run();
  const done = new Set((await db.prepare(`SELECT name FROM ${table}`).all()).results.map((r) => String(r.name)));
  // A database migrated at a commit whose migrations were renamed or edited since (migration-renames.mjs).
  const schema = (await db.prepare("SELECT type, name, sql FROM sqlite_master").all()).results;
  const fixes = repairs(done, schema, table);
  if (fixes.length > 0) {
    await db.batch(fixes.map((statement) => db.prepare(statement)));
    for (const r of (await db.prepare(`SELECT name FROM ${table}`).all()).results) done.add(String(r.name));
  }
  const due = readdirSync(o.migrationsDir).filter((f) => f.endsWith(".sql") && !done.has(f)).sort();
  for (const name of due) {
    const sql = `${readFileSync(join(o.migrationsDir, name), "utf8")}\nINSERT INTO ${table} (name) VALUES ('${name.replace(/'/g, "''")}');`;
    try {
      await db.batch(unstable_splitSqlQuery(sql).map((statement) => db.prepare(statement)));
    } catch (err) {
      throw new Error(`migration ${name} failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return due;
}

/**
 * Applies the migrations not yet recorded in the local D1 database of `binding` under
 * `persistTo` (as `wrangler dev --persist-to` takes it: from the working directory; default the
 * config's `.wrangler/state`), in order, in one runtime started for it (applyMigrationsTo),
 * and answers their file names. A migration that fails is named in the error; those before it
 * stay applied.
 * @param {{ persistTo?: string, config?: string, binding?: string }} [o]
 * @returns {Promise<string[]>}
 */
export async function applyLocalMigrations(o = {}) {
  const config = resolve(o.config ?? join(root, "wrangler.toml"));
  const binding = o.binding ?? "DB";
  // Wrangler's API (~3 s of CPU to load) only when called.
  const { getPlatformProxy, unstable_readConfig } = await import("wrangler");
  /** @type {{ binding: string, database_name?: string, database_id?: string, migrations_dir?: string, migrations_table?: string }[]} */
  const databases = unstable_readConfig({ config }, { hideWarnings: true }).d1_databases;
  const d1 = databases.find((d) => d.binding === binding);
  if (!d1?.database_id) throw new Error(`${config} has no D1 database bound as ${binding}`);

  // A runtime with that database alone (by its id, as wrangler dev finds it), not the Worker's
  // other bindings: its Durable Objects would be reported missing.
  const dir = mkdtempSync(join(tmpdir(), "edgehook-migrate-"));
  /** @type {import("wrangler").PlatformProxy | undefined} */
  let proxy;
  try {
    const only = join(dir, "wrangler.json");
    writeFileSync(only, JSON.stringify({ name: "edgehook-migrate", compatibility_date: "2026-11-01", d1_databases: [{ binding, database_name: d1.database_name, database_id: d1.database_id }] }));
    proxy = await getPlatformProxy({ configPath: only, persist: { path: join(o.persistTo ? resolve(o.persistTo) : join(dirname(config), ".wrangler/state"), "v3") }, remoteBindings: false });
    const db = proxy.env[binding];
    if (!isLocalD1(db)) throw new Error(`the local runtime has no D1 binding ${binding}`);
    return await applyMigrationsTo(db, { migrationsDir: resolve(dirname(config), d1.migrations_dir ?? "migrations"), table: d1.migrations_table });
  } finally {
    await proxy?.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * applyLocalMigrations for a script: the migrations applied, or the failure on stderr and exit 1.
 * @param {{ persistTo?: string }} o
 * @returns {Promise<string[]>}
 */
export async function migrateOrExit(o) {
  try {
    return await applyLocalMigrations(o);
  } catch (err) {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(1);
  }
}

// `node scripts/local-migrations.mjs [--persist-to DIR]` (npm run db:migrate:local).
if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const { scriptArgs } = await import("./script-args.mjs");
  const values = scriptArgs({ "persist-to": { type: "string" } }, "Usage: npm run db:migrate:local -- [--persist-to DIR]\nApplies the D1 migrations to the local database (wrangler dev's, or DIR's).");
  process.env.WRANGLER_SEND_METRICS ??= "false";
  const applied = await migrateOrExit({ persistTo: values["persist-to"] });
  console.log(applied.length === 0 ? "No migrations to apply." : `Applied ${applied.join(", ")}.`);
}
