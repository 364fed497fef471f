// `npm run typecheck`: that worker-configuration.d.ts matches wrangler.toml, and the three
// TypeScript programs, each in a Node with room for it. The Worker's program peaks near 700 MB of
// heap (~850 MB resident) (zod-openapi and Hono route types); a machine with little memory gives
// V8 a smaller default limit, and tsc then aborts on stderr with nothing on stdout. A heap limit
// given here, after NODE_OPTIONS, wins.
// One check at a time, its output passed straight through: two at once peaked near twice the
// memory for ~10 s saved, and output held until a check ended showed nothing of a run cut short.
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const require = createRequire(import.meta.url);
const tsc = require.resolve("typescript/bin/tsc");
const wrangler = join(dirname(require.resolve("wrangler/package.json")), "bin/wrangler.js");
const heap = "--max-old-space-size=2048";

const checks = [
  { name: "wrangler types --check", args: [wrangler, "types", "--include-runtime=false", "--strict-vars=false", "--env-file", "/dev/null", "--check"] },
  ...["tsconfig.json", "tsconfig.node.json", "tsconfig.plans.json"].map((project) => ({
    name: `tsc -p ${project}`,
    args: [heap, tsc, "--noEmit", "-p", project],
  })),
];

const failed = [];
for (const { name, args } of checks) {
  console.log(`typecheck: ${name}`);
  const run = spawnSync(process.execPath, args, { stdio: "inherit" });
  if (run.status === 0) continue;
  // On stdout too: a reader of stdout alone otherwise sees nothing of which check failed.
  console.log(`typecheck: ${name} ${run.error ? `did not start (${run.error.message})` : run.signal ? `was killed (${run.signal})` : `exited ${run.status}`}`);
  failed.push(run.status ?? 1);
}
// Every check runs, so one run names every failure. Not process.exit(): a write to a pipe may
// still be pending (they are asynchronous on macOS), and the output would be cut off.
process.exitCode = failed[0] ?? 0;
