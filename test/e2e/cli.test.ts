// The `edgehook` CLI against the real local stack: listen forwarding to a real local
// server, resuming after a kill, token limits, tail, the API commands, and the listener
// hub's socket caps against a peer that never answers a close.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { Webhook as StandardWebhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isRecord } from "../../src/domain/guards";
import { SOCKETS_PER_TOKEN } from "../../src/listen/limits";
import { startDownstream, type Downstream } from "./downstream";
import { podiumEvent, sendPodium } from "./podium";
import { openRawPeer, type RawPeer } from "./raw-websocket";
import { eventually, startStack, type Stack } from "./stack";

const root = resolve(import.meta.dirname, "../..");
const bin = join(root, "cli/bin/edgehook.js");
let stack: Stack;
let down: Downstream;
let home: string;
const children: ChildProcess[] = [];
/** A request the ingress refuses, sent first: its tally (sent after the answer, recorded by a queue consumer, ~6 s) is in the log by the time `sources rejections` reads it. */
// The status of a forged request sent at the start (its refusal's tally lands ~6 s later: REJECTIONS_FLUSH_MS, then the queue's 5 s batch), or its error.
let forged: Promise<number | Error>;

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), "edgehook-cli-"));
  down = await startDownstream();
  stack = await startStack();
  forged = sendPodium(`${stack.url}/webhooks/podium`, podiumEvent(), "not-the-secret").then(
    (r) => r.status,
    (e: unknown) => (e instanceof Error ? e : new Error(String(e))),
  );
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
  await stack?.stop();
  await down?.close();
  rmSync(home, { recursive: true, force: true });
});

const key = () => Math.random().toString(36).slice(2, 10);
const env = (config: string) => ({ ...process.env, NO_COLOR: "1", EDGEHOOK_URL: stack.url, EDGEHOOK_CONFIG: config });

/** Runs one CLI command to completion. */
async function edgehook(args: string[], opts: { token?: string; config?: string } = {}) {
  const token = args[0] === "send" ? [] : ["--token", opts.token ?? stack.vars.ADMIN_TOKEN!]; // send signs; it needs no token
  const { stdout } = await promisify(execFile)(process.execPath, [bin, ...args, ...token], {
    cwd: root,
    env: env(opts.config ?? join(home, "config.json")),
  });
  return stdout;
}
const json = async (args: string[], opts?: { token?: string }) => JSON.parse(await edgehook([...args, "--json"], opts));

/** Starts a long-running command (listen, tail) and collects its JSON lines (its text lines with `human`, in `texts`). */
async function start(args: string[], opts: { token?: string; config?: string; human?: boolean } = {}) {
  const child = spawn(process.execPath, [bin, ...args, ...(opts.human ? [] : ["--json"]), "--token", opts.token ?? stack.vars.ADMIN_TOKEN!], {
    cwd: root,
    env: env(opts.config ?? join(home, "config.json")),
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  const lines: Record<string, unknown>[] = []; // its JSON lines (--json), each an object
  const texts: string[] = []; // its text lines (human)
  let out = "";
  let err = "";
  child.stdout!.on("data", (d) => {
    out += d;
    const parts = out.split("\n");
    out = parts.pop()!;
    for (const p of parts) {
      if (!p.trim()) continue;
      if (opts.human) texts.push(p);
      else {
        const line: unknown = JSON.parse(p);
        lines.push(isRecord(line) ? line : { notAnObject: line });
      }
    }
  });
  child.stderr!.on("data", (d) => (err += d));
  await eventually(async () => /Listening|Tailing/.test(err), 20_000, `${args[0]} to connect:\n${err}`);
  return { child, lines, texts, stderr: () => err };
}

const secret = () => stack.vars.PODIUM_WEBHOOK_SECRET!.split(" ")[0]!;
async function send(opts: Parameters<typeof podiumEvent>[0]): Promise<string> {
  const res = await sendPodium(`${stack.url}/webhooks/podium`, podiumEvent(opts), secret());
  expect(res.status).toBe(202);
  return ((await res.json()) as { eventId: string }).eventId;
}
const arrived = (k: string, n: number) =>
  eventually(async () => {
    const r = await down.requests(k);
    return r.length >= n ? r : null;
  }, 30_000, `${n} forward(s) under ${k}`);

describe("edgehook listen", () => {
  it("forwards each live event to the local server with the webhook headers, verifiable with standardwebhooks", async () => {
    const k = key();
    const org = `org-${k}`;
    const listenSecret = "whsec_ZTJlLWxpc3Rlbi1zZWNyZXQtZm9yLWNsaQ==";
    const l = await start(["listen", `${down.url.split(":").pop()}/ok/${k}`, "--types", "message.*", "--secret", listenSecret, "--from-now"]);
    await send({ type: "contact.updated", organizationUid: org }); // not a message: never forwarded
    const first = await send({ type: "message.received", organizationUid: org });
    const second = await send({ type: "message.sent", organizationUid: org });
    const reqs = await arrived(k, 2);
    expect(reqs.map((r) => r.headers["webhook-id"])).toEqual([first, second]);
    for (const r of reqs) {
      expect(() => new StandardWebhook(listenSecret).verify(r.body, r.headers)).not.toThrow();
      expect(r.headers["edgehook-event-type"]).toMatch(/^message\./);
    }
    const stored = await json(["events", "show", first]);
    expect(reqs[0]!.body).toBe(stored.body);
    await eventually(async () => l.lines.length >= 2, 10_000, "two output lines");
    expect(l.lines.map((x) => [x.eventId, x.status])).toEqual([
      [first, 200],
      [second, 200],
    ]);
    l.child.kill("SIGTERM");
  });

  it("killed and restarted, resumes: every event arrives once, none lost, none twice", async () => {
    const k = key();
    // A type of its own to hear only this test's events: of no Podium object, whose unknown types a listener is refused.
    const type = `resume.${k}`;
    const target = `${down.url}/ok/${k}`;
    const config = join(home, `resume-${k}.json`);
    const ids: string[] = [];
    const first = await start(["listen", target, "--types", type], { config });
    for (let i = 0; i < 3; i++) ids.push(await send({ type }));
    await arrived(k, 3);
    await eventually(async () => first.lines.length >= 3, 10_000, "three output lines");
    first.child.kill("SIGKILL");
    await new Promise((r) => first.child.once("exit", r));

    for (let i = 0; i < 4; i++) ids.push(await send({ type })); // while nobody listens
    await eventually(async () => (await json(["events", "list", "--type", type])).data.length === 7, 20_000, "seven stored events");
    const again = await start(["listen", target, "--types", type], { config });
    expect(again.stderr()).toMatch(/resuming after \d+/);
    await arrived(k, 7);
    for (let i = 0; i < 2; i++) ids.push(await send({ type })); // live again
    const all = await arrived(k, 9);
    expect(all.map((r) => r.headers["webhook-id"])).toEqual(ids);
    // The signing secret is kept across runs, so the local server's verification goes on working.
    const states = readdirSync(join(home, "listen-state")).map(
      (f) => JSON.parse(readFileSync(join(home, "listen-state", f), "utf8")) as { listener: string; secret: string },
    );
    const kept = states.find((s) => s.listener.includes(type))!.secret;
    for (const r of all) expect(() => new StandardWebhook(kept).verify(r.body, r.headers)).not.toThrow();
    again.child.kill("SIGTERM");
  });

  it("with a token limited to one location, hears that location's events and nothing else", async () => {
    const k = key();
    const mine = `loc-${k}`;
    const token = await json(["tokens", "create", "--name", `only-${k}`, "--scopes", "events:read,read_messages", "--locations", mine]);
    const l = await start(["listen", `${down.url}/ok/${k}`, "--from-now"], { token: token.token });
    const other = `loc-${k}-other`;
    await send({ locationUid: other, organizationUid: `org-${k}` });
    const a = await send({ locationUid: mine, organizationUid: `org-${k}` });
    await send({ locationUid: other, organizationUid: `org-${k}` });
    const b = await send({ locationUid: mine, organizationUid: `org-${k}` });
    const reqs = await arrived(k, 2);
    // Events reach a listener in store order, so the other location's were examined before b.
    expect(reqs.map((r) => r.headers["webhook-id"])).toEqual([a, b]);
    l.child.kill("SIGTERM");
  });
});

describe("edgehook tail", () => {
  it("shows events and their delivery attempts with status", async () => {
    const k = key();
    const org = `org-${k}`;
    const w = await json(["webhooks", "create", "--endpoint", `${down.url}/flaky/${k}?fails=1`, "--types", "*", "--organization", org]);
    const t = await start(["tail", "--webhook", w.uid]);
    const id = await send({ organizationUid: org });
    const lines = await eventually(async () => (t.lines.filter((x) => x.type === "attempt").length >= 1 ? t.lines : null), 30_000, "an attempt");
    expect(lines.find((x) => x.type === "event")).toMatchObject({ id, eventType: "message.received" });
    expect(lines.find((x) => x.type === "attempt")).toMatchObject({ eventId: id, webhookUid: w.uid, number: 1, statusCode: 503, status: "pending" });
    t.child.kill("SIGTERM");
  });

  it("shows an event whose type carried bidirectional overrides and line separators (any sender's payload) as its object's unknown, in text and --json", async () => {
    // The ingress keeps no type holding a character that shows as nothing or as a line's end
    // (providers.md); the CLI's escaping of such text is tested against a fake API (test/cli).
    const k = key();
    const human = await start(["tail"], { human: true });
    const machine = await start(["tail"]);
    const id = await send({ type: `message.${k}\u202eevil\u2028x\u2066` });
    const line = await eventually(async () => human.texts.find((l) => l.includes(id)), 30_000, "the event's line");
    expect(line).toContain("message.unknown");
    expect(line).not.toMatch(/[\x00-\x1f\x7f-\x9f\u2028\u202e\u2066]|evil/);
    const note = await eventually(async () => machine.lines.find((l) => l.id === id), 30_000, "the event's JSON line");
    expect(note.eventType).toBe("message.unknown");
    expect(await edgehook(["events", "list", "--type", "message.unknown"])).toContain(id);
    human.child.kill("SIGTERM");
    machine.child.kill("SIGTERM");
  });
});

describe("the API commands", () => {
  it("create and list webhooks, list and show events, and send", async () => {
    const k = key();
    const org = `org-${k}`;
    const created = await json(["webhooks", "create", "--endpoint", `${down.url}/ok/${k}`, "--types", "message.*", "--organization", org,
      "--rate-limit", "none", "--max-concurrency", "3", "--ordering", "unordered"]);
    expect(created.secret).toMatch(/^whsec_/);
    expect(created).toMatchObject({ rateLimit: null, maxConcurrency: 3, ordering: "unordered" });
    const paced = await json(["webhooks", "update", created.uid, "--rate-limit", "5", "--max-concurrency", "2", "--ordering", "fifo"]);
    expect(paced).toMatchObject({ rateLimit: 5, maxConcurrency: 2, ordering: "fifo" });
    expect(await json(["webhooks", "update", created.uid, "--rate-limit", "none", "--ordering", "unordered"])).toMatchObject({ rateLimit: null, maxConcurrency: 2, ordering: "unordered" });
    const listed = await json(["webhooks", "list", "--limit", "100"]);
    expect(listed.data.map((x: { uid: string }) => x.uid)).toContain(created.uid);
    expect(await edgehook(["webhooks", "list", "--limit", "100"])).toContain(created.uid);

    const sent = JSON.parse(
      await edgehook(["send", "--url", stack.url, "--secret", secret(), "--organization", org, "--type", "message.received", "--json"]),
    );
    expect(sent.status).toBe(202);
    const id = sent.answer.eventId as string;
    const event = await eventually(async () => {
      const page = await json(["events", "list", "--organization", org]);
      return page.data.find((e: { id: string }) => e.id === id);
    }, 20_000, "the sent event in the list");
    expect(event.eventType).toBe("message.received");
    const shown = await json(["events", "show", id]);
    expect(JSON.parse(shown.body).metadata.eventType).toBe("message.received");
    await arrived(k, 1);

    const bad = await promisify(execFile)(process.execPath, [bin, "events", "show", "evt_nope", "--token", "wrong"], { cwd: root, env: env(join(home, "config.json")) }).catch((e) => e);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/401 unauthorized/);
  });
});

describe("alerts, filters and rejections from the CLI", () => {
  it("manages a notification endpoint, lists alerts, sets and removes a webhook's filter with its test saying why, and lists a source's rejections", async () => {
    const k = key();
    const org = `org-${k}`;
    // Two independent halves, at once: e2e time matters.
    const endpoints = async () => {
      const ne = await json(["notification-endpoints", "create", "--endpoint", `${down.url}/ok/${k}`, "--alerts", "webhook.failing,source.rejecting", "--format", "slack"]);
      expect(ne).toMatchObject({ alertTypes: ["webhook.failing", "source.rejecting"], format: "slack", disabled: false });
      expect(ne.secret).toMatch(/^whsec_/);
      expect(await json(["notification-endpoints", "update", ne.uid, "--disable"])).toMatchObject({ uid: ne.uid, disabled: true });
      expect(await edgehook(["notification-endpoints", "list"])).toMatch(new RegExp(`${ne.uid} .*disabled`));
      await edgehook(["notification-endpoints", "delete", ne.uid]);
      expect((await json(["notification-endpoints", "list"])).data.map((e: { uid: string }) => e.uid)).not.toContain(ne.uid);
      expect(Array.isArray((await json(["alerts", "list", "--limit", "5"])).data)).toBe(true);
    };
    const filters = async () => {
      const w = await json(["webhooks", "create", "--endpoint", `${down.url}/ok/${k}`, "--types", "message.*", "--organization", org,
        "--filter", '{"body":{"data.body":{"$contains":"invoice"}}}', "--transform", '{"text": "SMS: " & data.body}']);
      expect(w.filter).toEqual({ body: { "data.body": { $contains: "invoice" } } });
      const id = await send({ organizationUid: org });
      await eventually(async () => (await json(["events", "list", "--organization", org])).data.length === 1, 20_000, "the event stored");
      const excluded = await json(["webhooks", "test", w.uid, "--event", id]);
      expect(excluded.matched).toBe(false);
      expect(excluded.checks.find((c: { check: string }) => c.check === "filter")).toMatchObject({ passed: false });
      expect(await json(["webhooks", "update", w.uid, "--no-filter"])).toMatchObject({ filter: null, transform: w.transform });
      const owed = await json(["webhooks", "test", w.uid, "--event", id]);
      expect(owed.matched).toBe(true);
      expect(JSON.parse(owed.request.body)).toEqual({ text: "SMS: Is the 2pm appointment still open?" });
    };
    await Promise.all([endpoints(), filters()]);

    expect(await forged).toBe(401);
    const log = await eventually(async () => {
      const r = await json(["sources", "rejections", "podium", "--limit", "20"]);
      return r.summary.some((s: { reason: string }) => s.reason === "invalid_signature") ? r : null;
    }, 30_000, "podium's rejection log");
    expect(log.recent[0]).toMatchObject({ requested: "podium", reason: "invalid_signature" });
  });
});

describe("sources and tokens from the CLI", () => {
  it("creates an hmac source with its configuration, and lists a revoked token as revoked", async () => {
    const k = key();
    const hmac = { header: "x-sig", algorithm: "SHA-256", encoding: "hex", typePath: "type", dedupePath: "id" };
    const source = await json(["sources", "create", "--name", `hmac ${k}`, "--provider", "hmac", "--id", `hmac-${k}`, "--secret", `secret-${k}-long-enough`, "--hmac", JSON.stringify(hmac)]);
    expect(source).toMatchObject({ id: `hmac-${k}`, provider: "hmac", hmac: { ...hmac, prefix: "", timestampHeader: null } });
    const notJson = await promisify(execFile)(process.execPath, [bin, "sources", "create", "--name", "x", "--provider", "hmac", "--hmac", "{nope", "--token", "t"], { cwd: root, env: env(join(home, "config.json")) }).catch((e) => e);
    expect(notJson.code).toBe(2);
    expect(notJson.stderr).toContain("--hmac");

    const token = await json(["tokens", "create", "--name", `gone-${k}`, "--scopes", "events:read"]);
    await edgehook(["tokens", "revoke", token.id]);
    const row = (await edgehook(["tokens", "list"])).split("\n").find((l) => l.includes(token.id));
    expect(row).toMatch(/revoked \d{4}-/);
    const live = await json(["tokens", "create", "--name", `live-${k}`, "--scopes", "events:read"]);
    expect((await edgehook(["tokens", "list"])).split("\n").find((l) => l.includes(live.id))).toMatch(/\blive\b/);
  });
});

describe("the listener hub's caps", () => {
  it("counts a socket whose peer never answers the hub's close toward its token's cap", async () => {
    const token = (await json(["tokens", "create", "--name", `raw-${key()}`, "--scopes", "events:read"])).token as string;
    const peers: RawPeer[] = [];
    const open = async () => {
      const p = await openRawPeer(stack.url, "/v1/listen?mode=tail", { authorization: `Bearer ${token}` });
      peers.push(p);
      return p;
    };
    try {
      const silent = await open();
      expect(silent.status).toBe(101);
      silent.sendText("not a ping"); // closed by the hub; this peer never answers the close
      await eventually(async () => silent.opcodes().includes(8), 20_000, "the hub's close frame");
      for (let i = 1; i < SOCKETS_PER_TOKEN; i++) expect((await open()).status).toBe(101);
      expect((await open()).status).toBe(429);
    } finally {
      for (const p of peers) p.destroy();
    }
  });
});
