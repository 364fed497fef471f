// `npm run typecheck`: that worker-configuration.d.ts matches wrangler.toml, and the three
// TypeScript programs, each in a Node with room for it. The Worker's program peaks near 700 MB of
// heap (~820 MB resident) (zod-openapi and Hono route types); a machine with little memory gives
// V8 a smaller default limit, and tsc then aborts on stderr with nothing on stdout. A heap limit
// given here, after NODE_OPTIONS, wins.
// The checks are independent and each keeps one core busy, so they run two at a time (one at a
// time on one core), the longest first: the Worker's program alone, the others after each other
// beside it. Each one's output is printed whole when it ends, not interleaved.
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import { dirname, join } from "node:path";

const require = createRequire(import.meta.url);
const tsc = require.resolve("typescript/bin/tsc");
const wrangler = join(dirname(require.resolve("wrangler/package.json")), "bin/wrangler.js");
const heap = "--max-old-space-size=2048";
// Its output is piped here (printed whole when it ends), so tsc would drop the colours and code
// frames it gives a terminal: asked for them when this script's output is one.
const pretty = process.stdout.isTTY ? ["--pretty"] : [];

/** Longest first (a greedy lane fill then ends closest to the longest alone). */
const checks = [
  { name: "tsc -p tsconfig.json", args: [heap, tsc, "--noEmit", ...pretty, "-p", "tsconfig.json"] },
  { name: "tsc -p tsconfig.plans.json", args: [heap, tsc, "--noEmit", ...pretty, "-p", "tsconfig.plans.json"] },
  { name: "tsc -p tsconfig.node.json", args: [heap, tsc, "--noEmit", ...pretty, "-p", "tsconfig.node.json"] },
  {
    name: "wrangler types --check",
    args: [wrangler, "types", "--include-runtime=false", "--strict-vars=false", "--env-file", "/dev/null", "--check"],
  },
];

/**
 * Runs one check, its output kept until it ends; resolves to its exit status.
 * @param {{ name: string, args: string[] }} check
 * @returns {Promise<number>}
 */
function run({ name, args }) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
    /** @type {Buffer[]} */
    const out = [];
    /** @type {Buffer[]} */
    const err = [];
    child.stdout.on("data", (chunk) => out.push(chunk));
    child.stderr.on("data", (chunk) => err.push(chunk));
    child.on("error", (error) => {
      err.push(Buffer.from(`${error.message}\n`));
      resolve(1);
    });
    child.on("close", (status, signal) => {
      process.stdout.write(Buffer.concat(out));
      process.stderr.write(Buffer.concat(err));
      if (status === 0) return resolve(0);
      // On stdout too: a reader of stdout alone otherwise sees nothing of which check failed.
      console.log(`typecheck: ${name} ${signal ? `was killed (${signal})` : `exited ${status}`}`);
      resolve(status ?? 1);
    });
  });
}

const queue = [...checks];
const lanes = Array.from({ length: Math.min(2, availableParallelism()) }, async () => {
  let worst = 0;
  for (let check = queue.shift(); check !== undefined; check = queue.shift()) {
    const status = await run(check);
    worst ||= status;
  }
  return worst;
});
const statuses = await Promise.all(lanes);
// Not process.exit(): a write to a pipe may still be pending (they are asynchronous on macOS), and
// the checks' output would be cut off.
process.exitCode = statuses.find((status) => status !== 0) ?? 0;
