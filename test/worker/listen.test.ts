import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { Webhook as StandardWebhook } from "standardwebhooks";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ALERT_SOURCE } from "../../src/domain/alerts";
import { REDACTED } from "../../src/domain/credential-headers";
import type { Scope } from "../../src/domain/scopes";
import { QUIET_MS, hubOf, listenerConnected } from "../../src/listen/announce";
import { ListenerHub } from "../../src/listen/hub";
import {
  PAGE,
  PAGES_PER_SOCKET,
  RUN_BYTES,
  SIGNING_STEPS_PER_ALARM,
  SILENT_SOCKET_MS,
  SOCKETS_IN_ALL,
  SOCKETS_PER_TOKEN,
  SOCKETS_RETRY_AFTER_SECONDS,
  TRANSFORM_STEPS_PER_ALARM,
  sendingSteps,
  signingSteps,
  socketRefusal,
} from "../../src/listen/limits";
import type { AttemptNote, EventNote, ListenMessage } from "../../src/listen/protocol";
import { outbound } from "../../src/pipeline/outbound";
import { podium } from "../../src/schemes/podium";
import { fakeNamespace } from "./fakes";
import { ADMIN_TOKEN, ack, fetchChecked, ingestMessage, podiumBody } from "./helpers";
import { pipeline, uniqueKey } from "./pipeline";
import { eventSeq, eventStored } from "./rows";

type P = ReturnType<typeof pipeline>;
const open: WebSocket[] = [];
afterEach(() => {
  vi.restoreAllMocks();
  for (const ws of open.splice(0)) ws.close(1000);
});

/** `acked`: asks for acks (`ack=true`, which `after` and `replay` need) and acks each run as the CLI does. */
type Opts = { token?: string; headers?: Record<string, string>; onMessage?: (m: ListenMessage) => void; acked?: true };

async function listenResponse(p: P, query: string, opts: Opts = {}) {
  return fetchChecked(
    new Request(`https://edgehook.test/v1/listen?${query}`, {
      headers: {
        upgrade: "websocket",
        authorization: `Bearer ${opts.token ?? ADMIN_TOKEN}`,
        "cf-connecting-ip": `192.0.2.${Math.floor(Math.random() * 250) + 1}`,
        ...opts.headers,
      },
    }),
    p.env,
    { wait: false },
  );
}

/** Opens a listener and collects what it hears. */
async function connect(p: P, query = "", opts: Opts = {}) {
  const res = await listenResponse(p, opts.acked ? `${query}&ack=true` : query, opts);
  expect(res.status).toBe(101);
  const ws = res.webSocket!;
  ws.accept();
  open.push(ws);
  const messages: ListenMessage[] = [];
  let pongs = 0;
  ws.addEventListener("message", (m) => {
    if (m.data === "pong") return void pongs++;
    const message = JSON.parse(String(m.data)) as ListenMessage;
    messages.push(message);
    if (opts.acked && message.type === "position") ack(ws, message.position);
    opts.onMessage?.(message);
  });
  const events = () => messages.filter((m): m is EventNote => m.type === "event");
  const attempts = () => messages.filter((m): m is AttemptNote => m.type === "attempt");
  /** Waits until the listener has been sent everything up to `position` (heard or not). */
  const examined = (position: number) =>
    vi.waitFor(
      () => {
        const last = [...messages].reverse().find((m) => m.type === "position" || m.type === "event" || m.type === "hello");
        const at = last && "position" in last ? last.position : -1;
        if (at < position) throw new Error(`at ${at}, waiting for ${position}`);
      },
      { timeout: 10_000, interval: 20 },
    );
  /** The furthest position the listener was told it has been sent up to. */
  const told = () => Math.max(...messages.map((m) => ("position" in m ? m.position : -1)));
  const closed = new Promise<number>((resolve) => ws.addEventListener("close", (e) => resolve(e.code)));
  await vi.waitFor(() => expect(messages[0]?.type).toBe("hello"), { timeout: 5_000 });
  return { ws, messages, events, attempts, examined, told, closed, pongs: () => pongs, hello: messages[0] as Extract<ListenMessage, { type: "hello" }> };
}

async function positionOf(p: P, eventId: string): Promise<number> {
  return (await eventSeq(eventId))!;
}

async function makeToken(p: P, scopes: Scope[], limits: Record<string, string[]> = {}) {
  const res = await p.api("POST", "/v1/tokens", { name: `listen-${uniqueKey()}`, scopes, ...limits });
  expect(res.status).toBe(201);
  return res.json.token as string;
}

const body = (type: string, org: string, loc = `loc-${uniqueKey()}`) => podiumBody({ type, organizationUid: org, locationUid: loc });

/** `body`, its message's text replaced by `text` (for `stored`). */
const bodyWithText = (text: string) => (type: string, org: string) => {
  const b = JSON.parse(body(type, org)) as { data: { body: string } };
  b.data.body = text;
  return JSON.stringify(b);
};

describe("GET /v1/listen", () => {
  it("refuses what is not an authorised WebSocket upgrade", async () => {
    const p = pipeline();
    const plain = await p.api("GET", "/v1/listen");
    expect(plain.status).toBe(426);
    expect(plain.json.error.code).toBe("upgrade_required");
    expect((await listenResponse(p, "", { token: "nope" })).status).toBe(401);
    const noEvents = await listenResponse(p, "", { token: await makeToken(p, ["webhooks:read"]) });
    expect(noEvents.status).toBe(403);
    const bad = await listenResponse(p, "eventTypes=not*a*type");
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe("invalid_request");
    expect((await listenResponse(p, "webhookUid=wh_missing")).status).toBe(404);
    const w = await p.createWebhook({ url: "https://downstream.test/ok/x", eventTypes: ["*"], organizationUid: "org-x" });
    const readOnly = await makeToken(p, ["events:read", "webhooks:read", "read_messages"]);
    expect((await listenResponse(p, `webhookUid=${w.uid}`, { token: readOnly })).status).toBe(403);
    // Listening as a webhook is as much as changing it: the data scopes of all its types, not only of what it hears.
    const messagesOnly = await makeToken(p, ["events:read", "webhooks:read", "webhooks:write", "read_messages"]);
    const refused = await listenResponse(p, `webhookUid=${w.uid}`, { token: messagesOnly });
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: { details: { missingScope: string } } }).error.details.missingScope).toBe("read_contacts");
  });

  it("refuses a type filter the token may read none of (it would hear nothing), not `*` or what no scope guards", async () => {
    const p = pipeline();
    const messagesOnly = await makeToken(p, ["events:read", "read_messages"]);
    const refused = await listenResponse(p, "eventTypes=message.received,contact.*", { token: messagesOnly });
    expect(refused.status).toBe(403);
    const error = ((await refused.json()) as { error: { code: string; message: string; details: { missingScope: string } } }).error;
    expect(error.code).toBe("forbidden");
    expect(error.details.missingScope).toBe("read_contacts");
    expect(error.message).toContain('"contact.*"');
    expect((await listenResponse(p, "mode=tail&eventTypes=contact.updated", { token: messagesOnly })).status).toBe(403);
    // `*` hears what the token may read, as no filter does; another provider's type needs no data scope.
    for (const types of ["*", "message.*", "charge.succeeded"]) expect((await connect(p, `eventTypes=${types}`, { token: messagesOnly })).hello.type).toBe("hello");
  });

  it("needs a type's data scope whatever the type's case: a filter of Message.received is refused as one of message.received", async () => {
    const p = pipeline();
    const contactsOnly = await makeToken(p, ["events:read", "read_contacts"]);
    for (const query of ["eventTypes=Message.received", "mode=tail&eventTypes=MESSAGE.RECEIVED", "eventTypes=contact.*,Message.*"]) {
      const refused = await listenResponse(p, query, { token: contactsOnly });
      expect(refused.status, query).toBe(403);
      expect(((await refused.json()) as { error: { details: { missingScope: string } } }).error.details.missingScope, query).toBe("read_messages");
    }
  });

  it("refuses a source filter naming no source, before the upgrade, as a webhook's sourceIds is refused", async () => {
    const p = pipeline();
    const k = uniqueKey();
    const stored = (await p.api("POST", "/v1/sources", { id: `src-${k}`, name: "s", provider: "podium", secrets: ["s-secret-1234"] })).json.id as string;
    for (const mode of ["listen", "tail"]) {
      const res = await listenResponse(p, `mode=${mode}&sourceIds=podium,nosuch-${k}`);
      expect(res.status).toBe(400);
      const { error } = (await res.json()) as { error: { code: string; message: string; details: { issues: unknown[] } } };
      expect(error.code).toBe("invalid_request");
      expect(error.message).toContain(`"nosuch-${k}"`);
      expect(error.details.issues).toEqual([{ path: "sourceIds.1", message: `no source "nosuch-${k}"` }]);
    }
    // A declared source, a stored one and the alerts' source are heard; a limited token's own organization's source too.
    const l = await connect(p, `sourceIds=podium,${stored},edgehook`);
    expect(l.hello.type).toBe("hello");
    const own = (await p.api("POST", "/v1/sources", { id: `src-${k}-a`, name: "a", provider: "podium", secrets: ["a-secret-1234"], organizationUid: `org-${k}` })).json.id as string;
    const limited = await makeToken(p, ["events:read", "read_messages"], { organizationUids: [`org-${k}`] });
    expect((await connect(p, `sourceIds=${own}`, { token: limited })).hello.type).toBe("hello");
    // Alerts are the admin's: another token naming their source, however wide its grant, would hear nothing of it.
    const wide = await makeToken(p, ["events:read", "webhooks:read", "webhooks:write", "read_messages", "read_contacts", "read_payments", "read_reviews"]);
    for (const mode of ["listen", "tail"]) {
      for (const token of [wide, limited]) {
        const res = await listenResponse(p, `mode=${mode}&sourceIds=podium,edgehook`, { token });
        expect(res.status).toBe(403);
        expect(res.webSocket).toBeNull();
        const { error } = (await res.json()) as { error: { code: string; message: string; details: { missingScope: string } } };
        expect(error.code).toBe("forbidden");
        expect(error.message).toContain('"edgehook"');
        expect(error.details.missingScope).toBe("admin");
      }
    }
  });

  it("refuses a Podium event type that does not exist, naming the closest, as a webhook's eventTypes is refused", async () => {
    const p = pipeline();
    for (const mode of ["listen", "tail"]) {
      const res = await listenResponse(p, `mode=${mode}&eventTypes=message.*,message.recieved`);
      expect(res.status).toBe(400);
      const { error } = (await res.json()) as { error: { code: string; message: string; details: { issues: unknown[] } } };
      expect(error.code).toBe("invalid_request");
      expect(error.message).toBe('Invalid query: eventTypes.1: "message.recieved" is not a Podium event type; did you mean "message.received"? (GET /v1/event-types lists them.)');
      expect(error.details.issues).toEqual([{ path: "eventTypes.1", message: '"message.recieved" is not a Podium event type; did you mean "message.received"?', closest: "message.received" }]);
    }
    // A limited token is checked against the catalog alone, and refused the same way.
    const limited = await makeToken(p, ["events:read", "read_reviews"], { organizationUids: [`org-${uniqueKey()}`] });
    expect((await listenResponse(p, "eventTypes=review.create", { token: limited })).status).toBe(400);
    // Catalog types, wildcards and another provider's free-form types are heard (the last unseen: there is no answer to warn in).
    expect((await connect(p, "eventTypes=message.received,contact.*,customer.created")).hello.type).toBe("hello");
    expect((await connect(p, "eventTypes=review.created", { token: limited })).hello.type).toBe("hello");
  });

  it("streams each stored event with its body and headers signed with the listener's secret", async () => {
    const p = pipeline();
    const org = `org-${uniqueKey()}`;
    const secret = "whsec_bGlzdGVuZXItc2VjcmV0LWZvci10ZXN0cw==";
    const l = await connect(p, `eventTypes=message.*`, { headers: { "x-edgehook-listen-secret": secret } });
    expect(l.hello.secret).toBe(secret);
    const b = body("message.received", org);
    const id = await p.ingest(b);
    await p.ingest(body("contact.updated", org)); // another type: not heard
    const last = await p.ingest(body("message.sent", org));
    await l.examined(await positionOf(p, last));

    const heard = l.events();
    expect(heard.map((e) => e.id)).toEqual([id, last]);
    expect(heard[0]!.body).toBe(b);
    expect(heard[0]!.headers!["edgehook-event-id"]).toBe(id);
    expect(() => new StandardWebhook(secret).verify(heard[0]!.body!, heard[0]!.headers!)).not.toThrow();
    const ts = heard[0]!.headers!["podium-timestamp"]!;
    expect(heard[0]!.headers!["podium-signature"]).toBe((await podium.sign(secret, b, { timestamp: ts }))["podium-signature"]);
  });

  it("generates a listener secret when none is given", async () => {
    const l = await connect(pipeline(), "");
    expect(l.hello.secret).toMatch(/^whsec_/);
  });

  it("as a webhook: hears what the webhook is owed, signed with its secret", async () => {
    const p = pipeline();
    const org = `org-${uniqueKey()}`;
    const w = await p.createWebhook({ url: "https://downstream.test/ok/listen-as", eventTypes: ["message.*"], organizationUid: org });
    const l = await connect(p, `webhookUid=${w.uid}`);
    expect(l.hello.secret).toBeNull();
    const b = body("message.received", org);
    const id = await p.ingest(b);
    await p.ingest(body("message.received", `${org}-other`)); // not the webhook's organization
    const last = await p.ingest(body("review.created", org)); // not its types
    await l.examined(await positionOf(p, last));
    expect(l.events().map((e) => e.id)).toEqual([id]);
    expect(() => new StandardWebhook(w.secret).verify(b, l.events()[0]!.headers!)).not.toThrow();
  });

  it("as a webhook whose secret was just rotated: hears it signed with both, as its deliveries are", async () => {
    const p = pipeline();
    const org = `org-${uniqueKey()}`;
    const w = await p.createWebhook({ url: "https://downstream.test/ok/listen-rotated", eventTypes: ["message.*"], organizationUid: org });
    const next = "whsec_" + btoa("the rotated secret, 24 bytes or more");
    expect((await p.api("PATCH", `/v1/webhooks/${w.uid}`, { secret: next })).status).toBe(200);
    const l = await connect(p, `webhookUid=${w.uid}`);
    const b = body("message.received", org);
    await l.examined(await positionOf(p, await p.ingest(b)));
    const heard = l.events()[0]!;
    expect(heard.headers!["webhook-signature"]!.split(" ")).toHaveLength(2);
    for (const secret of [next, w.secret]) expect(() => new StandardWebhook(secret).verify(b, heard.headers!)).not.toThrow();
  });

  it("as a webhook with a filter and a transformation: hears what passes the filter, in the shape it would be sent", async () => {
    const p = pipeline();
    const org = `org-${uniqueKey()}`;
    const w = await p.createWebhook({
      url: "https://downstream.test/ok/listen-content",
      eventTypes: ["message.*"],
      organizationUid: org,
      filter: { body: { metadata: { eventType: "message.received" } } },
      transform: '{"text": "got " & metadata.eventType}',
      transformHeaders: { "x-kind": '"podium"' },
    });
    const l = await connect(p, `webhookUid=${w.uid}`);
    const id = await p.ingest(body("message.received", org));
    const last = await p.ingest(body("message.sent", org)); // filtered out
    await l.examined(await positionOf(p, last));
    expect(l.events().map((e) => e.id)).toEqual([id]);
    const heard = l.events()[0]!;
    expect(JSON.parse(heard.body!)).toEqual({ text: "got message.received" });
    expect(heard.headers!["x-kind"]).toBe("podium");
    expect(() => new StandardWebhook(w.secret).verify(heard.body!, heard.headers!)).not.toThrow();
  });

  it("as a webhook replaying events stored before it existed: hears only those its filter admits", async () => {
    const p = pipeline();
    const org = `org-${uniqueKey()}`;
    const admitted = await p.ingest(body("message.received", org));
    await p.ingest(body("message.sent", org)); // its filter excludes this one
    const w = await p.createWebhook({
      url: "https://downstream.test/ok/listen-before",
      eventTypes: ["message.*"],
      organizationUid: org,
      filter: { body: { metadata: { eventType: "message.received" } } },
    });
    // The last one it admits: the replay reaches past the one its filter excludes.
    const l = await connect(p, `webhookUid=${w.uid}&replay=1`, { acked: true });
    const live = await p.ingest(body("message.received", org));
    await l.examined(await positionOf(p, live));
    expect(l.events().map((e) => e.id)).toEqual([admitted, live]);
  });

  it("as a webhook: hears a credential header of its transformation redacted, the others as sent", async () => {
    const p = pipeline();
    const org = `org-${uniqueKey()}`;
    const w = await p.createWebhook({
      url: "https://downstream.test/ok/listen-credentials",
      eventTypes: ["message.*"],
      organizationUid: org,
      transformHeaders: { authorization: "'Bearer sk_listen_4f2a9c'", "x-kind": '"podium"' },
    });
    const l = await connect(p, `webhookUid=${w.uid}`);
    const id = await p.ingest(body("message.received", org));
    await l.examined(await positionOf(p, id));
    const heard = l.events()[0]!;
    expect(heard.id).toBe(id);
    expect(heard.headers).toMatchObject({ authorization: REDACTED, "x-kind": "podium" });
    expect(JSON.stringify(l.messages)).not.toContain("sk_listen_4f2a9c");
  });

  it("as a webhook: hears a credential header's failure without its expression, which JSONata's message would quote", async () => {
    const p = pipeline();
    const org = `org-${uniqueKey()}`;
    const w = await p.createWebhook({
      url: "https://downstream.test/ok/listen-credential-error",
      eventTypes: ["message.*"],
      organizationUid: org,
      transformHeaders: { "x-api-key": "$error('sk_listen_7b3e1d')" },
    });
    const l = await connect(p, `webhookUid=${w.uid}`);
    const id = await p.ingest(body("message.received", org));
    await l.examined(await positionOf(p, id));
    const heard = l.events()[0]!;
    expect(heard.id).toBe(id);
    expect(heard.transformError).toMatch(/^transformHeaders\["x-api-key"\]: JSONata error D3137 \(at position \d+\); /);
    expect(JSON.stringify(l.messages)).not.toContain("sk_listen_7b3e1d");
  });

  it("a token limited to one location, or lacking a data scope, hears nothing else", async () => {
    const p = pipeline();
    const org = `org-${uniqueKey()}`;
    const mine = `loc-${uniqueKey()}`;
    const limited = await connect(p, "", { token: await makeToken(p, ["events:read", "read_messages"], { locationUids: [mine] }) });
    const contactsOnly = await connect(p, "", { token: await makeToken(p, ["events:read", "read_contacts"]) });
    const own = await p.ingest(body("message.received", org, mine));
    await p.ingest(body("message.received", org)); // another location of the same organization
    const contact = await p.ingest(body("contact.updated", org, mine)); // needs read_contacts
    await p.ingest(body("Message.Received", org)); // needs read_messages, whatever its case
    await p.ingest(body("message\u200b.received", org)); // or an invisible character in it
    await p.ingest(body("ｍｅｓｓａｇｅ.received", org)); // or its fullwidth form
    const last = await p.ingest(body("message.received", `${org}-2`));
    const end = await positionOf(p, last);
    await limited.examined(end);
    await contactsOnly.examined(end);
    expect(limited.events().map((e) => e.id)).toEqual([own]);
    expect(contactsOnly.events().map((e) => e.id)).toEqual([contact]);
  });

  it("closes a listener whose token is revoked, before it hears anything stored after", async () => {
    const p = pipeline();
    const org = `org-${uniqueKey()}`;
    const made = await p.api("POST", "/v1/tokens", { name: `listen-${uniqueKey()}`, scopes: ["events:read", "read_messages"] });
    expect(made.status).toBe(201);
    const l = await connect(p, "", { token: made.json.token });
    const before = await p.ingest(body("message.received", org));
    await l.examined(await positionOf(p, before));
    expect(l.events().map((e) => e.id)).toContain(before);

    expect((await p.api("DELETE", `/v1/tokens/${made.json.id}`)).status).toBe(204);
    const closed = new Promise<number>((resolve) => l.ws.addEventListener("close", (e) => resolve(e.code)));
    const after = await p.ingest(body("message.received", org));
    expect(await closed).toBe(4401);
    expect(l.messages.some((m) => m.type === "notice" && m.code === "token_revoked")).toBe(true);
    expect(l.events().map((e) => e.id)).not.toContain(after);
  });

  it("closes a tail whose token is revoked at once, with nothing stored after", async () => {
    const p = pipeline();
    const made = await p.api("POST", "/v1/tokens", { name: `listen-${uniqueKey()}`, scopes: ["events:read", "read_messages"] });
    expect(made.status).toBe(201);
    const l = await connect(p, "mode=tail", { token: made.json.token });
    await noCatchUp(p); // no pump is due: only the revocation may close it
    expect((await p.api("DELETE", `/v1/tokens/${made.json.id}`)).status).toBe(204);
    expect(await l.closed).toBe(4401);
    expect(l.messages.some((m) => m.type === "notice" && m.code === "token_revoked")).toBe(true);
  });

  it("closes a socket waiting for its ack once its token is revoked, at once and at a pump the hub was not told of", async () => {
    const p = pipeline();
    const type = `held.${uniqueKey()}`;
    await stored(3, type, `org-${type}`);
    const tokenFor = async () => {
      const made = await p.api("POST", "/v1/tokens", { name: `listen-${uniqueKey()}`, scopes: ["events:read", "read_messages"] });
      expect(made.status).toBe(201);
      return made.json as { id: string; token: string };
    };
    const told = await tokenFor();
    const untold = await tokenFor();
    // Each is sent its replay and then nothing until it acks, which it never does.
    const toldOf = await connect(p, `eventTypes=${type}&ack=true&replay=3`, { token: told.token });
    const untoldOf = await connect(p, `eventTypes=${type}&ack=true&replay=3`, { token: untold.token });
    for (const l of [toldOf, untoldOf]) await vi.waitFor(() => expect(l.messages.some((m) => m.type === "position")).toBe(true), { timeout: 5_000 });
    await noCatchUp(p);
    const received = await stored(1, type, `org-${type}`, p); // a pump passes both over: held
    await pumped(p);
    expect((await p.api("DELETE", `/v1/tokens/${told.id}`)).status).toBe(204);
    expect(await toldOf.closed).toBe(4401);
    expect(toldOf.messages.some((m) => m.type === "notice" && m.code === "token_revoked")).toBe(true);

    // Revoked without the hub hearing of it (as when the API failed to reach it): the next pump closes it.
    await p.env.DB.prepare("UPDATE tokens SET revoked_at = ?1 WHERE id = ?2").bind(Date.now(), untold.id).run();
    await stored(1, type, `org-${type}`, p);
    expect(await untoldOf.closed).toBe(4401);
    expect(untoldOf.events().map((e) => e.id)).not.toContain(received.ids[0]);
  });

  it("reads the webhooks its sockets listen as in one query, however many they are", async () => {
    const p = pipeline();
    const type = `hooks.${uniqueKey()}`;
    const uids: string[] = [];
    for (let i = 0; i < 3; i++) uids.push((await p.createWebhook({ url: `https://downstream.test/ok/${uniqueKey()}`, eventTypes: [type], organizationUid: `org-${type}` })).uid);
    const listeners = await Promise.all(uids.map((uid) => connect(p, `webhookUid=${uid}`)));
    await pumped(p);
    const reads = await runInDurableObject(hubOf(p.env), async (hub: ListenerHub) => {
      const prepare = vi.spyOn((hub as unknown as { env: { DB: D1Database } }).env.DB, "prepare");
      await hub.alarm(); // a run reads every socket's webhook afresh
      return prepare.mock.calls.filter(([sql]) => /FROM webhooks/i.test(sql)).length;
    });
    expect(reads).toBe(1);
    for (const l of listeners) expect(l.messages.some((m) => m.type === "notice")).toBe(false);
  });

  it("closes a listener as a webhook at once when the webhook is deleted, with nothing stored after", async () => {
    const p = pipeline();
    const type = `gone.${uniqueKey()}`;
    const w = await p.createWebhook({ url: `https://downstream.test/ok/${uniqueKey()}`, eventTypes: [type], organizationUid: `org-${type}` });
    const l = await connect(p, `webhookUid=${w.uid}`);
    await noCatchUp(p);
    expect((await p.api("DELETE", `/v1/webhooks/${w.uid}`)).status).toBe(204);
    expect(await l.closed).toBe(4404);
    expect(l.messages.some((m) => m.type === "notice" && m.code === "webhook_gone")).toBe(true);
  });

  it("answers a token's revoke when the listener hub cannot be reached", async () => {
    const p = pipeline({ LISTENERS: fakeNamespace<ListenerHub>(() => ({ tokenRevoked: () => Promise.reject(new Error("hub down (test)")) })) });
    const made = await p.api("POST", "/v1/tokens", { name: `listen-${uniqueKey()}`, scopes: ["events:read"] });
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    expect((await p.api("DELETE", `/v1/tokens/${made.json.id}`)).status).toBe(204);
    expect(logged).toHaveBeenCalledWith("announcing to listeners failed", expect.objectContaining({ what: "token revoked" }));
  });

  it("closes the admin's listeners once ADMIN_TOKEN has changed, and keeps the current admin's", async () => {
    const old = "an-admin-token-since-rotated-away-of-32+-characters";
    const before = pipeline({ ADMIN_TOKEN: old }); // the deployment as it was when this listener connected
    const stale = await connect(before, "", { token: old });
    const p = pipeline(); // today's ADMIN_TOKEN
    const current = await connect(p);
    const id = await p.ingest(body("message.received", `org-${uniqueKey()}`));
    await current.examined(await positionOf(p, id));
    expect(current.events().map((e) => e.id)).toContain(id);
    await vi.waitFor(() => expect(stale.messages.some((m) => m.type === "notice" && m.code === "token_revoked")).toBe(true), { timeout: 5_000 });
    expect(stale.events().map((e) => e.id)).not.toContain(id);
  });

  it("resumes after a position: what was stored meanwhile first, then live, without duplicates", async () => {
    const p = pipeline();
    const org = `org-${uniqueKey()}`;
    const filter = `eventTypes=invoice.*`;
    const first = await connect(p, filter);
    const a = await p.ingest(body("invoice.created", org));
    await first.examined(await positionOf(p, a));
    const seen = first.events().at(-1)!.position;
    first.ws.close(1000);

    const b = await p.ingest(body("invoice.created", org)); // while nobody listened
    const c = await p.ingest(body("invoice.paid", org));
    const again = await connect(p, `${filter}&after=${seen}`, { acked: true });
    await again.examined(await positionOf(p, c));
    const d = await p.ingest(body("invoice.paid", org)); // live
    await again.examined(await positionOf(p, d));
    expect(again.events().map((e) => e.id)).toEqual([b, c, d]);
  });

  it("--replay N sends the last N matching events first, then live ones", async () => {
    const p = pipeline();
    const org = `org-${uniqueKey()}`;
    const type = `review.${uniqueKey()}`;
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push(await p.ingest(body(type, org)));
    await p.ingest(body("review.other", org));
    const l = await connect(p, `eventTypes=${type}&replay=2`, { acked: true });
    const live = await p.ingest(body(type, org));
    await l.examined(await positionOf(p, live));
    expect(l.events().map((e) => e.id)).toEqual([ids[2], ids[3], live]);
  });

  it("tail shows events without bodies and each delivery attempt", async () => {
    const p = pipeline();
    const org = `org-${uniqueKey()}`;
    const ok = await p.createWebhook({ url: `https://downstream.test/ok/${uniqueKey()}`, eventTypes: ["*"], organizationUid: org });
    // 429 with Retry-After: failed, and not due again during this test's run.
    const failing = await p.createWebhook({ url: `https://downstream.test/retry-after/${uniqueKey()}?s=60`, eventTypes: ["*"], organizationUid: org });
    const t = await connect(p, "mode=tail");
    const id = await p.ingest(body("message.received", org));
    await p.deliver();
    await vi.waitFor(() => expect(t.attempts()).toHaveLength(2), { timeout: 5_000 });
    expect(t.events().map((e) => [e.id, e.body, e.headers])).toEqual([[id, undefined, undefined]]);
    const byWebhook = Object.fromEntries(t.attempts().map((a) => [a.webhookUid, [a.eventId, a.number, a.statusCode, a.status]]));
    expect(byWebhook).toEqual({ [ok.uid]: [id, 1, 200, "succeeded"], [failing.uid]: [id, 1, 429, "pending"] });
  });

  it("with sourceIds hears only those sources' events, and a tail shows only their attempts", async () => {
    const p = pipeline();
    const k = uniqueKey();
    const org = `org-${k}`;
    const secret = "s-secret-1234";
    const src = (await p.api("POST", "/v1/sources", { id: `src-${k}`, name: "s", provider: "podium", secrets: [secret] })).json.id as string;
    await p.createWebhook({ url: `https://downstream.test/ok/${k}`, eventTypes: ["*"], organizationUid: org });
    const all = await connect(p, "mode=tail");
    const l = await connect(p, `sourceIds=${src}`);
    const t = await connect(p, `mode=tail&sourceIds=${src}`);
    await p.ingest(body("message.received", org)); // podium's
    const mine = await p.ingest(body("message.received", org), { source: src, secret });
    await p.deliver();
    await vi.waitFor(() => expect(all.attempts()).toHaveLength(2), { timeout: 5_000 });
    await l.examined(await positionOf(p, mine));
    expect(l.events().map((e) => e.id)).toEqual([mine]);
    await vi.waitFor(() => expect(t.attempts().length).toBeGreaterThan(0), { timeout: 5_000 });
    expect(t.attempts().map((a) => a.eventId)).toEqual([mine]);
  });

  it("tail as a webhook shows only that webhook's attempts", async () => {
    const p = pipeline();
    const org = `org-${uniqueKey()}`;
    const mine = await p.createWebhook({ url: `https://downstream.test/ok/${uniqueKey()}`, eventTypes: ["*"], organizationUid: org });
    const other = await p.createWebhook({ url: `https://downstream.test/ok/${uniqueKey()}`, eventTypes: ["*"], organizationUid: org });
    const all = await connect(p, "mode=tail");
    const t = await connect(p, `mode=tail&webhookUid=${mine.uid}`);
    await p.ingest(body("message.received", org));
    await p.deliver();
    await vi.waitFor(() => expect(all.attempts().map((a) => a.webhookUid).sort()).toEqual([mine.uid, other.uid].sort()), { timeout: 5_000 });
    await vi.waitFor(() => expect(t.attempts()).toHaveLength(1), { timeout: 5_000 });
    expect(t.attempts()[0]!.webhookUid).toBe(mine.uid);
  });

  it("a limited token's tail shows only the attempts of webhooks inside its grant", async () => {
    const p = pipeline();
    const org = `org-${uniqueKey()}`;
    const granted = await p.createWebhook({ url: `https://downstream.test/ok/${uniqueKey()}`, eventTypes: ["*"], organizationUid: org });
    const elsewhere = await p.createWebhook({ url: `https://downstream.test/ok/${uniqueKey()}`, eventTypes: ["*"], sourceIds: ["podium"] });
    const all = await connect(p, "mode=tail");
    const token = await makeToken(p, ["events:read", "read_messages"], { organizationUids: [org] });
    const limited = await connect(p, "mode=tail", { token });
    await p.ingest(body("message.received", org));
    await p.deliver();
    // Both attempts went out (the admin's tail shows them); the limited tail shows its own webhook's only.
    await vi.waitFor(() => expect(all.attempts().map((a) => a.webhookUid).sort()).toEqual([granted.uid, elsewhere.uid].sort()), { timeout: 5_000 });
    await vi.waitFor(() => expect(limited.attempts().length).toBeGreaterThan(0), { timeout: 5_000 });
    expect(limited.attempts().map((a) => a.webhookUid)).toEqual([granted.uid]);
  });

  it("tail and listen hear an alert as it is stored, with no other event after it", async () => {
    const p = pipeline();
    const key = uniqueKey();
    const org = `org-${key}`;
    const alertTypes = ["webhook.failing", "delivery.dead_lettered"];
    const notify = await p.api("POST", "/v1/notification-endpoints", { url: `https://downstream.test/ok/${key}-alerts`, alertTypes });
    expect(notify.status).toBe(201);
    const hook = await p.createWebhook({ url: `https://downstream.test/fail/${key}`, eventTypes: ["*"], organizationUid: org, maxAttempts: 1, failingAfterAttempts: 1 });
    const t = await connect(p, "mode=tail");
    const l = await connect(p, `sourceIds=${ALERT_SOURCE}`);
    const id = await p.ingest(body("message.received", org));
    await t.examined(await positionOf(p, id));
    await l.examined(await positionOf(p, id));
    await noCatchUp(p);
    // Its one attempt fails: the delivery is dead-lettered and the webhook failing, each an alert stored.
    await p.deliver();
    const alerts = (m: { events: () => EventNote[] }) => m.events().filter((e) => e.sourceId === ALERT_SOURCE);
    await vi.waitFor(() => expect(alerts(t).map((e) => e.eventType).sort()).toEqual(alertTypes.sort()), { timeout: 5_000 });
    await vi.waitFor(() => expect(alerts(l).map((e) => e.eventType).sort()).toEqual(alertTypes.sort()), { timeout: 5_000 });
    expect(alerts(l).map((e) => (JSON.parse(e.body!) as { data: { subject: string } }).data.subject)).toEqual([hook.uid, hook.uid]);
    // (Not an order: the hub sends an attempt as told, an event once it has read it, so an alert's
    // attempt may come first, as an ingested event's may.)
  });
});

/** A pipeline whose ingest stores events without telling the hub: it sends them at its next pump for another reason. */
function unannounced(): P {
  return pipeline({ LISTENERS: fakeNamespace<ListenerHub>(() => ({ eventsStored: async () => ({ events: 1, attempts: 1 }) })) });
}

/** Stores `n` events of a type (unannounced unless through `q`): their ids in store order, and the positions before the first and of the last. */
async function stored(n: number, type: string, org: string, q = unannounced(), bodyOf = body) {
  const ids: string[] = [];
  for (let i = 0; i < n; i += 100) {
    const batch = Array.from({ length: Math.min(100, n - i) }, () => ingestMessage({ eventType: type, organizationUid: org, body: bodyOf(type, org) }));
    expect((await q.runIngest(batch)).acked).toHaveLength(batch.length);
    ids.push(...batch.map((m) => m.eventId));
  }
  return { ids, before: (await eventSeq(ids[0]!))! - 1, end: (await eventSeq(ids.at(-1)!))! };
}

/** Waits until the hub has run the pump its last connection set off (what is left is its later catch-up alarm, or none). */
async function pumped(p: P): Promise<void> {
  await vi.waitFor(
    async () => expect((await runInDurableObject(hubOf(p.env), (_, state) => state.storage.getAlarm())) ?? Infinity).toBeGreaterThan(Date.now()),
    { timeout: 5_000, interval: 20 },
  );
}

/** Once the hub has run its pumps, drops the catch-up its connections set: it reads the store again only when told. */
async function noCatchUp(p: P): Promise<void> {
  await pumped(p);
  await runInDurableObject(hubOf(p.env), async (_, state) => {
    await state.storage.delete("catchUpAt");
    await state.storage.deleteAlarm();
  });
}

/**
 * The ids of the events the hub sends, in the order it sends them, to whichever socket
 * (the hub runs in this isolate: its sockets' send is WebSocket's).
 */
function eventsSent(): () => string[] {
  const send = vi.spyOn(WebSocket.prototype, "send");
  // Not a send that threw: to a socket closed meanwhile (a revocation closes it mid-page).
  return () =>
    send.mock.calls.flatMap(([data], i) => {
      const m = JSON.parse(String(data)) as ListenMessage;
      return m.type === "event" && send.mock.results[i]?.type === "return" ? [m.id] : [];
    });
}

/** Opens a socket, or answers why not. */
async function tryConnect(p: P, query: string, token: string) {
  const res = await listenResponse(p, query, { token });
  if (res.webSocket) {
    res.webSocket.accept();
    open.push(res.webSocket);
  }
  return res;
}

describe("the hub's limits", () => {
  it(`refuses a token's socket past ${SOCKETS_PER_TOKEN} with 429 rate_limited, while another token still connects`, async () => {
    const p = pipeline();
    const busy = await makeToken(p, ["events:read", "read_messages"]);
    const sockets = [];
    for (let i = 0; i < SOCKETS_PER_TOKEN; i++) sockets.push(await connect(p, i % 2 ? "mode=tail" : "", { token: busy }));

    const refused = await listenResponse(p, "mode=tail", { token: busy });
    expect(refused.status).toBe(429);
    expect(refused.webSocket).toBeNull();
    expect(refused.headers.get("retry-after")).toBe(String(SOCKETS_RETRY_AFTER_SECONDS));
    expect(await refused.json()).toMatchObject({ error: { code: "rate_limited", details: { limit: SOCKETS_PER_TOKEN, open: SOCKETS_PER_TOKEN } } });

    const other = await connect(p, "", { token: await makeToken(p, ["events:read", "read_messages"]) });
    expect(other.hello.type).toBe("hello");

    // A socket closed frees its place.
    sockets[0]!.ws.close(1000);
    await vi.waitFor(async () => expect((await tryConnect(p, "", busy)).status).toBe(101), { timeout: 5_000, interval: 50 });
  });

  /** Opens a token's full quota of sockets as if accepted longer ago than a socket may stay silent (the hub runs in this isolate: its clock is Date.now). */
  async function silentQuota(p: P, token: string) {
    const realNow = Date.now.bind(Date);
    const clock = vi.spyOn(Date, "now").mockImplementation(() => realNow() - SILENT_SOCKET_MS - 60_000);
    const sockets = [];
    for (let i = 0; i < SOCKETS_PER_TOKEN; i++) sockets.push(await connect(p, i % 2 ? "mode=tail" : "", { token }));
    clock.mockRestore();
    return sockets;
  }

  it("closes a token's sockets silent past the limit (no ping since accepted) to let it open another", async () => {
    const p = pipeline();
    const token = await makeToken(p, ["events:read", "read_messages"]);
    const sockets = await silentQuota(p, token);
    const pinging = sockets.slice(0, 4);
    for (const s of pinging) s.ws.send("ping");
    await vi.waitFor(() => expect(pinging.map((s) => s.pongs())).toEqual(pinging.map(() => 1)), { timeout: 5_000 });

    const next = await tryConnect(p, "", token);
    expect(next.status).toBe(101);
    const silent = sockets.slice(4);
    expect(await Promise.all(silent.map((s) => s.closed))).toEqual(silent.map(() => 1001));
    // The ones that pinged are kept, and still served.
    const id = await p.ingest(body("message.received", `org-${uniqueKey()}`));
    await Promise.all(pinging.map(async (s) => s.examined(await positionOf(p, id))));
    expect(pinging.map((s) => s.ws.readyState)).toEqual(pinging.map(() => WebSocket.OPEN));
  });

  it("still refuses a token whose sockets, however old, have all pinged within the limit", async () => {
    const p = pipeline();
    const token = await makeToken(p, ["events:read", "read_messages"]);
    const sockets = await silentQuota(p, token);
    for (const s of sockets) s.ws.send("ping");
    await vi.waitFor(() => expect(sockets.map((s) => s.pongs())).toEqual(sockets.map(() => 1)), { timeout: 5_000 });
    const refused = await listenResponse(p, "", { token });
    expect(refused.status).toBe(429);
    expect(await refused.json()).toMatchObject({ error: { code: "rate_limited", details: { open: SOCKETS_PER_TOKEN } } });
  });

  it(`refuses any token's socket once the hub holds ${SOCKETS_IN_ALL} in all`, () => {
    // (Through real sockets this takes ~20 s in workerd; the per-token test above covers the 429 on the wire.)
    expect(socketRefusal({ ofToken: 0, inAll: SOCKETS_IN_ALL - 1 }, false)).toBeNull();
    expect(socketRefusal({ ofToken: SOCKETS_PER_TOKEN - 1, inAll: 0 }, true)).toBeNull();
    const full = socketRefusal({ ofToken: 0, inAll: SOCKETS_IN_ALL }, false);
    expect(full).toMatchObject({ code: "rate_limited", details: { limit: SOCKETS_IN_ALL }, retryAfterSeconds: SOCKETS_RETRY_AFTER_SECONDS });
    expect(full?.message).toMatch(/try again later/);
    expect(socketRefusal({ ofToken: SOCKETS_PER_TOKEN, inAll: 0 }, true)?.message).toMatch(/^The admin token already holds/);
  });

  it("sends a live listener its event before a catch-up from far back gets more than one pump's pages", async () => {
    const p = pipeline();
    const org = `org-${uniqueKey()}`;
    const backlogType = `backlog.${uniqueKey()}`;
    const backlog = await stored(3 * PAGES_PER_SOCKET * PAGE, backlogType, org);
    const liveType = `live.${uniqueKey()}`;

    const live = await connect(p, `eventTypes=${liveType}`);
    await pumped(p); // so the live listener hears nothing before the catch-up connects
    const { ids: fresh, end } = await stored(1, liveType, org);
    const sent = eventsSent();
    const catchUp = await connect(p, `eventTypes=${backlogType}&after=${backlog.before}`, { acked: true });

    await live.examined(end);
    expect(live.events().map((e) => e.id)).toEqual(fresh);
    // What the catch-up had been sent before the live event went out: one pump's pages at most.
    const order = sent();
    expect(order).toContain(fresh[0]);
    expect(order.slice(0, order.indexOf(fresh[0]!)).length).toBeLessThanOrEqual(PAGES_PER_SOCKET * PAGE);
    // And the catch-up goes on to the end, in order, with nothing skipped.
    await catchUp.examined(backlog.end);
    expect(catchUp.events().map((e) => e.id)).toEqual(backlog.ids);
  }, 30_000);

  it.each(["listen", "tail"])("sends a listener that acks (%s) one run of pages, then nothing more until it acks it: its catch-up goes at its pace, in order, each event once", async (mode) => {
    const p = pipeline();
    const org = `org-${uniqueKey()}`;
    const type = `acked.${uniqueKey()}`;
    const run = PAGES_PER_SOCKET * PAGE;
    const backlog = await stored(2 * run + 10, type, org);
    const l = await connect(p, `mode=${mode}&eventTypes=${type}&after=${backlog.before}&ack=true`);
    expect(l.hello).toMatchObject({ mode, acks: true, position: backlog.before });
    let acked = backlog.before;
    let mostUnacked = 0;
    for (let runs = 0; acked < backlog.end; runs++) {
      expect(runs).toBeLessThan(4);
      // A run ends with a position; the hub then waits for its ack (its alarms past, none due but the late catch-up).
      await vi.waitFor(() => expect(l.told()).toBeGreaterThan(acked), { timeout: 10_000, interval: 20 });
      await pumped(p);
      const sent = l.events().filter((e) => e.position > acked);
      mostUnacked = Math.max(mostUnacked, sent.length);
      expect(l.messages.at(-1)).toEqual({ type: "position", position: l.told() });
      acked = l.told();
      l.ws.send(JSON.stringify({ type: "ack", position: acked }));
    }
    expect(mostUnacked).toBe(run);
    expect(l.events().map((e) => e.id)).toEqual(backlog.ids);
  }, 30_000);

  it(`ends a run of a listener that acks once its messages reach ${RUN_BYTES} bytes, however few its events: the rest after its ack, in order, each event once`, async () => {
    const p = pipeline();
    const type = `heavy.${uniqueKey()}`;
    const org = `org-${type}`;
    // Control characters, which JSON escapes: each message is several times the characters of its body.
    const heavy = bodyWithText("\x01".repeat(35_000));
    const backlog = await stored(12, type, org, unannounced(), heavy);
    const send = vi.spyOn(WebSocket.prototype, "send");
    const l = await connect(p, `eventTypes=${type}&after=${backlog.before}&ack=true`);
    let acked = backlog.before;
    const runs: EventNote[][] = [];
    while (acked < backlog.end) {
      expect(runs.length).toBeLessThan(backlog.ids.length);
      await vi.waitFor(() => expect(l.told()).toBeGreaterThan(acked), { timeout: 10_000, interval: 20 });
      await pumped(p); // its alarms past: nothing more goes out until the ack
      runs.push(l.events().filter((e) => e.position > acked));
      expect(l.messages.at(-1)).toEqual({ type: "position", position: l.told() });
      acked = l.told();
      l.ws.send(JSON.stringify({ type: "ack", position: acked }));
    }
    // Each message's size as the hub sent it (it runs in this isolate).
    const size = new Map(
      send.mock.calls.flatMap(([data]) => {
        const m = JSON.parse(String(data)) as ListenMessage;
        return m.type === "event" ? [[m.id, new TextEncoder().encode(String(data)).byteLength] as const] : [];
      }),
    );
    expect(runs.length).toBeGreaterThan(1);
    for (const [i, run] of runs.entries()) {
      const bytes = run.map((e) => size.get(e.id)!);
      const total = bytes.reduce((a, b) => a + b, 0);
      // Under the bound until its last message, which took it there (but at the backlog's end).
      expect(total - bytes.at(-1)!).toBeLessThan(RUN_BYTES);
      if (i < runs.length - 1) expect(total).toBeGreaterThanOrEqual(RUN_BYTES);
    }
    expect(l.events().map((e) => e.id)).toEqual(backlog.ids);
  }, 30_000);

  it.each([
    ["has a negative position", () => JSON.stringify({ type: "ack", position: -1 })],
    ["has a position not whole", (at: number) => JSON.stringify({ type: "ack", position: at - 0.5 })],
    ["has another key", (at: number) => JSON.stringify({ type: "ack", position: at, extra: 1 })],
    ["is padded to 900 KB", (at: number) => JSON.stringify({ type: "ack", position: at }) + " ".repeat(900_000)],
  ])("closes a socket whose ack %s", async (_, ack: (at: number) => string) => {
    const p = pipeline();
    const l = await connect(p, "ack=true");
    l.ws.send(ack(l.hello.position));
    expect(await l.closed).toBe(1008);
    expect(l.messages.some((m) => m.type === "notice" && m.code === "unexpected_message")).toBe(true);
  }, 10_000);

  it("takes an ack as the docs write it, spaced out", async () => {
    const p = pipeline();
    const l = await connect(p, "ack=true");
    l.ws.send(`{ "type": "ack", "position": ${l.hello.position} }`);
    const id = await p.ingest(body("message.received", `org-${uniqueKey()}`));
    await l.examined(await positionOf(p, id));
  });

  it("closes a socket that acks without having asked to, or acks past what it was sent", async () => {
    const p = pipeline();
    const plain = await connect(p);
    expect(plain.hello).not.toHaveProperty("acks");
    plain.ws.send(JSON.stringify({ type: "ack", position: plain.hello.position }));
    expect(await plain.closed).toBe(1008);
    const acking = await connect(p, "ack=true");
    acking.ws.send(JSON.stringify({ type: "ack", position: acking.hello.position + 1_000_000 }));
    expect(await acking.closed).toBe(1008);
  });

  it("drops the stored configurations of sockets closed unseen (a deploy's), some at each new socket, keeping the open ones", async () => {
    const p = pipeline();
    const orphans = Array.from({ length: 100 }, (_, i) => `listener:orphan-${uniqueKey()}-${i}`);
    await runInDurableObject(hubOf(p.env), (_, state) => state.storage.put(Object.fromEntries(orphans.map((k) => [k, { left: "by a deploy" }]))));
    const left = () => runInDurableObject(hubOf(p.env), async (_, state) => (await state.storage.get(orphans)).size);
    const live: string[] = [];
    for (let i = 0; i < 6 && (await left()) > 0; i++) live.push(`listener:${(await connect(p)).hello.listenerId}`);
    expect(await left()).toBe(0);
    const kept = await runInDurableObject(hubOf(p.env), async (_, state) => [...(await state.storage.get(live)).keys()]);
    expect(kept.sort()).toEqual([...live].sort());
  });

  it("sweeps on from where the last sweep stopped though the hub hibernated between: stale configurations past 64 open ones go too", async () => {
    const p = pipeline();
    // Sorted before any socket's id (and the orphans after): each sweep from the start would read these 64 and no further.
    const live = Array.from({ length: 64 }, (_, i) => `!live-${uniqueKey()}-${String(i).padStart(2, "0")}`);
    const orphans = Array.from({ length: 5 }, (_, i) => `listener:~orphan-${uniqueKey()}-${i}`);
    await runInDurableObject(hubOf(p.env), async (_, state) => {
      await state.storage.put(Object.fromEntries([...live.map((id) => [`listener:${id}`, { open: true }]), ...orphans.map((k) => [k, { left: "by a deploy" }])]));
      // Their sockets open (stand-ins: the sweep reads only their attachments).
      const real = state.getWebSockets.bind(state);
      const standIns = live.map((id) => ({ deserializeAttachment: () => ({ id, position: 0 }) }) as unknown as WebSocket);
      vi.spyOn(state, "getWebSockets").mockImplementation((tag) => (tag === undefined ? [...real(), ...standIns] : real(tag)));
      // Each new socket's sweep by a hub woken afresh (what it held in memory gone).
      for (let i = 0; i < 3; i++) await (new ListenerHub(state, p.env) as unknown as { sweepListeners(): Promise<void> }).sweepListeners();
      expect((await state.storage.get(orphans)).size).toBe(0);
      expect((await state.storage.get(live.map((id) => `listener:${id}`))).size).toBe(live.length);
    });
  });

  it("advances, in one alarm, more listeners at different positions within a page than an alarm reads pages", async () => {
    const p = pipeline();
    const type = `spread.${uniqueKey()}`;
    const listeners = [];
    for (let i = 0; i < 6; i++) listeners.push(await connect(p, `eventTypes=${type}`));
    await pumped(p);
    const { ids, before, end } = await stored(20, type, `org-${type}`);
    // As after a burst read unevenly: each listener sent up to a different one of these events (the hub not told of them yet).
    const startOf = new Map(listeners.map((l, i) => [l.hello.listenerId, before + i]));
    const after = await runInDurableObject(hubOf(p.env), async (hub: ListenerHub, state) => {
      await state.storage.deleteAlarm();
      for (const ws of state.getWebSockets()) {
        const at = ws.deserializeAttachment() as { id: string; position: number };
        ws.serializeAttachment({ ...at, position: startOf.get(at.id) });
      }
      await hub.alarm();
      return state.getWebSockets().map((ws) => (ws.deserializeAttachment() as { position: number }).position);
    });
    expect(after).toEqual(listeners.map(() => end));
    for (const [i, l] of listeners.entries()) {
      await l.examined(end);
      expect(l.events().map((e) => e.id)).toEqual(ids.slice(i));
    }
  });

  it("runs a webhook's transformation once an event for all its listeners: they hear the same output", async () => {
    const p = pipeline();
    const type = `shared.${uniqueKey()}`;
    const org = `org-${type}`;
    // $random() gives another output at each run: one output heard by all shows one run.
    const w = await p.createWebhook({ url: `https://downstream.test/ok/${uniqueKey()}`, eventTypes: [type], organizationUid: org, transform: '{"r": $random()}' });
    const listeners: Awaited<ReturnType<typeof connect>>[] = [];
    for (let i = 0; i < 3; i++) listeners.push(await connect(p, `webhookUid=${w.uid}`));
    const { ids, end } = await stored(5, type, org, p);
    for (const l of listeners) {
      await l.examined(end);
      expect(l.events().map((e) => e.id)).toEqual(ids);
    }
    const outputs = ids.map((_, i) => new Set(listeners.map((l) => l.events()[i]!.body)));
    expect(outputs.map((o) => o.size)).toEqual(ids.map(() => 1));
    // Each event's own run: the events' outputs differ.
    expect(new Set(outputs.map((o) => [...o][0])).size).toBe(ids.length);
  });

  it("signs an event once for the listeners sent the same message: those as one webhook, or with one secret of their own", async () => {
    const p = pipeline();
    const type = `cosigned.${uniqueKey()}`;
    const org = `org-${type}`;
    const w = await p.createWebhook({ url: `https://downstream.test/ok/${uniqueKey()}`, eventTypes: [type], organizationUid: org, transformHeaders: { "x-kind": '"podium"' } });
    const secret = "whsec_c2hhcmVkLWxpc3RlbmVyLXNlY3JldC10ZXN0";
    const asWebhook: Awaited<ReturnType<typeof connect>>[] = [];
    for (let i = 0; i < 3; i++) asWebhook.push(await connect(p, `webhookUid=${w.uid}`));
    const withSecret: Awaited<ReturnType<typeof connect>>[] = [];
    for (let i = 0; i < 2; i++) withSecret.push(await connect(p, `eventTypes=${type}`, { headers: { "x-edgehook-listen-secret": secret } }));
    const alone = await connect(p, `eventTypes=${type}`);
    await pumped(p);
    await runInDurableObject(hubOf(p.env), (_, state) => state.storage.deleteAlarm());
    const { ids, end } = await stored(3, type, org);
    // The HMACs over these events' bodies (each signature is two: Standard Webhooks' and Podium's).
    const sign = vi.spyOn(crypto.subtle, "sign");
    await runInDurableObject(hubOf(p.env), (hub: ListenerHub) => hub.alarm());
    const signings = sign.mock.calls.filter(([, , data]) => new TextDecoder().decode(data as Uint8Array).includes(type)).length;
    sign.mockRestore();
    // Three messages an event (the webhook's, the shared secret's, the lone listener's), not six.
    expect(signings).toBe(2 * 3 * ids.length);
    for (const [group, key] of [[asWebhook, w.secret], [withSecret, secret]] as const) {
      for (const l of group) {
        await l.examined(end);
        expect(l.events().map((e) => e.id)).toEqual(ids);
      }
      for (const [i] of ids.entries()) {
        const heard = group.map((l) => l.events()[i]!);
        for (const h of heard) expect(h).toEqual(heard[0]);
        expect(() => new StandardWebhook(key).verify(heard[0]!.body!, heard[0]!.headers!)).not.toThrow();
      }
    }
    expect(asWebhook[0]!.events()[0]!.headers!["x-kind"]).toBe("podium");
    await alone.examined(end);
    expect(alone.events().map((e) => e.id)).toEqual(ids);
  });

  it(`stops an alarm's transformations past ${TRANSFORM_STEPS_PER_ALARM} steps: the events left go out in the next alarm, set at once, in order, each once`, async () => {
    const p = pipeline();
    const type = `costly.${uniqueKey()}`;
    const org = `org-${type}`;
    const transform = '{"n": $sum([1..8000].($ * 2))}';
    // What one event costs (the expression reads nothing of it), and so how many one alarm runs: until the steps reach the budget.
    const { steps } = await outbound({ kind: "webhook", transform, transformHeaders: null }, "{}");
    const perAlarm = Math.ceil(TRANSFORM_STEPS_PER_ALARM / steps);
    expect(perAlarm).toBeGreaterThan(1);
    expect(perAlarm).toBeLessThan(PAGE - 3);
    const w = await p.createWebhook({ url: `https://downstream.test/ok/${uniqueKey()}`, eventTypes: [type], organizationUid: org, transform });
    // Two listeners as the webhook: they share the runs, so each gets as many events as one would.
    const listeners = [await connect(p, `webhookUid=${w.uid}`), await connect(p, `webhookUid=${w.uid}`)];
    // One with nothing to transform is not held back by the budget.
    const plain = await connect(p, `eventTypes=${type}`);
    await pumped(p);
    await runInDurableObject(hubOf(p.env), (_, state) => state.storage.deleteAlarm());
    const { ids, end } = await stored(perAlarm + 3, type, org);
    const sent = eventsSent();
    const first = await runInDurableObject(hubOf(p.env), async (hub: ListenerHub, state) => {
      await hub.alarm();
      const at = (l: { hello: { listenerId: string } }) =>
        state.getWebSockets().map((ws) => ws.deserializeAttachment() as { id: string; position: number }).find((a) => a.id === l.hello.listenerId)!.position;
      return { positions: listeners.map(at), plain: at(plain), alarm: await state.storage.getAlarm(), now: Date.now() };
    });
    expect(sent().sort()).toEqual([...ids.slice(0, perAlarm), ...ids.slice(0, perAlarm), ...ids].sort());
    expect(first.plain).toBe(end);
    // Each stopped just before the first event it was not sent, and the next alarm due at once.
    const [lastSent, firstLeft] = [await eventSeq(ids[perAlarm - 1]!), await eventSeq(ids[perAlarm]!)];
    for (const position of first.positions) {
      expect(position).toBeGreaterThanOrEqual(lastSent!);
      expect(position).toBeLessThan(firstLeft!);
    }
    expect(first.alarm).not.toBeNull();
    expect(first.alarm!).toBeLessThanOrEqual(first.now);
    for (const l of [...listeners, plain]) {
      await l.examined(end);
      expect(l.events().map((e) => e.id)).toEqual(ids);
    }
  }, 30_000);

  it(`stops an alarm's signing past ${SIGNING_STEPS_PER_ALARM} steps: the messages left go out in the next alarm, set at once, to every listener in order, each once`, async () => {
    const p = pipeline();
    const type = `signed.${uniqueKey()}`;
    const org = `org-${type}`;
    // Bodies of ~240 KB, each signed for each of ten listeners (two tokens, five sockets each): more than one alarm signs.
    const large = bodyWithText("x".repeat(240_000));
    const n = 45;
    const perAlarm = Math.ceil(SIGNING_STEPS_PER_ALARM / signingSteps(large(type, org).length));
    expect(n).toBeLessThanOrEqual(PAGE); // one page: only the budget stops the alarm
    expect(perAlarm).toBeLessThan(10 * n);
    const listeners: Awaited<ReturnType<typeof connect>>[] = [];
    for (let t = 0; t < 2; t++) {
      const token = await makeToken(p, ["events:read", "read_messages"]);
      for (let i = 0; i < 5; i++) listeners.push(await connect(p, `eventTypes=${type}`, { token }));
    }
    await pumped(p);
    await runInDurableObject(hubOf(p.env), (_, state) => state.storage.deleteAlarm());
    const { ids, end } = await stored(n, type, org, unannounced(), large);
    const send = vi.spyOn(WebSocket.prototype, "send");
    const first = await runInDurableObject(hubOf(p.env), async (hub: ListenerHub, state) => {
      await hub.alarm();
      return { alarm: await state.storage.getAlarm(), now: Date.now() };
    });
    // What the first alarm signed: its steps reached the budget with its last message, not before.
    const signed = send.mock.calls.flatMap(([data]) => {
      const m = JSON.parse(String(data)) as ListenMessage;
      return m.type === "event" ? [signingSteps(m.body!.length)] : [];
    });
    send.mockRestore();
    expect(signed.length).toBeLessThan(10 * n);
    const steps = signed.reduce((a, b) => a + b, 0);
    expect(steps - signed.at(-1)!).toBeLessThan(SIGNING_STEPS_PER_ALARM);
    expect(steps).toBeGreaterThanOrEqual(SIGNING_STEPS_PER_ALARM);
    expect(first.alarm).not.toBeNull();
    expect(first.alarm!).toBeLessThanOrEqual(first.now);
    for (const l of listeners) {
      await l.examined(end);
      expect(l.events().map((e) => e.id)).toEqual(ids);
    }
  }, 60_000);

  it(`charges a message shared by a webhook's listeners one signing, and sends it to all of them even past ${SIGNING_STEPS_PER_ALARM} steps: none hears another run of its transformation`, async () => {
    const p = pipeline();
    const key = uniqueKey();
    const [plainType, hookType, org, loc] = [`budget.${key}`, `hooked.${key}`, `org-${key}`, `loc-${key}`];
    const sized = (t: string, chars: number) => {
      const b = JSON.parse(body(t, org, loc)) as { data: { body: string } };
      b.data.body = "x".repeat(chars);
      return JSON.stringify(b);
    };
    // $random(): another output at each run (seven digits, so every output is as long).
    const transform = '{"r": 1000000 + $floor($random() * 1000000), "pad": data.body}';
    const w = await p.createWebhook({ url: `https://downstream.test/ok/${key}`, eventTypes: [hookType], organizationUid: org, transform });
    const token = await makeToken(p, ["events:read", "read_messages", "webhooks:write"]);
    const asWebhook: Awaited<ReturnType<typeof connect>>[] = [];
    for (let i = 0; i < 5; i++) asWebhook.push(await connect(p, `webhookUid=${w.uid}`, { token }));
    // Ten listeners with secrets of their own (one message each) spend the budget up to where the webhook's events come.
    const plainToken = await makeToken(p, ["events:read", "read_messages"]);
    const plain: Awaited<ReturnType<typeof connect>>[] = [];
    for (let i = 0; i < 10; i++) plain.push(await connect(p, `eventTypes=${plainType}`, { token: plainToken }));

    // The webhook's message of an event (its bodies all as long as this one): signed once, sent four more times.
    const hookBody = sized(hookType, 240_000);
    const hookOut = await outbound({ kind: "webhook", transform, transformHeaders: null }, hookBody);
    expect(hookOut.ok).toBe(true);
    const chars = hookOut.ok ? hookOut.body.length : 0;
    const shared = signingSteps(chars) + 4 * sendingSteps(chars);
    // The plain events' steps in all: the budget is reached by the first copy of the webhook's second event, not before.
    const spend = Math.ceil((SIGNING_STEPS_PER_ALARM - shared - signingSteps(chars) - sendingSteps(chars)) / plain.length);
    expect(plain.length * spend + shared + signingSteps(chars)).toBeLessThan(SIGNING_STEPS_PER_ALARM);
    expect(plain.length * spend + shared + signingSteps(chars) + sendingSteps(chars)).toBeGreaterThanOrEqual(SIGNING_STEPS_PER_ALARM);
    const large = signingSteps(sized(plainType, 240_000).length);
    const base = sized(plainType, 0).length;
    let full = Math.floor(spend / large);
    if (spend - full * large < signingSteps(base)) full--;
    const rest = spend - full * large; // one plain event of `rest` steps: 10 plus one a started 1,000 characters
    const restBody = sized(plainType, (rest - 10) * 1_000 - base);
    expect(signingSteps(restBody.length)).toBe(rest);
    const plainBodies = [...Array.from({ length: full }, () => sized(plainType, 240_000)), restBody];
    expect(plainBodies.length + 3).toBeLessThanOrEqual(PAGE); // one page: only the budget stops the alarm

    await pumped(p);
    await runInDurableObject(hubOf(p.env), (_, state) => state.storage.deleteAlarm());
    let n = 0;
    const { ids: plainIds } = await stored(plainBodies.length, plainType, org, unannounced(), () => plainBodies[n++]!);
    const { ids, end } = await stored(3, hookType, org, unannounced(), () => sized(hookType, 240_000));
    const first = await runInDurableObject(hubOf(p.env), async (hub: ListenerHub, state) => {
      await hub.alarm();
      const positions = new Map(state.getWebSockets().map((ws) => [(ws.deserializeAttachment() as { id: string }).id, (ws.deserializeAttachment() as { position: number }).position]));
      return { positions: asWebhook.map((l) => positions.get(l.hello.listenerId)!), alarm: await state.storage.getAlarm(), now: Date.now() };
    });
    // The first alarm sent each of the webhook's listeners its first two events, then stopped them all just before the third.
    expect(first.positions).toEqual(asWebhook.map(() => first.positions[0]));
    expect(first.positions[0]).toBeGreaterThanOrEqual((await eventSeq(ids[1]!))!);
    expect(first.positions[0]).toBeLessThan((await eventSeq(ids[2]!))!);
    expect(first.alarm).not.toBeNull();
    expect(first.alarm!).toBeLessThanOrEqual(first.now);
    for (const l of asWebhook) {
      await l.examined(end);
      expect(l.events().map((e) => e.id)).toEqual(ids);
    }
    // One run of the transformation an event, heard by all.
    for (const [i] of ids.entries()) expect(new Set(asWebhook.map((l) => l.events()[i]!.body)).size).toBe(1);
    for (const l of plain) {
      await l.examined(end);
      expect(l.events().map((e) => e.id)).toEqual(plainIds);
    }
  }, 60_000);

  /**
   * Opens a catch-up over many pages, calls `stop` as its first event arrives, and checks
   * that at most the rest of the page under way went out once `stop` was stored.
   */
  async function stoppedMidCatchUp(p: P, type: string, opts: { query?: string; token?: string; stop: () => Promise<number>; code: number; notice: string }) {
    const backlog = await stored(12 * PAGE, type, `org-${type}`);
    const sent = eventsSent();
    let stopped: Promise<number> | undefined;
    const l = await connect(p, `eventTypes=${type}&after=${backlog.before}${opts.query ?? ""}`, {
      token: opts.token,
      acked: true,
      onMessage: (m) => {
        if (m.type === "event") stopped ??= opts.stop().then((status) => (expect(status).toBe(204), sent().length));
      },
    });
    expect(await l.closed).toBe(opts.code);
    const sentByThen = await stopped!;
    expect(l.messages.some((m) => m.type === "notice" && m.code === opts.notice)).toBe(true);
    expect(sent().length - sentByThen).toBeLessThanOrEqual(PAGE);
    expect(sent()).toEqual(backlog.ids.slice(0, sent().length));
    expect(l.events().map((e) => e.id)).toEqual(sent());
  }

  it("stops a catch-up before its next page once its token is revoked", async () => {
    const p = pipeline();
    const made = await p.api("POST", "/v1/tokens", { name: `listen-${uniqueKey()}`, scopes: ["events:read", "read_messages"] });
    expect(made.status).toBe(201);
    const revoke = async () => (await p.api("DELETE", `/v1/tokens/${made.json.id}`)).status;
    await stoppedMidCatchUp(p, `backlog.${uniqueKey()}`, { token: made.json.token, stop: revoke, code: 4401, notice: "token_revoked" });
  }, 30_000);

  it("stops a catch-up as a webhook before its next page once the webhook is deleted", async () => {
    const p = pipeline();
    const type = `backlog.${uniqueKey()}`;
    const w = await p.createWebhook({ url: `https://downstream.test/ok/${uniqueKey()}`, eventTypes: [type], organizationUid: `org-${type}` });
    const remove = async () => (await p.api("DELETE", `/v1/webhooks/${w.uid}`)).status;
    await stoppedMidCatchUp(p, type, { query: `&webhookUid=${w.uid}`, stop: remove, code: 4404, notice: "webhook_gone" });
  }, 30_000);

  it("closes a socket whose send failed without moving it past the event it did not get, so a resume gets it", async () => {
    const p = pipeline();
    const org = `org-${uniqueKey()}`;
    const type = `sendfail.${uniqueKey()}`;
    const l = await connect(p, `eventTypes=${type}`);
    // The hub's second event to this socket fails to go out, as on a socket closing under it.
    await runInDurableObject(hubOf(p.env), (_, state) => {
      const ws = state.getWebSockets().find((w) => (w.deserializeAttachment() as { id: string }).id === l.hello.listenerId)!;
      const real = ws.send.bind(ws);
      let events = 0;
      ws.send = (m) => {
        if (String(m).includes(`"type":"event"`) && ++events === 2) throw new Error("send failed (test)");
        real(m);
      };
    });
    const { ids, end } = await stored(3, type, org, p);
    // Closed, or (what must not be) sent on past the failure.
    let code: number | undefined;
    void l.closed.then((c) => (code = c));
    await vi.waitFor(() => expect(code !== undefined || l.told() >= end).toBe(true), { timeout: 10_000, interval: 20 });

    expect(code).toBe(1011);
    expect(l.events().map((e) => e.id)).toEqual(ids.slice(0, 1));
    const resumeAfter = l.told();
    expect(resumeAfter).toBeLessThan((await eventSeq(ids[1]!))!);
    const again = await connect(p, `eventTypes=${type}&after=${resumeAfter}`, { acked: true });
    await again.examined(end);
    expect(again.events().map((e) => e.id)).toEqual(ids.slice(1));
  });

  it("keeps what an alarm that throws part-way through a page sent: the next sends each listener the rest, each event once, in order", async () => {
    const p = pipeline();
    const type = `midpage.${uniqueKey()}`;
    const plain = [await connect(p, `eventTypes=${type}`), await connect(p, `eventTypes=${type}`)];
    // One that acks each run as the CLI does (it is sent nothing more until it acks a position).
    let ackFrom: WebSocket | undefined;
    const acking = await connect(p, `eventTypes=${type}&ack=true`, {
      onMessage: (m) => void (m.type === "position" && ackFrom?.send(JSON.stringify({ type: "ack", position: m.position }))),
    });
    ackFrom = acking.ws;
    const listeners = [...plain, acking];
    await pumped(p);
    await runInDurableObject(hubOf(p.env), (_, state) => state.storage.deleteAlarm());
    const { ids, end } = await stored(10, type, `org-${type}`);
    // Signing the fifth event for its second listener fails (the Standard Webhooks signature covers the event's id).
    let signings = 0;
    const sign = crypto.subtle.sign.bind(crypto.subtle);
    vi.spyOn(crypto.subtle, "sign").mockImplementation((algorithm, key, data) => {
      if (new TextDecoder().decode(data as Uint8Array).includes(ids[4]!) && ++signings === 2) throw new Error("signing failed (test)");
      return sign(algorithm, key, data);
    });
    const saved = await runInDurableObject(hubOf(p.env), async (hub: ListenerHub, state) => {
      await expect(hub.alarm()).rejects.toThrow("signing failed (test)");
      return new Map(state.getWebSockets().map((ws) => [(ws.deserializeAttachment() as { id: string }).id, (ws.deserializeAttachment() as { position: number }).position]));
    });
    vi.mocked(crypto.subtle.sign).mockRestore();
    // Each kept as far as it was sent: the first listener the fifth event, the others the fourth.
    const sentBefore = await Promise.all(
      listeners.map(async (l) => {
        const position = saved.get(l.hello.listenerId)!;
        await l.examined(position);
        expect(l.events().at(-1)!.position).toBe(position);
        return l.events().length;
      }),
    );
    expect(sentBefore.sort()).toEqual([4, 4, 5]);

    await runInDurableObject(hubOf(p.env), (hub: ListenerHub) => hub.alarm());
    for (const l of listeners) {
      await l.examined(end);
      expect(l.events().map((e) => e.id)).toEqual(ids);
    }
  });

  it("keeps an alarm set while a run read (events stored, an ack) rather than putting it off to the later catch-up", async () => {
    const p = pipeline();
    await connect(p);
    await pumped(p);
    await runInDurableObject(hubOf(p.env), async (hub: ListenerHub, state) => {
      await state.storage.deleteAlarm();
      const catchUpAt = Date.now() + 60_000;
      await state.storage.put("catchUpAt", catchUpAt);
      // Events stored while the run reads: the hub is told, and sets its alarm at once.
      const run = hub as unknown as { pump(): Promise<boolean> };
      vi.spyOn(run, "pump").mockImplementation(async () => (await hub.eventsStored(), false));
      await hub.alarm();
      expect(await state.storage.getAlarm()).toBeLessThan(catchUpAt);
      expect(await state.storage.get("catchUpAt")).toBe(catchUpAt);
    });
  });

  it("closes a socket whose acceptance failed part-way, and it takes no place of its token's", async () => {
    const p = pipeline();
    const token = await makeToken(p, ["events:read"]);
    // The first write of its acceptance (its configuration) fails.
    await runInDurableObject(hubOf(p.env), (_, state) => void vi.spyOn(state.storage, "put").mockRejectedValueOnce(new Error("storage failed (test)")));
    vi.spyOn(console, "error").mockImplementation(() => {});
    expect((await listenResponse(p, "", { token })).status).toBe(500);
    vi.restoreAllMocks();
    // Both ends closed: nothing of it holds the hub (the runtime refuses to evict an object a socket still holds).
    await evictDurableObject(hubOf(p.env), { webSockets: "close" });
    for (let i = 0; i < SOCKETS_PER_TOKEN; i++) expect((await tryConnect(p, "", token)).status, `socket ${i + 1}`).toBe(101);
  });

  it("closes an open socket it has no configuration of, rather than passing it over at each run", async () => {
    const p = pipeline();
    const l = await connect(p);
    await pumped(p);
    await runInDurableObject(hubOf(p.env), async (_, state) => {
      await state.storage.delete(`listener:${l.hello.listenerId}`);
      // Woken from hibernation: what it knew in memory is gone.
      await new ListenerHub(state, p.env).alarm();
      // Counted toward no cap from then on, though its close may go unanswered.
      const left = state.getWebSockets().filter((ws) => {
        const at: unknown = ws.deserializeAttachment();
        return typeof at === "object" && at !== null && "id" in at && at.id === l.hello.listenerId;
      });
      expect(left.map((ws): unknown => ws.deserializeAttachment())).toEqual([expect.objectContaining({ swept: true })]);
    });
    let code: number | undefined;
    void l.closed.then((c) => (code = c));
    await vi.waitFor(() => expect(code).toBe(1011), { timeout: 5_000, interval: 20 });
  });

  it("drops a stored catch-up time that is no number at its alarm, rather than setting the alarm from it", async () => {
    const p = pipeline();
    await runInDurableObject(hubOf(p.env), async (hub: ListenerHub, state) => {
      await state.storage.deleteAlarm();
      await state.storage.put("catchUpAt", String(Date.now() + 60_000));
      await hub.alarm();
      expect(await state.storage.get("catchUpAt")).toBeUndefined();
      expect(await state.storage.getAlarm()).toBeNull();
    });
  });

  it("closes a socket that sends anything but ping", async () => {
    const p = pipeline();
    const l = await connect(p, "");
    l.ws.send("ping");
    await vi.waitFor(() => expect(l.pongs()).toBe(1), { timeout: 5_000 });
    const id = await p.ingest(body("message.received", `org-${uniqueKey()}`)); // still served after its ping
    await l.examined(await positionOf(p, id));
    l.ws.send("subscribe everything");
    expect(await l.closed).toBe(1008);
    expect(l.messages.some((m) => m.type === "notice" && m.code === "unexpected_message")).toBe(true);
  });
});

describe("announcements", () => {
  /** A hub stand-in that counts calls and says how many listen. */
  function countingHub(counts: { events: number; attempts: number }, fail = false) {
    const calls = { events: 0 };
    const namespace = fakeNamespace<ListenerHub>(() => ({
      async eventsStored() {
        calls.events++;
        if (fail) throw new Error("hub unavailable (test)");
        return counts;
      },
    }));
    return { namespace, calls };
  }

  it("cost one call, then none while the isolate knows nobody listens, until a listener connects here", async () => {
    const hub = countingHub({ events: 0, attempts: 0 });
    const p = pipeline({ LISTENERS: hub.namespace });
    listenerConnected();
    await p.ingest();
    await p.ingest();
    await p.ingest();
    expect(hub.calls.events).toBe(1);
    listenerConnected();
    await p.ingest();
    expect(hub.calls.events).toBe(2);
  });

  it("are quiet from when the hub was asked, not from its late answer: quiet no longer than a listener connecting meanwhile waits for its catch-up", async () => {
    const asked = Date.now();
    const calls = { events: 0 };
    // A slow hub: it counted nobody at once, and its answer came most of CALL_TIMEOUT_MS later.
    const namespace = fakeNamespace<ListenerHub>(() => ({
      async eventsStored() {
        if (++calls.events === 1) vi.spyOn(Date, "now").mockReturnValue(asked + 900);
        return { events: 0, attempts: 0 };
      },
    }));
    const p = pipeline({ LISTENERS: namespace });
    listenerConnected();
    await p.ingest();
    expect(calls.events).toBe(1);
    // A listener that connected as the hub counted gets its catch-up QUIET_MS + 500 ms later: a batch
    // stored before then is caught up, so one stored after the quiet must be announced again.
    vi.spyOn(Date, "now").mockReturnValue(asked + QUIET_MS + 100);
    await p.ingest();
    expect(calls.events).toBe(2);
  });

  it("never fail the ingest: a failing hub is logged and the events are stored and acked", async () => {
    const hub = countingHub({ events: 1, attempts: 0 }, true);
    const p = pipeline({ LISTENERS: hub.namespace });
    listenerConnected();
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const { eventId, acked, retried } = await p.ingestWithResult();
    expect(hub.calls.events).toBe(1);
    expect(acked).toHaveLength(1);
    expect(retried).toHaveLength(0);
    expect(await eventStored(eventId)).toBe(true);
    expect(errors.mock.calls.some((c) => String(c[0]).includes("announcing to listeners failed"))).toBe(true);
    errors.mockRestore();
  });
});
