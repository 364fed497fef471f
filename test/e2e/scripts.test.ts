// The repository's own scripts a user runs by hand: --help and a mistyped flag.
import { spawnSync } from "node:child_process";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const root = resolve(import.meta.dirname, "../..");
const run = (script: string, ...args: string[]) =>
  spawnSync(process.execPath, [join(root, "scripts", script), ...args], {
    cwd: root,
    encoding: "utf8",
    env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
    timeout: 30_000,
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
