// `npm run typecheck`: that worker-configuration.d.ts matches wrangler.toml, and the three
// TypeScript programs, each in a Node with room for it. The Worker's program peaks near 700 MB of
// heap (~850 MB resident) (zod-openapi and Hono route types); a machine with little memory gives
// V8 a smaller default limit, and tsc then aborts on stderr with nothing on stdout. A heap limit
// given here, after NODE_OPTIONS, wins.
// One check at a time, output passed straight through and each check named as it starts: two at
// once saved ~2 s of ~45 on 2 cores for nearly twice the memory. Each program keeps its
// incremental state in node_modules/.cache/typecheck, so a run after the first checks only what
// changed (~13 s in all). What failed is said again at the end, where a reader of the last lines
// looks.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const require = createRequire(import.meta.url);
const tsc = require.resolve("typescript/bin/tsc");
const wrangler = join(dirname(require.resolve("wrangler/package.json")), "bin/wrangler.js");
const heap = "--max-old-space-size=2048";
const cache = join(dirname(require.resolve("typescript/package.json")), "..", ".cache", "typecheck");

/** @typedef {{ name: string, args: string[], node?: string }} Check */

/** @param {string} project @returns {Check} */
const program = (project) => ({
  name: `tsc -p ${project}`,
  args: [heap, tsc, "--noEmit", "--incremental", "--tsBuildInfoFile", join(cache, `${project}.tsbuildinfo`), "-p", project],
});
// Wrangler refuses a Node before 22.12 (and exits 1): run outside `npm run` (`node scripts/typecheck.mjs`
// with a system Node 20), the check failed though the types were current. The node@22 dev
// dependency's binary runs it then.
const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
const devNode = join(dirname(require.resolve("node/package.json")), "bin", "node");
const wranglerNode = major > 22 || (major === 22 && minor >= 12) || !existsSync(devNode) ? process.execPath : devNode;
/** @type {Check} */
const types = {
  name: "wrangler types --check",
  node: wranglerNode,
  args: [wrangler, "types", "--include-runtime=false", "--strict-vars=false", "--env-file", "/dev/null", "--check"],
};
const checks = [types, ...["tsconfig.json", "tsconfig.node.json", "tsconfig.plans.json"].map(program)];

/** @type {string[]} */
const failures = [];
for (const { name, args, node = process.execPath } of checks) {
  console.log(`typecheck: ${name}`);
  const run = spawnSync(node, args, { stdio: "inherit" });
  if (run.status === 0) continue;
  failures.push(`${name} ${run.error ? `did not start (${run.error.message})` : run.signal ? `was killed (${run.signal})` : `exited ${run.status}`}`);
}
// On stdout too: a reader of stdout alone otherwise sees nothing of which check failed.
for (const f of failures) console.log(`typecheck: ${f}`);
if (failures.length === 0) console.log("typecheck: all passed");
// Every check runs, so one run names every failure. Not process.exit(): a write to a pipe may
// still be pending (they are asynchronous on macOS), and the output would be cut off.
process.exitCode = failures.length === 0 ? 0 : 1;
