#!/usr/bin/env node
// `npm run dev [-- --port N …]`: ensure .dev.vars, apply local D1 migrations, run `wrangler dev`.
import { spawnSync, spawn } from "node:child_process";
import { copyFileSync, existsSync } from "node:fs";
import { copyDocsBundle } from "./docs-assets.mjs";

process.env.WRANGLER_SEND_METRICS ??= "false";

if (!existsSync(".dev.vars")) {
  copyFileSync(".dev.vars.example", ".dev.vars");
  console.log("Created .dev.vars from .dev.vars.example (local development values; edit it to change them).");
}

copyDocsBundle(); // /docs serves it from public/

const args = process.argv.slice(2);
// Local state goes where wrangler dev will look for it.
const persist = args.includes("--persist-to") ? ["--persist-to", args[args.indexOf("--persist-to") + 1]] : [];

// wrangler redraws its whole table after each migration (over a thousand lines on a first run):
// its output is shown only when it fails.
console.log("Applying the D1 migrations to the local database…");
const migrate = spawnSync("wrangler", ["d1", "migrations", "apply", "DB", "--local", ...persist], {
  encoding: "utf8",
  maxBuffer: 256 * 1024 * 1024,
  env: { ...process.env, CI: "true" }, // answer wrangler's confirmation prompt
});
if (migrate.status !== 0) {
  if (migrate.error) console.error(`wrangler d1 migrations apply: ${migrate.error.message}`);
  process.stdout.write(migrate.stdout ?? "");
  process.stderr.write(migrate.stderr ?? "");
  process.exit(migrate.status ?? 1);
}
const applied = new Set((migrate.stdout ?? "").match(/\b\d{4}_[\w-]+\.sql\b/g) ?? []).size;
console.log(/No migrations to apply/.test(migrate.stdout ?? "") ? "The local database is up to date." : `Applied ${applied} migration(s).`);

const dev = spawn("wrangler", ["dev", ...args], { stdio: "inherit" });
for (const sig of /** @type {const} */ (["SIGINT", "SIGTERM"])) process.on(sig, () => dev.kill(sig));
dev.on("exit", (code) => process.exit(code ?? 0));
