// The repository's own scripts a user runs by hand: --help and a mistyped flag.
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { migratedState } from "./stack";

const root = resolve(import.meta.dirname, "../..");
const run = (script: string, ...args: string[]) =>
  spawnSync(process.execPath, [join(root, "scripts", script), ...args], {
    cwd: root,
    encoding: "utf8",
    env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
    timeout: 120_000,
  });

describe.each([
  ["seed.mjs", "npm run seed"],
  ["bench-volume.mjs", "npm run bench:volume"],
])("scripts/%s", (script, command) => {
  it("prints its usage for --help, and does nothing else", () => {
    const r = run(script, "--help");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`Usage: ${command} -- [--events N] [--persist-to DIR]`);
    expect(r.stderr).toBe("");
  });

  it("refuses a flag it does not take with its usage, not a stack trace", () => {
    const r = run(script, "--persist", "/tmp/nowhere");
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("Unknown option '--persist'");
    expect(r.stderr).toContain(`Usage: ${command} --`);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

describe("npm run seed", () => {
  it("reports the database's size with everything it stored: at least its bodies' bytes", () => {
    const state = mkdtempSync(join(tmpdir(), "edgehook-seed-"));
    try {
      // Already migrated (the e2e stacks' copy), so the seed's own migration step finds nothing to do.
      cpSync(migratedState({ ...process.env, WRANGLER_SEND_METRICS: "false" }), state, { recursive: true });
      const r = run("seed.mjs", "--events", "300", "--persist-to", state);
      expect(r.status, r.stderr).toBe(0);
      const number = (re: RegExp) => Number(re.exec(r.stdout)?.[1]?.replaceAll(",", ""));
      const bodies = number(/bodies: ([\d,]+) bytes on average/);
      expect(bodies).toBeGreaterThan(0);
      // (Measured by its local files, a small seed, all in the write-ahead log, read ~27 bytes an event.)
      expect(number(/([\d,]+) bytes per event/)).toBeGreaterThanOrEqual(bodies);
    } finally {
      rmSync(state, { recursive: true, force: true });
    }
  }, 180_000);
});
