// Property test of the CLI's listener connection (cli/src/stream.js) against a local API that
// sends, among well-formed messages, frames that are not the protocol's: not JSON, cut short,
// binary, of other shapes or kinds, with positions that are not positions, an event whose body is
// not a string. Each such frame is reported as ignored, one line each, and never handed on; the
// well-formed events are handed on once each, in order; the stream never ends with an error; and
// every position saved is one an event or the API said, so a resume misses nothing.
// Then `edgehook listen` itself, as a process, on such frames: no stack trace, and a state file
// that resumes after the last event forwarded.
import { readdirSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { WebSocketServer, type WebSocket } from "ws";
import { openStream } from "../../cli/src/stream.js";
import type { ListenMessage } from "../../src/listen/protocol";
import { cleanUp, cliHome, eventNote as event, fakeApi, onCleanUp } from "./fake-api";

/** Fixed, so that a failure replays. */
const SEED = 20261202;
const START = 10;

type Frame = { text: string; binary?: true };
/** One step of what the API sends: a well-formed message, or a frame that is not one. */
type Step = { kind: "event" } | { kind: "repeat" } | { kind: "position" } | { kind: "notice" } | { kind: "bad"; frame: (next: number) => Frame };

const text = (v: unknown): Frame => ({ text: JSON.stringify(v) });

/** Frames that are not the protocol's; `next` is the position the next event would have. */
const BAD: fc.Arbitrary<(next: number) => Frame> = fc.oneof(
  fc.string({ unit: "binary", maxLength: 60 }).map((s) => () => ({ text: s })),
  fc.nat(200).map((cut) => (next: number) => ({ text: JSON.stringify(event(next)).slice(0, cut % JSON.stringify(event(next)).length) })),
  fc.constantFrom("null", "5", '"event"', "[]", "{}", "true", '{"type":5}', '{"type":null}', '{"type":"event"}', '{"type":"__proto__"}', '{"type":"constructor"}', "[{\"type\":\"event\"}]").map((t) => () => ({ text: t })),
  fc.constantFrom<unknown>({ a: 1 }, 5, null, [1, 2], true).map((body) => (next: number) => text(event(next, body))),
  fc.constantFrom<unknown>("abc", 5, [], { "x-a": 5 }, { "x-a": { b: 1 } }).map((headers) => (next: number) => text({ ...event(next), headers })),
  // Positions that are not positions: out of range, not whole, spelt as strings, past what JSON numbers hold.
  fc.constantFrom<unknown>(-1, 1.5, 1e300, 2 ** 53 + 2, "12", `${START + 500}`, null, [START + 1], { p: 1 }).chain((position) =>
    fc.constantFrom("event", "position", "hello").map((type) => (next: number) => text(type === "event" ? { ...event(next), position } : { type, listenerId: "l", mode: "listen", secret: null, webhookUid: null, position })),
  ),
  fc.constantFrom("1e999", "-1e999", "123456789012345678901234567890").chain((raw) =>
    fc.constantFrom("event", "position").map((type) => (next: number) => ({ text: JSON.stringify(type === "event" ? { ...event(next), position: 0 } : { type, position: 0 }).replace('"position":0', `"position":${raw}`) })),
  ),
  fc.constantFrom<unknown>({ type: "future", position: START + 900 }, { type: "events", position: START + 900 }, { type: "\u001b[2J\u001b[Hfake" }).map((v) => () => text(v)),
  // A binary frame, even of a well-formed event: the protocol's messages are text.
  fc.constant((next: number) => ({ text: JSON.stringify(event(next)), binary: true as const })),
);

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 4, arbitrary: fc.constant<Step>({ kind: "event" }) },
  fc.constantFrom<Step>({ kind: "repeat" }, { kind: "position" }, { kind: "notice" }),
  { weight: 4, arbitrary: BAD.map((frame): Step => ({ kind: "bad", frame })) },
);

/** What the API sends for a case, what the handler must get of it, and where it must end. */
function script(steps: Step[]) {
  const frames: Frame[] = [text({ type: "hello", listenerId: "l", mode: "listen", position: START, secret: "whsec_x", webhookUid: null })];
  const events: number[] = [];
  let next = START + 1;
  let bad = 0;
  for (const s of steps) {
    if (s.kind === "event") {
      frames.push(text(event(next)));
      events.push(next++);
    } else if (s.kind === "repeat" && events.length > 0) frames.push(text(event(events.at(-1)!)));
    else if (s.kind === "position") frames.push(text({ type: "position", position: next++ }));
    else if (s.kind === "notice") frames.push(text({ type: "notice", code: "position_ahead", message: "listening from now" }));
    else if (s.kind === "bad") {
      frames.push(s.frame(next));
      bad++;
    }
  }
  // The last word: everything up to here was examined.
  frames.push(text({ type: "position", position: next }));
  return { frames, events, bad, end: next };
}

/** What the handler may be given: a kind of src/listen/protocol.ts, its position a position, an event's body a string. */
function wellFormed(m: ListenMessage): boolean {
  const position = "position" in m && Number.isSafeInteger(m.position) && m.position >= 0;
  if (m.type === "event") return position && typeof m.body === "string" && Object.values(m.headers ?? {}).every((v) => typeof v === "string");
  return m.type === "notice" || ((m.type === "hello" || m.type === "position") && position);
}

describe("edgehook listen's connection under malformed frames", () => {
  let server: Server;
  let url = "";
  let play: (ws: WebSocket) => void = () => {};

  beforeAll(async () => {
    const wss = new WebSocketServer({ noServer: true });
    server = createServer();
    server.on("upgrade", (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => play(ws)));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it("reports and skips each frame that is not the protocol's, hands on each event once, and saves only positions the API gave", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 12 }), fc.boolean(), async (steps, resumed) => {
        const { frames, events, bad, end } = script(steps);
        play = (ws) => {
          for (const f of frames) ws.send(f.text, { binary: f.binary === true });
        };
        const handed: ListenMessage[] = [];
        const saved: number[] = [];
        const logged: string[] = [];
        let failed: unknown = null;
        const stream = openStream({
          conn: { url, token: "ehk_test", configFile: "" },
          query: {},
          position: resumed ? START : null,
          replay: 0,
          onMessage: async (m) => void handed.push(m),
          onPosition: (p) => saved.push(p),
          log: (line) => logged.push(line),
        });
        stream.done.catch((err: unknown) => (failed = err));
        const what = frames.map((f) => (f.binary ? `binary ${f.text}` : f.text).slice(0, 120)).join("\n");
        try {
          await vi.waitFor(() => expect(failed !== null || saved.at(-1) === end).toBe(true), { timeout: 2_000, interval: 5 });
        } finally {
          await stream.stop();
        }
        expect(failed, what).toBeNull();
        expect(handed.filter((m) => !wellFormed(m)), what).toEqual([]);
        expect(handed.flatMap((m) => (m.type === "event" ? [m.position] : [])), what).toEqual(events);
        expect(logged.filter((l) => l.includes("ignored")), what).toHaveLength(bad);
        // What the API sent is shown escaped (docs/cli.md: "Server text is shown, never obeyed").
        expect(logged.filter((l) => l.includes("\u001b[2J")), what).toEqual([]);
        expect(saved.every((p) => Number.isSafeInteger(p) && p >= START && p <= end), `${what}\nsaved ${saved}`).toBe(true);
        expect(saved, `${what}\nsaved ${saved}`).toEqual([...saved].sort((a, b) => a - b));
      }),
      { seed: SEED, numRuns: 200 },
    );
  });
});

describe("edgehook listen on malformed frames", () => {
  afterEach(cleanUp);

  it("forwards only the events it was sent whole, without a stack trace, and resumes after the last one it was sent whole", async () => {
    const bodies: string[] = [];
    const target = createServer((req, res) => {
      let b = "";
      req.on("data", (c) => (b += c));
      req.on("end", () => {
        bodies.push(b);
        res.end();
      });
    });
    await new Promise<void>((r) => target.listen(0, "127.0.0.1", r));
    onCleanUp(() => new Promise<void>((r) => target.close(() => r())));
    const api = await fakeApi({
      listen: (ws) => {
        ws.send(JSON.stringify({ type: "hello", listenerId: "l", mode: "listen", position: START, secret: "whsec_x", webhookUid: null }));
        ws.send(JSON.stringify(event(START + 1, { not: "a string" })));
        ws.send("null");
        ws.send(JSON.stringify({ ...event(START + 2), position: `${START + 50}` }));
        ws.send(JSON.stringify(event(START + 3)));
        ws.send(JSON.stringify({ ...event(START + 4), position: 1e300 }));
        ws.send(JSON.stringify({ type: "position", position: -5 }));
        // Well-formed as tail hears events, but nothing to forward.
        const { body: _b, headers: _h, ...bare } = event(START + 5);
        ws.send(JSON.stringify(bare));
        // Closed for good (a revoked token): the CLI ends after what it was sent.
        ws.close(4401, "token revoked");
      },
    });
    const h = cliHome();
    const run = await h.edgehook(["listen", String((target.address() as AddressInfo).port), "--url", api.url, "--token", "ehk_test", "--json"]);
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(run.stderr).toContain("The API closed the listener: token revoked.");
    expect(run.code).toBe(1);
    expect(bodies).toEqual([`{"n":${START + 3}}`]);
    expect(run.stdout.trim().split("\n").map((l) => JSON.parse(l))).toMatchObject([
      { position: START + 3, status: 200, error: null },
      { position: START + 5, status: null, error: "not forwarded: the API sent it without its body and headers" },
    ]);
    // Each frame that was not the protocol's is named on stderr.
    expect(run.stderr.match(/ignored a message/g)).toHaveLength(5);
    const files = readdirSync(join(h.dir, "listen-state"));
    expect(files).toHaveLength(1);
    expect(JSON.parse(readFileSync(join(h.dir, "listen-state", files[0]!), "utf8"))).toMatchObject({ position: START + 5 });
  });
});
