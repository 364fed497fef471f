#!/usr/bin/env node
// `npm run dev [-- --port N …]`: ensure .dev.vars, apply local D1 migrations, run `wrangler dev`,
// and fire the Worker's cron on the minute as the deployed one does, once that wrangler is ready
// (local-cron.mjs; EDGEHOOK_DEV_CRON_SECONDS=N every N seconds instead, 0 not at all; not under
// --local-protocol https).
import { spawn } from "node:child_process";
import { copyFileSync, existsSync } from "node:fs";
import { copyDocsBundle } from "./docs-assets.mjs";
import { devPersistTo, notFiredWhy, startLocalCron, terminalTarget, watchReady } from "./local-cron.mjs";
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

// In a terminal wrangler keeps it (its key shortcuts), and where the cron fires is decided before
// it starts (terminalTarget); otherwise its output passes through here, and the cron fires where its
// Ready line says it serves (wherever wrangler took: a port given, 0, or none and 8787 held), once it does.
const interactive = Boolean(process.stdin.isTTY && process.stdout.isTTY);
const everySeconds = Number(process.env.EDGEHOOK_DEV_CRON_SECONDS ?? 60);
const notFired = notFiredWhy(args, process.env.EDGEHOOK_DEV_CRON_SECONDS);
const firing = notFired === null;
/** @type {{ args: string[]; base: string | null; why?: string }} */
const target = firing && interactive ? await terminalTarget(args) : { args, base: null };
const dev = spawn("wrangler", ["dev", ...target.args], { stdio: interactive ? "inherit" : ["inherit", "pipe", "inherit"] });
for (const sig of /** @type {const} */ (["SIGINT", "SIGTERM"])) process.on(sig, () => dev.kill(sig));

let stopCron = () => {};
/** @param {string} at */
const fireCron = (at) => {
  stopCron = startLocalCron({ base: at, everySeconds, log: (line) => console.log(`[edgehook] ${line}`) });
};
if (notFired !== null) {
  console.log(`[edgehook] ${notFired}`);
} else if (target.why !== undefined) {
  console.log(`[edgehook] ${target.why}`);
} else if (target.base !== null) {
  fireCron(target.base);
}
if (dev.stdout) {
  const ready = firing ? watchReady(args, fireCron) : () => {};
  dev.stdout.on("data", (chunk) => {
    process.stdout.write(chunk);
    ready(chunk);
  });
}
dev.on("exit", (code) => {
  stopCron();
  process.exit(code ?? 0);
});
