// A local stand-in for the Edgehook API that the `edgehook` CLI (run as its own process) talks
// to: it records every request's path and Authorization header, answers the HTTP routes a test
// gives it, and plays the listener WebSocket of GET /v1/listen.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { WebSocketServer, type WebSocket } from "ws";

const bin = resolve(import.meta.dirname, "../../cli/bin/edgehook.js");

/** What a test opened (servers, folders), undone by `cleanUp` after each test. */
const opened: (() => Promise<void> | void)[] = [];
export function onCleanUp(undo: () => Promise<void> | void) {
  opened.push(undo);
}
export async function cleanUp() {
  for (const undo of opened.splice(0)) await undo();
}

export type Seen = { method: string; path: string; query: string; authorization: string | undefined; body?: unknown };

/** A route's JSON answer, or a function of the request's query (and JSON body) that answers it. */
export type Answer = unknown | ((query: URLSearchParams, body: unknown) => unknown);

/** An answer with a status other than 200 (an API error, a 204, a redirect with its `location` header). */
export class Status {
  constructor(
    readonly status: number,
    readonly body?: unknown,
    readonly headers: Record<string, string> = {},
  ) {}
}

/** The ingress's answer to an event it queued (src/ingress/receive.ts): 202 and the event's id. */
export const accepted = (eventId = "evt_1") => new Status(202, { eventId });

/** A listener's upgrade refused: its status, body and headers. */
export type Refusal = { status: number; body: unknown; headers?: Record<string, string> };

export interface FakeApi {
  url: string;
  port: number;
  seen: Seen[];
}

/**
 * @param routes `METHOD /path` → the JSON answer (status 200)
 * @param listen plays each listener connection
 * @param refuseListen answers each listener's upgrade with this status, JSON body (a string: an HTML page) and headers
 *   instead; as a function of the upgrade's number (from 1), those it returns nothing for are played by `listen`
 */
export async function fakeApi(o: { routes?: Record<string, Answer>; listen?: (ws: WebSocket, query: URLSearchParams) => void; refuseListen?: Refusal | ((upgrade: number) => Refusal | undefined) } = {}): Promise<FakeApi> {
  let upgrades = 0;
  const seen: Seen[] = [];
  const wss = new WebSocketServer({ noServer: true });
  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    const path = url.pathname;
    let text = "";
    for await (const chunk of req) text += chunk;
    const body: unknown = text ? JSON.parse(text) : undefined;
    seen.push({ method: req.method ?? "", path, query: url.search, authorization: req.headers.authorization, ...(body !== undefined && { body }) });
    const route = o.routes?.[`${req.method} ${path}`];
    const answer = typeof route === "function" ? route(url.searchParams, body) : route;
    if (answer instanceof Status) {
      res.writeHead(answer.status, { ...(answer.body !== undefined && { "content-type": "application/json" }), ...answer.headers });
      res.end(answer.body === undefined ? undefined : JSON.stringify(answer.body));
      return;
    }
    res.writeHead(answer === undefined ? 404 : 200, { "content-type": "application/json" });
    res.end(JSON.stringify(answer ?? { error: { code: "not_found", message: "No such route." } }));
  });
  server.on("upgrade", (req, socket, head) => {
    const url = new URL(req.url ?? "/", "http://x");
    seen.push({ method: "UPGRADE", path: url.pathname, query: url.search, authorization: req.headers.authorization });
    const refusal = typeof o.refuseListen === "function" ? o.refuseListen(++upgrades) : o.refuseListen;
    if (refusal) {
      const html = typeof refusal.body === "string";
      const body = typeof refusal.body === "string" ? refusal.body : JSON.stringify(refusal.body);
      const headers = Object.entries(refusal.headers ?? {}).map(([k, v]) => `${k}: ${v}\r\n`).join("");
      socket.end(`HTTP/1.1 ${refusal.status} Refused\r\ncontent-type: ${html ? "text/html" : "application/json"}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${headers}connection: close\r\n\r\n${body}`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => o.listen?.(ws, new URL(req.url ?? "/", "http://x").searchParams));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  onCleanUp(
    () =>
      new Promise<void>((r) => {
        for (const c of wss.clients) c.terminate();
        server.closeAllConnections();
        server.close(() => r());
      }),
  );
  return { url: `http://127.0.0.1:${port}`, port, seen };
}

/** A webhook as the API answers it (every member its schema requires: the CLI checks them). */
export const apiWebhook = {
  uid: "wh_1",
  url: "https://d.example/h",
  eventTypes: ["message.*"],
  locationUid: null,
  organizationUid: null,
  grantOrganizationUid: null,
  catchAll: true,
  sourceIds: null,
  disabled: false,
  timeoutMs: 10_000,
  maxAttempts: 8,
  rateLimit: null,
  maxConcurrency: 10,
  ordering: "unordered",
  createdAt: "2026-01-01T00:00:00.000Z",
  updatedAt: "2026-01-01T00:00:00.000Z",
  filter: null,
  transform: null,
  transformHeaders: null,
  autoDisableAfterMinutes: 1440,
  failingAfterAttempts: 10,
  disabledReason: null,
  disabledAt: null,
  previousSecretExpiresAt: null,
};

/** An event as `GET /v1/events/{id}` answers it, with no deliveries. */
export const apiEvent = {
  id: "evt_1",
  sourceId: "podium",
  eventType: "message.received",
  locationUid: null,
  organizationUid: null,
  dedupeKey: "d1",
  receivedAt: "2026-01-01T00:00:00.000Z",
  headers: {},
  body: "{}",
  deliveries: [],
  deliveriesNextCursor: null,
  filteredOut: [],
};

/** An event as the API's listener sends it, at `position`. */
export const eventNote = (position: number, body: unknown = `{"n":${position}}`) => ({
  type: "event",
  position,
  id: `evt_${position}`,
  eventType: "message.received",
  sourceId: "podium",
  locationUid: null,
  organizationUid: "org-1",
  receivedAt: "2026-11-30T10:00:00.000Z",
  headers: { "webhook-id": `evt_${position}` },
  body,
});

export type Run = { code: number; stdout: string; stderr: string };

/** A CLI process left running (listen, tail), to be signalled; `exited` is its run once it ends. */
export type Running = { child: ChildProcess; stdout: () => string; stderr: () => string; exited: Promise<Run & { signal: NodeJS.Signals | null }> };

/**
 * A folder to run the CLI in: no .dev.vars (so no local token is found by accident) and its
 * own config file; `edgehook` runs the real bin as a process in it, `start` leaves it running.
 */
export function cliHome() {
  const dir = mkdtempSync(join(tmpdir(), "edgehook-cli-home-"));
  onCleanUp(() => rmSync(dir, { recursive: true, force: true }));
  const config = join(dir, "config.json");
  const env = (extra: Record<string, string>) => {
    const base = { ...process.env };
    for (const k of ["EDGEHOOK_URL", "EDGEHOOK_TOKEN", "EDGEHOOK_INSECURE", "EDGEHOOK_CONFIG"]) delete base[k];
    return { ...base, NO_COLOR: "1", EDGEHOOK_CONFIG: config, ...extra };
  };
  return {
    dir,
    config,
    edgehook(args: string[], extra: Record<string, string> = {}): Promise<Run> {
      return new Promise((done) => {
        execFile(process.execPath, [bin, ...args], { cwd: dir, env: env(extra) }, (err, stdout, stderr) =>
          done({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
        );
      });
    },
    start(args: string[], extra: Record<string, string> = {}): Running {
      const child = spawn(process.execPath, [bin, ...args], { cwd: dir, env: env(extra), stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout!.on("data", (d) => (stdout += d));
      child.stderr!.on("data", (d) => (stderr += d));
      const exited = new Promise<Run & { signal: NodeJS.Signals | null }>((done) =>
        child.once("close", (code, signal) => done({ code: code ?? -1, signal, stdout, stderr })),
      );
      // A process a test left running (it failed or timed out) is ended, not left to the next test.
      onCleanUp(async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
        await exited;
      });
      return { child, stdout: () => stdout, stderr: () => stderr, exited };
    },
  };
}
