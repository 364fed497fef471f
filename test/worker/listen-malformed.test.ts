// Property test of the listener socket (GET /v1/listen and the ListenerHub), the sibling of
// malformed-input.test.ts: each seeded case opens it with malformed or hostile upgrade input
// (query parameters, headers, tokens of limited scope), sends malformed or hostile frames on
// it, then has events stored. Each upgrade is answered 101 or a documented error, never a 5xx;
// what a socket sends other than "ping" closes it (1008, after an `unexpected_message` notice);
// a socket hears only the events its token may read that pass its filters, in order, once,
// signed verifiably with its own secret; and a witness listener keeps hearing every event, the
// hub's object is never replaced and keeps no socket or configuration of a closed one.
import { runInDurableObject } from "cloudflare:test";
import fc from "fast-check";
import { Webhook as StandardWebhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { ALERT_SOURCE } from "../../src/domain/alerts";
import { DATA_SCOPE_OF_OBJECT } from "../../src/domain/event-types";
import { isRecord } from "../../src/domain/guards";
import type { Scope } from "../../src/domain/scopes";
import { hubOf } from "../../src/listen/announce";
import { CONFIG_HEADER, SECRET_HEADER, type AttemptNote, type EventNote, type ListenMessage } from "../../src/listen/protocol";
import { lastEventSeq } from "../../src/store/listen";
import { ADMIN_TOKEN, ack, clientAddress, fetchChecked, ingestMessage } from "./helpers";
import { expectWellFormed } from "./malformed";
import { pipeline, uniqueKey } from "./pipeline";
import { deliveryRows, webhookDeliveryRows } from "./rows";
import { makeToken } from "./tokens";

/** Fixed, so that a failure replays; the cases are bounded to run in seconds. */
const SEED = 20261201;
/** What an upgrade may be answered besides 101: validation, auth, scope, an unknown webhook, not an upgrade, the socket limits. */
const REFUSALS = [400, 401, 403, 404, 426, 429];
const UNEXPECTED_MESSAGE = 1008;

type P = ReturnType<typeof pipeline>;

/** A token and what it may read (the docs' rules: data scopes, organizations or locations, alerts for the admin alone). */
interface Holder {
  name: string;
  token: string;
  tokenId: string | null;
  scopes: Scope[];
  organizationUids?: string[];
  locationUids?: string[];
}

/** What a case that opened a socket does with it, and the filters it asked for (null: none). */
interface Served {
  secret: string | null;
  frames: (string | Uint8Array)[];
  repeat: number;
  fresh: number[];
  types: string[] | null;
  sources: string[] | null;
}

/** An event stored during the run, with what decides who may hear it. */
interface Stored {
  id: string;
  position: number;
  eventType: string;
  sourceId: string;
  organizationUid: string | null;
  locationUid: string | null;
}

/** Whether a token may read an event, as docs/api.md and docs/security.md say. */
function mayRead(h: Holder, e: Stored): boolean {
  if (h.tokenId === null) return true;
  if (e.sourceId === ALERT_SOURCE) return false;
  const scope = DATA_SCOPE_OF_OBJECT[e.eventType.split(".")[0]!];
  if (scope && !h.scopes.includes(scope)) return false;
  if (!h.organizationUids && !h.locationUids) return true;
  return (e.organizationUid !== null && (h.organizationUids ?? []).includes(e.organizationUid)) || (e.locationUid !== null && (h.locationUids ?? []).includes(e.locationUid));
}

const typeMatches = (pattern: string, type: string) => pattern === "*" || pattern === type || (pattern.endsWith(".*") && type.startsWith(pattern.slice(0, -1)));

/** Events the fixture stores: each case stores some of these, in each organization and location. */
const KINDS = (orgs: { a: string; b: string; locA: string; locB: string }) => [
  { eventType: "message.received", sourceId: "podium", organizationUid: orgs.a, locationUid: orgs.locA },
  { eventType: "message.sent", sourceId: "podium", organizationUid: orgs.b, locationUid: orgs.locB },
  { eventType: "contact.updated", sourceId: "podium", organizationUid: orgs.a, locationUid: orgs.locA },
  { eventType: "contact.created", sourceId: "podium", organizationUid: null, locationUid: orgs.locB },
  { eventType: "review.created", sourceId: "podium", organizationUid: orgs.b, locationUid: null },
  { eventType: "webhook.failing", sourceId: ALERT_SOURCE, organizationUid: null, locationUid: null },
];

/** A message of the protocol's kinds (what each holds is checked where it is read). */
const isMessage = (v: unknown): v is ListenMessage => isRecord(v) && typeof v.type === "string";

/** A listener's socket in the test: what it heard (and anything else it was sent), its pongs and its close code. */
function collect(ws: WebSocket) {
  const messages: ListenMessage[] = [];
  const junk: string[] = [];
  let pongs = 0;
  let code: number | null = null;
  ws.addEventListener("message", (m) => {
    if (m.data === "pong") return void pongs++;
    let parsed: unknown;
    try {
      parsed = JSON.parse(String(m.data));
    } catch {
      // kept as junk below
    }
    if (isMessage(parsed)) messages.push(parsed);
    else junk.push(String(m.data).slice(0, 200));
    // A socket that asked for acks acks each run, as the CLI does, so it is sent the next.
    if (isMessage(parsed) && parsed.type === "position" && hello()?.acks) ack(ws, parsed.position);
  });
  ws.addEventListener("close", (e) => void (code = e.code));
  const hello = () => messages.find((m): m is Extract<ListenMessage, { type: "hello" }> => m.type === "hello");
  const events = () => messages.filter((m): m is EventNote => m.type === "event");
  const attempts = () => messages.filter((m): m is AttemptNote => m.type === "attempt");
  /** Everything up to `position` was sent (heard or not), or the socket closed. */
  const examined = (position: number) =>
    vi.waitFor(
      () => {
        if (code !== null) return;
        const told = Math.max(-1, ...messages.map((m) => ("position" in m && typeof m.position === "number" ? m.position : -1)));
        if (told < position) throw new Error(`told ${told}, waiting for ${position}`);
      },
      { timeout: 10_000, interval: 10 },
    );
  return { ws, messages, junk, hello, events, attempts, examined, pongs: () => pongs, code: () => code };
}

/** Query values of the wrong type or range, badly encoded, huge, or naming no such thing. */
const BAD = ["", "%20", "-1", "1.5", "NaN", "Infinity", "1e2", "1e309", "0x10", "+5", "9007199254740993", "%", "%zz", "%ED%A0%80", "%00", "__proto__", "constructor", "a,,b", ",", "x".repeat(3000), "[]", "{}", "null", "true"];
/** Secrets a listener may sign with (docs/cli.md: its own `--secret`). */
const SECRETS = ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwMfKQ9r8GKYo=", "a-plain-listener-secret", "12345678", "__proto__-secret"];
/** Secrets of the wrong length, or that a receiver's Standard Webhooks library cannot decode. */
const BAD_SECRETS = ["short", "s".repeat(257), "whsec_!!!!-not-base64-at-all-!!!!", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw_-KQ9r8GKYo=", "whsec_", "whsec_c2hvcnQ="];

/** A frame a client may send: text (a keep-alive, JSON of any shape, garbage, huge) or binary. */
const frame: fc.Arbitrary<string | Uint8Array> = fc.oneof(
  { weight: 3, arbitrary: fc.constant("ping") },
  fc.constantFrom("PING", " ping", "ping\n", "pingping", "pong", "", "null", "{}", "[]", '"ping"', "{", '{"type":', "\ud800"),
  fc.constantFrom(
    { type: "ping" },
    { type: "subscribe", eventTypes: ["*"] },
    { type: "hello", listenerId: "x", position: 0 },
    { type: "position", position: -1 },
    { type: "position", position: 1e308 },
    { type: "ack", position: 9_007_199_254_740_993 },
    { type: "event", position: 0, id: "evt_forged", body: "{}" },
    { principal: { tokenId: null, scopes: ["admin"] } },
  ).map((v) => JSON.stringify(v)),
  fc.constantFrom('{"__proto__":{"admin":true},"type":"position","position":NaN}', '{"position":Infinity}', '{"after":-0,"replay":1e999}'),
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.constantFrom(600_000, (1 << 20) + 16).map((n) => "x".repeat(n)),
  fc.uint8Array({ maxLength: 32 }),
  fc.constant(new TextEncoder().encode("ping")),
);

describe("the listener hub under malformed and hostile input", () => {
  const p: P = pipeline();
  const orgs = { a: `org-a-${uniqueKey()}`, b: `org-b-${uniqueKey()}`, locA: `loc-a-${uniqueKey()}`, locB: `loc-b-${uniqueKey()}` };
  const kinds = KINDS(orgs);
  const stored: Stored[] = [];
  const holders: Holder[] = [];
  /** Tokens whose upgrade is refused, with the status it is refused with. */
  const refused: (Holder & { status: number })[] = [];
  let hooks: string[] = [];
  /** Admin sockets open throughout: they hear every event, and every attempt. */
  let witness: ReturnType<typeof collect>;
  let witnessTail: ReturnType<typeof collect>;
  const instances = new WeakSet<object>();
  const errors = vi.spyOn(console, "error");

  async function holder(name: string, scopes: Scope[], limits: { organizationUids?: string[]; locationUids?: string[] } = {}) {
    const made = await makeToken(p, scopes, limits);
    holders.push({ name, token: made.token, tokenId: made.id, scopes, ...limits });
    return made;
  }

  async function upgrade(query: string, headers: Record<string, string>) {
    return fetchChecked(new Request(`https://edgehook.test/v1/listen${query ? `?${query}` : ""}`, { headers: { "cf-connecting-ip": clientAddress(), ...headers } }), p.env, { wait: false });
  }

  /** Stores events of these kinds (one ingest batch, announced to the hub), in store order. */
  async function store(which: number[]): Promise<Stored[]> {
    const batch = which.map((k) => ingestMessage({ ...kinds[k % kinds.length]!, body: JSON.stringify({ k, n: uniqueKey() }) }));
    expect((await p.runIngest(batch)).acked).toHaveLength(batch.length);
    const rows = await p.env.DB.prepare(`SELECT seq FROM events ORDER BY seq DESC LIMIT ${batch.length}`).all<{ seq: number }>();
    const head = rows.results[0]!.seq;
    const fresh = batch.map((m, i) => ({ id: m.eventId, position: head - batch.length + 1 + i, eventType: m.eventType, sourceId: m.sourceId, organizationUid: m.organizationUid, locationUid: m.locationUid }));
    stored.push(...fresh);
    return fresh;
  }

  /** The hub's own view: its sockets and the listener configurations it keeps, and that it is the same object. */
  const hubState = () =>
    runInDurableObject(hubOf(p.env), async (hub, state) => {
      const kept = await state.storage.list({ prefix: "listener:" });
      return { same: instances.has(hub), sockets: state.getWebSockets().length, configs: [...kept.values()] };
    });

  beforeAll(async () => {
    await runInDurableObject(hubOf(p.env), (hub) => void instances.add(hub));
    holders.push({ name: "admin", token: ADMIN_TOKEN, tokenId: null, scopes: ["admin"] });
    await holder("wide", ["events:read", "read_messages", "read_contacts", "read_payments", "read_reviews"]);
    await holder("org-a messages", ["events:read", "read_messages"], { organizationUids: [orgs.a] });
    await holder("loc-b contacts", ["events:read", "read_messages", "read_contacts"], { locationUids: [orgs.locB] });
    await holder("no data scope", ["events:read"]);
    await holder("org-a webhooks", ["events:read", "webhooks:read", "webhooks:write", "read_messages", "read_contacts"], { organizationUids: [orgs.a] });
    const noEvents = await makeToken(p, ["webhooks:read", "read_messages"]);
    refused.push({ name: "no events:read", token: noEvents.token, tokenId: noEvents.id, scopes: ["webhooks:read", "read_messages"], status: 403 });
    const revoked = await makeToken(p, ["events:read", "read_messages"]);
    expect((await p.api("DELETE", `/v1/tokens/${revoked.id}`)).status).toBe(204);
    refused.push(
      { name: "revoked", token: revoked.token, tokenId: revoked.id, scopes: ["events:read", "read_messages"], status: 401 },
      { name: "garbage", token: "ehk_garbage-token-that-names-none", tokenId: "none", scopes: [], status: 401 },
    );
    hooks = [
      (await p.createWebhook({ url: "https://downstream.test/ok/listen-fuzz-a", eventTypes: ["message.*", "contact.*"], organizationUid: orgs.a })).uid,
      (await p.createWebhook({ url: "https://downstream.test/ok/listen-fuzz-b", eventTypes: ["*"], organizationUid: orgs.b })).uid,
    ];
    await store([0, 1, 2, 3, 4, 5, 0, 1]);
    const admin = async (query: string) => {
      const res = await upgrade(query, { upgrade: "websocket", authorization: `Bearer ${ADMIN_TOKEN}` });
      expect(res.status).toBe(101);
      res.webSocket!.accept();
      const l = collect(res.webSocket!);
      await vi.waitFor(() => expect(l.hello()).toBeDefined(), { timeout: 5_000 });
      return l;
    };
    witness = await admin("");
    witnessTail = await admin("mode=tail");
  });

  afterAll(() => {
    witness?.ws.close(1000);
    witnessTail?.ws.close(1000);
    errors.mockRestore();
  });

  const param = (name: string, good: string[], absent = 1) =>
    fc.oneof({ weight: absent, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.constantFrom(...good).map((v) => [`${name}=${v}`]) });
  const PARAMS = ["mode", "eventTypes", "sourceIds", "webhookUid", "after", "replay"];

  const connection = fc.record({
    who: fc.oneof({ weight: 12, arbitrary: fc.nat() }, fc.integer({ min: -3, max: -1 })),
    mode: param("mode", ["listen", "tail"]),
    eventTypes: param("eventTypes", ["*", "message.*", "message.received,contact.*", "contact.updated", "review.created,webhook.failing", "__proto__", "no.such"]),
    sourceIds: param("sourceIds", ["podium", ALERT_SOURCE, `podium,${ALERT_SOURCE}`, "no-such-source"]),
    webhookUid: param("webhookUid", ["<a>", "<b>", "wh_missing"], 4),
    after: param("after", ["0", "<head-3>", "<head>", "<head+1000>"]),
    replay: param("replay", ["0", "2", "100"]),
    // One parameter malformed (or given twice, or one no route reads), in one case out of three.
    broken: fc.option(
      fc.oneof(
        { weight: 3, arbitrary: fc.tuple(fc.constantFrom(...PARAMS), fc.constantFrom(...BAD, "LISTEN", "tail,listen", "101")).map(([name, v]) => `${name}=${v}`) },
        fc.constantFrom(...PARAMS).map((name) => `${name}=1&${name}=1`),
        fc.constantFrom("foo=bar", "after[]=1", "__proto__=x", "constructor=1", "=", "&&"),
      ),
      { freq: 2 },
    ),
    secret: fc.option(fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...SECRETS) }, fc.constantFrom(...BAD_SECRETS)), { freq: 2 }),
    injected: fc.boolean(),
    upgradeHeader: fc.oneof({ weight: 8, arbitrary: fc.constant("websocket") }, fc.constantFrom("WebSocket", "h2c", null)),
    frames: fc.array(frame, { maxLength: 3 }),
    repeat: fc.constantFrom(1, 1, 1, 5),
    fresh: fc.array(fc.nat(kinds.length - 1), { minLength: 1, maxLength: 3 }),
  });

  it("answers every upgrade as documented, closes a socket for anything but ping, and each socket hears only what its token may read", async () => {
    await fc.assert(
      fc.asyncProperty(connection, async (c) => {
        const head = await lastEventSeq(p.env.DB);
        const given = (xs: string[] | null) => (xs ?? []).map((x) => x.replace("<a>", hooks[0]!).replace("<b>", hooks[1]!).replace(/<head([+-]\d+)?>/, (_, d) => String(head + Number(d ?? 0))));
        const parts = [c.mode, c.eventTypes, c.sourceIds, c.webhookUid, c.after, c.replay].flatMap(given);
        // A catch-up is asked for with acks (400 without), as the CLI does; collect() acks each run.
        if (c.after || c.replay) parts.push("ack=true");
        if (c.broken) parts.push(c.broken);
        const query = parts.join("&");
        const h = c.who < 0 ? refused[-c.who - 1]! : holders[c.who % holders.length]!;
        const bad = refused.find((r) => r.token === h.token);
        const headers: Record<string, string> = { authorization: `Bearer ${h.token}` };
        if (c.upgradeHeader) headers.upgrade = c.upgradeHeader;
        if (c.secret !== null) headers[SECRET_HEADER] = c.secret;
        // A client naming a configuration of its own (the admin's principal): the route builds the hub's.
        if (c.injected) headers[CONFIG_HEADER] = JSON.stringify({ mode: "listen", principal: { tokenId: null, scopes: ["admin"], organizationUids: null, locationUids: null }, sourceIds: null, eventTypes: null, webhookUid: null, secret: "whsec_injected", after: 0, replay: 0 });
        const what = `${h.name} ?${query.slice(0, 300)} secret=${c.secret?.slice(0, 40)} upgrade=${c.upgradeHeader} frames=${c.frames.map((f) => (typeof f === "string" ? JSON.stringify(f.slice(0, 40)) : `bin${f.length}`)).join(" ")}`;

        const res = await upgrade(query, headers);
        if (!res.webSocket) {
          await expectWellFormed(res, REFUSALS, what);
          if (bad) expect(res.status, what).toBe(bad.status);
          // (A malformed query is answered 400 before the upgrade is looked at.)
          else if (c.upgradeHeader?.toLowerCase() !== "websocket") expect([400, 426], what).toContain(res.status);
        } else {
          expect(res.status, what).toBe(101);
          expect(bad, `${what}: opened with a refused token`).toBeUndefined();
          // A position is what a hello or an event said: digits (a blank one read as 0 replays the whole store).
          for (const [name, value] of new URLSearchParams(query)) if (name === "after") expect(value, `${what}: took after=${value}`).toMatch(/^\d+$/);
          const asked = new URLSearchParams(query);
          const list = (name: string) => asked.get(name)?.split(",").map((x) => x.trim()).filter(Boolean) ?? null;
          await served({ ...c, types: list("eventTypes"), sources: list("sourceIds") }, h, head, what, res.webSocket);
        }

        // The others are served still: the witness hears every event stored, once, in order.
        const fresh = await store(c.fresh);
        await witness.examined(fresh.at(-1)!.position);
        expect(witness.code(), what).toBeNull();
        const heard = witness.events().map((e) => e.id);
        expect(heard.slice(-fresh.length), what).toEqual(fresh.map((e) => e.id));
        expect(new Set(heard).size, what).toBe(heard.length);
        // Nothing of a closed socket is kept: the witnesses' sockets and configurations alone remain.
        await vi.waitFor(async () => expect(await hubState(), what).toMatchObject({ same: true, sockets: 2, configs: [expect.anything(), expect.anything()] }), { timeout: 5_000, interval: 10 });
        expect(errors, what).not.toHaveBeenCalled();
      }),
      { seed: SEED, numRuns: 150 },
    );
  }, 60_000);

  /** A socket opened: its hello, the frames the case sends, and what it hears of the events stored then. */
  async function served(c: Served, h: Holder, head: number, what: string, ws: WebSocket) {
    ws.accept();
    try {
      await follow(c, h, head, what, collect(ws));
    } finally {
      ws.close(1000);
    }
  }

  async function follow(c: Served, h: Holder, head: number, what: string, l: ReturnType<typeof collect>) {
    const { ws } = l;
    await vi.waitFor(() => expect(l.hello() !== undefined || l.code() !== null, what).toBe(true), { timeout: 5_000, interval: 10 });
    const hello = l.hello();
    if (!hello) throw new Error(`${what}: closed (${l.code()}) without a hello`);
    const mode = hello.mode;
    expect(["listen", "tail"], what).toContain(mode);
    expect(Number.isSafeInteger(hello.position) && hello.position >= 0 && hello.position <= head, `${what}: hello at ${hello.position}`).toBe(true);
    // What the hub keeps is what this token connected as, whatever the request said.
    const kept = (await hubState()).configs.find((k) => isRecord(k) && isRecord(k.principal) && k.mode === mode && k.principal.tokenId === h.tokenId);
    expect(kept, `${what}: kept as its own token`).toBeDefined();
    const ownSecret = mode === "listen" && hello.webhookUid === null;
    if (!ownSecret) expect(hello.secret, what).toBeNull();
    else if (c.secret !== null) expect(hello.secret, what).toBe(c.secret);
    else expect(hello.secret, what).toMatch(/^whsec_/);

    const frames = c.frames.flatMap((f) => Array.from({ length: c.repeat }, () => f));
    for (const f of frames) {
      try {
        ws.send(f);
      } catch {
        // closed already by an earlier frame
      }
    }
    const pings = frames.filter((f) => f === "ping").length;
    // Anything but "ping" closes it: whether it stays open is known from the frames alone.
    const open = frames.length === pings;
    if (!open) {
      await vi.waitFor(() => expect(l.code(), what).not.toBeNull(), { timeout: 5_000, interval: 10 });
      expect(l.code(), what).toBe(UNEXPECTED_MESSAGE);
      expect(l.messages.some((m) => m.type === "notice" && m.code === "unexpected_message"), what).toBe(true);
    } else {
      await vi.waitFor(() => expect(l.pongs(), what).toBe(pings), { timeout: 5_000, interval: 10 });
    }

    const fresh = await store(c.fresh);
    const end = fresh.at(-1)!.position;
    await l.examined(end);
    expect(l.code(), what).toBe(open ? null : UNEXPECTED_MESSAGE);
    expect(l.junk, what).toEqual([]);
    const events = l.events();
    const positions = events.map((e) => e.position);
    expect(positions, `${what}: in store order, each once`).toEqual([...new Set(positions)].sort((a, b) => a - b));
    // As a webhook: what it is owed, as routing decided when each event was stored (its deliveries).
    const owed = hello.webhookUid === null ? null : new Set((await webhookDeliveryRows(hello.webhookUid)).map((d) => d.event_id));
    const { types, sources } = c;
    const hears = (e: Stored) =>
      mayRead(h, e) &&
      (!types || types.some((t) => typeMatches(t, e.eventType))) &&
      (!sources || sources.includes(e.sourceId)) &&
      (!owed || owed.has(e.id));
    const byId = new Map(stored.map((e) => [e.id, e]));
    for (const e of events) {
      const s = byId.get(e.id);
      expect(s && s.position === e.position, `${what}: ${e.id} as stored`).toBe(true);
      expect(s && hears(s), `${what}: heard ${e.id} (${s?.eventType} ${s?.sourceId} ${s?.organizationUid} ${s?.locationUid})`).toBe(true);
      if (mode === "tail") {
        expect(e.body, what).toBeUndefined();
        continue;
      }
      expect(typeof e.body === "string" && isRecord(e.headers), what).toBe(true);
      // Signed so that a receiver verifies it with the secret it was given (docs/cli.md: "Verify with the standardwebhooks
      // package"), which takes a key as base64 after whsec_; any other secret is its UTF-8 bytes (ASCII here).
      if (ownSecret) {
        const secret = hello.secret!;
        expect(() => new StandardWebhook(secret.startsWith("whsec_") ? secret : btoa(secret)).verify(e.body!, e.headers!), `${what}: ${e.id} verifies`).not.toThrow();
      }
    }
    // Still open, it heard every event stored since it connected that it may; closed, none.
    expect(events.filter((e) => e.position > head).map((e) => e.id), what).toEqual(open ? fresh.filter(hears).map((e) => e.id) : []);
    if (mode === "tail") await attemptsHeard(l, open, h, hello.webhookUid, fresh, hears, what);
  }

  /**
   * Delivers what is owed: a tail hears the attempts of the webhooks in its token's grant (as the
   * API shows them) on events it hears, and of its webhook only when it listens as one; closed, none.
   */
  async function attemptsHeard(l: ReturnType<typeof collect>, open: boolean, h: Holder, webhookUid: string | null, fresh: Stored[], hears: (e: Stored) => boolean, what: string) {
    await p.deliver();
    const owed = (await Promise.all(fresh.map(async (e) => (await deliveryRows(e.id)).map((d) => ({ ...d, event: e }))))).flat();
    // The admin's tail hears them all: then they have all been sent.
    await vi.waitFor(() => expect(witnessTail.attempts().map((a) => a.deliveryId), what).toEqual(expect.arrayContaining(owed.map((d) => d.id))), { timeout: 5_000, interval: 10 });
    const limited = h.tokenId !== null && (h.organizationUids !== undefined || h.locationUids !== undefined);
    const inGrant = (uid: string) => !limited || (h.organizationUids ?? []).includes(uid === hooks[0] ? orgs.a : orgs.b);
    const heard = (d: { webhook_uid: string; event: Stored }) => inGrant(d.webhook_uid) && hears(d.event) && (webhookUid === null || d.webhook_uid === webhookUid);
    const byId = new Map(stored.map((e) => [e.id, e]));
    // (The witness heard them all: a closed socket that was to hear none has had its chance.)
    const expected = open ? owed.filter(heard).map((d) => d.id) : [];
    const ofThese = new Set(owed.map((d) => d.id));
    await vi.waitFor(() => expect(l.attempts().map((a) => a.deliveryId).filter((id) => ofThese.has(id)).sort(), what).toEqual(expected.sort()), { timeout: 5_000, interval: 10 });
    for (const a of l.attempts()) {
      const e = byId.get(a.eventId);
      expect(e && heard({ webhook_uid: a.webhookUid, event: e }), `${what}: heard the attempt ${a.deliveryId} of ${a.webhookUid} on ${a.eventId}`).toBe(true);
    }
  }
});

describe("bad listener input the property found", () => {
  const p = pipeline();
  const open = async (query: string, headers: Record<string, string> = {}) => {
    const res = await fetchChecked(
      new Request(`https://edgehook.test/v1/listen?${query}`, {
        headers: { upgrade: "websocket", authorization: `Bearer ${ADMIN_TOKEN}`, "cf-connecting-ip": clientAddress(), ...headers },
      }),
      p.env,
      { wait: false },
    );
    res.webSocket?.accept();
    res.webSocket?.close(1000);
    return res;
  };
  const errorOf = async (res: Response) => (await res.json<{ error: { code: string; message: string; details: unknown } }>()).error;

  it("refuses a listener's secret that a receiver's Standard Webhooks library cannot decode, as a webhook's is", async () => {
    for (const secret of ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw_-KQ9r8GKYo=", "whsec_!!!!-not-base64-at-all-!!!!", "whsec_c2hvcnQ="]) {
      const res = await open("", { [SECRET_HEADER]: secret });
      expect(res.status, secret).toBe(400);
      const error = await errorOf(res);
      expect(error, secret).toMatchObject({ code: "invalid_request", details: { issues: [{ path: SECRET_HEADER }] } });
      expect(error.message, secret).toMatch(/^x-edgehook-listen-secret: a whsec_ secret must be/);
    }
    expect(await errorOf(await open("", { [SECRET_HEADER]: "short" }))).toMatchObject({ message: `${SECRET_HEADER}: 8 to 256 characters.` });
    for (const secret of ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwMfKQ9r8GKYo=", "a-plain-listener-secret"]) expect((await open("", { [SECRET_HEADER]: secret })).status, secret).toBe(101);
  });

  it("refuses an after that is not a position's digits (a blank one read as 0 resent the whole store)", async () => {
    for (const after of ["", "%20", "0x10", "1e2", "-1", "+5", "1.0"]) {
      const res = await open(`after=${after}`);
      expect(res.status, after).toBe(400);
      expect(await errorOf(res), after).toMatchObject({ code: "invalid_request", details: { issues: [{ path: "after" }] } });
    }
    for (const after of ["0", "12", "9007199254740991"]) expect((await open(`after=${after}&ack=true`)).status, after).toBe(101);
  });

  it("refuses replay beside after rather than ignoring it, and takes ack=true in either mode", async () => {
    const res = await open("after=0&replay=5&ack=true");
    expect(res.status).toBe(400);
    expect(await errorOf(res)).toMatchObject({ code: "invalid_request", details: { issues: [{ path: "replay" }] } });
    for (const query of ["after=0&replay=0&ack=true", "replay=5&ack=true", "replay=0", "mode=tail&ack=false", "mode=tail&ack=true", "mode=listen&ack=true"]) expect((await open(query)).status, query).toBe(101);
  });

  it("refuses after or replay without ack=true: a catch-up pushed unacked would sit in the hub's memory", async () => {
    for (const [query, path] of [["after=0", "after"], ["mode=tail&after=12&ack=false", "after"], ["replay=5", "replay"], ["mode=tail&replay=100", "replay"]] as const) {
      const res = await open(query);
      expect(res.status, query).toBe(400);
      const error = await errorOf(res);
      expect(error, query).toMatchObject({ code: "invalid_request", details: { issues: [{ path }] } });
      expect(error.message, query).toContain("needs ack=true");
    }
  });

  it("refuses an empty entry in sourceIds or eventTypes rather than dropping it", async () => {
    for (const [query, path] of [["sourceIds=,podium", "sourceIds.0"], ["eventTypes=message.*,,review.created", "eventTypes.1"], ["eventTypes=message.*,", "eventTypes.1"]]) {
      const res = await open(query!);
      expect(res.status, query).toBe(400);
      const error = await errorOf(res);
      expect(error, query).toMatchObject({ code: "invalid_request", details: { issues: [{ path }] } });
      expect(error.message, query).toMatch(/is empty/);
    }
  });

  it("refuses a source or event type named twice, as the webhook's lists do", async () => {
    for (const [query, path] of [["sourceIds=src-a,src-b,src-a", "sourceIds.2"], ["eventTypes=message.*,review.created,message.*", "eventTypes.2"]]) {
      const res = await open(query!);
      expect(res.status, query).toBe(400);
      const error = await errorOf(res);
      expect(error, query).toMatchObject({ code: "invalid_request", details: { issues: [{ path }] } });
      expect(error.message, query).toMatch(/is given twice/);
    }
    // Once each (and each existing: the configuration's source, the alerts').
    expect((await open(`sourceIds=podium,${ALERT_SOURCE}&eventTypes=message.*,review.created`)).status).toBe(101);
  });
});
