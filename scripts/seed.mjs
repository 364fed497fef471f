#!/usr/bin/env node
// `npm run seed -- --events N [--persist-to DIR] [--seed S]`: fills the local D1 that
// `npm run dev` uses with a busy account's retained traffic, through the project's own
// store code (scripts/seed/volume.ts, run by a small Worker in the local runtime with
// the same D1 binding, a chunk per request), then prints what it wrote (events stored already, by an
// earlier run on the same directory, are not written again) and what the database holds.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { migrateOrExit } from "./local-migrations.mjs";
import { scriptArgs, wholeNumber } from "./script-args.mjs";

process.env.WRANGLER_SEND_METRICS ??= "false";
// Wrangler's local trace collector records every D1 batch's spans beside the database (a
// gigabyte for a million events), with no production counterpart.
process.env.X_LOCAL_OBSERVABILITY ??= "false";
const root = resolve(import.meta.dirname, "..");

const values = scriptArgs(
  {
    events: { type: "string", default: "100000" },
    "persist-to": { type: "string" },
    seed: { type: "string", default: "14" },
    batch: { type: "string", default: "200" },
  },
  "Usage: npm run seed -- [--events N] [--persist-to DIR] [--seed S] [--batch B]\n" +
    "Fills the local D1 that `npm run dev` uses (or DIR's) with N events (default 100000) of a busy account's\n" +
    "retained traffic; --seed picks the random sequence (default 14, at most 4294967295), --batch the events a\n" +
    "transaction (default 200, at most 10000). docs/scale-and-cost.md.",
);
const events = wholeNumber("events", values.events, 1);
// mulberry32 takes 32 bits: a larger seed would repeat a smaller one's sequence.
const seed = wholeNumber("seed", values.seed, 1, 2 ** 32 - 1, "the generator takes 32 bits");
// A request writes CHUNK events at most: a larger batch would be the same as CHUNK.
const CHUNK = 10_000;
const batch = wholeNumber("batch", values.batch, 1, CHUNK, "events a transaction; a request writes 10000");

// Wrangler's API (~3 s of CPU to load) only once the arguments are known good: --help and a
// mistyped flag answer at once.
const { unstable_dev } = await import("wrangler");
const state = resolve(root, values["persist-to"] ?? ".wrangler/state");
await migrateOrExit({ persistTo: state });

// The seed Worker binds the same local database as wrangler.toml (by its id), and nothing else.
const toml = readFileSync(join(root, "wrangler.toml"), "utf8");
const d1 = toml.slice(toml.indexOf("[[d1_databases]]")).split(/\n(?=\[)/)[0];
const dir = mkdtempSync(join(tmpdir(), "edgehook-seed-"));
const config = join(dir, "wrangler.toml");
writeFileSync(config, `name = "edgehook-seed"\nmain = "${join(root, "scripts/seed/worker.ts")}"\ncompatibility_date = "2026-11-01"\n${d1.replace(/migrations_dir.*\n?/, "")}\n`);
const worker = await unstable_dev(join(root, "scripts/seed/worker.ts"), {
  config,
  persistTo: state,
  logLevel: "error",
  // A seed runs for minutes: editing the sources meanwhile must not restart it.
  experimental: { disableExperimentalWarning: true, disableDevRegistry: true, watch: false },
});
const started = Date.now();
const now = Date.now();
/**
 * What the database holds, as /v1/stats counts it, its size as D1 reports it, and its oldest event's receipt (with
 * when it leaves the retention).
 * @typedef {{ bytes: number, events: number, deliveries: Record<string, number>, deadLetters: number, oldest: number | null, leavesRetentionAt: number | null }} Holds
 */
/** @param {unknown} v @returns {v is Holds} */
const isHolds = (v) => {
  if (typeof v !== "object" || v === null) return false;
  const o = /** @type {Record<string, unknown>} */ (v);
  const numberOrNull = (/** @type {unknown} */ x) => x === null || typeof x === "number";
  return (
    typeof o.bytes === "number" && typeof o.events === "number" && typeof o.deadLetters === "number" && numberOrNull(o.oldest) &&
    numberOrNull(o.leavesRetentionAt) && typeof o.deliveries === "object" && o.deliveries !== null && Object.values(o.deliveries).every((n) => typeof n === "number")
  );
};
const holds = async () => {
  const answer = await (await worker.fetch("http://seed/")).json();
  if (!isHolds(answer)) throw new Error(`the seed Worker answered what the database holds in another shape: ${JSON.stringify(answer).slice(0, 200)}`);
  return answer;
};
try {
  const before = await holds();
  /** @type {Record<string, any>} */
  const report = { events: 0, alreadyStored: 0, bodyBytes: 0, deliveries: { held: 0, pending: 0, succeeded: 0, failed: 0 }, attempts: 0, deadLetters: 0, from: null, to: null, leavesRetentionAt: null };
  /** @type {any} */
  let last;
  for (let offset = 0; offset < events; offset += CHUNK) {
    const body = JSON.stringify({ events, offset, count: CHUNK, now, seed, batch });
    // A chunk is idempotent (the same ids; every write keeps what is stored), so a failed one is run again.
    for (let attempt = 1; ; attempt++) {
      const res = await worker.fetch("http://seed/", { method: "POST", body });
      if (res.ok) {
        last = await res.json();
        break;
      }
      if (attempt === 3) throw new Error(`seed chunk at ${offset} failed: ${res.status} ${await res.text()}`);
    }
    report.events += last.events;
    report.alreadyStored += last.alreadyStored;
    report.bodyBytes += last.bodyBytes;
    // The chunks come oldest first: the first that wrote any has the oldest written, the last the newest.
    report.from ??= last.from;
    report.leavesRetentionAt ??= last.leavesRetentionAt;
    report.to = last.to ?? report.to;
    report.attempts += last.attempts;
    report.deadLetters += last.deadLetters;
    for (const k of Object.keys(report.deliveries)) report.deliveries[k] += last.deliveries[k];
    const s = (Date.now() - started) / 1000;
    process.stderr.write(`  ${report.events.toLocaleString("en")} events in ${s.toFixed(0)} s (${Math.round(report.events / s)}/s)\n`);
  }
  Object.assign(report, { webhooks: last.webhooks, otherWebhooks: last.otherWebhooks, organizations: last.organizations, locations: last.locations });
  const seconds = (Date.now() - started) / 1000;
  const d1dir = join(state, "v3/d1");
  // D1's own count of its pages: the local files' size leaves out what waits in the write-ahead
  // log (all of a small seed: 8 KiB for 300 events).
  const after = await holds();
  const n = (/** @type {number} */ x) => x.toLocaleString("en");
  const statuses = (/** @type {Record<string, number>} */ d) => Object.entries(d).map(([k, v]) => `${k} ${n(v)}`).join(", ");
  const time = (/** @type {number} */ t) => new Date(t).toISOString();
  const already = report.alreadyStored > 0 ? ` (${n(report.alreadyStored)} of the seed's ${n(events)} were stored already, by an earlier run here: not written again)` : "";
  const printed = [
    ...(report.events === 0
      ? [`seeded nothing: the seed's ${n(events)} events (--seed ${seed}) were all stored already, by an earlier run here`]
      : [
          `seeded ${n(report.events)} events in ${seconds.toFixed(0)} s (${n(Math.round(report.events / seconds))}/s), received ${time(report.from)} … ${time(report.to)}${already}`,
          `  bodies: ${n(Math.round(report.bodyBytes / report.events))} bytes on average (Podium shapes, 22 types), ${n(report.organizations)} organizations, ${n(report.locations)} locations`,
          `  webhooks: ${report.webhooks} (one disabled: its deliveries are held)`,
          `  deliveries: ${statuses(report.deliveries)}`,
          `  attempts: ${n(report.attempts)}, dead letters: ${n(report.deadLetters)}`,
        ]),
    `  stored now (as /v1/stats counts them): ${n(after.events)} events (${n(before.events)} before); deliveries ${statuses(after.deliveries)}; dead letters ${n(after.deadLetters)}`,
    `  local D1 (${d1dir}): ${n(after.bytes)} bytes, ${after.events > 0 ? n(Math.round(after.bytes / after.events)) : 0} bytes per event stored (the size D1 reports)`,
    // An earlier run's events (of a larger seed, or another --seed) may be older than any written here: they leave first.
    ...(after.oldest === null || after.leavesRetentionAt === null
      ? []
      : report.from !== null && after.oldest >= report.from
        ? [`  the oldest written leave the retention from ${time(report.leavesRetentionAt)} on: a maintenance run after that purges them, and the API then counts fewer`]
        : [
            `  the oldest stored (of ${time(after.oldest)}) leave the retention from ${time(after.leavesRetentionAt)} on` +
              `${report.from === null ? "" : ` (the oldest written from ${time(report.leavesRetentionAt)})`}: a maintenance run after that purges them, and the API then counts fewer`,
          ]),
  ].join("\n");
  console.log(printed);
  if (report.otherWebhooks > 0) {
    // The seed routes to its own five only: real traffic of these types would have owed these some.
    const one = report.otherWebhooks === 1;
    console.error(
      `warning: ${n(report.otherWebhooks)} webhook${one ? "" : "s"} in this database ${one ? "was" : "were"} not made by the seed: the seeded ` +
        `events are owed only to the seed's own five, so ${one ? "it has" : "those have"} no deliveries of them, whatever ${one ? "its" : "their"} ` +
        "event types (real traffic of these types would have owed some)",
    );
  }
  // What this directory holds: `npm run bench:volume -- --persist-to` it reuses it (bench-volume.mjs). `events` the
  // largest seed of this --seed all of whose events are stored: a smaller one's events are the first of a larger's
  // (the same draws), so after a larger one this run wrote none, and the larger stays; `stored` every event stored
  // (more than `events`: another --seed's, or the bench's ingest, are there too).
  const marker = join(state, "seed.json");
  /** @type {unknown} */
  const previous = existsSync(marker) ? JSON.parse(readFileSync(marker, "utf8")) : null;
  const same = typeof previous === "object" && previous !== null && "seed" in previous && previous.seed === seed && "events" in previous;
  const held = same && typeof previous.events === "number" && previous.events > events ? previous.events : events;
  writeFileSync(marker, JSON.stringify({ seed, events: held, stored: after.events, output: printed }));
} finally {
  await worker.stop();
  rmSync(dir, { recursive: true, force: true });
}
