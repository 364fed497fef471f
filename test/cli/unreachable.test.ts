// `tail` and `listen` whose first connection finds nothing at the URL exit 1 at once, as the API
// commands do, naming the host alone; they reconnect with backoff only once they have connected
// (tail-reconnect.test.ts, listen-reconnect.test.ts).
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { afterEach, describe, expect, it, vi } from "vitest";
import { WebSocketServer } from "ws";
import { timeoutMs } from "../../cli/src/config.js";
import { cleanUp, cliHome, onCleanUp } from "./fake-api";

afterEach(cleanUp);

/** A loopback port nothing listens on. */
async function closedPort() {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe("tail and listen at a URL where nothing answers", () => {
  it("exit 1 at once saying they could not connect, with the host and never the rest of the URL", { timeout: 20_000 }, async () => {
    const port = await closedPort();
    const h = cliHome();
    for (const args of [["tail"], ["listen", "3000"], ["tail", "--json"]]) {
      const r = await h.edgehook([...args, "--url", `http://127.0.0.1:${port}/SECRETPATH`, "--token", "t"]);
      expect(r.code, args.join(" ")).toBe(1);
      expect(r.stderr, args.join(" ")).toMatch(new RegExp(`^error Cannot connect to the API at 127\\.0\\.0\\.1:${port}: .*ECONNREFUSED.*\\. Is the URL right.*\\n$`));
      expect(r.stderr).not.toContain("disconnected");
      expect(r.stderr).not.toContain("SECRET");
    }
    // A host that does not resolve, as a mistyped deployment's.
    const invalid = await h.edgehook(["tail", "--url", "https://edgehook.invalid", "--token", "t"]);
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toMatch(/^error Cannot connect to the API at edgehook\.invalid: /);
  });
});

/** A loopback server that takes each connection and never answers, with the requests it got. */
async function silentServer() {
  const seen: IncomingMessage[] = [];
  const upgrades: Duplex[] = [];
  const s = createServer((req) => void seen.push(req));
  s.on("upgrade", (req, socket: Duplex) => void (seen.push(req), upgrades.push(socket)));
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  onCleanUp(() => new Promise<void>((r) => {
    // An upgrade's socket is the server's no more: closeAllConnections leaves it.
    for (const socket of upgrades) socket.destroy();
    s.closeAllConnections();
    s.close(() => r());
  }));
  return { url: `http://127.0.0.1:${(s.address() as AddressInfo).port}`, seen };
}

describe("a URL where a server takes the connection and never answers", () => {
  // EDGEHOOK_TIMEOUT=0.5: the default, 30 s, is checked below without waiting for it.
  const quick = { EDGEHOOK_TIMEOUT: "0.5" };

  it("ends tail and listen's first connection, exit 1 with one line, as a URL where nothing listens", { timeout: 20_000 }, async () => {
    const api = await silentServer();
    const h = cliHome();
    for (const args of [["tail"], ["listen", "3000"]]) {
      const r = await h.edgehook([...args, "--url", `${api.url}/SECRETPATH`, "--token", "t"], quick);
      expect(r.code, args.join(" ")).toBe(1);
      expect(r.stderr, args.join(" ")).toBe(`error Cannot connect to the API at ${new URL(api.url).host}: no answer within 0.5 s. Is the URL right (and \`npm run dev\` running, locally)?\n`);
    }
    expect(api.seen.map((req) => req.url)).toEqual(["/SECRETPATH/v1/listen?mode=tail&ack=true", "/SECRETPATH/v1/listen?mode=listen&ack=true"]);
  });

  it("is, once tail has connected, a dropped connection: said and retried with backoff, not an exit", { timeout: 20_000 }, async () => {
    // Its first upgrade is taken (a hello, then the connection dropped); the others are never answered.
    const wss = new WebSocketServer({ noServer: true });
    const held: Duplex[] = [];
    const server = await new Promise<import("node:http").Server>((r) => {
      const s = createServer();
      s.on("upgrade", (req, socket: Duplex, head) => {
        if (held.push(socket) > 1) return;
        wss.handleUpgrade(req, socket, head, (ws) => {
          ws.send(JSON.stringify({ type: "hello", listenerId: "l", mode: "tail", position: 5, secret: null, webhookUid: null }));
          setTimeout(() => ws.terminate(), 100);
        });
      });
      s.listen(0, "127.0.0.1", () => r(s));
    });
    onCleanUp(() => new Promise<void>((r) => {
      for (const socket of held) socket.destroy();
      wss.close();
      server.close(() => r());
    }));
    const t = cliHome().start(["tail", "--url", `http://127.0.0.1:${(server.address() as AddressInfo).port}`, "--token", "t"], quick);
    await vi.waitFor(() => expect(t.stderr()).toContain("connection error: no answer within 0.5 s\ndisconnected (1006); reconnecting in 2 s, resuming after position 5"), { timeout: 15_000 });
    expect(t.child.exitCode).toBe(null);
    expect(t.stderr()).toContain("disconnected (1006); reconnecting in 1 s, resuming after position 5\n");
    t.child.kill("SIGINT");
    expect((await t.exited).code).toBe(0);
  });

  it("ends an API command and send, exit 1 with one line", { timeout: 20_000 }, async () => {
    const api = await silentServer();
    const h = cliHome();
    for (const args of [["sources", "list", "--token", "t"], ["events", "list", "--token", "t"], ["webhooks", "delete", "wh_1", "--token", "t"]]) {
      const r = await h.edgehook([...args, "--url", api.url], quick);
      expect(r.code, args.join(" ")).toBe(1);
      expect(r.stderr, args.join(" ")).toBe("error No answer from the API within 0.5 s: if it was reached, what was asked may have been done, so check before running a change again. Is the URL right (and `npm run dev` running, locally)?\n");
    }
    const sent = await h.edgehook(["send", "--url", api.url, "--secret", "s"], quick);
    expect(sent.code).toBe(1);
    expect(sent.stderr).toBe(`error POST ${api.url}/webhooks/podium failed: no answer within 0.5 s (the event may still have been received). Is \`npm run dev\` running (on another port: --port N, or EDGEHOOK_URL)?\n`);
    expect(api.seen).toHaveLength(4);
  });

  it("ends an answer that never finishes, as one that never starts", { timeout: 20_000 }, async () => {
    const s = createServer((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.write('{"data":[');
    });
    await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
    onCleanUp(() => new Promise<void>((r) => {
      s.closeAllConnections();
      s.close(() => r());
    }));
    const r = await cliHome().edgehook(["sources", "list", "--url", `http://127.0.0.1:${(s.address() as AddressInfo).port}`, "--token", "t"], quick);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("error No answer from the API within 0.5 s: if it was reached, what was asked may have been done, so check before running a change again. Is the URL right (and `npm run dev` running, locally)?\n");
  });

  it("waits 30 s by default; EDGEHOOK_TIMEOUT that is no number of seconds in range is a usage error (exit 2), nothing sent", async () => {
    const saved = process.env.EDGEHOOK_TIMEOUT;
    try {
      delete process.env.EDGEHOOK_TIMEOUT;
      expect(timeoutMs()).toBe(30_000);
      process.env.EDGEHOOK_TIMEOUT = "2.5";
      expect(timeoutMs()).toBe(2500);
    } finally {
      if (saved === undefined) delete process.env.EDGEHOOK_TIMEOUT;
      else process.env.EDGEHOOK_TIMEOUT = saved;
    }
    const api = await silentServer();
    const h = cliHome();
    for (const bad of ["abc", "0", "-1", "1e3", "3601"]) {
      for (const args of [["tail"], ["sources", "list"]]) {
        const r = await h.edgehook([...args, "--url", api.url, "--token", "t"], { EDGEHOOK_TIMEOUT: bad });
        expect(r.code, `${bad} ${args.join(" ")}`).toBe(2);
        expect(r.stderr, bad).toBe(`error: EDGEHOOK_TIMEOUT: "${bad}" is not a decimal number of seconds (such as 2.5) from 0.1 to 3600 (the default is 30).\n(add --help for usage)\n`);
      }
    }
    expect(api.seen).toEqual([]);
  });
});
