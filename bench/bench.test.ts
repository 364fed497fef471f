// `npm run bench`: the ingress against a baseline Worker that only reads the body and answers 202
// (with the same static assets in front, bench/baseline/wrangler.toml),
// in one run, on the same runtime and client, rounds alternating (A B A B …), loopback only;
// then 1,000 signed events end to end; then the Worker's bundle size. Prints ratios; asserts nothing
// about time.
import autocannon from "autocannon";
import { spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, it } from "vitest";
import { startDownstream, type Downstream } from "../test/e2e/downstream";
import { podiumEvent, sendPodium, timestampedHmac } from "../test/e2e/podium";
import { eventually, startStack, type Stack } from "../test/e2e/stack";
import { cpuSince, groupCpu } from "./proc-cpu";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 6);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 20);
const REQUESTS = 100;
const root = resolve(import.meta.dirname, "..");

let edgehook: Stack;
let baseline: Stack;
let down: Downstream;

beforeAll(async () => {
  edgehook = await startStack({ RETRY_BASE_SECONDS: "1" });
  baseline = await startStack({}, { config: join(root, "bench/baseline/wrangler.toml") });
  down = await startDownstream();
}, 180_000);
afterAll(async () => {
  await edgehook?.stop();
  await baseline?.stop();
  await down?.close();
});

/**
 * Signed Podium requests, each a distinct event, timestamps fresh for the run.
 * Every connection cycles through the same list; autocannon builds each connection's
 * copy as the round starts, which with thousands of entries stalls its own event loop
 * and shows up as client-made latency: a short list keeps that out of the figures.
 */
function signedRequests(n: number, secret: string) {
  return Array.from({ length: n }, () => {
    const body = podiumEvent();
    const ts = String(Date.now());
    return {
      method: "POST" as const,
      path: "/webhooks/podium",
      headers: {
        "content-type": "application/json",
        "podium-timestamp": ts,
        "podium-signature": timestampedHmac(secret, ts, body),
      },
      body,
    };
  });
}

/**
 * One round against `target`, with the CPU each stack's processes spent meanwhile (from /proc):
 * the target's per request, and the other's, which should be idle (work left over from its own
 * round, such as the consumers catching up, shows here).
 */
async function round(target: Stack, other: Stack, requests: ReturnType<typeof signedRequests>) {
  const [t0, o0, c0] = [groupCpu(target.processGroup), groupCpu(other.processGroup), process.cpuUsage()];
  const result = await autocannon({ url: target.url, connections: CONNECTIONS, duration: SECONDS, requests });
  const client = process.cpuUsage(c0);
  const perRequest = (ms: Map<string, number>) =>
    [...cpuSince(t0, ms)].map(([k, v]) => `${k} ${fmt(v / Math.max(result.requests.total, 1))}`).join(", ");
  const cpu =
    `cpu ms/request: ${perRequest(groupCpu(target.processGroup))}, client ${fmt((client.user + client.system) / 1000 / Math.max(result.requests.total, 1))}; ` +
    `other stack meanwhile ${fmt([...cpuSince(o0, groupCpu(other.processGroup)).values()].reduce((a, b) => a + b, 0))} ms`;
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, non2xx: result.non2xx + result.errors, cpu };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (x: number) => (Math.round(x * 100) / 100).toString();

it("measures the ingress against the baseline, the pipeline end to end, and the bundle", async () => {
  const secret = edgehook.vars.PODIUM_WEBHOOK_SECRET!.split(" ")[0]!;
  const lines: string[] = [`bench: ${ROUNDS} rounds × ${SECONDS} s each, ${CONNECTIONS} connections, loopback`];
  const ratios = { rps: [] as number[], p50: [] as number[], p99: [] as number[] };
  // A warm-up round each, not counted: JIT, the source cache and the first D1 pages.
  await round(edgehook, baseline, signedRequests(REQUESTS, secret));
  await round(baseline, edgehook, signedRequests(REQUESTS, secret));
  for (let i = 0; i < ROUNDS; i++) {
    const requests = signedRequests(REQUESTS, secret);
    const a = await round(edgehook, baseline, requests);
    const b = await round(baseline, edgehook, requests);
    ratios.rps.push(a.rps / b.rps);
    ratios.p50.push(a.p50 / Math.max(b.p50, 0.001));
    ratios.p99.push(a.p99 / Math.max(b.p99, 0.001));
    lines.push(
      `  round ${i + 1}: ingress ${fmt(a.rps)} req/s p50 ${a.p50} ms p99 ${a.p99} ms non-2xx ${a.non2xx} | baseline ${fmt(b.rps)} req/s p50 ${b.p50} ms p99 ${b.p99} ms non-2xx ${b.non2xx} | throughput ×${fmt(a.rps / b.rps)}`,
      `    ingress ${a.cpu}`,
      `    baseline ${b.cpu}`,
    );
  }
  lines.push(
    `  medians: ingress/baseline throughput ×${fmt(median(ratios.rps))}, p50 ×${fmt(median(ratios.p50))}, p99 ×${fmt(median(ratios.p99))}`,
  );

  // End to end: 1,000 events at concurrency 20 to a local downstream.
  const key = randomUUID().slice(0, 8);
  const org = `org-${key}`;
  await edgehook.api("POST", "/v1/webhooks", { url: `${down.url}/ok/${key}`, eventTypes: ["*"], organizationUid: org });
  const N = 1000;
  const started = Date.now();
  let next = 0;
  let accepted = 0;
  await Promise.all(
    Array.from({ length: 20 }, async () => {
      while (next < N) {
        next++;
        const res = await sendPodium(`${edgehook.url}/webhooks/podium`, podiumEvent({ organizationUid: org }), secret);
        if (res.status === 202) accepted++;
        await res.body?.cancel();
      }
    }),
  );
  const ingressSeconds = (Date.now() - started) / 1000;
  await eventually(async () => new Set((await down.requests(key)).map((r) => r.headers["webhook-id"])).size >= accepted, 600_000, "every event downstream").catch(
    () => undefined,
  );
  // When each event first reached the downstream, as the downstream recorded it (not when a poll saw it).
  const firstArrival = new Map<string, number>();
  for (const r of await down.requests(key)) {
    const id = r.headers["webhook-id"]!;
    firstArrival.set(id, Math.min(firstArrival.get(id) ?? Infinity, r.at));
  }
  const arrived = firstArrival.size;
  const seconds = ((arrived > 0 ? Math.max(...firstArrival.values()) : Date.now()) - started) / 1000;
  lines.push(
    `  end to end: ${accepted} accepted in ${fmt(ingressSeconds)} s (${fmt(accepted / ingressSeconds)}/s); last arrived after ${fmt(seconds)} s: ${fmt(arrived / seconds)} events/s = ×${fmt(arrived / seconds / (accepted / ingressSeconds))} of the accept rate; lost ${accepted - arrived}`,
  );

  // Bundle size, as deployed.
  const out = mkdtempSync(join(tmpdir(), "edgehook-bundle-"));
  spawnSync(process.execPath, [join(root, "node_modules/wrangler/bin/wrangler.js"), "deploy", "--dry-run", "--outdir", out], {
    cwd: root,
    env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
  });
  const files = readdirSync(out).filter((f) => f.endsWith(".js"));
  const raw = files.reduce((n, f) => n + statSync(join(out, f)).size, 0);
  const gz = files.reduce((n, f) => n + gzipSync(readFileSync(join(out, f))).length, 0);
  lines.push(`  bundle: ${fmt(raw / 1024)} KiB, ${fmt(gz / 1024)} KiB gzip`);
  console.log(lines.join("\n"));
}, 1_800_000);
