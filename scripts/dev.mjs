#!/usr/bin/env node
// `npm run dev [-- --port N …]`: ensure .dev.vars, apply local D1 migrations, run `wrangler dev`,
// and fire the Worker's cron on the minute as the deployed one does, once that wrangler is ready
// (local-cron.mjs; EDGEHOOK_DEV_CRON_SECONDS=N every N seconds instead, 0 not at all).
import { spawn } from "node:child_process";
import { copyFileSync, existsSync } from "node:fs";
import { copyDocsBundle } from "./docs-assets.mjs";
import { devBase, devPersistTo, serving, startLocalCron } from "./local-cron.mjs";
import { migrateOrExit } from "./local-migrations.mjs";

process.env.WRANGLER_SEND_METRICS ??= "false";
// wrangler dev records every request's trace in a store under the persist directory that nothing
// prunes (about 1 GB an hour at a few events a second, beside 4 MB of D1): off unless asked for.
process.env.X_LOCAL_OBSERVABILITY ??= "false";

if (!existsSync(".dev.vars")) {
  copyFileSync(".dev.vars.example", ".dev.vars");
  console.log("Created .dev.vars from .dev.vars.example (local development values; edit it to change them).");
}

copyDocsBundle(); // /docs serves it from public/

const args = process.argv.slice(2);
// Local state goes where wrangler dev will look for it.
const persistTo = devPersistTo(args);

console.log("Applying the D1 migrations to the local database…");
const applied = await migrateOrExit({ persistTo });
console.log(applied.length === 0 ? "The local database is up to date." : `Applied ${applied.length} migration(s).`);

// In a terminal wrangler keeps it (its key shortcuts); otherwise its output passes through here,
// which learns when it is ready, and where it serves when given --port 0.
const interactive = Boolean(process.stdin.isTTY && process.stdout.isTTY);
const everySeconds = Number(process.env.EDGEHOOK_DEV_CRON_SECONDS ?? 60);
const base = devBase(args);
// Where something answers already (another `npm run dev`?), wrangler fails with "Address already in
// use": what the cron fired there would be that one's maintenance, claimed as this one's. Asked
// only in a terminal, where wrangler's own "Ready" is not seen here.
const taken = interactive && everySeconds > 0 && base !== null && (await serving(base));
const dev = spawn("wrangler", ["dev", ...args], { stdio: interactive ? "inherit" : ["inherit", "pipe", "inherit"] });
for (const sig of /** @type {const} */ (["SIGINT", "SIGTERM"])) process.on(sig, () => dev.kill(sig));

let stopCron = () => {};
/** @param {string} at */
const fireCron = (at) => {
  stopCron = startLocalCron({ base: at, everySeconds, log: (line) => console.log(`[edgehook] ${line}`) });
};
if (!(everySeconds > 0)) {
  console.log(`[edgehook] The maintenance run is not fired with EDGEHOOK_DEV_CRON_SECONDS=${process.env.EDGEHOOK_DEV_CRON_SECONDS}: curl "<url>/cdn-cgi/local/scheduled" runs it.`);
} else if (interactive && base === null) {
  console.log('[edgehook] The maintenance run is not fired with --port 0 in a terminal: curl "<url>/cdn-cgi/local/scheduled" runs it.');
} else if (taken) {
  console.log(`[edgehook] Something answers at ${base} already (another npm run dev?): this one fires no maintenance run there.`);
} else if (interactive && base !== null) {
  fireCron(base);
}
if (dev.stdout) {
  // Fired once this wrangler says it is ready (where it serves, for --port 0): never at a port another server holds.
  let seen = "";
  let learning = everySeconds > 0;
  dev.stdout.on("data", (chunk) => {
    process.stdout.write(chunk);
    if (!learning) return;
    seen += chunk;
    const ready = /Ready on (http:\/\/[^\s/]+)/.exec(seen);
    if (ready) {
      learning = false;
      fireCron(base ?? ready[1]);
    }
  });
}
dev.on("exit", (code) => {
  stopCron();
  process.exit(code ?? 0);
});
