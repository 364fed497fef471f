// What the server sends is data, never terminal control: a token that may only send events
// must not be able to write to an admin's clipboard (OSC 52), clear the screen or fake lines
// through `tail`, `listen` or a table, while --json stays exact JSON.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { WebSocket } from "ws";
import { run } from "../../cli/src/main.js";
import { printable, shellWord, writeOut } from "../../cli/src/output.js";
import { Writable } from "node:stream";
import { execFileSync } from "node:child_process";
import { legible } from "../../src/domain/legible";
import { apiEvent, apiWebhook, cleanUp, cliHome, fakeApi, onCleanUp } from "./fake-api";

afterEach(async () => {
  vi.restoreAllMocks();
  await cleanUp();
});

const OSC52 = "\x1b]52;c;ZXZpbA==\x07"; // writes "evil" to the clipboard
const HOSTILE = {
  eventType: `message.received${OSC52}`,
  sourceId: "podium\u009b2J", // C1 CSI: clear the screen
  id: "evt_1\x7f\x00",
  error: "timeout\r\n12:00:00  event    fake.line  evt_fake\x1b[2K",
  url: "https://x.example/\x1b]8;;https://evil.example\x07click\x1b]8;;\x07",
  notice: "listening \x1b[31mfrom now",
  reason: "revoked\x1b[2J",
  secret: "whsec_abc\x1b[8m",
  body: '{"a":"\u009b2J"}\n\x1b]52;c;ZXZpbA==\x07',
  /** Shown as `contact.created` were its format and ignorable characters left raw. */
  invisible: "contact\u200b.created\u2060\ufeff\u00ad\u{e0001}\ufe0f\u3164",
};
/** HOSTILE.invisible as the human output shows it. */
const INVISIBLE_SHOWN = "contact\\u200b.created\\u2060\\ufeff\\xad\\u{e0001}\\ufe0f\\u3164";
/** Any control or invisible character but the newline ending each line: C0, DEL, C1, the line separators, format characters (bidi marks, U+200B, U+FEFF…) and other ignorables. */
const CONTROL = /(?!\n)[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Default_Ignorable_Code_Point}]/u;

const event = {
  type: "event",
  position: 7,
  id: HOSTILE.id,
  eventType: HOSTILE.eventType,
  sourceId: HOSTILE.sourceId,
  locationUid: null,
  organizationUid: null,
  receivedAt: "2026-01-01T00:00:00.000Z",
};
const attempt = {
  type: "attempt",
  deliveryId: "dlv_1",
  eventId: HOSTILE.id,
  eventType: HOSTILE.invisible,
  webhookUid: "wh\u202e1",
  number: 1,
  status: "pending",
  statusCode: null,
  durationMs: 12,
  error: HOSTILE.error,
  startedAt: "2026-01-01T00:00:01.000Z",
};
/** A listener connection that says everything, then closes for good. */
const chatty = (hello: object, ...rest: object[]) => (ws: WebSocket) => {
  for (const m of [hello, ...rest]) ws.send(JSON.stringify(m));
  ws.close(4401, HOSTILE.reason);
};
const hello = (mode: string, secret: string | null) => ({ type: "hello", listenerId: "l1", mode, position: 6, secret, webhookUid: null });
const notice = { type: "notice", code: "position_ahead", message: HOSTILE.notice };

describe("human output", () => {
  it("tail shows server strings with their control characters escaped, one line per event or attempt", async () => {
    const a = await fakeApi({ listen: chatty(hello("tail", null), notice, event, attempt) });
    const r = await cliHome().edgehook(["tail", "--url", a.url, "--token", "t"]);
    expect(r.code).toBe(1); // the API closed the listener
    expect(r.stdout + r.stderr).not.toMatch(CONTROL);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines).toHaveLength(2);
    expect(lines[0]).toContain("message.received\\x1b]52;c;ZXZpbA==\\x07");
    expect(lines[0]).toContain("podium\\x9b2J");
    expect(lines[1]).toContain("timeout\\x0d\\x0a12:00:00  event    fake.line  evt_fake\\x1b[2K");
    expect(lines[1]).toContain("wh\\u202e1");
    expect(lines[1]).toContain(INVISIBLE_SHOWN);
    expect(r.stderr).toContain("listening \\x1b[31mfrom now");
    expect(r.stderr).toContain("revoked\\x1b[2J");
  });

  it("listen's lines and its hello escape them too", async () => {
    const target: Server = createServer((_req, res) => res.writeHead(204).end());
    await new Promise<void>((r) => target.listen(0, "127.0.0.1", r));
    onCleanUp(() => new Promise<void>((r) => target.close(() => r())));
    const a = await fakeApi({ listen: chatty(hello("listen", HOSTILE.secret), { ...event, headers: {}, body: "{}" }) });
    const r = await cliHome().edgehook(["listen", String((target.address() as AddressInfo).port), "--url", a.url, "--token", "t"]);
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).not.toMatch(CONTROL);
    expect(r.stdout.trimEnd().split("\n")).toEqual([expect.stringContaining("message.received\\x1b]52;c;ZXZpbA==\\x07  evt_1\\x7f\\x00  204")]);
    expect(r.stderr).toContain("whsec_abc\\x1b[8m");
  });

  it("tables (events list, webhooks list), a shown event and the API's error messages escape them", async () => {
    const stored = { ...apiEvent, ...event, body: HOSTILE.body, deliveries: [{ id: "dlv_1", webhookUid: "wh_1", status: "pending", attempts: [{ ...attempt }] }] };
    const a = await fakeApi({
      routes: {
        "GET /v1/events": { data: [{ ...event, receivedAt: "2026-01-01T00:00:00.000Z" }, { ...event, eventType: HOSTILE.invisible }], nextCursor: `c\x1b[2K` },
        "GET /v1/webhooks": { data: [{ ...apiWebhook, url: HOSTILE.url, eventTypes: [HOSTILE.eventType] }], nextCursor: null },
        "GET /v1/events/evt_1": stored,
      },
    });
    const h = cliHome();
    const events = await h.edgehook(["events", "list", "--url", a.url, "--token", "t"]);
    const webhooks = await h.edgehook(["webhooks", "list", "--url", a.url, "--token", "t"]);
    const shown = await h.edgehook(["events", "show", "evt_1", "--url", a.url, "--token", "t"]);
    for (const r of [events, webhooks, shown]) {
      expect(r.code).toBe(0);
      expect(r.stdout + r.stderr).not.toMatch(CONTROL);
    }
    expect(events.stdout.trimEnd().split("\n")).toHaveLength(3); // header and two rows
    expect(events.stdout).toContain("message.received\\x1b]52;c;ZXZpbA==\\x07");
    expect(events.stdout).toContain(INVISIBLE_SHOWN);
    expect(events.stderr).toContain("--cursor $'c\\x1b[2K'\n");
    expect(webhooks.stdout).toContain("https://x.example/\\x1b]8;;https://evil.example\\x07click");
    expect(shown.stdout).toContain('{"a":"\\x9b2J"}\n\\x1b]52;c;ZXZpbA==\\x07');
    expect(shown.stdout).toContain("timeout\\x0d\\x0a12:00:00");

    const a2 = await fakeApiWithError();
    const failed = await h.edgehook(["events", "show", "evt_1", "--url", a2.url, "--token", "t"]);
    expect(failed.code).toBe(1);
    expect(failed.stderr).not.toMatch(CONTROL);
    expect(failed.stderr).toContain("not_found\\x1b]52;c;ZXZpbA==\\x07: No event \\x1b[2J.");
  });
});

/** An API whose error answer carries control characters in its code and message. */
async function fakeApiWithError() {
  const server: Server = createServer((_req, res) => {
    res.writeHead(404, { "content-type": "application/json" });
    res.end(JSON.stringify({ error: { code: `not_found${OSC52}`, message: "No event \x1b[2J." } }));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  onCleanUp(() => new Promise<void>((r) => server.close(() => r())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

describe("a table", () => {
  it("aligns its columns by the width a terminal shows (CJK and emoji two columns, a combining mark none), not by UTF-16 length", async () => {
    const source = (id: string, name: string) => ({ id, name, provider: "podium", disabled: false, ingressUrl: `https://e.test/webhooks/${id}` });
    const a = await fakeApi({
      routes: { "GET /v1/sources": { data: [source("a", "受付🙂"), source("b", "desk"), source("c", "cafe\u0301"), source("d", "🇫🇷 ok")], nextCursor: null } },
    });
    const r = await cliHome().edgehook(["sources", "list", "--url", a.url, "--token", "t"]);
    expect(r.code, r.stderr).toBe(0);
    // NAME is 6 columns wide (受付🙂, 🇫🇷 ok): STATE starts at one column in every line.
    expect(r.stdout.split("\n")).toEqual([
      "ID  PROVIDER  NAME    STATE    INGRESS URL",
      "a   podium    受付🙂  enabled  https://e.test/webhooks/a",
      "b   podium    desk    enabled  https://e.test/webhooks/b",
      "c   podium    cafe\u0301    enabled  https://e.test/webhooks/c",
      "d   podium    🇫🇷 ok   enabled  https://e.test/webhooks/d",
      "",
    ]);
  });
});

describe("machine output", () => {
  it("tail --json is exact JSON with every control character escaped", async () => {
    const a = await fakeApi({ listen: chatty(hello("tail", null), event, attempt) });
    const r = await cliHome().edgehook(["tail", "--json", "--url", a.url, "--token", "t"]);
    expect(r.stdout).not.toMatch(CONTROL);
    expect(r.stdout.trimEnd().split("\n").map((l) => JSON.parse(l))).toEqual([event, attempt]);
  });

  it("events list --json is the API's answer exactly", async () => {
    const answer = { data: [{ id: "evt_1", eventType: HOSTILE.eventType, sourceId: HOSTILE.sourceId, note: "a\u2028b\u202ec", invisible: HOSTILE.invisible }], nextCursor: null };
    const a = await fakeApi({ routes: { "GET /v1/events": answer } });
    const r = await cliHome().edgehook(["events", "list", "--json", "--url", a.url, "--token", "t"]);
    expect(r.stdout).not.toMatch(CONTROL);
    expect(JSON.parse(r.stdout)).toEqual(answer);
  });

  it("events show --body is the stored body byte for byte into a pipe, escaped on a terminal", async () => {
    const a = await fakeApi({ routes: { "GET /v1/events/evt_1": { ...apiEvent, ...event, body: HOSTILE.body } } });
    const piped = await cliHome().edgehook(["events", "show", "evt_1", "--body", "--url", a.url, "--token", "t"]);
    expect(piped.stdout).toBe(HOSTILE.body); // nothing added, not even a line break

    // On a terminal (in this process, with stdout a TTY):
    const written: string[] = [];
    vi.spyOn(process.stdout, "write").mockImplementation((chunk) => (written.push(String(chunk)), true));
    const tty = Object.getOwnPropertyDescriptor(process.stdout, "isTTY");
    Object.defineProperty(process.stdout, "isTTY", { value: true, configurable: true });
    try {
      expect(await run(["events", "show", "evt_1", "--body", "--url", a.url, "--token", "t"])).toBe(0);
    } finally {
      if (tty) Object.defineProperty(process.stdout, "isTTY", tty);
      else delete (process.stdout as { isTTY?: boolean }).isTTY;
    }
    expect(written.join("")).toBe('{"a":"\\x9b2J"}\n\\x1b]52;c;ZXZpbA==\\x07\n');
  });
});

describe("the next page's command", () => {
  it("is read back by a shell word for word, whatever the words hold, with nothing a terminal would act on", () => {
    const words = ["plain-1.0", "two words", "it's", "a\\b", "$HOME", "`x`", "c\x1b[2K", "line\nbreak", "zero\u200bwidth", "tag\u{e0001}", "é", ""];
    const line = words.map(shellWord).join(" ");
    expect(line).not.toMatch(/[\p{Cc}\p{Cf}]/u);
    const heard = execFileSync("bash", ["-c", `printf '%s\\0' ${line}`], { encoding: "utf8" }).split("\0").slice(0, -1);
    expect(heard).toEqual(words);
  });

  it("is the command run() was given (not this process's arguments), its token a placeholder", async () => {
    const api = await fakeApi({ routes: { "GET /v1/events": { data: [], nextCursor: "c9" } } });
    const written: string[] = [];
    vi.spyOn(process.stderr, "write").mockImplementation((chunk) => (written.push(String(chunk)), true));
    expect(await run(["events", "list", "--type", "message.sent", "--url", api.url, "--token", "secret-t"])).toBe(0);
    expect(written.join("")).toContain(`more: edgehook events list --type message.sent --url ${api.url} --token '<token>' --cursor c9\n`);
    expect(written.join("")).not.toContain("secret-t");
  });
});

describe("the dashboard and the CLI", () => {
  it("escape the same characters: every code point one escapes, the other does (docs/security.md)", () => {
    const differ: string[] = [];
    for (let code = 0; code <= 0x10ffff; code++) {
      if (code >= 0xd800 && code <= 0xdfff) continue; // a lone surrogate is no character of a string
      const c = String.fromCodePoint(code);
      if ((printable(c) !== c) !== (legible(c) !== c)) differ.push(`U+${code.toString(16).toUpperCase().padStart(4, "0")}`);
    }
    expect(differ).toEqual([]);
  });
});

describe("writeOut, through which listen and tail print a run before acking it", () => {
  it("settles once the output took the text: at once, or only when a full buffer drained (a pipe nobody reads holds the stream back)", async () => {
    const pending: (() => void)[] = [];
    const out = new Writable({ highWaterMark: 8, write: (_chunk, _enc, done) => void pending.push(() => done()) });
    let settled = false;
    const first = writeOut("0123456789 over the buffer\n", out).then(() => (settled = true));
    await new Promise((resolve) => setImmediate(resolve)); // the write under way has been asked for (the positive signal)
    expect(pending).toHaveLength(1);
    expect(settled).toBe(false); // its buffer is full and nothing drained it
    pending.shift()!();
    await first;
    expect(settled).toBe(true);
    // Below the buffer, at once.
    const roomy = new Writable({ highWaterMark: 1024, write: (_chunk, _enc, done) => done() });
    await writeOut("short\n", roomy);
  });
});
