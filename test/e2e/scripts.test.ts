// The repository's own scripts a user runs by hand: --help and a mistyped flag.
import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
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

describe("a number flag of the scripts", () => {
  // What each takes: --events a positive whole number; --seed 1 to 2^32 - 1 (the generator's bits); --batch
  // 1 to 10,000 (a request's chunk); --repeat and --rounds 1 to 1,000; --ingest 1 to 100,000 (made in memory).
  const bad: [string, string, string][] = [
    ["seed.mjs", "events", "0"],
    ["seed.mjs", "seed", "abc"],
    ["seed.mjs", "seed", "0"],
    ["seed.mjs", "seed", "-1"],
    ["seed.mjs", "seed", "4294967296"],
    ["seed.mjs", "batch", "0"],
    ["seed.mjs", "batch", "1.5"],
    ["seed.mjs", "batch", "0x10"],
    ["seed.mjs", "seed", "1e3"],
    ["seed.mjs", "batch", "10001"],
    ["bench-volume.mjs", "events", "many"],
    ["bench-volume.mjs", "events", "-5"],
    ["bench-volume.mjs", "repeat", "x"],
    ["bench-volume.mjs", "repeat", "0"],
    ["bench-volume.mjs", "repeat", "1001"],
    ["bench-volume.mjs", "rounds", "-2"],
    ["bench-volume.mjs", "rounds", ""],
    ["bench-volume.mjs", "ingest", "2e3x"],
    ["bench-volume.mjs", "ingest", "100001"],
  ];
  it.each(bad)("scripts/%s --%s=%j is refused before anything starts: exit 2, saying what the flag takes", (script, flag, value) => {
    // Never made: the script stops before it would seed or migrate there.
    const dir = join(tmpdir(), `edgehook-args-${crypto.randomUUID()}`);
    const r = run(script, `--${flag}=${value}`, "--persist-to", dir);
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`^--${flag} must be a (positive )?whole number`));
    expect(r.stderr).toContain(`not ${JSON.stringify(value)}`);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stdout).toBe("");
    expect(existsSync(dir)).toBe(false);
  });
});

describe("scripts/startup.mjs (npm run startup)", () => {
  it("prints its usage for --help, and does nothing else", () => {
    const r = run("startup.mjs", "--help");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("Usage: npm run startup -- [--runs N] [--keep DIR]");
    expect(r.stderr).toBe("");
  });

  it("refuses a mistyped flag (with its usage) or a --runs that is not a whole number, before building anything", () => {
    for (const [args, says] of [[["--run", "3"], "Usage: npm run startup --"], [["--runs", "three"], '--runs must be a whole number from 1 to 1000, not "three"'], [["--runs", "0"], "--runs must be"]] as const) {
      const r = run("startup.mjs", ...args);
      expect(r.status, args.join(" ")).toBe(2);
      expect(r.stderr).toContain(says);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(r.stdout).toBe("");
    }
  });
});

describe("npm run seed", () => {
  let state = "";
  beforeAll(() => {
    state = mkdtempSync(join(tmpdir(), "edgehook-seed-"));
    // Already migrated (the e2e stacks' copy), so the seed's own migration step finds nothing to do.
    cpSync(migratedState({ ...process.env, WRANGLER_SEND_METRICS: "false" }), state, { recursive: true });
  });
  afterAll(() => rmSync(state, { recursive: true, force: true }));
  // The directory's first seed, which both tests read, made by whichever runs first (a seed run is ~7 s of CPU).
  let first: ReturnType<typeof run> | undefined;
  const firstSeed = () => (first ??= run("seed.mjs", "--events", "300", "--persist-to", state));

  it("reports the database's size with everything it stored: at least its bodies' bytes", () => {
    const r = firstSeed();
    expect(r.status, r.stderr).toBe(0);
    const number = (re: RegExp) => Number(re.exec(r.stdout)?.[1]?.replaceAll(",", ""));
    const bodies = number(/bodies: ([\d,]+) bytes on average/);
    expect(bodies).toBeGreaterThan(0);
    // (Measured by its local files, a small seed, all in the write-ahead log, read ~27 bytes an event.)
    expect(number(/([\d,]+) bytes per event/)).toBeGreaterThanOrEqual(bodies);
    // When the oldest event leaves the retention (wrangler.toml's RETENTION_DAYS after it was received): still ahead.
    const oldest = Date.parse(/received (\S+) … /.exec(r.stdout)?.[1] ?? "");
    const leaves = Date.parse(/the oldest written leave the retention from (\S+) on/.exec(r.stdout)?.[1] ?? "");
    const days = Number(/^RETENTION_DAYS = "(\d+)"$/m.exec(readFileSync(join(root, "wrangler.toml"), "utf8"))?.[1]);
    expect(leaves - oldest).toBe(days * 86_400_000);
    expect(leaves).toBeGreaterThan(Date.now());
  }, 180_000);

  it("run again on its directory, says it wrote nothing, and its seed.json says what is stored", () => {
    const first = firstSeed();
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/^seeded 300 events in /);
    expect(first.stdout).toContain("stored now (as /v1/stats counts them): 300 events (0 before)");
    const again = run("seed.mjs", "--events", "300", "--persist-to", state);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/^seeded nothing: the seed's 300 events \(--seed 14\) were all stored already/);
    expect(again.stdout).not.toMatch(/dead letters: |received /);
    expect(again.stdout).toContain("stored now (as /v1/stats counts them): 300 events (300 before)");
    const marker = JSON.parse(readFileSync(join(state, "seed.json"), "utf8"));
    expect(marker).toMatchObject({ events: 300, stored: 300 });
    expect(marker.output).toBe(again.stdout.trim());
    // Partly stored: only what it adds.
    const wider = run("seed.mjs", "--events", "400", "--persist-to", state);
    expect(wider.stdout).toMatch(/^seeded 100 events in .*\(300 of the seed's 400 were stored already/);
    expect(wider.stdout).toContain("400 events (300 before)");
    // Its oldest written are the newest stored: the first run's leave the retention first.
    const oldest = /received (\S+) … /.exec(first.stdout)?.[1] ?? "";
    const days = Number(/^RETENTION_DAYS = "(\d+)"$/m.exec(readFileSync(join(root, "wrangler.toml"), "utf8"))?.[1]);
    const leaves = (at: string) => new Date(Date.parse(at) + days * 86_400_000).toISOString();
    expect(wider.stdout).toContain(`the oldest stored (of ${oldest}) leave the retention from ${leaves(oldest)} on (the oldest written from `);
    // A smaller seed's events are the first of a larger one's: the directory still holds the larger seed.
    const smaller = run("seed.mjs", "--events", "300", "--persist-to", state);
    expect(smaller.stdout).toMatch(/^seeded nothing/);
    expect(smaller.stdout).toContain(`the oldest stored (of ${oldest}) leave the retention from ${leaves(oldest)} on: `);
    expect(JSON.parse(readFileSync(join(state, "seed.json"), "utf8"))).toMatchObject({ seed: 14, events: 400, stored: 400 });
    const bench = run("bench-volume.mjs", "--events", "300", "--persist-to", state);
    expect(bench.status).toBe(2);
    expect(bench.stderr).toContain(`${state} holds a seed of 400 events: pass --events 400 to use it`);
    // Another --seed's events beside: no seed alone, which the bench refuses to time.
    expect(run("seed.mjs", "--events", "50", "--seed", "15", "--persist-to", state).status).toBe(0);
    expect(JSON.parse(readFileSync(join(state, "seed.json"), "utf8"))).toMatchObject({ seed: 15, events: 50, stored: 450 });
    const mixed = run("bench-volume.mjs", "--persist-to", state);
    expect(mixed.status).toBe(2);
    expect(mixed.stderr).toContain(`${state} holds 450 events, not a seed of 50 alone`);
  }, 300_000);
});

describe("npm run bench:volume", () => {
  it("revokes the tokens it made for its reads, interrupted too: the database is kept for the next run", async () => {
    // An empty directory: the bench seeds it. Its reads need an event of the organization it reads as with a failed
    // delivery and a location: the seed's (--seed 14) first is its 5,725th, so 5,800 events (a seed's first 200-event
    // batches are drawn alike whatever its size) are the fewest that have one.
    const state = mkdtempSync(join(tmpdir(), "edgehook-bench-"));
    try {
      const r = run("bench-volume.mjs", "--events", "5800", "--persist-to", state, "--skip-ingest", "--repeat", "1");
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toContain("operator reads with 5,800 events stored");
      // Interrupted (Ctrl-C) once its reads' tokens are made, it revokes them too, and exits as SIGINT would.
      const interrupted = spawn(process.execPath, [join(root, "scripts/bench-volume.mjs"), "--persist-to", state, "--skip-ingest", "--repeat", "1000"], {
        cwd: root,
        env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
      });
      let stderr = "";
      interrupted.stderr.on("data", (d: Buffer) => {
        stderr += d.toString("utf8");
        // Once: a second Ctrl-C ends it at once, as usual.
        if (/timing \d+ operator reads/.test(stderr) && !interrupted.killed) interrupted.kill("SIGINT");
      });
      const code = await new Promise<number | null>((done) => interrupted.on("exit", (c) => done(c)));
      expect(code, stderr).toBe(130);
      expect(stderr).not.toContain("could not revoke");
      const { startBenchWorker } = await import("../../bench/volume/stack.mjs");
      const bench = await startBenchWorker({ persistTo: state });
      try {
        const tokens = (await bench.api("GET", "/v1/tokens?limit=100")).json.data as { name: string; revokedAt: string | null }[];
        expect(tokens.filter((t) => t.name.startsWith("bench-"))).toHaveLength(4);
        expect(tokens.filter((t) => t.revokedAt === null)).toEqual([]);
      } finally {
        await bench.stop();
      }
    } finally {
      rmSync(state, { recursive: true, force: true });
    }
  }, 180_000);
});

describe("npm run db:migrate:remote (scripts/remote-migrations.mjs)", () => {
  // A copy of the script beside the test's fake wrangler in place of the real one: it records each call.
  const project = () => {
    const dir = mkdtempSync(join(tmpdir(), "edgehook-remote-"));
    mkdirSync(join(dir, "scripts"));
    for (const f of ["remote-migrations.mjs", "migration-renames.mjs"]) copyFileSync(join(root, "scripts", f), join(dir, "scripts", f));
    mkdirSync(join(dir, "node_modules/wrangler/bin"), { recursive: true });
    // The fake is CommonJS (test/cli/fake-wrangler/package.json says so beside it).
    copyFileSync(join(root, "test/cli/fake-wrangler/package.json"), join(dir, "node_modules/wrangler/package.json"));
    copyFileSync(join(root, "test/cli/fake-wrangler/wrangler"), join(dir, "node_modules/wrangler/bin/wrangler.js"));
    // A database migrated when 0044_rejection_hours was 0042_rejection_hours: the repair writes.
    writeFileSync(join(dir, "account.json"), JSON.stringify({ d1: [], buckets: [], queues: [], secrets: [], migrated: true, deployed: false, applied: ["0042_rejection_hours.sql"] }));
    writeFileSync(join(dir, "calls.jsonl"), "");
    const migrate = (...args: string[]) =>
      spawnSync(process.execPath, [join(dir, "scripts/remote-migrations.mjs"), ...args], {
        cwd: dir,
        encoding: "utf8",
        env: { ...process.env, FAKE_WRANGLER_STATE: join(dir, "account.json"), FAKE_WRANGLER_LOG: join(dir, "calls.jsonl") },
      });
    const calls = () =>
      readFileSync(join(dir, "calls.jsonl"), "utf8").split("\n").filter(Boolean).map((l) => (JSON.parse(l) as { args: string[] }).args.join(" "));
    return { dir, migrate, calls };
  };

  it("gives --env and --config to the repair's reads and write as to the apply: all reach one database", () => {
    const p = project();
    try {
      const r = p.migrate("--env", "staging", "-c", "other.toml");
      expect(r.status, r.stderr).toBe(0);
      const calls = p.calls();
      expect(calls.map((c) => c.split(" ").slice(0, 2).join(" "))).toEqual(["d1 execute", "d1 execute", "d1 execute", "d1 migrations"]);
      for (const c of calls) expect(c).toContain(" --remote --env staging -c other.toml");
      expect(calls[2]).toContain("INSERT INTO d1_migrations (name) VALUES ('0044_rejection_hours.sql')");
    } finally {
      rmSync(p.dir, { recursive: true, force: true });
    }
  });

  it("refuses any other argument, before running anything: the repair would not see it", () => {
    const p = project();
    try {
      for (const args of [["--preview"], ["--env"], ["--batch-size", "3"]]) {
        const r = p.migrate(...args);
        expect(r.status, args.join(" ")).toBe(2);
        expect(r.stderr).toContain("Usage: npm run db:migrate:remote");
      }
      expect(p.calls()).toEqual([]);
    } finally {
      rmSync(p.dir, { recursive: true, force: true });
    }
  });
});
