// Running wrangler: a wrangler that stops before reading its input is reported by its exit status,
// and one that printed nothing by how it ended.
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, expect, it } from "vitest";
import { wranglerRunner, wranglerSaid } from "../../cli/src/wrangler.js";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** The runner, in a project whose own wrangler (first on PATH) is this shell script. */
function runnerWith(script: string) {
  const dir = mkdtempSync(join(tmpdir(), "edgehook-wrangler-"));
  dirs.push(dir);
  mkdirSync(join(dir, "node_modules", ".bin"), { recursive: true });
  const fake = join(dir, "node_modules", ".bin", "wrangler");
  writeFileSync(fake, `#!/bin/sh\n${script}`);
  chmodSync(fake, 0o755);
  return wranglerRunner({ dir, dryRun: false, log: () => {} });
}

it("answers the exit status of a wrangler that exits without reading its input, rather than crashing on the closed pipe", async () => {
  // This one fails at once, as one that is not logged in may, and never reads stdin.
  const wrangler = runnerWith("echo 'not logged in' >&2\nexit 3\n");
  // More than a pipe holds, so the write is still going on when the reader is gone (EPIPE).
  const result = await wrangler(["secret", "put", "ADMIN_TOKEN"], { input: "x".repeat(4 << 20) });
  expect(result).toMatchObject({ code: 3, stderr: "not logged in\n" });
});

it("says how a wrangler that printed nothing ended: its exit code, or the signal that ended it", async () => {
  const wrangler = runnerWith('[ "$1" = killed ] && kill -TERM $$\nexit 4\n');
  expect(wranglerSaid(await wrangler(["d1", "list"]))).toBe("wrangler printed nothing (exit code 4)");
  expect(wranglerSaid(await wrangler(["killed"]))).toBe("wrangler printed nothing (ended by SIGTERM)");
  // What it printed, when it did: stderr first, else stdout.
  expect(wranglerSaid({ code: 1, stdout: "on stdout\n", stderr: " \n" })).toBe("on stdout");
});
