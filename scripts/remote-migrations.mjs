// `npm run db:migrate:remote [-- --env E] [-- --config F]`: `wrangler d1 migrations apply DB --remote`,
// after the repairs a database migrated at a commit whose migrations were renamed or edited since
// needs (migration-renames.mjs; none on any other database).
import { spawnSync } from "node:child_process";
import { join, resolve } from "node:path";
import { repairWith, rowsOf } from "./migration-renames.mjs";

const root = resolve(import.meta.dirname, "..");
const bin = join(root, "node_modules/wrangler/bin/wrangler.js");
const env = { ...process.env, WRANGLER_SEND_METRICS: process.env.WRANGLER_SEND_METRICS ?? "false" };

/**
 * The arguments that pick the database (--env/-e, --config/-c, with their values), given to the
 * repair's reads and writes as to the apply: both must reach the same database. Any other is refused,
 * as one the repair would not see (--preview's another database) could make them differ.
 * @param {string[]} args
 * @returns {string[] | string} the arguments, or why they are refused
 */
function databaseArgs(args) {
  /** @type {string[]} */
  const out = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] ?? "";
    if (/^--(env|config)=./.test(a)) out.push(a);
    else if (["--env", "-e", "--config", "-c"].includes(a)) {
      const value = args[i + 1];
      if (value === undefined || value.startsWith("-")) return `${a} needs a value`;
      out.push(a, value);
      i++;
    } else return `${a} is not taken: only --env (-e) and --config (-c) are, given to the repair's d1 execute as to d1 migrations apply`;
  }
  return out;
}

const picked = databaseArgs(process.argv.slice(2));
if (typeof picked === "string") {
  console.error(`${picked}\nUsage: npm run db:migrate:remote [-- --env E] [--config F]`);
  process.exit(2);
}

/** @param {string} sql */
async function query(sql) {
  const r = spawnSync(process.execPath, [bin, "d1", "execute", "DB", "--remote", ...picked, "--json", "--command", sql], { cwd: root, env, encoding: "utf8" });
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
const apply = spawnSync(process.execPath, [bin, "d1", "migrations", "apply", "DB", "--remote", ...picked], { cwd: root, env, stdio: "inherit" });
process.exit(apply.status ?? 1);
