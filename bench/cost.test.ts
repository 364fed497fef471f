// `npm run bench` (cost): what one event costs, received by the ack path, stored,
// delivered once to one webhook (a local downstream answering 200), counted (ingest's
// pending counts folded into the counter rows, then its hour into the totals: the maintenance
// run's folding, the latter shared by an hour's events) and purged
// at the retention (its counts taken off an hour at a time, shared likewise), through the real code in the local runtime (bench/volume/worker.ts), and
// its price per million events at the list prices in bench/prices.json. Measured: D1
// rows read and written (each result's meta), the database's growth, queue messages
// written, read and deleted, R2 operations, invocations and scheduler wake-ups. CPU
// time is an upper bound: the local runtime's whole process (workerd, local D1's
// SQLite included); the schedulers' duration is estimated from the delivery phase's
// wall time. Prints; asserts only that every event went through.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { BENCH_PODIUM_SECRET, startBenchWorker } from "./volume/stack.mjs";
import { startDownstream, type Downstream } from "../test/e2e/downstream";

// The retention purges every ten minutes in chunks of up to 5,000: at 1,000,000 events a day,
// ~6,900 events in two chunks, ~3,500 on average. The cycle's purge is one chunk of N, so its
// counter rows are shared by as many events as in a running account.
const N = Number(process.env.BENCH_CYCLE_EVENTS ?? 3500);
// The ingest queue's batches: 100 (its max_batch_size) under load; BENCH_INGEST_BATCH=3 is about
// what 1,000,000 events a day spread evenly bring in its 0.25 s batch timeout (~12 a second).
const INGEST_BATCH = Number(process.env.BENCH_INGEST_BATCH ?? 100);
const root = resolve(import.meta.dirname, "..");
const prices = JSON.parse(readFileSync(join(root, "bench/prices.json"), "utf8"));
const RETENTION_DAYS = Number(/^RETENTION_DAYS = "(\d+)"/m.exec(readFileSync(join(root, "wrangler.toml"), "utf8"))?.[1] ?? 10);

interface Phase {
  d1: {
    rowsRead: number;
    rowsWritten: number;
    statements: number;
    durationMs: number;
    sizeAfter: number;
    bySql: Record<string, { rowsWritten: number }>;
  };
  queue: { writes: number; reads: number; deletes: number };
  r2: { classA: number; classB: number };
  invocations: number;
  cpuMs: number | null;
  ms: number;
  [more: string]: unknown;
}

let bench: Awaited<ReturnType<typeof startBenchWorker>>;
let down: Downstream;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "edgehook-cost-"));
  bench = await startBenchWorker({ persistTo: dir });
  down = await startDownstream();
}, 180_000);
afterAll(async () => {
  await bench?.stop();
  await down?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function phase(name: string, body: unknown = {}): Promise<Phase> {
  const before = bench.cpuMs();
  const res = await bench.fetch(`/__bench/cycle/${name}`, { method: "POST", body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`${name}: ${res.status} ${await res.text()}`);
  const out = (await res.json()) as Phase;
  const after = bench.cpuMs();
  return { ...out, cpuMs: before === null || after === null ? null : after - before };
}

const EVENTS_PER_HOUR = 1_000_000 / 24;

/** A phase that runs once per hour of traffic, scaled so that dividing by N gives its share of each of EVENTS_PER_HOUR. */
function perHourOfTraffic(ph: Phase): Phase {
  const k = N / EVENTS_PER_HOUR;
  const { rowsRead, rowsWritten, statements, durationMs, bySql } = ph.d1;
  const scaled = Object.fromEntries(Object.entries(bySql).map(([sql, st]) => [sql, { ...st, rowsWritten: st.rowsWritten * k }]));
  return {
    ...ph,
    d1: { ...ph.d1, rowsRead: rowsRead * k, rowsWritten: rowsWritten * k, statements: statements * k, durationMs: durationMs * k, bySql: scaled },
    cpuMs: ph.cpuMs === null ? null : ph.cpuMs * k,
  };
}

const fmt = (x: number, digits = 2) => x.toLocaleString("en", { maximumFractionDigits: digits, minimumFractionDigits: digits });

it(`measures what an event costs, received, stored, delivered once and purged (${N} events)`, async () => {
  const key = `cost-${Date.now()}`;
  const start = await phase("start", { n: N, downstream: `${down.url}/ok/${key}`, secret: BENCH_PODIUM_SECRET.split(" ")[0] });
  const sizeBefore = Number(start.sizeBefore);
  const phases: Record<string, Phase> = {};
  phases.ack = await phase("ack");
  expect(phases.ack.accepted).toBe(N);
  phases.ingest = await phase("ingest", { batch: INGEST_BATCH });
  expect(phases.ingest.deliveriesOwed).toBe(N);
  phases.deliver = await phase("deliver");
  const received = new Set((await down.requests(key)).map((r) => r.headers["webhook-id"]));
  expect(received.size).toBe(N);
  const delivered = phases.deliver.d1.sizeAfter;
  // Ingest's pending counts go into the counter rows a fold at a time (a row per scope and hour its
  // batches touched), shared by the events of the batches folded together: the cycle's own.
  phases.counts = await phase("counts");
  // Folding costs a row per scope and hour, whatever the events in the hour: counted per event of
  // an hour at 1,000,000 events a day (every scope is touched each hour at that volume).
  phases.fold = perHourOfTraffic(await phase("fold"));
  phases.purge = await phase("purge");
  expect(phases.purge.purged).toBe(N);
  expect(phases.purge.left).toBe(0);
  // The purges' counts come off the counter rows once the retention is past their hour: a row per
  // scope and hour, as the fold's, shared by an hour's events.
  const purges = await phase("purges");
  expect(purges.applied).toBeGreaterThan(0);
  phases.purges = perHourOfTraffic(purges);

  const per = (f: (p: Phase) => number) => Object.values(phases).reduce((n, p) => n + f(p), 0) / N;
  const rowsRead = per((p) => p.d1.rowsRead);
  const rowsWritten = per((p) => p.d1.rowsWritten);
  const queueOps = per((p) => p.queue.writes + p.queue.reads + p.queue.deletes);
  const classA = per((p) => p.r2.classA);
  const classB = per((p) => p.r2.classB);
  const invocations = per((p) => p.invocations);
  // A wake-up is one request to the webhook's scheduler, and the alarm it sets another (at most).
  const doRequests = (2 * Number(phases.ingest.schedulerWakes)) / N;
  // The scheduler is active (billed for duration, 128 MB) while it sends: the delivery phase's wall time.
  const doGbSeconds = (phases.deliver.ms / 1000) * 0.128 / N;
  const cpuKnown = Object.values(phases).every((p) => p.cpuMs !== null);
  const cpuMs = cpuKnown ? per((p) => p.cpuMs ?? 0) : 0;
  const bytes = (delivered - sizeBefore) / N;
  // D1 runs one statement at a time: the time its statements take per event bounds the events/s one database takes.
  const d1Ms = per((p) => p.d1.durationMs);
  // A stored event occupies its bytes for the retention: RETENTION_DAYS / 30 of a month.
  const storageGbMonths = (bytes / 1e9) * (RETENTION_DAYS / 30);

  const p = prices.perMillion;
  const dollars: Record<string, number> = {
    "Worker requests": invocations * p.workerRequests,
    "Durable Object requests": doRequests * p.durableObjectRequests,
    "Durable Object duration": doGbSeconds * p.durableObjectGbSeconds,
    "Worker CPU (upper bound)": cpuMs * p.workerCpuMs,
    "Queue operations": queueOps * p.queueOperations,
    "D1 rows read": rowsRead * p.d1RowsRead,
    "D1 rows written": rowsWritten * p.d1RowsWritten,
    "D1 storage for the retention": storageGbMonths * 1e6 * prices.perGbMonth.d1Storage,
    "R2 operations": classA * p.r2ClassA + classB * p.r2ClassB,
  };
  const total = Object.values(dollars).reduce((a, b) => a + b, 0);

  const row = (name: string, ph: Phase) =>
    `  ${name.padEnd(8)} ${fmt(ph.d1.rowsRead / N).padStart(9)} ${fmt(ph.d1.rowsWritten / N).padStart(9)} ${fmt(ph.d1.statements / N, 3).padStart(9)} ` +
    `${fmt((ph.queue.writes + ph.queue.reads + ph.queue.deletes) / N).padStart(7)} ${fmt((ph.r2.classA + ph.r2.classB) / N).padStart(5)} ` +
    `${fmt(ph.invocations / N, 3).padStart(8)} ${ph.cpuMs === null ? "    n/a" : fmt(ph.cpuMs / N, 3).padStart(7)}  ${String(ph.ms).padStart(7)}`;
  console.log(
    [
      `cost per event: ${N} Podium events (~1.5 KB bodies) received, stored (batches of ${INGEST_BATCH}), delivered once to one webhook by its scheduler, purged`,
      `  phase    rows read  rows wrt  stmts     queue    R2  invocs   CPU ms  wall ms (whole phase)`,
      ...Object.entries(phases).map(([name, ph]) => row(name, ph)),
      `  per event: ${fmt(rowsRead)} D1 rows read, ${fmt(rowsWritten)} written; ${fmt(queueOps)} queue operations; ${fmt(classA + classB)} R2 operations; ` +
        `${fmt(invocations, 3)} invocations; ${fmt(doRequests, 3)} scheduler requests, ${fmt(doGbSeconds * 1000, 3)} GB-ms; ` +
        `${cpuKnown ? `≤ ${fmt(cpuMs, 3)} CPU ms` : "CPU not measurable here"}`,
      `  D1 rows written per event, by statement (those over 0.05):`,
      ...Object.entries(phases).flatMap(([name, ph]) =>
        Object.entries(ph.d1.bySql)
          .map(([sql, st]) => ({ sql, rows: st.rowsWritten / N }))
          .filter((st) => st.rows > 0.05)
          .sort((a, b) => b.rows - a.rows)
          .map((st) => `    ${name.padEnd(8)} ${fmt(st.rows).padStart(6)}  ${st.sql.slice(0, 100)}`),
      ),
      `  D1 size: ${fmt(bytes, 0)} bytes per event stored with its delivery and attempt (local SQLite pages, growth over ${N} events)`,
      `  D1 busy: ${fmt(d1Ms, 3)} ms of statement time per event (meta.duration) → one database takes at most ~${fmt(1000 / d1Ms, 0)} events/s through the whole cycle`,
      `  price per million events at list prices read ${prices.read} (beyond the plan's included usage):`,
      ...Object.entries(dollars).map(([k, v]) => `    ${k.padEnd(30)} $${fmt(v, 3)}`),
      `    ${"total".padEnd(30)} $${fmt(total, 3)}  (target ≤ $3.00)`,
      `  measured: D1 rows and size (result meta), queue messages, R2 calls and invocations (counted at the bindings, 1 queue op per message under 64 KB);`,
      `  estimated: CPU (the local runtime process's CPU time, SQLite included: an upper bound), consumer invocations billed as requests,`,
      `  scheduler requests (a wake-up and an alarm each) and duration (the delivery phase's wall time with a local downstream; a slower one costs more).`,
    ].join("\n"),
  );
}, 1_800_000);
