// Edges of the ack path where an event could be refused or stored wrong: a header that names
// one thing sent twice, a configured signature prefix written in another case, a byte order mark.
import { sign as githubSign } from "@octokit/webhooks-methods";
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { bytesToBase64 } from "../../src/domain/crypto";
import type { RejectionsMessage } from "../../src/domain/types";
import type { HmacConfig } from "../../src/domain/hmac-config";
import { hmacScheme } from "../../src/schemes/hmac";
import { shopify } from "../../src/schemes/shopify";
import { slack } from "../../src/schemes/slack";
import { call, createSource, podiumBody, recordingQueue } from "./helpers";
import { pipeline, received } from "./pipeline";

interface Answer {
  status: number;
  json: { eventId?: string; error?: { code: string; message: string; details?: unknown } };
  queued: { eventType: string; dedupeKey: string; organizationUid?: string | null; body?: string }[];
  refused: RejectionsMessage[];
}

async function send(source: string, body: string, headers: Headers): Promise<Answer> {
  const ingest = recordingQueue();
  const rejections = recordingQueue<RejectionsMessage>();
  const res = await call(new Request(`https://edgehook.test/webhooks/${source}`, { method: "POST", body, headers }), {
    INGEST: ingest,
    REJECTIONS: rejections,
    REJECTIONS_FLUSH_MS: "0",
  });
  return { status: res.status, json: (await res.json()) as Answer["json"], queued: ingest.sent, refused: rejections.sent };
}

/** Headers with `name` sent twice, as `first` and then `second`. */
function twice(headers: Record<string, string>, name: string, first: string, second: string): Headers {
  const h = new Headers(headers);
  h.set(name, first);
  h.append(name, second);
  return h;
}

/** A request refused 400 malformed_payload naming the header, nothing queued, the refusal in the source's log. */
function expectRepeatedRefused(r: Answer, source: string, header: string) {
  expect(r.status).toBe(400);
  expect(r.json.error).toMatchObject({
    code: "malformed_payload",
    message: expect.stringContaining(`${header} was sent more than once`),
    details: { issues: [{ path: `headers.${header}`, message: expect.any(String) }] },
  });
  expect(r.queued).toEqual([]);
  expect(r.refused.flatMap((m) => m.counts)).toEqual([{ sourceId: source, reason: "malformed_payload", count: 1, lastAt: expect.any(Number), sourceCreatedAt: expect.any(Number) }]);
}

describe("a header Edgehook reads one value from (an event's type, id, shop or timestamp), sent more than once", () => {
  it("GitHub: X-GitHub-Event twice is refused 400, logged, not stored as the type \"ping, push\"", async () => {
    const secret = "github-webhook-secret";
    const source = await createSource({ provider: "github", secrets: [secret] });
    const body = JSON.stringify({ zen: "Keep it logically awesome.", hook_id: 1 });
    const signed = { "content-type": "application/json", "x-hub-signature-256": await githubSign(secret, body), "x-github-delivery": "d-1" };
    expectRepeatedRefused(await send(source, body, twice(signed, "x-github-event", "ping", "push")), source, "x-github-event");
    // The same value twice is no better: still two copies.
    expectRepeatedRefused(await send(source, body, twice(signed, "x-github-event", "ping", "ping")), source, "x-github-event");
    // Sent once, it is the type.
    const once = await send(source, body, new Headers({ ...signed, "x-github-event": "ping" }));
    expect(once.status).toBe(202);
    expect(once.queued.map((m) => m.eventType)).toEqual(["ping"]);
  });

  it("Shopify: the topic and the shop domain", async () => {
    const secret = "shopify-app-secret";
    const source = await createSource({ provider: "shopify", secrets: [secret] });
    const body = JSON.stringify({ id: 1 });
    const signed = { ...(await shopify.sign(secret, body)), "x-shopify-topic": "orders/create", "x-shopify-shop-domain": "acme.myshopify.com" };
    expectRepeatedRefused(await send(source, body, twice(signed, "x-shopify-topic", "orders/create", "orders/paid")), source, "x-shopify-topic");
    // The shop is the event's organization: "acme…, evil…" is no organization.
    expectRepeatedRefused(
      await send(source, body, twice(signed, "x-shopify-shop-domain", "acme.myshopify.com", "evil.myshopify.com")),
      source,
      "x-shopify-shop-domain",
    );
    const once = await send(source, body, new Headers(signed));
    expect(once.status).toBe(202);
    expect(once.queued).toMatchObject([{ eventType: "orders.create", organizationUid: "acme.myshopify.com" }]);
  });

  it("Standard Webhooks: webhook-id (the dedupe key) may hold a comma; a second copy is not what was signed", async () => {
    // The spec asks only that an id hold no "."; the signature covers the id, so a comma of its own
    // passes and a second copy (read as the copies joined) is refused as not signed, never stored.
    const secret = `whsec_${bytesToBase64(crypto.getRandomValues(new Uint8Array(32)))}`;
    const signedSource = await createSource({ provider: "standard-webhooks", secrets: [secret] });
    const openSource = await createSource({ provider: "standard-webhooks", secrets: ["unused-secret"], verification: "none" });
    const body = JSON.stringify({ type: "invoice.paid", data: {} });
    const now = new Date();
    const timestamp = String(Math.floor(now.getTime() / 1000));
    const signedAs = (id: string) => ({ "webhook-id": id, "webhook-timestamp": timestamp, "webhook-signature": new Webhook(secret).sign(id, now, body) });

    const doubled = await send(signedSource, body, twice(signedAs("msg_1"), "webhook-id", "msg_1", "msg_2"));
    expect(doubled.status).toBe(401);
    expect(doubled.json.error?.code).toBe("invalid_signature");
    expect(doubled.queued).toEqual([]);

    for (const id of ["order_7,created", "msg_1, part 2"]) {
      // The sender's own verifier takes it: a valid event.
      expect(new Webhook(secret).verify(body, signedAs(id))).toMatchObject({ type: "invoice.paid" });
      const signed = await send(signedSource, body, new Headers(signedAs(id)));
      expect(signed.status, id).toBe(202);
      expect(signed.queued.map((m) => m.dedupeKey)).toEqual([id]);
      const open = await send(openSource, body, new Headers(signedAs(id)));
      expect(open.status, id).toBe(202);
      expect(open.queued.map((m) => m.dedupeKey)).toEqual([id]);
    }
  });

  it("a scheme's timestamp header (Slack's, an hmac source's) twice is refused the same way", async () => {
    const secret = "slack-signing-secret";
    const source = await createSource({ provider: "slack", secrets: [secret] });
    const body = JSON.stringify({ type: "event_callback", event_id: "Ev1", event: { type: "app_mention" } });
    const signed = await slack.sign(secret, body);
    const ts = signed["x-slack-request-timestamp"]!;
    expectRepeatedRefused(await send(source, body, twice(signed, "x-slack-request-timestamp", ts, ts)), source, "x-slack-request-timestamp");
  });
});

describe("an hmac source's prefix", () => {
  const config: HmacConfig = { header: "x-signature", algorithm: "SHA-256", encoding: "hex", prefix: "sha256=", timestampHeader: null, typePath: "type", dedupePath: "id" };

  it("is matched in any case (a label, not a secret), while the MAC itself must still be right", async () => {
    const secret = "hmac-source-secret";
    const source = await createSource({ provider: "hmac", secrets: [secret], hmac: config });
    const body = JSON.stringify({ type: "order.created", id: "o-1" });
    const mac = (await hmacScheme(config).sign(secret, body))["x-signature"]!.slice("sha256=".length);
    for (const prefix of ["sha256=", "SHA256=", "Sha256="]) {
      const r = await send(source, body, new Headers({ "x-signature": `${prefix}${mac}` }));
      expect(r.status, prefix).toBe(202);
    }
    // Configured in upper case, the sender's lower case passes too.
    const upper = await createSource({ provider: "hmac", secrets: [secret], hmac: { ...config, prefix: "SHA256=" } });
    expect((await send(upper, body, new Headers({ "x-signature": `sha256=${mac}` }))).status).toBe(202);
    // Not weaker: a wrong MAC, another prefix or none are refused as before.
    const wrong = mac.replace(/^./, (c) => (c === "0" ? "1" : "0"));
    for (const value of [`SHA256=${wrong}`, `sha1=${mac}`, mac, `sha256 ${mac}`]) {
      const r = await send(source, body, new Headers({ "x-signature": value }));
      expect(r.status, value).toBe(401);
      expect(r.queued).toEqual([]);
    }
  });
});

describe("an hmac source whose signature header is one stored with every event (made before that was refused)", () => {
  it("verifies with it and never stores it: the event keeps its other headers, not its signature", async () => {
    const p = pipeline();
    const secret = "hmac-source-secret";
    const body = JSON.stringify({ type: "order.created", id: `o-${crypto.randomUUID()}` });
    for (const header of ["user-agent", "content-type"]) {
      const config: HmacConfig = { header, algorithm: "SHA-256", encoding: "hex", prefix: "", timestampHeader: "x-ts", typePath: "type", dedupePath: "id" };
      expect((await p.api("POST", "/v1/sources", { name: "h", provider: "hmac", secrets: [secret], hmac: config })).status, header).toBe(400);
      const source = await createSource({ provider: "hmac", secrets: [secret], hmac: config }); // stored as before the rule
      const signed = await hmacScheme(config).sign(secret, body);
      const other: Record<string, string> = header === "user-agent" ? { "content-type": "application/json" } : { "user-agent": "sender/1" };
      const queue = recordingQueue();
      const res = await call(new Request(`https://edgehook.test/webhooks/${source}`, { method: "POST", body, headers: { ...signed, ...other } }), { INGEST: queue });
      expect(res.status, header).toBe(202);
      await p.runIngest(queue.sent);
      const stored = await p.api("GET", `/v1/events/${queue.sent[0]!.eventId}`);
      expect(stored.json.headers, header).toEqual({ ...other, "x-ts": signed["x-ts"] });
    }
  });
});

describe("a JSON body led by a byte order mark (RFC 8259 lets a parser ignore it; some senders write one)", () => {
  const BOM = "\ufeff";

  it("is read as JSON for its facts and stored byte for byte, BOM and all", async () => {
    const secret = "github-webhook-secret";
    const source = await createSource({ provider: "github", secrets: [secret] });
    const body = `${BOM}${JSON.stringify({ action: "opened", repository: { full_name: "acme/api" } })}`;
    const r = await send(source, body, new Headers({ "x-hub-signature-256": await githubSign(secret, body), "x-github-event": "issues" }));
    expect(r.status).toBe(202);
    expect(r.queued).toMatchObject([{ eventType: "issues.opened", body }]);

    const config: HmacConfig = { header: "x-signature", algorithm: "SHA-256", encoding: "hex", prefix: "", timestampHeader: null, typePath: "type", dedupePath: "id" };
    const hmacSource = await createSource({ provider: "hmac", secrets: [secret], hmac: config });
    const json = `${BOM}${JSON.stringify({ type: "order.created", id: "o-7" })}`;
    const h = await send(hmacSource, json, new Headers(await hmacScheme(config).sign(secret, json)));
    expect(h.status).toBe(202);
    expect(h.queued).toMatchObject([{ eventType: "order.created", dedupeKey: "o-7", body: json }]);
  });

  it("is matched by a webhook's filter on its fields", async () => {
    const p = pipeline();
    const { key, org } = await p.webhookOn("ok", { filter: { body: { "data.body": "hello" } } });
    const body = `${BOM}${podiumBody({ organizationUid: org })}`;
    const id = await p.ingest(body);
    expect((await p.api("GET", `/v1/events/${id}`)).json.body).toBe(body);
    await p.deliver();
    expect(await received(key)).toHaveLength(1);
  });
});
