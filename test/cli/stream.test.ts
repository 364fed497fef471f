// The CLI's listener connection against a local WebSocket server playing the API:
// what it saves, what it hands on after a reconnect, and a refused upgrade.
import { createHash } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it, vi } from "vitest";
import { WebSocketServer, type WebSocket } from "ws";
import { MAX_QUEUED, openStream } from "../../cli/src/stream.js";

/** How an API from before acks refused `ack`: its strict query's words for a parameter it does not take. */
const OLDER_REFUSAL = "not a parameter of this list, which takes mode, sourceIds, eventTypes, webhookUid, after, replay";
/** How an API that took acks in listen mode only refused them in tail mode. */
const OLDER_TAIL_REFUSAL = "listen mode only: tail sends nothing to ack";

let server: Server | null = null;
/** Refused connections kept alive, closed at the end of each test whatever the client did. */
const kept = new Set<{ destroy: () => void }>();
afterEach(async () => {
  vi.useRealTimers();
  for (const socket of kept) socket.destroy();
  kept.clear();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = null;
});

/** A local API: `upgrade` answers each connection (its `after`), or `refuse` answers the upgrade itself. */
async function api(o: {
  upgrade?: (ws: WebSocket, after: string | null, n: number) => void;
  refuse?: { status: number; body: unknown; headers?: string; keepAlive?: boolean };
  /** Accepts, then at once closes with this code and never ends the connection (as the local stack does). */
  closeWith?: number;
}) {
  const wss = new WebSocketServer({ noServer: true });
  let n = 0;
  const asked: (string | null)[] = [];
  /** Refused connections the client has not closed yet. */
  const open = new Set<unknown>();
  server = createServer();
  server.on("upgrade", (req, socket, head) => {
    if (o.refuse) {
      const body = JSON.stringify(o.refuse.body);
      const answer = `HTTP/1.1 ${o.refuse.status} No\r\ncontent-type: application/json\r\n${o.refuse.headers ?? ""}content-length: ${body.length}\r\n`;
      if (!o.refuse.keepAlive) return void socket.end(`${answer}connection: close\r\n\r\n${body}`);
      // As workerd answers: the connection stays open for another request.
      open.add(socket);
      kept.add(socket);
      // (An upgrade's socket keeps its half open on the client's FIN: closed here when the client closes.)
      socket.on("end", () => {
        open.delete(socket);
        socket.destroy();
      });
      socket.write(`${answer}\r\n${body}`);
      return;
    }
    if (o.closeWith !== undefined) {
      const accept = createHash("sha1").update(`${req.headers["sec-websocket-key"]}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest("base64");
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\nsec-websocket-accept: ${accept}\r\n\r\n`);
      const code = Buffer.alloc(2);
      code.writeUInt16BE(o.closeWith);
      socket.write(Buffer.concat([Buffer.from([0x88, code.length]), code])); // a close frame, unmasked as a server's
      kept.add(socket);
      return;
    }
    const after = new URL(req.url ?? "/", "http://x").searchParams.get("after");
    asked.push(after);
    wss.handleUpgrade(req, socket, head, (ws) => o.upgrade?.(ws, after, n++));
  });
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, asked, open };
}

/** A stream that keeps nothing and hands nothing on, only what it logs: for how it connects. */
const tailOf = (url: string, log: (line: string) => void = () => {}) =>
  openStream({ conn: { url, token: "ehk_t", configFile: "" }, query: {}, position: null, replay: 0, onMessage: async () => {}, onPosition: () => {}, log });

const event = (position: number) => JSON.stringify({ type: "event", position, id: `evt_${position}` });

/** A stream whose handler (a slow local server) holds event 11 until `release`; what it handed on and saved. */
function slowOnEleven(url: string) {
  const handed: number[] = [];
  const saved: number[] = [];
  let release = () => {};
  const slow = new Promise<void>((resolve) => (release = resolve));
  const stream = openStream({
    conn: { url, token: "ehk_test", configFile: "" },
    query: {},
    position: null,
    replay: 0,
    onMessage: async (m) => {
      if (m.type !== "event") return;
      handed.push(m.position);
      if (m.position === 11) await slow;
    },
    onPosition: (p) => saved.push(p),
    log: () => {},
  });
  return { stream, handed, saved, release: () => release() };
}

describe("edgehook listen's connection", () => {
  it("holds a backlog sent faster than its handler finishes to a bounded queue, and hands on every event once, in order", async () => {
    const backlog = 600;
    // Bodies of 2 KB, so what one read of the socket holds is a few dozen messages.
    const body = "x".repeat(2_048);
    const { url } = await api({
      upgrade: (ws) => {
        ws.send(JSON.stringify({ type: "hello", position: 0 }));
        for (let p = 1; p <= backlog; p++) ws.send(JSON.stringify({ type: "event", position: p, id: `evt_${p}`, headers: {}, body }));
      },
    });
    const handed: number[] = [];
    let inHand = 0;
    let mostInHand = 0;
    let mostQueued = 0;
    const stream = openStream({
      conn: { url, token: "ehk_test", configFile: "" },
      query: {},
      position: null,
      replay: 0,
      // A slow local server: each event takes a moment.
      onMessage: async (m) => {
        if (m.type !== "event") return;
        mostInHand = Math.max(mostInHand, ++inHand);
        mostQueued = Math.max(mostQueued, stream.queued());
        await new Promise((r) => setTimeout(r, 1));
        handed.push(m.position);
        inHand--;
      },
      onPosition: () => {},
      log: () => {},
    });
    await vi.waitFor(() => expect(handed).toHaveLength(backlog), { timeout: 20_000, interval: 50 });
    await stream.stop();
    expect(handed).toEqual(Array.from({ length: backlog }, (_, i) => i + 1));
    expect(mostInHand).toBe(1);
    // Paused past MAX_QUEUED: what the socket had already read in the same chunk still arrives, no more.
    expect(mostQueued).toBeGreaterThan(MAX_QUEUED / 2);
    expect(mostQueued).toBeLessThan(MAX_QUEUED + 100);
  });

  it("stops after the event in hand: those received behind it are neither handed on nor saved", async () => {
    const { url } = await api({
      upgrade: (ws) => {
        ws.send(JSON.stringify({ type: "hello", position: 10 }));
        for (const p of [11, 12, 13, 14]) ws.send(event(p));
      },
    });
    // A slow local server: 12–14 arrive while 11 is in hand.
    const { stream, handed, saved, release } = slowOnEleven(url);
    await vi.waitFor(() => expect(handed).toEqual([11]), { timeout: 10_000 });
    const stopped = stream.stop();
    release();
    await stopped;
    expect(handed).toEqual([11]);
    expect(saved).toEqual([10, 11]);
  });

  it("stops without waiting for a handler that gives up when told: its event is neither finished nor saved", async () => {
    const { url } = await api({
      upgrade: (ws) => {
        ws.send(JSON.stringify({ type: "hello", position: 10 }));
        for (const p of [11, 12]) ws.send(event(p));
      },
    });
    const handed: number[] = [];
    const saved: number[] = [];
    const stream = openStream({
      conn: { url, token: "ehk_test", configFile: "" },
      query: {},
      position: null,
      replay: 0,
      // A local server that never answers: only the stop ends the wait, by its signal's reason.
      onMessage: (m, stopping) => {
        if (m.type !== "event") return Promise.resolve();
        handed.push(m.position);
        return new Promise((_, reject) => stopping.addEventListener("abort", () => reject(stopping.reason)));
      },
      onPosition: (p) => saved.push(p),
      log: () => {},
    });
    await vi.waitFor(() => expect(handed).toEqual([11]), { timeout: 10_000 });
    await stream.stop();
    await expect(stream.done).resolves.toBeUndefined(); // a stop, not an error
    expect(handed).toEqual([11]);
    expect(saved).toEqual([10]); // 11 comes again on the next run
  });

  it("saves the position it starts from, and hands on each event once across a reconnect", async () => {
    const { url, asked } = await api({
      upgrade: (ws, _after, n) => {
        if (n === 0) {
          ws.send(JSON.stringify({ type: "hello", position: 10 }));
          ws.send(event(11));
          ws.send(event(12));
          ws.close(1012); // dropped (after what was sent) while the handler is still on 11
        } else {
          // Asked after what was handed on when it reconnected: 11 and 12 come again.
          ws.send(JSON.stringify({ type: "hello", position: 10 }));
          for (const p of [11, 12, 13]) ws.send(event(p));
        }
      },
    });
    const { stream, handed, saved, release } = slowOnEleven(url);
    await vi.waitFor(() => expect(asked).toHaveLength(2), { timeout: 10_000 });
    release();
    await vi.waitFor(() => expect(handed).toContain(13), { timeout: 10_000 });
    await stream.stop();
    expect(handed).toEqual([11, 12, 13]);
    expect(saved[0]).toBe(10); // from hello, before any event
    expect(saved.at(-1)).toBe(13);
  });

  it("goes on from where the store is when it has less than the saved position (it was reset)", async () => {
    const { url, asked } = await api({
      upgrade: (ws) => {
        ws.send(JSON.stringify({ type: "hello", position: 3 }));
        ws.send(JSON.stringify({ type: "notice", code: "position_ahead", message: "listening from now" }));
        ws.send(event(4));
      },
    });
    const handed: number[] = [];
    const saved: number[] = [];
    const stream = openStream({
      conn: { url, token: "ehk_test", configFile: "" },
      query: {},
      position: 500, // saved before the store was reset
      replay: 0,
      onMessage: async (m) => void (m.type === "event" && handed.push(m.position)),
      onPosition: (p) => saved.push(p),
      log: () => {},
    });
    await vi.waitFor(() => expect(handed).toEqual([4]), { timeout: 10_000 });
    await stream.stop();
    expect(asked).toEqual(["500"]);
    expect(saved).toEqual([3, 4]);
  });

  it.each([
    // As an API from before acks answers a query parameter it does not know (its query is strict).
    ["listen", OLDER_REFUSAL],
    // As an API that took acks in listen mode only answered them in tail mode.
    ["tail", OLDER_TAIL_REFUSAL],
  ])("%s connects without acks to an older API, which refuses the ack parameter", async (mode, words) => {
    const refusal = JSON.stringify({
      error: { code: "invalid_request", message: `Invalid query: ack: ${words}.`, details: { issues: [{ path: "ack", message: words }] } },
    });
    const wss = new WebSocketServer({ noServer: true });
    const asked: string[] = [];
    const sent: string[] = [];
    server = createServer();
    server.on("upgrade", (req, socket, head) => {
      const url = new URL(req.url ?? "/", "http://x");
      asked.push(url.search);
      if (url.searchParams.has("ack")) return void socket.end(`HTTP/1.1 400 No\r\ncontent-type: application/json\r\ncontent-length: ${refusal.length}\r\nconnection: close\r\n\r\n${refusal}`);
      wss.handleUpgrade(req, socket, head, (ws) => {
        ws.on("message", (m) => sent.push(String(m)));
        ws.send(JSON.stringify({ type: "hello", listenerId: "l", mode, position: 0, secret: null, webhookUid: null }));
        ws.send(event(1));
        ws.send(JSON.stringify({ type: "position", position: 1 }));
      });
    });
    await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    const saved: number[] = [];
    const handed: number[] = [];
    const logged: string[] = [];
    const stream = openStream({
      conn: { url: `http://127.0.0.1:${port}`, token: "ehk_t", configFile: "" },
      query: { mode },
      position: null,
      replay: 0,
      acks: true,
      onMessage: async (m) => void (m.type === "event" && handed.push(m.position)),
      onPosition: (p) => saved.push(p),
      log: (line) => logged.push(line),
    });
    await vi.waitFor(() => expect(saved.at(-1)).toBe(1));
    await stream.stop();
    expect(handed).toEqual([1]);
    expect(logged.join("\n")).toMatch(/older release/);
    // Asked with acks once, then without; it sent no ack to an API that did not say it takes them.
    expect(asked.map((q) => new URLSearchParams(q).get("ack"))).toEqual(["true", null]);
    expect(sent.filter((m) => m.includes("ack"))).toEqual([]);
  });

  it("ends with the API's own error when an API refuses the ack it was sent for another reason, rather than listening without", async () => {
    // The parameter named alone, in other words than an older API's refusals.
    const message = "not with this listener";
    const body = { error: { code: "invalid_request", message: `Invalid query: ack: ${message}.`, details: { issues: [{ path: "ack", message }] } } };
    const { url } = await api({ refuse: { status: 400, body } });
    let upgrades = 0;
    server!.on("upgrade", () => upgrades++);
    const logged: string[] = [];
    const stream = openStream({
      conn: { url, token: "ehk_t", configFile: "" },
      query: { mode: "tail" },
      position: null,
      replay: 0,
      acks: true,
      onMessage: async () => {},
      onPosition: () => {},
      log: (line) => logged.push(line),
    });
    await expect(stream.done).rejects.toThrow(/not with this listener/);
    expect(upgrades).toBe(1); // not asked again without ack
    expect(logged.join("\n")).not.toMatch(/older release/);
  });

  it("ends with the API's error on a refused upgrade, leaving no timer behind", async () => {
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
    const { url } = await api({ refuse: { status: 401, body: { error: { code: "unauthorized", message: "Bad token." } } } });
    const stream = tailOf(url);
    await expect(stream.done).rejects.toThrow(/^401 unauthorized: /);
    expect(vi.getTimerCount()).toBe(0); // no ping left to fire on a socket that never opened
  });

  it("ends at once when its first connection finds nothing at the URL, naming the host alone, rather than retrying forever", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve())); // a port nothing listens on
    const lines: string[] = [];
    const stream = tailOf(`http://127.0.0.1:${port}/SECRETPATH?key=SECRETQUERY`, (line) => lines.push(line));
    const ended = await stream.done.then(() => null, (err: unknown) => err);
    expect(String(ended)).toMatch(new RegExp(`^Error: Cannot connect to the API at 127\\.0\\.0\\.1:${port}: .*ECONNREFUSED.*\\. Is the URL right`));
    expect(ended).toMatchObject({ exitCode: 1 });
    expect(String(ended)).not.toContain("SECRET");
    expect(lines).toEqual([]); // no "disconnected (1006)", no reconnect
  });

  it("once connected, retries a URL where nothing answers any more, saying the URL or the stack may be what is wrong", async () => {
    const { url } = await api({
      upgrade: (ws) => {
        ws.send(JSON.stringify({ type: "hello", position: 0 }));
        server!.close(); // no one answers the reconnect
        setTimeout(() => ws.terminate(), 50);
      },
    });
    const lines: string[] = [];
    const stream = tailOf(url, (line) => lines.push(line));
    await vi.waitFor(() => expect(lines.some((l) => l.includes("ECONNREFUSED"))).toBe(true), { timeout: 5_000 });
    expect(lines[0]).toMatch(/^disconnected \(1006\); reconnecting in 1 s/);
    expect(lines.find((l) => l.includes("ECONNREFUSED"))).toContain(`(is ${url} the API's URL, and is it running?)`);
    await stream.stop();
  });

  it("waits what a 429's Retry-After asks before trying again, and says why it was refused", async () => {
    // As the API words it: a sentence, whose full stop is not kept before "; reconnecting".
    const message = "This token already holds 10 listener sockets, the most one token may: close one (listen or tail) first.";
    const { url } = await api({ refuse: { status: 429, body: { error: { code: "rate_limited", message } }, headers: "retry-after: 15\r\n" } });
    const lines: string[] = [];
    const stream = tailOf(url, (line) => lines.push(line));
    await vi.waitFor(() => expect(lines).toHaveLength(1));
    expect(lines[0]).toContain(`the API answered 429: ${message.slice(0, -1)}; reconnecting in 15 s`);
    await stream.stop();
  });

  it("stops at once while it waits to reconnect: no reconnect timer keeps the process alive after Ctrl-C", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval"] });
    const { url } = await api({ refuse: { status: 503, body: { error: { code: "unavailable", message: "Restarting." } }, headers: "retry-after: 15\r\n" } });
    const lines: string[] = [];
    const stream = tailOf(url, (line) => lines.push(line));
    await vi.waitFor(() => expect(lines.some((l) => l.includes("reconnecting in 15 s"))).toBe(true));
    await stream.stop();
    expect(vi.getTimerCount()).toBe(0);
  });

  it("closes a refused upgrade's connection the API keeps alive, so an error ends the process at once", async () => {
    const { url, open } = await api({ refuse: { status: 401, body: { error: { code: "unauthorized", message: "Bad token." } }, keepAlive: true } });
    const stream = tailOf(url);
    await expect(stream.done).rejects.toThrow(/^401 unauthorized: /);
    await vi.waitFor(() => expect(open.size).toBe(0));
  });

  it("closes each refused connection before trying again after a 429", async () => {
    const { url, open } = await api({ refuse: { status: 429, body: { error: { code: "rate_limited", message: "Full." } }, headers: "retry-after: 1\r\n", keepAlive: true } });
    const lines: string[] = [];
    const stream = tailOf(url, (line) => lines.push(line));
    await vi.waitFor(() => expect(lines).toHaveLength(1));
    await vi.waitFor(() => expect(open.size).toBe(0));
    await stream.stop();
  });

  it("ends soon after the API closes it for good (a revoked token), though the API never ends the connection", async () => {
    const { url } = await api({ closeWith: 4401 });
    let ended: unknown = null;
    tailOf(url).done.catch((err: unknown) => (ended = err));
    // ws's own wait for the API to end the connection is 30 s: the listener sat silent that long before exiting.
    await vi.waitFor(() => expect(String(ended)).toContain("4401"), { timeout: 5_000 });
  });
});
