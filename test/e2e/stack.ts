// Starts the real local stack (`wrangler dev`: local D1, R2 and Queues) on a free loopback port.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll } from "vitest";
import { startDownstream, type Downstream } from "./downstream";
import type { AnswerJson } from "../support/api-answer";

const root = resolve(import.meta.dirname, "../..");
const wranglerJs = join(root, "node_modules/wrangler/bin/wrangler.js");

export interface Stack {
  url: string;
  vars: Record<string, string>;
  /** The process group of `wrangler dev` and its runtime (the bench reads their CPU from /proc). */
  processGroup: number;
  /**
   * Calls the management API with the admin token; its `json` is typed by what the document
   * describes for the method and path (test/support/api-answer.ts), as test/worker/helpers.ts apiCall's.
   */
  api<M extends string, P extends string>(method: M, path: P, body?: unknown): Promise<{ status: number; json: AnswerJson<M, P> }>;
  stop(): Promise<void>;
  logs(): string;
}

/**
 * A loopback port nothing listens on, for a refused connection. It lies below the ports the
 * system hands out for port 0 (from 32768 on Linux, 49152 on macOS), so no stack or server
 * started meanwhile takes it, as one did a port freed by a listener on port 0.
 */
export async function refusedPort(): Promise<number> {
  const start = 20_000 + Math.floor(Math.random() * 9_000);
  for (let port = start; port < start + 1_000; port++) if (await canListen(port)) return port;
  throw new Error(`no free port in ${start}..${start + 999}`);
}

const canListen = (port: number) =>
  new Promise<boolean>((done) => {
    const srv = createServer();
    srv.once("error", () => done(false));
    srv.listen(port, "127.0.0.1", () => srv.close(() => done(true)));
  });

export const STACK_VARS = {
  ADMIN_TOKEN: "e2e-admin-token-of-at-least-32-characters",
  PODIUM_WEBHOOK_SECRET: "e2e-podium-secret e2e-podium-old",
  STANDARD_WEBHOOKS_SECRET: "whsec_ZTJlLXN0YW5kYXJkLXdlYmhvb2tzLXNlY3JldA==",
  ALLOW_PRIVATE_DESTINATIONS: "true",
  // A refusal's tally is still sent from a timer after the answer (the same path as the 5 s
  // default), half a second on: a test that waits for the rejection log waited the 5 s out.
  REJECTIONS_FLUSH_MS: "500",
};

/**
 * A local state directory with every migration applied, made once per set of migrations
 * (and wrangler.toml, and wrangler) and copied for each stack: applying them to an empty
 * database takes seconds (wrangler's own apply took ~24 s), which every e2e file paid before. Made under a temporary name
 * and renamed into place, so stacks starting at once in other processes never copy half of
 * one; the one that loses the race discards its own.
 */
export function migratedState(env: NodeJS.ProcessEnv): string {
  const hash = createHash("sha256");
  const migrationsDir = join(root, "migrations");
  for (const file of readdirSync(migrationsDir).sort()) hash.update(file).update(readFileSync(join(migrationsDir, file)));
  for (const file of ["wrangler.toml", "scripts/local-migrations.mjs", "node_modules/wrangler/package.json"]) hash.update(readFileSync(join(root, file)));
  const cacheRoot = join(root, "node_modules/.cache/edgehook-stack");
  const state = join(cacheRoot, hash.digest("hex").slice(0, 16));
  if (existsSync(state)) return state;
  mkdirSync(cacheRoot, { recursive: true });
  const building = mkdtempSync(join(cacheRoot, "building-"));
  const migrate = spawnSync(process.execPath, [join(root, "scripts/local-migrations.mjs"), "--persist-to", building], {
    cwd: root,
    env,
    encoding: "utf8",
  });
  if (migrate.status !== 0) throw new Error(`migrations failed: ${migrate.stderr}${migrate.stdout}`);
  try {
    renameSync(building, state);
  } catch {
    rmSync(building, { recursive: true, force: true }); // another process put its copy there first
  }
  return state;
}

/** How to end each stack started in this file and not yet stopped. */
const running = new Set<() => void>();

/** Ends the stacks this file started and did not stop (its start timed out, or a test forgot); their state directories stay in the temporary directory. */
export function endStragglers(): void {
  for (const end of [...running]) end();
}

/** Starts `wrangler dev` for Edgehook, or with `config` another Worker (the bench's baseline). */
export async function startStack(extraVars: Record<string, string> = {}, opts: { config?: string } = {}): Promise<Stack> {
  const dir = mkdtempSync(join(tmpdir(), "edgehook-e2e-"));
  const vars = { ...STACK_VARS, ...extraVars };
  const envFile = join(dir, "vars.env");
  writeFileSync(envFile, Object.entries(vars).map(([k, v]) => `${k}="${v}"`).join("\n"));
  // X_LOCAL_OBSERVABILITY=false: wrangler's local trace collector (a Local Explorer aid that
  // records every span on the same cores, with no production counterpart) stays off here.
  const env = { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true", NO_COLOR: "1", X_LOCAL_OBSERVABILITY: "false" };

  if (!opts.config) cpSync(migratedState(env), dir, { recursive: true });

  // Port 0: wrangler binds its own ports and prints the one it serves on. A port picked here
  // and passed in could be taken, before wrangler binds it, by another stack's runtime (its
  // loopback server answers 403 "Forbidden" to anything), and then the requests went there.
  let output = "";
  const child: ChildProcess = spawn(
    process.execPath,
    [wranglerJs, "dev", "--ip", "127.0.0.1", "--port", "0", "--persist-to", dir, "--env-file", envFile,
      "--inspector-port", "0", "--show-interactive-dev-session=false",
      ...(opts.config ? ["--config", opts.config] : [])],
    { cwd: root, env, detached: true, stdio: ["ignore", "pipe", "pipe"] },
  );
  child.stdout?.on("data", (d) => (output += d));
  child.stderr?.on("data", (d) => (output += d));
  // The stack runs detached (its own process group, ended at once by stop()): one whose start
  // failed, or that nobody stopped (its file's hook timed out while it started), is ended by
  // its file's last afterAll (endStragglers, ./setup.ts), not left busy for the rest of a run.
  const end = () => {
    running.delete(end);
    if (child.exitCode === null && child.pid) process.kill(-child.pid, "SIGKILL");
  };
  running.add(end);

  const deadline = Date.now() + 90_000;
  let url = "";
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`wrangler dev exited:\n${output}`);
      url ||= /Ready on (http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1] ?? "";
      try {
        const res = url ? await fetch(`${url}/healthz`) : undefined;
        await res?.body?.cancel();
        if (res && res.status < 500) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`wrangler dev did not start:\n${output}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  } catch (err) {
    end();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }

  return {
    url,
    vars,
    processGroup: child.pid!,
    async api(method, path, body) {
      const res = await fetch(`${url}${path}`, {
        method,
        headers: { authorization: `Bearer ${vars.ADMIN_TOKEN}`, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: res.status, json: res.status === 204 ? null : await res.json() };
    },
    logs: () => output,
    async stop() {
      // A test stack keeps nothing worth a graceful shutdown (its state directory goes next):
      // end the whole process group at once and wait for the exit itself.
      const exited = child.exitCode === null ? new Promise((r) => child.once("exit", r)) : undefined;
      end();
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * For a test file: starts a local downstream and the local stack (with `vars`) before its
 * tests, hands both to `use`, and stops them after.
 */
export function useLocalStack(vars: Record<string, string>, use: (stack: Stack, down: Downstream) => void): void {
  let stack: Stack | undefined;
  let down: Downstream | undefined;
  beforeAll(async () => {
    down = await startDownstream();
    stack = await startStack(vars);
    use(stack, down);
  });
  afterAll(async () => {
    await stack?.stop();
    await down?.close();
  });
}

/** Polls `check` until it returns a value, or fails after `ms`. */
export async function eventually<T>(check: () => Promise<T | undefined | null | false>, ms = 20_000, what = "condition"): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
