// The Worker's startup (evaluating its modules' top level, what Cloudflare limits), measured
// locally: builds the bundle once as `npm run deploy` would upload it, then profiles its startup
// N times with `wrangler check startup` (each run a fresh workerd, the V8 profiler sampling every
// ~1 ms) and prints each run's active CPU, the median, and where the median run's samples fall,
// by package or source directory (mapped through the bundle's source map).
// Local CPU is not Cloudflare's: compare runs on one machine, before and after, alternated.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { SourceMap } from "node:module";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { scriptArgs, wholeNumber } from "./script-args.mjs";

const USAGE = `Usage: npm run startup -- [--runs N] [--keep DIR]
  --runs N    profiles of the startup to take, fresh each (default 7)
  --keep DIR  build and keep the bundle and the profiles (*.cpuprofile, for DevTools) in DIR`;
const values = scriptArgs({ runs: { type: "string", default: "7" }, keep: { type: "string" } }, USAGE);
const runs = wholeNumber("runs", values.runs, 1, 1000);
const root = resolve(import.meta.dirname, "..");
const dir = values.keep ?? mkdtempSync(join(tmpdir(), "edgehook-startup-"));
mkdirSync(dir, { recursive: true });
const bundle = join(dir, "worker.bundle");

/** @param {string[]} args */
function wrangler(...args) {
  const r = spawnSync(process.execPath, [join(root, "node_modules/wrangler/bin/wrangler.js"), ...args], {
    cwd: root,
    encoding: "utf8",
    env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
  });
  if (r.status !== 0) throw new Error(`wrangler ${args.join(" ")} failed:\n${r.stdout}${r.stderr}`);
}

/**
 * @typedef {{ functionName: string, url: string, lineNumber: number, columnNumber: number }} CallFrame
 * @typedef {{ nodes: { id: number, callFrame: CallFrame }[], samples: number[], timeDeltas: number[] }} Profile
 */

/** Active CPU of a startup profile, as `wrangler check startup` counts it: every sample but idle (GC included). @param {Profile} profile */
function active(profile) {
  const idle = new Set(profile.nodes.filter((n) => n.callFrame.functionName === "(idle)").map((n) => n.id));
  return profile.timeDeltas.reduce((sum, dt, i) => (idle.has(profile.samples[i]) ? sum : sum + dt), 0) / 1000;
}

/** The module group a bundle position comes from: a package, a src/ directory, or what V8 names. */
async function grouper() {
  const form = await new Response(readFileSync(bundle), {
    headers: { "content-type": `multipart/form-data; boundary=${readFileSync(bundle, "utf8").split("\n")[0].slice(2).trim()}` },
  }).formData();
  const sourceMap = form.get("index.js.map");
  if (!(sourceMap instanceof Blob)) throw new Error("the bundle has no index.js.map (wrangler.toml: upload_source_maps)");
  const map = new SourceMap(JSON.parse(await sourceMap.text()));
  /** @param {CallFrame} frame */
  return ({ functionName, url, lineNumber, columnNumber }) => {
    if (url === "") return functionName; // (program): parsing and compiling; (garbage collector)
    if (lineNumber < 0) return "(bundle top level)";
    const entry = map.findEntry(lineNumber, columnNumber);
    // Unmapped: esbuild's own runtime, mostly the init wrappers of modules bundled for an import().
    const source = "originalSource" in entry ? entry.originalSource : "(unmapped)";
    const pkg = source.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/);
    if (pkg) return pkg[1];
    const src = source.match(/\bsrc\/(?:([^/]+)\/)?/);
    return src ? `src/${src[1] ?? ""}` : source;
  };
}

const t0 = Date.now();
wrangler("deploy", "--dry-run", "--outfile", bundle);
/** @type {{ ms: number, profile: Profile }[]} */
const results = [];
for (let i = 0; i < runs; i++) {
  const outfile = join(dir, `startup-${i}.cpuprofile`);
  wrangler("check", "startup", "--worker", bundle, "--outfile", outfile);
  /** @type {Profile} */
  const profile = JSON.parse(readFileSync(outfile, "utf8"));
  const ms = active(profile);
  results.push({ ms, profile });
  console.log(`run ${i + 1}: ${ms.toFixed(1)} ms active`);
}
const sorted = [...results].sort((a, b) => a.ms - b.ms);
const median = sorted[Math.floor(sorted.length / 2)];
console.log(
  `startup, active CPU: median ${median.ms.toFixed(1)} ms (min ${sorted[0].ms.toFixed(1)}, max ${sorted[sorted.length - 1].ms.toFixed(1)}) over ${runs} runs; load average ${loadavg().map((l) => l.toFixed(2)).join(" ")}; ${((Date.now() - t0) / 1000).toFixed(0)} s`,
);

// Self time of the median run by the group of the sampled frame (where the code is, not its caller).
const group = await grouper();
const nodes = new Map(median.profile.nodes.map((n) => [n.id, n]));
/** @type {Map<string, number>} */
const byGroup = new Map();
median.profile.timeDeltas.forEach((dt, i) => {
  const frame = nodes.get(median.profile.samples[i])?.callFrame;
  if (frame === undefined || frame.functionName === "(idle)") return;
  const g = group(frame);
  byGroup.set(g, (byGroup.get(g) ?? 0) + dt / 1000);
});
for (const [g, ms] of [...byGroup].sort((a, b) => b[1] - a[1])) {
  console.log(`  ${ms.toFixed(1).padStart(6)} ms  ${((100 * ms) / median.ms).toFixed(0).padStart(3)}%  ${g}`);
}
if (values.keep === undefined) rmSync(dir, { recursive: true, force: true });
