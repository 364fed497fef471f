import { sign as githubSign } from "@octokit/webhooks-methods";
import Stripe from "stripe";
import { describe, expect, it } from "vitest";
import { env } from "cloudflare:workers";
import { sha256Hex } from "../../src/domain/crypto";
import { eventIdFor } from "../../src/domain/ids";
import type { HmacConfig } from "../../src/domain/hmac-config";
import { hmacScheme } from "../../src/schemes/hmac";
import { getSource } from "../../src/store/sources";
import { shopify } from "../../src/schemes/shopify";
import { slack } from "../../src/schemes/slack";
import { call, createSource, post, recordingQueue, type Answered, type RecordingQueue } from "./helpers";

const nowS = () => Math.floor(Date.now() / 1000);

async function send(source: string, body: string, headers: Record<string, string>): Promise<Answered<"POST", "/webhooks/{sourceId}"> & { queued: RecordingQueue["sent"] }> {
  const queue = recordingQueue();
  const res = await call(post(`/webhooks/${source}`, body, { "content-type": "application/json", ...headers }), { INGEST: queue });
  return { status: res.status, json: await res.json(), queued: queue.sent };
}

describe("stripe (signed with the stripe package)", () => {
  const secret = "whsec_test_stripe_secret_value";
  const body = JSON.stringify({ id: "evt_1Stripe", object: "event", type: "payment_intent.succeeded", account: "acct_9", data: { object: {} } });
  const header = (payload: string, timestamp = nowS(), s = secret) =>
    Stripe.webhooks.generateTestHeaderStringAsync({ payload, secret: s, timestamp, cryptoProvider: Stripe.createSubtleCryptoProvider() });

  it("takes the secret of the API reference's example source (published on every /docs) only at a loopback host, saying so elsewhere", async () => {
    const doc = (await (await call(new Request("https://edgehook.test/openapi.json"))).json()) as { components: { schemas: { SourceCreate: { example: { secrets: string[] } } } } };
    const [published] = doc.components.schemas.SourceCreate.example.secrets;
    const source = await createSource({ provider: "stripe", secrets: [published!] });
    const at = async (origin: string) => {
      const res = await call(new Request(`${origin}/webhooks/${source}`, { method: "POST", body, headers: { "content-type": "application/json", "stripe-signature": await header(body, nowS(), published) } }), {
        INGEST: recordingQueue(),
      });
      return { status: res.status, message: ((await res.json()) as { error?: { message: string } }).error?.message };
    };
    expect((await at("http://127.0.0.1:8787")).status).toBe(202);
    const refused = await at("https://hooks.example.org");
    expect(refused.status).toBe(401);
    expect(refused.message).toContain("published example's (.dev.vars.example, the API reference), which verifies only requests to localhost or 127.0.0.1, not to hooks.example.org");
  });

  it("accepts a request signed by stripe's generateTestHeaderString, reading type, id and account", async () => {
    const source = await createSource({ provider: "stripe", secrets: [secret] });
    const r = await send(source, body, { "stripe-signature": await header(body) });
    expect(r.status).toBe(202);
    expect(r.json.eventId).toBe(await eventIdFor((await getSource(env.DB, source, 300))!, { given: "evt_1Stripe" }));
    expect(r.queued[0]).toMatchObject({ eventType: "payment_intent.succeeded", dedupeKey: "evt_1Stripe", organizationUid: "acct_9" });
  });

  it("accepts any of several v1 signatures, and refuses wrong, stale or missing ones", async () => {
    const source = await createSource({ provider: "stripe", secrets: [secret] });
    const t = nowS();
    const good = (await header(body, t)).split(",").find((p) => p.startsWith("v1="))!;
    const other = (await header(body, t, "whsec_other")).split(",").find((p) => p.startsWith("v1="))!;
    expect((await send(source, body, { "stripe-signature": `t=${t},${other},${good}` })).status).toBe(202);
    expect((await send(source, body, { "stripe-signature": `t=${t},${other}` })).json.error.code).toBe("invalid_signature");
    expect((await send(source, body, { "stripe-signature": await header(body, t - 600) })).json.error.code).toBe("timestamp_out_of_tolerance");
    expect((await send(source, body, {})).json.error.code).toBe("missing_signature");
    expect((await send(source, body, { "stripe-signature": good })).json.error.code).toBe("invalid_signature");
    // Spaced after its comma, as stripe-node's parseHeader reads it: ` v1=` is no v1.
    expect((await send(source, body, { "stripe-signature": `t=${t}, ${good}` })).json.error.code).toBe("invalid_signature");
  });

  it("accepts a timestamp ahead of the clock, as stripe-node does (it refuses only one older than the tolerance)", async () => {
    const source = await createSource({ provider: "stripe", secrets: [secret] });
    const ahead = await header(body, nowS() + 400);
    await Stripe.webhooks.constructEventAsync(body, ahead, secret, 300, Stripe.createSubtleCryptoProvider());
    expect((await send(source, body, { "stripe-signature": ahead })).status).toBe(202);
  });
});

describe("github (signed with @octokit/webhooks-methods)", () => {
  const secret = "github-webhook-secret";

  it("types events as X-GitHub-Event.action, dedupes on the signed body's hash, and stores pings", async () => {
    const source = await createSource({ provider: "github", secrets: [secret] });
    const body = JSON.stringify({ action: "opened", repository: { full_name: "acme/api" }, organization: { login: "acme" } });
    const r = await send(source, body, {
      "x-hub-signature-256": await githubSign(secret, body),
      "x-github-event": "pull_request",
      "x-github-delivery": "d-123",
    });
    expect(r.status).toBe(202);
    expect(r.queued[0]).toMatchObject({ eventType: "pull_request.opened", dedupeKey: await sha256Hex(body), locationUid: "acme/api", organizationUid: "acme" });

    const ping = JSON.stringify({ zen: "Keep it logically awesome.", hook_id: 1 });
    const p = await send(source, ping, { "x-hub-signature-256": await githubSign(secret, ping), "x-github-event": "ping", "x-github-delivery": "d-ping" });
    expect(p.status).toBe(202);
    expect(p.queued[0]?.eventType).toBe("ping");
  });

  it("stores an event without X-GitHub-Event as `unknown`, its body's action not appended", async () => {
    const source = await createSource({ provider: "github", secrets: [secret] });
    const body = JSON.stringify({ action: "opened", repository: { full_name: "acme/site" } });
    const r = await send(source, body, { "x-hub-signature-256": await githubSign(secret, body) });
    expect(r.status).toBe(202);
    expect(r.queued[0]).toMatchObject({ eventType: "unknown", locationUid: "acme/site" });
  });

  it("refuses a wrong or missing signature", async () => {
    const source = await createSource({ provider: "github", secrets: [secret] });
    const body = JSON.stringify({ action: "opened" });
    expect((await send(source, body, { "x-hub-signature-256": await githubSign("other", body) })).json.error.code).toBe("invalid_signature");
    expect((await send(source, body, { "x-hub-signature-256": "deadbeef" })).json.error.code).toBe("invalid_signature");
    expect((await send(source, body, {})).json.error.code).toBe("missing_signature");
  });

  it("refuses a delivery sent with GitHub's default form content type, saying which setting to change", async () => {
    const source = await createSource({ provider: "github", secrets: [secret] });
    const body = `payload=${encodeURIComponent(JSON.stringify({ zen: "Design for failure.", hook_id: 2 }))}`;
    const r = await send(source, body, {
      "content-type": "application/x-www-form-urlencoded",
      "x-hub-signature-256": await githubSign(secret, body),
      "x-github-event": "ping",
    });
    expect(r.status).toBe(400);
    expect(r.json.error.code).toBe("malformed_payload");
    expect(r.json.error.message).toMatch(/form-encoded.*Content type to application\/json/);
    expect(r.queued).toHaveLength(0);
    // A body that is neither JSON nor a form keeps the plain answer.
    const broken = "{oops";
    const b = await send(source, broken, { "x-hub-signature-256": await githubSign(secret, broken), "x-github-event": "ping" });
    expect(b.json.error.message).toBe("A GitHub webhook body is JSON; this one does not parse.");
  });
});

describe("shopify (signed by the Shopify scheme: base64 HMAC-SHA256 of the body)", () => {
  const secret = "shopify-app-secret";

  it("verifies, types orders/create as orders.create and dedupes on the signed body's hash, with the topic's when the source fixes the shop", async () => {
    const body = JSON.stringify({ id: 820982911946154500, total_price: "10.00" });
    const headers = {
      ...(await shopify.sign(secret, body)),
      "x-shopify-topic": "orders/create",
      "x-shopify-webhook-id": "wh-1",
      "x-shopify-shop-domain": "acme.myshopify.com",
    };
    const unpinned = await send(await createSource({ provider: "shopify", secrets: [secret] }), body, headers);
    expect(unpinned.status).toBe(202);
    expect(unpinned.queued[0]).toMatchObject({ eventType: "orders.create", dedupeKey: await sha256Hex(body), organizationUid: "acme.myshopify.com" });
    const pinned = await send(await createSource({ provider: "shopify", secrets: [secret], shopDomain: "acme.myshopify.com" }), body, headers);
    expect(pinned.status).toBe(202);
    expect(pinned.queued[0]).toMatchObject({ eventType: "orders.create", dedupeKey: await sha256Hex(`orders/create\n${body}`), organizationUid: "acme.myshopify.com" });
  });

  it("refuses a wrong or missing signature", async () => {
    const source = await createSource({ provider: "shopify", secrets: [secret] });
    const body = "{}";
    expect((await send(source, body, await shopify.sign("nope", body))).json.error.code).toBe("invalid_signature");
    expect((await send(source, body, {})).json.error.code).toBe("missing_signature");
  });

  it("takes X-Shopify-Hmac-Sha256 as the one value Shopify sends: another value before the right one is refused", async () => {
    const source = await createSource({ provider: "shopify", secrets: [secret] });
    const body = "{}";
    const good = (await shopify.sign(secret, body))["x-shopify-hmac-sha256"]!;
    const wrong = (await shopify.sign("nope", body))["x-shopify-hmac-sha256"]!;
    expect((await send(source, body, { "x-shopify-hmac-sha256": good })).status).toBe(202);
    for (const value of [`garbage, ${good}`, `${wrong}, ${good}`, `${good}, ${good}`, `${good} ${good}`]) {
      const r = await send(source, body, { "x-shopify-hmac-sha256": value });
      expect(r.json.error?.code, value).toBe("invalid_signature");
      expect(r.queued).toHaveLength(0);
    }
  });
});

describe("slack (signed by the Slack scheme: v0= hex HMAC-SHA256 of v0:ts:body)", () => {
  const secret = "slack-signing-secret";
  const headers = (body: string, ts = nowS(), s = secret) => slack.sign(s, body, { timestamp: String(ts) });

  it("answers a signed url_verification with its challenge, without queueing", async () => {
    const source = await createSource({ provider: "slack", secrets: [secret] });
    const body = JSON.stringify({ token: "x", challenge: "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P", type: "url_verification" });
    const r = await send(source, body, await headers(body));
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ challenge: "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" });
    expect(r.queued).toHaveLength(0);
    // Unsigned, the handshake is refused like anything else.
    expect((await send(source, body, {})).status).toBe(401);
  });

  it("refuses a signed url_verification without a string challenge (400), queueing nothing", async () => {
    const source = await createSource({ provider: "slack", secrets: [secret] });
    for (const body of [JSON.stringify({ type: "url_verification" }), JSON.stringify({ type: "url_verification", challenge: { a: 1 } })]) {
      const r = await send(source, body, await headers(body));
      expect(r.status).toBe(400);
      expect(r.json.error.code).toBe("malformed_payload");
      expect(r.json.error.message).toMatch(/challenge/);
      expect(r.queued).toHaveLength(0);
    }
  });

  it("queues event callbacks typed by event.type and deduped by event_id", async () => {
    const source = await createSource({ provider: "slack", secrets: [secret] });
    const body = JSON.stringify({ type: "event_callback", team_id: "T1", event_id: "Ev1", event: { type: "app_mention", channel: "C1" } });
    const r = await send(source, body, await headers(body));
    expect(r.status).toBe(202);
    expect(r.queued[0]).toMatchObject({ eventType: "app_mention", dedupeKey: "Ev1", organizationUid: "T1", locationUid: "C1" });
  });

  it("refuses stale timestamps, wrong and missing signatures", async () => {
    const source = await createSource({ provider: "slack", secrets: [secret] });
    const body = JSON.stringify({ type: "event_callback", event_id: "Ev2", event: { type: "message" } });
    expect((await send(source, body, await headers(body, nowS() - 600))).json.error.code).toBe("timestamp_out_of_tolerance");
    expect((await send(source, body, await headers(body, nowS(), "wrong"))).json.error.code).toBe("invalid_signature");
    expect((await send(source, body, {})).json.error.code).toBe("missing_signature");
  });

  it("refuses a signed slash command (a form) saying that only the Events API is received, queueing nothing", async () => {
    const source = await createSource({ provider: "slack", secrets: [secret] });
    const body = "token=x&team_id=T1&command=%2Fweather&text=94070&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2F1";
    const r = await send(source, body, { "content-type": "application/x-www-form-urlencoded", ...(await headers(body)) });
    expect(r.status).toBe(400);
    expect(r.json.error.code).toBe("malformed_payload");
    expect(r.json.error.message).toMatch(/form-encoded.*slash commands.*Events API/);
    expect(r.queued).toHaveLength(0);
  });
});

describe("generic hmac (configured per source)", () => {
  it.each([
    ["SHA-256", "hex", "sha256="],
    ["SHA-1", "hex", ""],
    ["SHA-512", "base64", ""],
  ] as const)("verifies %s %s signatures with prefix %j", async (algorithm, encoding, prefix) => {
    const hmac: HmacConfig = { header: "x-sig", algorithm, encoding, prefix, timestampHeader: null, typePath: "kind", dedupePath: "meta.id" };
    const source = await createSource({ provider: "hmac", secrets: ["generic-secret"], hmac });
    const body = JSON.stringify({ kind: "thing.happened", meta: { id: "m-1" } });
    const r = await send(source, body, await hmacScheme(hmac).sign("generic-secret", body));
    expect(r.status).toBe(202);
    expect(r.queued[0]).toMatchObject({ eventType: "thing.happened", dedupeKey: "m-1" });
    expect((await send(source, body, await hmacScheme(hmac).sign("wrong", body))).status).toBe(401);
    expect((await send(source, body, {})).json.error.code).toBe("missing_signature");
  });

  it("takes a numeric id as the dedupe key only while it is exact: larger ones fall back to the body's hash", async () => {
    const hmac: HmacConfig = { header: "x-sig", algorithm: "SHA-256", encoding: "hex", prefix: "", timestampHeader: null, typePath: null, dedupePath: "id" };
    const source = await createSource({ provider: "hmac", secrets: ["generic-secret"], hmac });
    const sent = async (body: string) => (await send(source, body, await hmacScheme(hmac).sign("generic-secret", body))).queued[0];
    expect(await sent('{"id":42}')).toMatchObject({ dedupeKey: "42" });
    // Two ids JSON.parse reads as the same number: two events, not one.
    const [a, b] = [await sent('{"id":1234567890123456789}'), await sent('{"id":1234567890123456790}')];
    expect(a?.eventId).not.toBe(b?.eventId);
    expect(a?.dedupeKey).not.toBe("1234567890123456800");
  });

  it("signs timestamp and body together when a timestamp header is configured", async () => {
    const hmac: HmacConfig = { header: "x-sig", algorithm: "SHA-256", encoding: "hex", prefix: "", timestampHeader: "x-ts", typePath: null, dedupePath: null };
    const source = await createSource({ provider: "hmac", secrets: ["ts-secret"], hmac });
    const body = "plain text is fine too";
    const sign = (timestamp: string) => hmacScheme(hmac).sign("ts-secret", body, { timestamp });
    const r = await send(source, body, await sign(String(nowS())));
    expect(r.status).toBe(202);
    expect(r.queued[0]?.eventType).toBe("unknown");
    expect((await send(source, body, await sign(String(nowS() - 3600)))).json.error.code).toBe("timestamp_out_of_tolerance");
    const { "x-ts": _, ...withoutTimestamp } = await sign(String(nowS()));
    expect((await send(source, body, withoutTimestamp)).json.error.code).toBe("missing_signature");
  });
});

describe("sources of every provider through the API", () => {
  it("creates one of each, with hmac requiring its configuration", async () => {
    const { pipeline } = await import("./pipeline");
    const p = pipeline();
    for (const provider of ["podium", "standard-webhooks", "stripe", "github", "shopify", "slack"]) {
      const res = await p.api("POST", "/v1/sources", { name: provider, provider, secrets: ["a-long-secret"] });
      expect(res.status).toBe(201);
      expect(res.json.provider).toBe(provider);
    }
    expect((await p.api("POST", "/v1/sources", { name: "h", provider: "hmac", secrets: ["a-long-secret"] })).status).toBe(400);
    const h = await p.api("POST", "/v1/sources", { name: "h", provider: "hmac", secrets: ["a-long-secret"], hmac: { header: "X-Sig" } });
    expect(h.status).toBe(201);
    expect(h.json.hmac).toEqual({ header: "x-sig", algorithm: "SHA-256", encoding: "hex", prefix: "", timestampHeader: null, typePath: null, dedupePath: null });
    expect((await p.api("POST", "/v1/sources", { name: "x", provider: "github", secrets: ["a-long-secret"], hmac: { header: "x" } })).status).toBe(400);
  });
});
