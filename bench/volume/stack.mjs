// Starts the benches' Worker (bench/volume/worker.ts: Edgehook with metered D1) on a
// local state directory, with wrangler.toml's bindings and migrations applied, and
// reads the CPU time of the local runtime (workerd) that serves it.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { unstable_dev } from "wrangler";
import { applyLocalMigrations } from "../../scripts/local-migrations.mjs";

process.env.WRANGLER_SEND_METRICS ??= "false";
const root = resolve(import.meta.dirname, "../..");
export const BENCH_ADMIN_TOKEN = "bench-admin-token-of-at-least-32-characters";
export const BENCH_PODIUM_SECRET = "bench-podium-secret";

/** The workerd processes under this Node process (miniflare's, and the runtime each starts), by pid. */
function workerdPids() {
  /** @type {Map<number, { ppid: number; comm: string }>} */
  const procs = new Map();
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      procs.set(Number(pid), { comm, ppid: Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) });
    } catch {
      // gone meanwhile
    }
  }
  const under = (/** @type {number} */ pid) => {
    for (let p = procs.get(pid)?.ppid; p !== undefined && p > 1; p = procs.get(p)?.ppid) if (p === process.pid) return true;
    return false;
  };
  return [...procs].filter(([pid, p]) => p.comm === "workerd" && under(pid)).map(([pid]) => pid);
}

const TICK_MS = 1000 / Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim() || 100);

/** CPU time (user + system) the processes have used so far, in ms. @param {number[]} pids */
function cpuMs(pids) {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
      ticks += Number(fields[11]) + Number(fields[12]); // utime, stime
    } catch {
      // exited
    }
  }
  return ticks * TICK_MS;
}

/** @param {{ persistTo: string }} o */
export async function startBenchWorker(o) {
  await applyLocalMigrations({ persistTo: o.persistTo });
  const dir = mkdtempSync(join(tmpdir(), "edgehook-bench-"));
  const config = join(dir, "wrangler.toml");
  const toml = readFileSync(join(root, "wrangler.toml"), "utf8")
    .replace(/^main = .*$/m, `main = "${join(root, "bench/volume/worker.ts")}"`)
    .replace(/^directory = "public"$/m, `directory = "${join(root, "public")}"`)
    .replace(/^migrations_dir = .*$/m, `migrations_dir = "${join(root, "migrations")}"`)
    .replace(
      /^ALLOW_PRIVATE_DESTINATIONS = .*$/m,
      `ALLOW_PRIVATE_DESTINATIONS = "true"\nADMIN_TOKEN = "${BENCH_ADMIN_TOKEN}"\nPODIUM_WEBHOOK_SECRET = "${BENCH_PODIUM_SECRET}"`,
    )
    .replace(/^crons = .*$/m, "crons = []");
  writeFileSync(config, toml);
  const before = new Set(workerdPids());
  const worker = await unstable_dev(join(root, "bench/volume/worker.ts"), {
    config,
    persistTo: o.persistTo,
    logLevel: "error",
    experimental: { disableExperimentalWarning: true, disableDevRegistry: true, watch: false },
  });
  return {
    /** @param {string} path @param {Parameters<import("wrangler").Unstable_DevWorker["fetch"]>[1]} [init] */
    fetch: (path, init) => worker.fetch(`http://bench${path}`, init),
    /** Calls the management API with the admin token. @param {string} method @param {string} path @param {unknown} [body] */
    async api(method, path, body) {
      const res = await worker.fetch(`http://bench${path}`, {
        method,
        headers: { authorization: `Bearer ${BENCH_ADMIN_TOKEN}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: res.status, json: /** @type {any} */ (await res.json()) };
    },
    /** CPU ms the Worker's runtime (workerd, with local D1's SQLite inside it) has used so far; null if not found. */
    cpuMs() {
      // Looked up each time: the runtime may be restarted after the first start.
      const runtime = workerdPids().filter((p) => !before.has(p));
      return runtime.length > 0 ? cpuMs(runtime) : null;
    },
    async stop() {
      await worker.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
