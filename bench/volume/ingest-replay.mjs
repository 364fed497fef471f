#!/usr/bin/env node
// npx node bench/volume/ingest-replay.mjs DIR [--batches N] [--replays R]   (Node 22: node:sqlite)
//
// Where ingest's time goes with the seed in DIR stored, statement by statement (docs/scale-and-cost.md,
// "Ingest with 1,000,000 stored"). On each side, the seeded database in DIR and an empty one with the
// same webhooks (as `npm run bench:volume` compares them), it ingests a warm-up of N batches of 100
// events at the seed's locations, keeps a copy of the D1 file, then records the statements and binds
// of N more batches (bench/volume/worker.ts, `record`). Then, outside the runtime, with Node's SQLite
// (node:sqlite), it replays each side's batches on a copy of its file, R times alternating, and
// prints per batch: each statement's CPU and the pages it read from the file, and the distinct pages
// each transaction wrote, by b-tree (read back from the WAL). A third replay gives the seeded side's
// new event ids in insertion order (what the id index costs). Like bench:volume it stores events
// into DIR (2 × N × 100); times are this machine's, asserted nowhere.
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { DatabaseSync } from "node:sqlite";
import { startBenchWorker } from "./stack.mjs";

process.env.WRANGLER_SEND_METRICS ??= "false";
process.env.X_LOCAL_OBSERVABILITY ??= "false";
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { batches: { type: "string", default: "20" }, replays: { type: "string", default: "3" } },
});
const dir = positionals[0];
if (!dir) {
  console.error("usage: npx node bench/volume/ingest-replay.mjs DIR [--batches N] [--replays R]");
  process.exit(2);
}
const BATCHES = Number(values.batches);
const REPLAYS = Number(values.replays);
const work = mkdtempSync(join(tmpdir(), "edgehook-ingest-replay-"));

/** The D1 file under a state directory (the one that is not miniflare's metadata). @param {string} state */
function d1File(state) {
  const at = join(state, "v3/d1/miniflare-D1DatabaseObject");
  const name = readdirSync(at).find((f) => f.endsWith(".sqlite") && f !== "metadata.sqlite");
  if (!name) throw new Error(`no D1 database under ${at}`);
  return join(at, name);
}

/**
 * On one side: a warm-up, then a copy of its D1 file, then the recorded batches.
 * @param {string} state @param {unknown[]} places @param {string} name
 * @returns {Promise<{ base: string, calls: Call[] }>}
 */
async function capture(state, places, name) {
  const ingest = async (/** @type {boolean} */ record) => {
    const w = await startBenchWorker({ persistTo: state });
    try {
      if (!record && !(await w.fetch("/__bench/steady-counts", { method: "POST" })).ok) throw new Error("could not set the counters' marks");
      const res = await w.fetch("/__bench/ingest", { method: "POST", body: JSON.stringify({ n: BATCHES * 100, batch: 100, places, record }) });
      if (!res.ok) throw new Error(`ingest: ${res.status} ${await res.text()}`);
      return /** @type {any} */ (await res.json()).statements;
    } finally {
      await w.stop();
    }
  };
  await ingest(false);
  const file = d1File(state);
  const db = new DatabaseSync(file);
  db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  db.close();
  const base = join(work, `${name}.sqlite`);
  copyFileSync(file, base);
  return { base, calls: await ingest(true) };
}

/** @typedef {{ batch: boolean, statements: { sql: string, binds: unknown[] }[] }} Call a call to D1 as recorded */

/** A bound value as an SQL literal, as D1 binds it (an integral number as an integer). @param {unknown} v */
function literal(v) {
  if (v === null || v === undefined) return "NULL";
  if (typeof v === "number") return String(v);
  if (typeof v === "string") return `'${v.replaceAll("'", "''")}'`;
  if (typeof v === "object" && "hex" in v) return `X'${v.hex}'`;
  throw new Error(`unexpected bind ${JSON.stringify(v)}`);
}

/** The SQL with its parameters (?, ?N) written in as literals, string literals left alone. @param {string} sql @param {unknown[]} binds */
function withBinds(sql, binds) {
  let next = 0;
  return sql.replace(/'(?:[^']|'')*'|\?(\d*)/g, (m, n) => {
    if (m.startsWith("'")) return m;
    const k = n ? Number(n) : next + 1;
    next = Math.max(next, k);
    return literal(binds[k - 1]);
  });
}

/** The statement's first words, to tell them apart. @param {string} sql */
const label = (sql) => sql.trim().replace(/\s+/g, " ").slice(0, 64);

/** rchar and wchar of this process: bytes read and written through system calls. */
function io() {
  const t = readFileSync("/proc/self/io", "utf8");
  return { r: Number(/rchar: (\d+)/.exec(t)?.[1]), w: Number(/wchar: (\d+)/.exec(t)?.[1]) };
}

/**
 * Replays recorded calls on a copy of `base`: each batch a transaction, committed (checkpoints as
 * SQLite's default, as local D1). Returns per statement (its place in a batch) CPU ms and pages read
 * from the file, and the distinct pages each transaction since the last checkpoint wrote, by b-tree.
 * @param {string} base @param {Call[]} calls @param {(sql: string) => string} [rewrite]
 */
function replay(base, calls, rewrite = (s) => s) {
  const file = join(work, "replay.sqlite");
  for (const e of ["", "-wal", "-shm"]) rmSync(file + e, { force: true });
  copyFileSync(base, file);
  const db = new DatabaseSync(file);
  /** @type {Map<string, { cpu: number, read: number }>} */
  const by = new Map();
  const timed = (/** @type {string} */ key, /** @type {string} */ sql) => {
    const i0 = io();
    const c0 = process.cpuUsage();
    if (sql === "COMMIT") db.exec(sql);
    else db.prepare(sql).all();
    const c = process.cpuUsage(c0);
    const s = by.get(key) ?? { cpu: 0, read: 0 };
    s.cpu += (c.user + c.system) / 1000;
    s.read += (io().r - i0.r) / 4096;
    by.set(key, s);
  };
  let batches = 0;
  for (const call of calls) {
    const sqls = call.statements.map((s) => rewrite(withBinds(s.sql, s.binds)));
    if (!call.batch) {
      call.statements.forEach((s, k) => timed(`read: ${label(s.sql)}`, sqls[k] ?? ""));
      continue;
    }
    batches++;
    db.exec("BEGIN");
    call.statements.forEach((s, k) => timed(`${String(k).padStart(2)} ${label(s.sql)}`, sqls[k] ?? ""));
    timed("COMMIT", "COMMIT");
  }
  // The WAL's frames since its last restart (a frame of an earlier one has other salts), transaction
  // by transaction (a commit frame records the database's size).
  const wal = readFileSync(`${file}-wal`);
  const pageSize = wal.readUInt32BE(8);
  const salts = wal.subarray(16, 24);
  const owner = new Map(db.prepare("SELECT pageno, name FROM dbstat").all().map((r) => [Number(r.pageno), String(r.name)]));
  /** @type {Map<string, number>} */
  const pages = new Map();
  let txs = 0;
  let inTx = new Set();
  for (let at = 32; at + 24 + pageSize <= wal.length; at += 24 + pageSize) {
    if (!wal.subarray(at + 8, at + 16).equals(salts)) break;
    inTx.add(wal.readUInt32BE(at));
    if (wal.readUInt32BE(at + 4) === 0) continue;
    txs++;
    for (const p of inTx) {
      const name = owner.get(p) ?? "(other)";
      pages.set(name, (pages.get(name) ?? 0) + 1);
    }
    inTx = new Set();
  }
  db.close();
  return { batches, by, pages, txs };
}

/**
 * New events' ids made to sort after every one stored in `base`, in insertion order.
 * @param {Call[]} calls @param {string} base
 */
function orderedIds(calls, base) {
  const fresh = new Set();
  for (const call of calls) for (const s of call.statements) if (s.sql.trimStart().startsWith("INSERT INTO events")) for (const id of JSON.stringify(s.binds).match(/evt_[0-9a-f]{32}/g) ?? []) fresh.add(id);
  const db = new DatabaseSync(base, { readOnly: true });
  const last = BigInt(`0x${String(db.prepare("SELECT hex(max(id)) AS id FROM events WHERE typeof(id) = 'blob'").get()?.id || "0")}`);
  db.close();
  /** @type {Map<string, string>} */
  const to = new Map();
  [...fresh].forEach((id, i) => to.set(id, `evt_${(last + 1n + BigInt(i)).toString(16).padStart(32, "0")}`));
  if ([...to.values()].some((id) => id.length !== 36)) throw new Error("no room for ids after the stored ones");
  return (/** @type {string} */ sql) => sql.replace(/evt_[0-9a-f]{32}/g, (id) => to.get(id) ?? id);
}

try {
  const full = await startBenchWorker({ persistTo: dir });
  const places = await (await full.fetch("/__bench/places")).json();
  await full.stop();
  // The empty side: the seed's five webhooks and the bench's, as bench:volume makes it.
  const emptyState = join(work, "empty-state");
  const prepare = await startBenchWorker({ persistTo: emptyState });
  if (!(await prepare.fetch("/__bench/seed-webhooks", { method: "POST" })).ok) throw new Error("could not add the seed's webhooks");
  await prepare.api("POST", "/v1/webhooks", { url: "https://hooks.example.com/bench-ingest-everywhere", eventTypes: ["*"] });
  await prepare.stop();
  const empty = await capture(emptyState, places, "empty");
  const seeded = await capture(dir, places, "seeded");
  const ordered = orderedIds(seeded.calls, seeded.base);
  const sides = /** @type {const} */ ([
    ["empty", empty.base, empty.calls, undefined],
    ["seeded", seeded.base, seeded.calls, undefined],
    ["seeded, ids in insertion order", seeded.base, seeded.calls, ordered],
  ]);
  /** @type {Map<string, ReturnType<typeof replay>[]>} */
  const runs = new Map();
  for (let i = 0; i < REPLAYS; i++) {
    for (const [name, base, calls, rewrite] of sides) runs.set(name, [...(runs.get(name) ?? []), replay(base, calls, rewrite)]);
  }
  const range = (/** @type {number[]} */ xs) => {
    const lo = Math.min(...xs);
    const hi = Math.max(...xs);
    return (hi - lo < 0.05 ? lo.toFixed(2) : `${lo.toFixed(2)}–${hi.toFixed(2)}`).padStart(11);
  };
  for (const [name] of sides) {
    const rs = runs.get(name) ?? [];
    const first = rs[0];
    if (!first) continue;
    console.log(`\n${name}: ${first.batches} batches of 100 events, ${rs.length} replays; per batch, CPU ms (range) and pages read from the file:`);
    const total = rs.map((r) => [...r.by.values()].reduce((a, s) => a + s.cpu, 0) / r.batches);
    for (const key of first.by.keys()) {
      const cpu = rs.map((r) => (r.by.get(key)?.cpu ?? 0) / r.batches);
      console.log(`  ${key.padEnd(68)} ${range(cpu)} ${((first.by.get(key)?.read ?? 0) / first.batches).toFixed(1).padStart(7)}`);
    }
    console.log(`  ${"all".padEnd(68)} ${range(total)}`);
    const written = [...first.pages].sort((a, b) => b[1] - a[1]);
    console.log(`  pages a transaction writes: ${(written.reduce((a, [, n]) => a + n, 0) / first.txs).toFixed(1)}, of them ` +
      written.slice(0, 6).map(([b, n]) => `${b} ${(n / first.txs).toFixed(1)}`).join(", "));
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
