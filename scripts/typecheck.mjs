// The three TypeScript programs of `npm run typecheck`, each in a Node with room for it.
// The Worker's program peaks near 700 MB of heap (~820 MB resident) (zod-openapi and Hono route types); a
// machine with little memory gives V8 a smaller default limit, and tsc then aborts on
// stderr with nothing on stdout. A heap limit given here, after NODE_OPTIONS, wins.
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";

const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
for (const project of ["tsconfig.json", "tsconfig.node.json", "tsconfig.plans.json"]) {
  const run = spawnSync(process.execPath, ["--max-old-space-size=2048", tsc, "--noEmit", "-p", project], { stdio: "inherit" });
  if (run.status !== 0) {
    // On stdout too: a reader of stdout alone otherwise sees nothing after wrangler's line.
    console.log(`typecheck: tsc -p ${project} ${run.signal ? `was killed (${run.signal})` : `exited ${run.status}`}`);
    process.exit(run.status ?? 1);
  }
}
