// `npm run dev` fires the Worker's cron itself (wrangler dev does not): scripts/local-cron.mjs
// against a recording server, then the real script against the real local runtime.
import { spawn } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { CRON, devBase, devPersistTo, notFiredWhy, readyBase, serving, startLocalCron, terminalTarget, watchReady } from "../../scripts/local-cron.mjs";
import { podiumEvent, sendPodium } from "./podium";
import { eventually, migratedState, refusedPort } from "./stack";

const root = resolve(import.meta.dirname, "../..");

interface Call {
  path: string;
  cron: string | null;
  format: string | null;
  time: number;
}

/** A stand-in for the runtime's scheduled endpoint: records each call, answers as `answer` says (a body alone: HTTP 200). */
async function recorder(answer: (n: number) => Promise<string | { status: number; body: string }>) {
  const calls: Call[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const waiters: { n: number; resolve: () => void }[] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://x");
    calls.push({ path: url.pathname, cron: url.searchParams.get("cron"), format: url.searchParams.get("format"), time: Number(url.searchParams.get("time")) });
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    void answer(calls.length).then((a) => {
      inFlight--;
      const { status, body } = typeof a === "string" ? { status: 200, body: a } : a;
      res.writeHead(status, { "content-type": "application/json" }).end(body);
      for (const w of waiters.filter((w) => calls.length >= w.n)) w.resolve();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls,
    maxInFlight: () => maxInFlight,
    /** Resolves once `n` calls have been answered. */
    answered: (n: number) => new Promise<void>((r) => (calls.length >= n && inFlight === 0 ? r() : waiters.push({ n, resolve: r }))),
    /** Stops answering, keep-alive connections too: the runtime gone. */
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

/** What the cron logs, and a wait for a line containing some text. */
function logged() {
  const lines: string[] = [];
  const waiters: { text: string; resolve: () => void }[] = [];
  return {
    lines,
    log: (line: string) => {
      lines.push(line);
      for (const w of waiters.filter((w) => line.includes(w.text))) w.resolve();
    },
    line: (text: string) => new Promise<void>((r) => (lines.some((l) => l.includes(text)) ? r() : waiters.push({ text, resolve: r }))),
  };
}

const ok = JSON.stringify({ outcome: "ok", noRetry: false });
const stops: (() => unknown)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

describe("the local cron (scripts/local-cron.mjs)", () => {
  it("fires the Worker's cron at each whole period, with the scheduled time, and says so once", async () => {
    const r = await recorder(async () => ok);
    const out = logged();
    stops.push(r.close, startLocalCron({ base: r.base, everySeconds: 1, log: out.log }));
    await r.answered(3);
    await out.line("ran at");
    const lines = out.lines;
    expect(r.calls.slice(0, 3).map((c) => [c.path, c.cron, c.format])).toEqual(Array(3).fill(["/cdn-cgi/local/scheduled", CRON, "json"]));
    const times = r.calls.map((c) => c.time);
    for (const [i, t] of times.entries()) {
      expect(t % 1000).toBe(0);
      if (i > 0) expect(t).toBeGreaterThan(times[i - 1]!);
    }
    expect(lines.filter((l) => l.includes("ran at"))).toHaveLength(1);
    expect(lines.join("\n")).not.toMatch(/ended|could not/);
  });

  it("never starts a run while one is under way", async () => {
    // The first run takes 2.5 periods: the ticks meanwhile are skipped, not queued or overlapped.
    const r = await recorder((n) => new Promise((res) => setTimeout(() => res(ok), n === 1 ? 2_500 : 0)));
    stops.push(r.close, startLocalCron({ base: r.base, everySeconds: 1, log: () => {} }));
    await r.answered(3);
    expect(r.maxInFlight()).toBe(1);
    expect(r.calls[1]!.time - r.calls[0]!.time).toBeGreaterThanOrEqual(3_000);
  });

  it("says when a run started and failed (the Worker threw: HTTP 500, as the runtime answers it), once, and when runs are ok again", async () => {
    const threw = { status: 500, body: JSON.stringify({ outcome: "exception", noRetry: false }) };
    const r = await recorder(async (n) => (n === 2 || n === 3 ? threw : ok));
    const out = logged();
    stops.push(r.close, startLocalCron({ base: r.base, everySeconds: 1, log: out.log }));
    await out.line("ok again");
    expect(r.calls).toHaveLength(4);
    expect(out.lines.filter((l) => l.includes("started and failed"))).toEqual([
      'The maintenance run started and failed (it ended "exception": the Worker\'s log above says why); it runs again in 1 s.',
    ]);
    expect(out.lines.filter((l) => l.includes("ok again"))).toHaveLength(1);
    expect(out.lines.join("\n")).not.toContain("could not be started");
  });

  it("says it could not start a run only when the runtime that answered no longer does", async () => {
    const r = await recorder(async () => ok);
    const out = logged();
    stops.push(startLocalCron({ base: r.base, everySeconds: 1, log: out.log }));
    await out.line("ran at");
    await r.close();
    await out.line("could not be started");
    expect(out.lines.filter((l) => l.includes("could not be started"))).toEqual([
      expect.stringMatching(/^The maintenance run could not be started: the local runtime did not answer \(.+\); it is tried again in 1 s\.$/),
    ]);
    expect(out.lines.join("\n")).not.toContain("started and failed");
  });

  it("tells a port another server answers at (in a terminal, where wrangler's Ready is not seen: no cron there) from a free one", async () => {
    const r = await recorder(async () => ok);
    expect(await serving(r.base)).toBe(true);
    await r.close();
    expect(await serving(r.base)).toBe(false);
  });

  it("knows where wrangler dev serves from its arguments only given --port N: without, it takes the next free port when 8787 is held", () => {
    expect(devBase([])).toBeNull();
    expect(devBase(["--ip", "127.0.0.1"])).toBeNull();
    expect(devBase(["--port", "8788"])).toBe("http://localhost:8788");
    expect(devBase(["--ip", "::", "--port", "8789"])).toBe("http://[::1]:8789");
    expect(devBase(["--port=9000", "--ip", "0.0.0.0"])).toBe("http://127.0.0.1:9000");
    expect(devBase(["--ip", "127.0.0.2", "--port", "8790"])).toBe("http://127.0.0.2:8790");
    expect(devBase(["--port", "0"])).toBeNull();
  });

  it("fires where wrangler's Ready line says it serves (a second stack on 8788, not the first's 8787), at the host it was given", () => {
    expect(readyBase("[wrangler:info] Ready on http://localhost:8788", [])).toBe("http://localhost:8788");
    expect(readyBase("[wrangler:info] Ready on http://0.0.0.0:8721", ["--ip", "0.0.0.0"])).toBe("http://127.0.0.1:8721");
    expect(readyBase("[wrangler:info] Ready on http://[::]:8722", ["--ip", "::", "--port", "0"])).toBe("http://[::1]:8722");
    expect(readyBase("[wrangler:info] - http://127.0.0.1:8721", [])).toBeNull();
  });

  it("reads the Ready line whole, however wrangler's output is cut into chunks", () => {
    const seen: string[] = [];
    const chunk = watchReady(["--ip", "127.0.0.1"], (base) => seen.push(base));
    // The cut falls inside the port: its first digits alone are not where it serves.
    chunk("env.DB (edgehook)   D1 Database\n\n[wrangler:info] Ready on http://127.0.0.1:87");
    expect(seen).toEqual([]);
    chunk("21\n[wrangler:info] - http://127.0.0.1:8721\n");
    chunk("[wrangler:info] Ready on http://127.0.0.1:8799\n");
    expect(seen).toEqual(["http://127.0.0.1:8721"]);
  });

  it("in a terminal, where wrangler's Ready line is not seen, fires only where wrangler is held to serve", async () => {
    const nothing = async () => false;
    const something = async () => true;
    // Without --port and 8787 free, wrangler is given it (it takes it anyway), so it serves there or stops.
    expect(await terminalTarget(["--ip", "127.0.0.1"], nothing)).toEqual({ args: ["--ip", "127.0.0.1", "--port", "8787"], base: "http://127.0.0.1:8787" });
    // 8787 held: wrangler moves to a port not known here; nothing is fired at the other's.
    expect(await terminalTarget([], something)).toEqual({ args: [], base: null, why: expect.stringMatching(/^Something answers at http:\/\/localhost:8787 already .*wrangler serves on the next free port, where no maintenance run is fired/) });
    expect(await terminalTarget(["--port", "8723"], nothing)).toEqual({ args: ["--port", "8723"], base: "http://localhost:8723" });
    expect(await terminalTarget(["--port", "8723"], something)).toEqual({ args: ["--port", "8723"], base: null, why: expect.stringContaining("fires no maintenance run there") });
    expect(await terminalTarget(["--port", "0"], something)).toEqual({ args: ["--port", "0"], base: null, why: expect.stringContaining("not fired with --port 0") });
  });

  it("says why it fires no maintenance run: none asked for, or wrangler serving https with a certificate of its own", () => {
    expect(notFiredWhy([], undefined)).toBeNull();
    expect(notFiredWhy(["--port", "8788"], "5")).toBeNull();
    expect(notFiredWhy([], "0")).toContain("not fired with EDGEHOOK_DEV_CRON_SECONDS=0");
    // Not a number: none either (a NaN period fired at time=NaN and threw).
    expect(notFiredWhy([], "60s")).toContain("not fired with EDGEHOOK_DEV_CRON_SECONDS=60s");
    expect(notFiredWhy([], "")).toContain("not fired with EDGEHOOK_DEV_CRON_SECONDS=");
    expect(notFiredWhy(["--local-protocol", "http"], undefined)).toBeNull();
    expect(notFiredWhy(["--local-protocol", "https"], undefined)).toContain("not fired with --local-protocol https");
    expect(notFiredWhy(["--local-protocol=https", "--port", "8788"], "1")).toContain('curl -k "<url>/cdn-cgi/local/scheduled" runs it');
  });

  it("migrates the database wrangler dev serves, however --persist-to is written", () => {
    expect(devPersistTo([])).toBeUndefined();
    expect(devPersistTo(["--port", "8788", "--persist-to", "/tmp/a"])).toBe("/tmp/a");
    // (Given as --persist-to=DIR, the migrations went to .wrangler/state and every read of DIR failed: no such table.)
    expect(devPersistTo(["--persist-to=/tmp/b", "--port", "8788"])).toBe("/tmp/b");
  });
});

/**
 * `npm run dev` (scripts/dev.mjs, its output piped as outside a terminal) on a copy of the e2e stacks'
 * migrated database, so the script's own migration step finds nothing to do; stopped after the test.
 * `fresh`: as on a fresh clone instead, started as `npm run dev --` in a view of the repository
 * (its entries linked) without .dev.vars, so the script makes its own and the user's is neither
 * read nor touched, on an empty state directory.
 */
function npmRunDev(args: string[], { fresh = false } = {}) {
  const state = mkdtempSync(join(tmpdir(), "edgehook-dev-"));
  const env = { ...process.env, EDGEHOOK_DEV_CRON_SECONDS: "1", WRANGLER_SEND_METRICS: "false", PATH: `${join(root, "node_modules/.bin")}:${process.env.PATH}` };
  const clone = fresh ? freshClone() : undefined;
  if (!fresh) cpSync(migratedState(env), state, { recursive: true });
  const inspector = args.includes("--inspector-port") ? [] : ["--inspector-port", "0"];
  const devArgs = [...args, ...inspector, "--persist-to", state, "--show-interactive-dev-session=false"];
  const [command, commandArgs] = fresh ? ["npm", ["run", "dev", "--", ...devArgs]] : [process.execPath, [join(root, "scripts/dev.mjs"), ...devArgs]];
  const child = spawn(command, commandArgs, {
    cwd: clone ?? root,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env,
  });
  let output = "";
  child.stdout!.on("data", (d: Buffer) => (output += d));
  child.stderr!.on("data", (d: Buffer) => (output += d));
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  stops.push(async () => {
    try {
      process.kill(-child.pid!, "SIGTERM");
    } catch {
      // gone already
    }
    await exited;
    rmSync(state, { recursive: true, force: true });
    if (clone) rmSync(clone, { recursive: true, force: true });
  });
  return {
    state,
    output: () => output,
    exited,
    /** The first line of its output containing `text`; rejects if it exits first. */
    line: (text: string) =>
      new Promise<string>((res, rej) => {
        const look = () => {
          const line = output.split("\n").find((l) => l.includes(text));
          if (line) res(line);
        };
        look();
        child.stdout!.on("data", look);
        child.stderr!.on("data", look);
        void exited.then((code) => rej(new Error(`npm run dev exited (${code}):\n${output}`)));
      }),
  };
}

/** A directory linking every entry of the repository but its local state and .dev.vars: a fresh clone's view. */
function freshClone(): string {
  const dir = mkdtempSync(join(tmpdir(), "edgehook-clone-"));
  for (const entry of readdirSync(root)) if (![".dev.vars", ".wrangler"].includes(entry)) symlinkSync(join(root, entry), join(dir, entry));
  return dir;
}

describe("npm run dev", () => {
  it("on a fresh clone makes .dev.vars, migrates an empty database and serves at the port given: a signed event is received, stored and read back", async () => {
    const port = await refusedPort();
    let inspectorPort = await refusedPort();
    while (inspectorPort === port) inspectorPort = await refusedPort();
    const dev = npmRunDev(["--ip", "127.0.0.1", "--port", String(port), "--inspector-port", String(inspectorPort)], { fresh: true });
    const base = `http://127.0.0.1:${port}`;
    await dev.line("Created .dev.vars from .dev.vars.example");
    await dev.line(`Ready on ${base}`);
    // The published example values (.dev.vars.example), as the README's tour uses them.
    const body = podiumEvent();
    const res = await sendPodium(`${base}/webhooks/podium`, body, "dev-podium-secret");
    expect(res.status).toBe(202);
    const { eventId } = (await res.json()) as { eventId: string };
    const headers = { authorization: "Bearer dev-admin-token-for-local-use-only" };
    // Stored by the consumer, in tables only the script's migration step made.
    const event = await eventually(async () => {
      const got = await fetch(`${base}/v1/events/${eventId}`, { headers });
      return got.status === 200 ? ((await got.json()) as { id: string; eventType: string; body: string }) : await got.body?.cancel();
    }, 20_000, "the event stored");
    expect(event).toMatchObject({ id: eventId, eventType: "message.received", body });
  }, 60_000);

  it("runs the Worker's maintenance (its cron) by itself, through the local runtime, wherever wrangler serves (--port 0)", async () => {
    const dev = npmRunDev(["--ip", "127.0.0.1", "--port", "0"]);
    // The script's own line, printed once the runtime answered that the scheduled handler ended "ok".
    const ran = await dev.line("[edgehook] The maintenance run");
    expect(ran).toMatch(/ran at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z; it runs every 1 s/);
    expect(dev.output()).not.toMatch(/ended "|failed \(|could not be started/);
    // The run went through the Worker, and left no trace in a store that nothing prunes.
    expect(existsSync(join(dev.state, "v3", "observability"))).toBe(false);
  }, 120_000);

  it("under --local-protocol https fires nothing (it could not trust wrangler's certificate) and says so", async () => {
    const dev = npmRunDev(["--ip", "127.0.0.1", "--port", "0", "--local-protocol", "https"]);
    expect(await dev.line("[edgehook] The maintenance run")).toContain("is not fired with --local-protocol https");
    // wrangler serves (its Ready line names https), and the script claims no run.
    await dev.line("Ready on https://");
    expect(dev.output()).not.toMatch(/\[edgehook\] The maintenance run (ran|started|could not|'s outcome)/);
  }, 120_000);

  it("fires nothing at a port another server holds: its wrangler fails there, and no run of the other's is claimed", async () => {
    // Another stack's runtime, as far as the scheduled endpoint goes: it answers every run "ok".
    const other = await recorder(async () => ok);
    stops.push(other.close);
    const dev = npmRunDev(["--ip", "127.0.0.1", "--port", new URL(other.base).port]);
    expect(await dev.exited).not.toBe(0);
    expect(dev.output()).toContain("Address already in use");
    expect(other.calls).toEqual([]);
    expect(dev.output()).not.toContain("[edgehook] The maintenance run");
  }, 120_000);
});
