// Memory over a long run of the local stack (docs/performance.md, "Memory over a long run"):
// wrangler dev with a local downstream (one webhook answering, one answering 503 a fifth of the
// time), steady signed events, and beside them the traffic anyone can send, each request keyed
// afresh: unknown source ids, bad signatures and bad API tokens from random addresses, some
// addresses past the failure limits. Every 30 s it prints the RSS of each workerd process (the
// dev proxy's and the Worker's) and the Worker isolate's JS heap after a full GC, read through the
// inspector (its Durable Objects run in that isolate). A measurement, not a test: whether the
// series levels off is read from it, against a run of the same traffic at bench/baseline's Worker
// (--baseline), which does no work and so shows what the local runtime keeps by itself.
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { createHmac, randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import WebSocket from "ws";
import { scriptArgs, wholeNumber } from "./script-args.mjs";

const USAGE = `Usage: npm run soak:memory -- [--minutes N] [--rate N] [--port N] [--downstream-port N] [--inspector-port N] [--baseline]
  --minutes N          how long traffic is sent (default 10); then the deliveries are drained (3 min at most)
  --rate N             signed events a second (default 30); junk requests are half as many
  --port N             wrangler dev's port (default 8787)
  --downstream-port N  the local downstream's port (default: any free one)
  --inspector-port N   wrangler dev's inspector port (default 9229)
  --baseline           the same traffic at bench/baseline's Worker (no work) instead of Edgehook`;
const values = scriptArgs(
  {
    minutes: { type: "string", default: "10" },
    rate: { type: "string", default: "30" },
    port: { type: "string", default: "8787" },
    "downstream-port": { type: "string", default: "0" },
    "inspector-port": { type: "string", default: "9229" },
    baseline: { type: "boolean", default: false },
  },
  USAGE,
);
const minutes = wholeNumber("minutes", values.minutes, 1, 24 * 60);
const rate = wholeNumber("rate", values.rate, 1, 1000);
const port = wholeNumber("port", values.port, 1, 65535);
const inspectorPort = wholeNumber("inspector-port", values["inspector-port"], 1, 65535);
const root = resolve(import.meta.dirname, "..");
const url = `http://127.0.0.1:${port}`;
const SAMPLE_MS = 30_000;

const vars = {
  ADMIN_TOKEN: `soak-${randomUUID()}`,
  PODIUM_WEBHOOK_SECRET: `soak-${randomUUID()}`,
  ALLOW_PRIVATE_DESTINATIONS: "true",
  RETRY_BASE_SECONDS: "1",
  RETRY_CAP_SECONDS: "3",
};
const state = mkdtempSync(join(tmpdir(), "edgehook-soak-memory-"));
writeFileSync(join(state, "vars.env"), Object.entries(vars).map(([k, v]) => `${k}="${v}"`).join("\n"));
const env = { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true", NO_COLOR: "1", X_LOCAL_OBSERVABILITY: "false" };
if (!values.baseline) {
  const migrated = spawnSync(process.execPath, [join(root, "scripts/local-migrations.mjs"), "--persist-to", state], { cwd: root, env, encoding: "utf8" });
  if (migrated.status !== 0) throw new Error(`migrations failed: ${migrated.stderr}${migrated.stdout}`);
}

let downstreamRequests = 0;
const downstream = createServer((req, res) => {
  req.resume();
  req.on("end", () => {
    downstreamRequests++;
    if (req.url?.startsWith("/chaos") && Math.random() < 0.2) res.writeHead(503).end("chaos");
    else res.end("ok");
  });
});
await new Promise((ok) => downstream.listen(wholeNumber("downstream-port", values["downstream-port"], 0, 65535), "127.0.0.1", () => ok(null)));
const address = downstream.address();
const downstreamUrl = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;

const child = spawn(
  process.execPath,
  [join(root, "node_modules/wrangler/bin/wrangler.js"), "dev", "--ip", "127.0.0.1", "--port", String(port), "--persist-to", state,
    "--env-file", join(state, "vars.env"), "--inspector-port", String(inspectorPort), "--show-interactive-dev-session=false",
    ...(values.baseline ? ["--config", join(root, "bench/baseline/wrangler.toml")] : [])],
  { cwd: root, env, detached: true, stdio: ["ignore", "pipe", "pipe"] },
);
// Its last output only: it logs every request.
let output = "";
const keep = (/** @type {Buffer} */ d) => (output = (output + d).slice(-20_000));
child.stdout?.on("data", keep);
child.stderr?.on("data", keep);
const end = () => {
  if (child.exitCode === null && child.pid) process.kill(-child.pid, "SIGKILL");
  downstream.close();
  rmSync(state, { recursive: true, force: true });
};
process.on("SIGINT", () => (end(), process.exit(130)));

for (const deadline = Date.now() + 90_000; ; ) {
  if (child.exitCode !== null || Date.now() > deadline) {
    end();
    throw new Error(`wrangler dev did not start:\n${output}`);
  }
  const res = await fetch(`${url}/healthz`).catch(() => null);
  await res?.body?.cancel();
  if (res && res.status < 500) break;
  await new Promise((r) => setTimeout(r, 250));
}

/** Calls the management API with the admin token. @param {string} method @param {string} path @param {unknown} [body] */
async function api(method, path, body) {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${vars.ADMIN_TOKEN}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return res.json();
}
if (!values.baseline) {
  await api("POST", "/v1/webhooks", { url: `${downstreamUrl}/ok`, eventTypes: ["*"] });
  await api("POST", "/v1/webhooks", { url: `${downstreamUrl}/chaos`, eventTypes: ["*"], timeoutMs: 1000, maxAttempts: 30 });
}

/** The workerd processes of the stack (its process group), each as the dev proxy's (on --port) or the Worker's. */
function workerds() {
  const ps = execFileSync("ps", ["-e", "-o", "pid=,pgid=,rss=,args="], { encoding: "utf8" });
  return ps.split("\n").flatMap((line) => {
    const [, pid, pgid, rss, args] = /^\s*(\d+)\s+(\d+)\s+(\d+)\s+(.*)$/.exec(line) ?? [];
    if (Number(pgid) !== child.pid || !/\bworkerd serve\b/.test(args ?? "")) return [];
    return [{ pid: Number(pid), role: args?.includes(`entry=127.0.0.1:${port} `) ? "proxy" : "worker", mb: Math.round(Number(rss) / 1024) }];
  });
}

/** The Worker isolate's JS heap in use after a full GC (MB), through the inspector; null if it did not answer. */
function heapAfterGc() {
  return /** @type {Promise<number | null>} */ (
    new Promise((done) => {
      const ws = new WebSocket(`ws://127.0.0.1:${inspectorPort}/ws`);
      const timer = setTimeout(() => (ws.terminate(), done(null)), 10_000);
      ws.on("open", () => ws.send(JSON.stringify({ id: 1, method: "HeapProfiler.collectGarbage" })));
      ws.on("message", (m) => {
        const d = JSON.parse(String(m));
        if (d.id === 1) ws.send(JSON.stringify({ id: 2, method: "Runtime.getHeapUsage" }));
        if (d.id !== 2) return;
        clearTimeout(timer);
        ws.close();
        done(typeof d.result?.usedSize === "number" ? Math.round(d.result.usedSize / 1048576) : null);
      });
      ws.on("error", () => (clearTimeout(timer), done(null)));
    })
  );
}

/** @type {Map<string, number>} */
const answers = new Map();
const started = Date.now();
/** @type {{ s: number, proxy: string, worker: string, heap: number | null }[]} */
const samples = [];
/** The workerd processes seen so far: a new one is a runtime wrangler started again, its memory from nothing. */
const seen = new Set();
async function sample() {
  const procs = workerds();
  const restarted = samples.length > 0 && procs.some((p) => !seen.has(p.pid));
  for (const p of procs) seen.add(p.pid);
  if (restarted) console.log(`a workerd process started again; wrangler's last lines:\n${output.trim().split("\n").slice(-10).join("\n")}`);
  const rss = (/** @type {string} */ role) => procs.filter((p) => p.role === role).map((p) => p.mb).join("+") || "-";
  const s = { s: Math.round((Date.now() - started) / 1000), proxy: rss("proxy"), worker: `${rss("worker")}${restarted ? " (new runtime)" : ""}`, heap: await heapAfterGc() };
  samples.push(s);
  const sent = [...answers].map(([k, n]) => `${k} ${n}`).join(", ");
  console.log(`${s.s} s: RSS proxy ${s.proxy} MB, worker ${s.worker} MB; worker heap after GC ${s.heap ?? "?"} MB; sent ${sent}; downstream ${downstreamRequests}`);
}

const randomAddress = () => `10.${Array.from({ length: 3 }, () => Math.floor(Math.random() * 256)).join(".")}`;
/** A Podium event, signed (or signed wrong) as Podium signs. @param {string} client @param {boolean} [wrong] */
function podium(client, wrong = false) {
  const body = JSON.stringify({
    data: { uid: randomUUID(), body: "soak", location: { uid: `loc-${Math.floor(Math.random() * 50)}`, organizationUid: "org-soak" } },
    metadata: { eventType: "message.received", eventUid: randomUUID(), version: "2021.04.01" },
  });
  const timestamp = String(Date.now());
  const signature = createHmac("sha256", wrong ? "wrong" : vars.PODIUM_WEBHOOK_SECRET).update(`${timestamp}.${body}`).digest("hex");
  const headers = { "content-type": "application/json", "podium-timestamp": timestamp, "podium-signature": signature, "cf-connecting-ip": client };
  return fetch(`${url}/webhooks/podium`, { method: "POST", headers, body });
}
/** @type {[string, () => Promise<Response>][]} */
const junk = [
  ["unknown source", () => fetch(`${url}/webhooks/soak-${randomUUID()}`, { method: "POST", body: "{}", headers: { "cf-connecting-ip": randomAddress() } })],
  ["bad signature", () => podium(randomAddress(), true)],
  ["bad token", () => fetch(`${url}/v1/webhooks`, { headers: { authorization: `Bearer ehk_${randomUUID()}`, "cf-connecting-ip": randomAddress() } })],
  ["event list", () => fetch(`${url}/v1/events?limit=5`, { headers: { authorization: `Bearer ${vars.ADMIN_TOKEN}` } })],
];
/** @type {Set<Promise<unknown>>} */
const inFlight = new Set();
/** @param {string} what @param {() => Promise<Response>} send */
function fire(what, send) {
  const p = send().then(
    async (res) => {
      answers.set(`${what} ${res.status}`, (answers.get(`${what} ${res.status}`) ?? 0) + 1);
      await res.body?.cancel();
    },
    () => answers.set(`${what} error`, (answers.get(`${what} error`) ?? 0) + 1),
  );
  inFlight.add(p);
  p.finally(() => inFlight.delete(p));
}

await sample();
let sampling = Promise.resolve();
const sampler = setInterval(() => (sampling = sampling.then(sample)), SAMPLE_MS);
// A tick every 100 ms; every 5 s an address sends 22 bad signatures (past SIGNATURE_FAILURES' 20 a minute).
for (let tick = 0; Date.now() - started < minutes * 60_000; tick++) {
  for (let i = 0; i < rate / 10; i++) fire("event", () => podium("192.0.2.1"));
  for (let i = 0; i < rate / 20; i++) fire(...junk[(tick + i) % junk.length]);
  if (tick % 50 === 0) {
    const client = randomAddress();
    for (let i = 0; i < 22; i++) fire("limited address", () => podium(client, true));
  }
  while (inFlight.size > 200) await Promise.race(inFlight);
  await new Promise((r) => setTimeout(r, 100));
}
await Promise.allSettled([...inFlight]);
if (!values.baseline) {
  for (const deadline = Date.now() + 180_000; Date.now() < deadline; ) {
    const stats = await api("GET", "/v1/stats");
    if (stats.deliveries.pending === 0) {
      console.log(`drained: events ${stats.events.total}, deliveries ${JSON.stringify(stats.deliveries)}`);
      break;
    }
    await new Promise((r) => setTimeout(r, 5_000));
  }
}
clearInterval(sampler);
await sampling;
await sample();
console.log(`\nseconds: RSS proxy / worker (MB), worker heap after GC (MB)`);
console.log(samples.map((s) => `${s.s}: ${s.proxy} / ${s.worker}, ${s.heap ?? "?"}`).join("\n"));
end();
process.exit(0);
