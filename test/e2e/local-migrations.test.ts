// scripts/local-migrations.mjs: the local database migrated in one runtime (npm run dev, the seed,
// the benches and these tests' stacks), recorded as wrangler records them.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { applyLocalMigrations } from "../../scripts/local-migrations.mjs";

const root = resolve(import.meta.dirname, "../..");
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
    const all = readdirSync(join(root, "migrations")).filter((f) => f.endsWith(".sql")).sort();
    expect(await applyLocalMigrations({ persistTo: state })).toEqual(all);

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
