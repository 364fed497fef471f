// `npm run db:migrate:remote`: `wrangler d1 migrations apply DB --remote`, after the repairs a
// database migrated at a commit whose migrations were renamed or edited since needs (migration-renames.mjs;
// none on any other database).
import { spawnSync } from "node:child_process";
import { join, resolve } from "node:path";
import { repairWith, rowsOf } from "./migration-renames.mjs";

const root = resolve(import.meta.dirname, "..");
const bin = join(root, "node_modules/wrangler/bin/wrangler.js");
const env = { ...process.env, WRANGLER_SEND_METRICS: process.env.WRANGLER_SEND_METRICS ?? "false" };

/** @param {string} sql */
async function query(sql) {
  const r = spawnSync(process.execPath, [bin, "d1", "execute", "DB", "--remote", "--json", "--command", sql], { cwd: root, env, encoding: "utf8" });
  if (r.status !== 0) {
    console.error(`wrangler d1 execute DB --remote failed:\n${(r.stderr || r.stdout).trim()}`);
    process.exit(1);
  }
  try {
    return rowsOf(JSON.parse(r.stdout.slice(Math.max(0, r.stdout.search(/^[[{]/m)))));
  } catch {
    console.error(`wrangler d1 execute DB --remote --json printed no JSON:\n${r.stdout.trim()}`);
    process.exit(1);
  }
}

const repaired = await repairWith(query);
if (repaired.length > 0) console.log(`Repaired this database for migrations renamed or edited since it was migrated (${repaired.length} statements).`);
const apply = spawnSync(process.execPath, [bin, "d1", "migrations", "apply", "DB", "--remote", ...process.argv.slice(2)], { cwd: root, env, stdio: "inherit" });
process.exit(apply.status ?? 1);
