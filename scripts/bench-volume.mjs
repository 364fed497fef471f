#!/usr/bin/env node
// `npm run bench:volume -- [--events N] [--persist-to DIR] [--reseed] [--repeat R] [--rounds K] [--ingest M]
//   [--skip-reads] [--skip-ingest] [--by-statement]`
//
// Seeds a local D1 with N events (default 1,000,000; `npm run seed`), or uses the seed DIR
// holds (`npm run seed -- --persist-to DIR` made, or this bench; its size unless --events
// says another, which then needs --reseed), then, against Edgehook in the local runtime
// (bench/volume/worker.ts: the real Worker, its D1 metered):
// 1. times each operator read (stats as admin and as limited tokens, the dashboard's
//    pages, every /v1/events filter and search, /v1/deliveries filters, webhook and event detail):
//    R timed calls after a warm-up, with the D1 rows each read;
// 2. measures the ingest consumer's events/s on that database against an empty one,
//    K rounds of M events each at the seeded account's locations, alternating, with the
//    counters as the maintenance run keeps them, and prints the median ratio (with
//    --by-statement, D1's time per event for each statement on both sides, and the rows
//    each writes).
// Times are this machine's, printed here and asserted nowhere.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { scriptArgs, wholeNumber } from "./script-args.mjs";

process.env.WRANGLER_SEND_METRICS ??= "false";
// Wrangler's local trace collector stays off, as in the seed (seed.mjs) and the e2e stack.
process.env.X_LOCAL_OBSERVABILITY ??= "false";
const root = resolve(import.meta.dirname, "..");
const values = scriptArgs(
  {
    events: { type: "string" },
    "persist-to": { type: "string", default: join(root, ".wrangler/bench-volume") },
    reseed: { type: "boolean", default: false },
    repeat: { type: "string", default: "5" },
    rounds: { type: "string", default: "6" },
    ingest: { type: "string", default: "2000" },
    "skip-reads": { type: "boolean", default: false },
    "skip-ingest": { type: "boolean", default: false },
    "by-statement": { type: "boolean", default: false },
  },
  "Usage: npm run bench:volume -- [--events N] [--persist-to DIR] [--reseed] [--repeat R] [--rounds K] [--ingest M]\n" +
    "  [--skip-reads] [--skip-ingest] [--by-statement]\n" +
    "Times the operator reads and the ingest on a seeded database (N events, default 1000000, in DIR,\n" +
    "default .wrangler/bench-volume): R timed calls a read (default 5, at most 1000), K rounds (default 6, at most\n" +
    "1000) of M events (default 2000, at most 100000). docs/scale-and-cost.md.",
);
const REPEAT = wholeNumber("repeat", values.repeat, 1, 1000, "timed calls a read");
const ROUNDS = wholeNumber("rounds", values.rounds, 1, 1000);
// A round's events are made at once in the Worker's memory, ~1.5 KB of body each.
const INGEST = wholeNumber("ingest", values.ingest, 1, 100_000, "events a round, made at once in memory");
const EVENTS = values.events === undefined ? undefined : wholeNumber("events", values.events, 1);
const dir = resolve(values["persist-to"]);
// What the seed wrote there (seed.mjs); a directory seeded before it did so has the bench's own.
const marker = [join(dir, "seed.json"), join(dir, "bench-volume.json")].find((f) => existsSync(f));
const n = (/** @type {number} */ x) => x.toLocaleString("en");

// 1. The seed: the one this directory holds (of --events, if given), else one made here. A
// directory holding anything else is never deleted without --reseed.
// `events`: the largest seed all of whose events are stored; `stored`, when the seed wrote it, every event then
// stored: more is another seed's (a smaller one's are a larger one's first), which the bench would time too.
/** @type {{ events: number; stored?: number; output: string } | null} */
const seeded = marker ? JSON.parse(readFileSync(marker, "utf8")) : null;
const mixed = seeded !== null && seeded.stored !== undefined && seeded.stored !== seeded.events;
const N = EVENTS ?? seeded?.events ?? 1_000_000;
if (values.reseed || mixed || seeded?.events !== N) {
  if (!values.reseed && existsSync(dir) && readdirSync(dir).length > 0) {
    console.error(
      seeded && mixed
        ? `${dir} holds ${n(seeded.stored ?? 0)} events, not a seed of ${n(seeded.events)} alone (another --seed's, or an earlier bench's ingest, seeded again): give another --persist-to, or --reseed to replace it with ${n(N)}.`
        : seeded
          ? `${dir} holds a seed of ${n(seeded.events)} events: pass --events ${seeded.events} to use it, or --reseed to replace it with ${n(N)}.`
          : `${dir} holds a database this bench or npm run seed did not make: give another --persist-to, or --reseed to replace it.`,
    );
    process.exit(2);
  }
  rmSync(dir, { recursive: true, force: true });
  console.log(`seeding ${n(N)} events into ${dir} …`);
  const res = spawnSync(process.execPath, [join(root, "scripts/seed.mjs"), "--events", String(N), "--persist-to", dir], {
    cwd: root,
    stdio: ["ignore", "pipe", "inherit"],
    encoding: "utf8",
  });
  if (res.status !== 0) process.exit(res.status ?? 1);
  console.log(res.stdout.trim());
} else {
  // What the seed printed when it last ran there (what it wrote, and what the database held then), not the database now.
  console.log(`reusing the seed of ${n(N)} events in ${dir} (--reseed to make it again); npm run seed last printed:\n${seeded.output.trim()}`);
}
// The bench's Worker (and wrangler's API under it, ~3 s of CPU to load) only once the arguments
// and the directory are known good: --help, a mistyped flag, a bad number and a directory refused answer at once.
const { BENCH_ADMIN_TOKEN, startBenchWorker } = await import("../bench/volume/stack.mjs");
/** The middle value, or the mean of the two middle ones. */
const median = (/** @type {number[]} */ xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] ?? 0) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2;
};
const full = await startBenchWorker({ persistTo: dir });
const emptyDir = mkdtempSync(join(tmpdir(), "edgehook-bench-empty-"));
/** @type {Awaited<ReturnType<typeof startBenchWorker>> | undefined} */
let empty;
/** The ids of the tokens the reads made, revoked at the end however it comes: the database is kept for the next run. @type {string[]} */
const benchTokens = [];
/** @type {Promise<void> | undefined} */
let cleaning;
/** Revokes the bench's tokens and stops both stacks, once: at the end, however it comes, or on Ctrl-C. */
const cleanUp = () =>
  (cleaning ??= (async () => {
    for (const id of benchTokens.splice(0)) {
      try {
        const res = await full.fetch(`/v1/tokens/${id}`, { method: "DELETE", headers: { authorization: `Bearer ${BENCH_ADMIN_TOKEN}` } });
        if (res.status !== 204) throw new Error(`${res.status} ${await res.text()}`);
      } catch (e) {
        console.error(`could not revoke the bench's token ${id} in ${dir}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    await full.stop();
    await empty?.stop();
    rmSync(emptyDir, { recursive: true, force: true });
  })());
// An interrupted run (Ctrl-C, a kill) cleans up too, then exits as the signal would have (128 + its number).
// Wrangler's own handlers exit at once, leaving the tokens live: these replace them (stopping the stacks itself).
for (const [signal, code] of /** @type {const} */ ([["SIGINT", 130], ["SIGTERM", 143]])) {
  process.removeAllListeners(signal);
  process.once(signal, () => {
    console.error(`\n${signal}: revoking the bench's tokens and stopping …`);
    cleanUp().finally(() => process.exit(code));
  });
}
try {
  if (!values["skip-reads"]) await timeReads();
  if (!values["skip-ingest"]) await compareIngest();
} finally {
  await cleanUp();
}

// 2. The reads.
async function timeReads() {
  const admin = { authorization: `Bearer ${BENCH_ADMIN_TOKEN}` };
  const get = async (/** @type {string} */ path, /** @type {Record<string, string>} */ headers = admin) => {
    const res = await full.fetch(path, { headers });
    const body = await res.text();
    return { status: res.status, body, rows: Number(res.headers.get("x-d1-rows-read")), size: Number(res.headers.get("x-d1-size")) };
  };
  const json = async (/** @type {string} */ path) => JSON.parse((await get(path)).body);
  const statsRead = await get("/v1/stats");
  const stats = JSON.parse(statsRead.body);
  console.log(
    `\nD1 reports ${n(statsRead.size)} bytes: ${n(Math.round(statsRead.size / stats.events.total))} per stored event ` +
      `(with its deliveries, attempts, counters and indexes; ~1.5 KB bodies)\n`,
  );
  // The organization of the seed's one-organization webhook (seed/volume.ts): its token sees that
  // webhook's deliveries, so its status lists walk real ones (another organization's token sees no
  // webhook's, and its status lists answer at once).
  const hooks = await full.api("GET", "/v1/webhooks?limit=100");
  const org = hooks.json.data.find((/** @type {any} */ w) => w.organizationUid)?.organizationUid;
  if (!org) throw new Error("no webhook of one organization in this database: seed it with npm run seed");
  // A seeded event of it with a location (only seeded events have failed deliveries), not one a
  // previous run's ingest bench added.
  // (A page may be short, as status lists answer within their rows: one without such an event is no answer.)
  /** @type {any} */
  let sample;
  /** @type {any} */
  let first;
  for (let cursor = "", pages = 0; !sample && pages < 200; pages++) {
    const page = await json(`/v1/events?organizationUid=${org}&status=failed&limit=50${cursor && `&cursor=${cursor}`}`);
    first ??= page.data[0];
    sample = page.data.find((/** @type {any} */ e) => e.locationUid);
    if (!page.nextCursor) break;
    cursor = encodeURIComponent(page.nextCursor);
  }
  sample ??= first;
  if (!sample) throw new Error(`no event of organization ${org} with a failed delivery in this database`);
  const enabled = stats.webhooks.find((/** @type {any} */ w) => !w.disabled).uid;
  const loc = sample.locationUid;
  const token = async (/** @type {object} */ body) => {
    const res = await full.api("POST", "/v1/tokens", { name: `bench-${crypto.randomUUID()}`, ...body });
    if (res.status !== 201) throw new Error(`token: ${res.status} ${JSON.stringify(res.json)}`);
    benchTokens.push(res.json.id);
    return res.json.token;
  };
  const all = ["events:read", "webhooks:read", "read_messages", "read_contacts", "read_payments", "read_reviews"];
  const orgToken = await token({ scopes: all, organizationUids: [org] });
  const locToken = await token({ scopes: ["events:read", "read_messages"], locationUids: [loc] });
  const login = await full.fetch("/dashboard/login", {
    method: "POST",
    headers: { origin: "http://bench", "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ token: BENCH_ADMIN_TOKEN }),
    redirect: "manual",
  });
  const cookie = { cookie: (login.headers.get("set-cookie") ?? "").split(";")[0] };
  const since = new Date(Date.now() - 5 * 86_400_000).toISOString();
  const until = new Date(Date.now() - 4 * 86_400_000).toISOString();
  const asOrg = { authorization: `Bearer ${orgToken}` };
  const asLoc = { authorization: `Bearer ${locToken}` };
  /** @type {[string, string, Record<string, string>?][]} */
  const reads = [
    ["GET /v1/stats (admin)", "/v1/stats"],
    ["GET /v1/stats (organization token)", "/v1/stats", asOrg],
    ["GET /v1/stats (location token)", "/v1/stats", asLoc],
    ["dashboard overview", "/dashboard", cookie],
    ["dashboard events", "/dashboard/events", cookie],
    ["dashboard events, failed", "/dashboard/events?status=failed", cookie],
    ["dashboard event", `/dashboard/events/${sample.id}`, cookie],
    ["dashboard webhooks", "/dashboard/webhooks", cookie],
    ["dashboard webhook", `/dashboard/webhooks/${enabled}`, cookie],
    ["GET /v1/events?limit=50", "/v1/events?limit=50"],
    ["events by type", "/v1/events?eventType=review.created&limit=50"],
    ["events by type (organization token)", "/v1/events?eventType=review.created&limit=50", asOrg],
    ["events by source", "/v1/events?sourceId=podium&limit=50"],
    ["events by location", `/v1/events?locationUid=${loc}&limit=50`],
    ["events by organization", `/v1/events?organizationUid=${org}&limit=50`],
    ["events by status=failed", "/v1/events?status=failed&limit=50"],
    ["events by status=held", "/v1/events?status=held&limit=50"],
    ["events since/until (one day)", `/v1/events?since=${since}&until=${until}&limit=50`],
    ["events by status=failed, one past day", `/v1/events?status=failed&since=${since}&until=${until}&limit=50`],
    ["events org+type+status+since", `/v1/events?organizationUid=${org}&eventType=message.received&status=succeeded&since=${since}&limit=50`],
    ["events (location token)", "/v1/events?limit=50", asLoc],
    // Its grant holds the one-organization webhook: a status walks its places, checking that webhook's deliveries.
    ["events by status=failed (org. token)", "/v1/events?status=failed&limit=50", asOrg],
    ["events by status=pending (org. token)", "/v1/events?status=pending&limit=50", asOrg],
    // A search examines up to 1,000 events of its range with their bodies, however few match.
    ["search, text matching nothing (one day)", `/v1/events?q=matches-nothing&since=${since}&until=${until}&limit=50`],
    ["search by path (one day)", `/v1/events?q=${encodeURIComponent("data.conversation.uid=nothing")}&since=${since}&until=${until}&limit=50`],
    ["search + status=failed (org. token)", `/v1/events?q=appointment&status=failed&since=${since}&until=${until}&limit=50`, asOrg],
    ["GET /v1/deliveries?limit=50", "/v1/deliveries?limit=50"],
    ["deliveries by status=failed", "/v1/deliveries?status=failed&limit=50"],
    ["deliveries by webhook", `/v1/deliveries?webhookUid=${enabled}&limit=50`],
    ["deliveries by webhook+status", `/v1/deliveries?webhookUid=${enabled}&status=pending&limit=50`],
    ["deliveries by event", `/v1/deliveries?eventId=${sample.id}`],
    ["deliveries (organization token)", "/v1/deliveries?status=succeeded&limit=50", asOrg],
    ["GET /v1/events/:id", `/v1/events/${sample.id}`],
    ["GET /v1/webhooks/:uid", `/v1/webhooks/${enabled}`],
  ];
  process.stderr.write(`timing ${reads.length} operator reads …\n`);
  const lines = [`operator reads with ${n(stats.events.total)} events stored (${REPEAT} timed calls each after a warm-up):`];
  lines.push(`  ${"read".padEnd(38)} ${"median ms".padStart(9)} ${"max ms".padStart(7)} ${"rows read".padStart(9)}  status`);
  for (const [name, path, headers] of reads) {
    const warm = await get(path, headers);
    const times = [];
    for (let i = 0; i < REPEAT; i++) {
      const t = performance.now();
      await get(path, headers);
      times.push(performance.now() - t);
    }
    lines.push(
      `  ${name.padEnd(38)} ${median(times).toFixed(1).padStart(9)} ${Math.max(...times).toFixed(1).padStart(7)} ${n(warm.rows).padStart(9)}  ${warm.status}`,
    );
  }
  console.log(lines.join("\n"));
}

/** @typedef {{ ms: number, rows: number }} PerEvent D1's statement time and rows written per event */

/** @param {Map<string, PerEvent>} into @param {{ bySql: Record<string, { durationMs: number, rowsWritten: number }>, n: number }} round */
function addUp(into, round) {
  for (const [sql, s] of Object.entries(round.bySql)) {
    const sum = into.get(sql) ?? { ms: 0, rows: 0 };
    into.set(sql, { ms: sum.ms + s.durationMs / round.n / ROUNDS, rows: sum.rows + s.rowsWritten / round.n / ROUNDS });
  }
}

/** The statements by D1 time per event, seeded against empty, largest difference first. @param {Map<string, PerEvent>} empty @param {Map<string, PerEvent>} full */
function byStatement(empty, full) {
  const none = { ms: 0, rows: 0 };
  const rows = [...new Set([...empty.keys(), ...full.keys()])]
    .map((sql) => ({ sql, a: empty.get(sql) ?? none, b: full.get(sql) ?? none }))
    .sort((x, y) => y.b.ms - y.a.ms - (x.b.ms - x.a.ms));
  return [
    "  D1 statement ms per event (empty | seeded) and rows written per event (seeded), by statement:",
    ...rows
      .slice(0, 12)
      .map((r) => `    ${r.a.ms.toFixed(4).padStart(8)} | ${r.b.ms.toFixed(4).padStart(8)} ${r.b.rows.toFixed(2).padStart(6)}  ${r.sql.slice(0, 90)}`),
  ];
}

// 3. The ingest consumer, on this database and on an empty one, rounds alternating. Both
// are prepared by an earlier run of the runtime and opened afresh (a database created in
// the running process is served faster than one opened from disk), and both have the
// same webhooks (the seed's five and one for these events), so every event routes alike.
async function compareIngest() {
  // The events land where the seeded account's do (its locations and organizations, drawn at
  // random), so every index they enter is as spread on the seeded side as real traffic would make it.
  const places = /** @type {{ locationUid: string, organizationUid: string }[]} */ (await (await full.fetch("/__bench/places")).json());
  if (places.length === 0) throw new Error("the seeded database knows no locations");
  const benchWebhook = { url: "https://hooks.example.com/bench-ingest-everywhere", eventTypes: ["*"] };
  const prepare = await startBenchWorker({ persistTo: emptyDir });
  if (!(await prepare.fetch("/__bench/seed-webhooks", { method: "POST" })).ok) throw new Error("could not add the seed's webhooks");
  await prepare.api("POST", "/v1/webhooks", benchWebhook);
  await prepare.stop();
  const hooks = await full.api("GET", "/v1/webhooks?limit=100");
  if (!hooks.json.data.some((/** @type {any} */ w) => w.url === benchWebhook.url)) await full.api("POST", "/v1/webhooks", benchWebhook);
  empty = await startBenchWorker({ persistTo: emptyDir });
  for (const w of [empty, full]) if (!(await w.fetch("/__bench/steady-counts", { method: "POST" })).ok) throw new Error("could not set the counters' marks");
  /** A round on one side: events/s, and the runtime's CPU ms per event (less swayed by other load on the machine). @param {any} w */
  const rate = async (w) => {
    const cpu = w.cpuMs();
    const res = await w.fetch("/__bench/ingest", { method: "POST", body: JSON.stringify({ n: INGEST, batch: 100, places }) });
    const out = await res.json();
    return {
      perSecond: (out.events / out.ms) * 1000,
      cpu: (w.cpuMs() - cpu) / out.events,
      rowsWritten: out.d1.rowsWritten / out.events,
      /** @type {Record<string, { durationMs: number, rowsWritten: number }>} */
      bySql: out.d1.bySql,
      n: out.events,
    };
  };
  await rate(empty); // warm-up, not counted
  await rate(full);
  const ratios = [];
  const cpuRatios = [];
  /** D1's statement time per event, by statement, summed over the rounds: where the seeded side loses time. */
  const bySql = { empty: /** @type {Map<string, PerEvent>} */ (new Map()), full: /** @type {Map<string, PerEvent>} */ (new Map()) };
  const out = [`\ningest consumer: ${ROUNDS} rounds of ${n(INGEST)} events in batches of 100 at the seeded account's ${n(places.length)} locations (the same six webhooks on both sides), empty database vs ${n(N)} seeded:`];
  for (let i = 0; i < ROUNDS; i++) {
    const a = await rate(empty);
    const b = await rate(full);
    addUp(bySql.empty, a);
    addUp(bySql.full, b);
    ratios.push(b.perSecond / a.perSecond);
    cpuRatios.push(a.cpu / b.cpu);
    out.push(
      `  round ${i + 1}: empty ${a.perSecond.toFixed(0)} events/s, ${a.cpu.toFixed(2)} CPU ms/event | ` +
        `seeded ${b.perSecond.toFixed(0)} events/s, ${b.cpu.toFixed(2)} CPU ms/event | ×${(b.perSecond / a.perSecond).toFixed(2)} ` +
        `(rows written per event ${a.rowsWritten.toFixed(2)} / ${b.rowsWritten.toFixed(2)})`,
    );
  }
  if (values["by-statement"]) out.push(...byStatement(bySql.empty, bySql.full));
  out.push(`  median by CPU per event: seeded/empty ×${median(cpuRatios).toFixed(2)}`);
  out.push(`  median events/s: seeded/empty ×${median(ratios).toFixed(2)} (target ≥ 0.9)`);
  console.log(out.join("\n"));
}
