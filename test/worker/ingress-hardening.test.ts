// The ack path against hostile senders: replayed requests with other unsigned
// headers, CPU-costly signature headers, endless bodies, weak keys, guessing,
// and credential headers that must not be stored.
import { sign as githubSign } from "@octokit/webhooks-methods";
import { env } from "cloudflare:workers";
import Stripe from "stripe";
import { Webhook } from "standardwebhooks";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ALERT_SOURCE } from "../../src/domain/alerts";
import { bytesToBase64, concatBytes, utf8 } from "../../src/domain/crypto";
import { MAX_EVENT_TYPE_CHARS } from "../../src/domain/event-types";
import { MAX_DEDUPE_KEY_CHARS, MAX_OWNER_UID_CHARS } from "../../src/domain/facts";
import { sha256Hex } from "../../src/domain/crypto";
import type { HmacConfig } from "../../src/domain/hmac-config";
import { eventIdFor } from "../../src/domain/ids";
import { configSources } from "../../src/ingress/sources";
import { hmacScheme } from "../../src/schemes/hmac";
import { podium } from "../../src/schemes/podium";
import { shopify } from "../../src/schemes/shopify";
import { stripe } from "../../src/schemes/stripe";
import { d1Double } from "./d1-double";
import { ADMIN, call, clientAddress, createSource, failUntilLimited, ingestMessage, podiumBody, podiumHeaders, recordingQueue, testEnv, type Answered, type RecordingQueue } from "./helpers";
import { pipeline, received, uniqueKey, webhookSetup } from "./pipeline";
import { eventsOfSource } from "./rows";

const enc = new TextEncoder();
const nowS = () => Math.floor(Date.now() / 1000);
const goodWhsec = () => `whsec_${bytesToBase64(crypto.getRandomValues(new Uint8Array(32)))}`;

async function send(path: string, body: string | ReadableStream, headers: Record<string, string>, overrides = {}): Promise<Answered<"POST", "/webhooks/{sourceId}"> & { headers: Headers; queued: RecordingQueue["sent"] }> {
  const queue = recordingQueue();
  const res = await call(new Request(`https://edgehook.test${path}`, { method: "POST", body, headers }), {
    INGEST: queue,
    ...overrides,
  });
  return { status: res.status, headers: res.headers, json: await res.json(), queued: queue.sent };
}

afterEach(() => vi.restoreAllMocks());

describe("unsigned delivery ids cannot make a new event (GitHub, Shopify); Shopify's topic can, for a shop the source fixes", () => {
  it("GitHub: a captured request re-sent with another event name and delivery id lands on the same event", async () => {
    const secret = "github-webhook-secret";
    const source = await createSource({ provider: "github", secrets: [secret] });
    const body = JSON.stringify({ action: "opened", repository: { full_name: "acme/api" }, organization: { login: "acme" } });
    const signature = await githubSign(secret, body);
    const p = pipeline();
    const first = await send(`/webhooks/${source}`, body, {
      "x-hub-signature-256": signature,
      "x-github-event": "pull_request",
      "x-github-delivery": "d-1",
    });
    const replayed = await send(`/webhooks/${source}`, body, {
      "x-hub-signature-256": signature,
      "x-github-event": "issues",
      "x-github-delivery": "d-forged",
    });
    expect(first.status).toBe(202);
    expect(replayed.status).toBe(202);
    expect(replayed.json.eventId).toBe(first.json.eventId);
    await p.runIngest([...first.queued, ...replayed.queued]);
    expect((await eventsOfSource(source)).map((r) => r.event_type)).toEqual(["pull_request.opened"]);
  });

  it("Shopify: a source pinned to its shop refuses another shop; re-sent requests land on the same event, another topic is an event of its own", async () => {
    const secret = "shopify-app-secret";
    const p = pipeline();
    const created = await p.api("POST", "/v1/sources", {
      name: "shop",
      provider: "shopify",
      secrets: [secret],
      shopDomain: "acme.myshopify.com",
    });
    expect(created.status).toBe(201);
    expect(created.json.shopDomain).toBe("acme.myshopify.com");
    const source = created.json.id as string;
    const body = JSON.stringify({ id: 820982911946154500, total_price: "10.00" });
    const signed = await shopify.sign(secret, body);
    // One captured signed request, re-sent with other unsigned headers.
    const resend = (topic: string, webhookId: string, shop: string) =>
      send(`/webhooks/${source}`, body, {
        ...signed,
        "x-shopify-topic": topic,
        "x-shopify-webhook-id": webhookId,
        "x-shopify-shop-domain": shop,
      });
    const first = await resend("orders/create", "wh-1", "acme.myshopify.com");
    expect(first.status).toBe(202);
    expect(first.queued[0]).toMatchObject({ eventType: "orders.create", organizationUid: "acme.myshopify.com" });

    const otherShop = await resend("orders/create", "wh-2", "victim.myshopify.com");
    expect(otherShop.status).toBe(401);
    expect(otherShop.json.error.code).toBe("invalid_signature");
    expect(otherShop.json.error.message).toMatch(/acme\.myshopify\.com/);
    expect(otherShop.queued).toHaveLength(0);

    const again = await resend("orders/create", "wh-retried", "acme.myshopify.com");
    expect(again.json.eventId).toBe(first.json.eventId);
    // Shopify sends the same order body under several topics: each is an event.
    const updated = await resend("orders/updated", "wh-3", "acme.myshopify.com");
    expect(updated.status).toBe(202);
    expect(updated.json.eventId).not.toBe(first.json.eventId);
    await p.runIngest([...first.queued, ...again.queued, ...updated.queued]);
    expect(await eventsOfSource(source)).toEqual([
      { event_type: "orders.create", organization_uid: "acme.myshopify.com" },
      { event_type: "orders.updated", organization_uid: "acme.myshopify.com" },
    ]);
  });

  it("Shopify: a source not pinned to a shop takes the shop from the unsigned header, so a re-sent body lands on its event whatever the topic and shop; an owned source keeps topics apart", async () => {
    const secret = "shopify-app-secret";
    const p = pipeline();
    const body = JSON.stringify({ id: 820982911946154600, total_price: "12.00" });
    const signed = await shopify.sign(secret, body);
    const resend = (source: string, topic: string, shop: string) =>
      send(`/webhooks/${source}`, body, { ...signed, "x-shopify-topic": topic, "x-shopify-shop-domain": shop });

    const unpinned = (await p.api("POST", "/v1/sources", { name: "app", provider: "shopify", secrets: [secret] })).json.id as string;
    const first = await resend(unpinned, "orders/create", "acme.myshopify.com");
    expect(first.status).toBe(202);
    // Captured and re-sent as another type for another tenant: the same event.
    const forged = await resend(unpinned, "invoice/payment_succeeded", "org-B");
    expect(forged.status).toBe(202);
    expect(forged.json.eventId).toBe(first.json.eventId);
    await p.runIngest([...first.queued, ...forged.queued]);
    expect(await eventsOfSource(unpinned)).toEqual([{ event_type: "orders.create", organization_uid: "acme.myshopify.com" }]);

    // Owned by an organization: its events are that organization's, so each topic is an event.
    const owned = await p.api("POST", "/v1/sources", { name: "shop", provider: "shopify", secrets: [secret], organizationUid: "org-acme" });
    expect(owned.status).toBe(201);
    const created = await resend(owned.json.id, "orders/create", "acme.myshopify.com");
    const paid = await resend(owned.json.id, "orders/paid", "elsewhere.myshopify.com");
    expect(paid.json.eventId).not.toBe(created.json.eventId);
    await p.runIngest([...created.queued, ...paid.queued]);
    expect(await eventsOfSource(owned.json.id)).toEqual([
      { event_type: "orders.create", organization_uid: "org-acme" },
      { event_type: "orders.paid", organization_uid: "org-acme" },
    ]);
  });

  it("Shopify: a topic header sent twice is refused, not stored as a type joining both", async () => {
    const secret = "shopify-app-secret";
    const source = await createSource({ provider: "shopify", secrets: [secret] });
    const body = JSON.stringify({ id: 1 });
    const headers = new Headers(await shopify.sign(secret, body));
    headers.append("x-shopify-topic", "orders/create");
    headers.append("x-shopify-topic", "orders/paid");
    const queue = recordingQueue();
    const res = await call(new Request(`https://edgehook.test/webhooks/${source}`, { method: "POST", body, headers }), { INGEST: queue });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: "malformed_payload", message: expect.stringMatching(/X-Shopify-Topic/i) });
    expect(queue.sent).toHaveLength(0);
  });

  it("Shopify: the shop domain is validated, settable by PATCH, and only for shopify sources", async () => {
    const p = pipeline();
    expect((await p.api("POST", "/v1/sources", { name: "x", provider: "shopify", secrets: ["a-long-secret"], shopDomain: "not a domain" })).status).toBe(400);
    expect((await p.api("POST", "/v1/sources", { name: "x", provider: "github", secrets: ["a-long-secret"], shopDomain: "acme.myshopify.com" })).status).toBe(400);
    const id = (await p.api("POST", "/v1/sources", { name: "x", provider: "shopify", secrets: ["a-long-secret"] })).json.id;
    const patched = await p.api("PATCH", `/v1/sources/${id}`, { shopDomain: "Acme.myshopify.com" });
    expect(patched.status).toBe(200);
    expect(patched.json.shopDomain).toBe("acme.myshopify.com");
    expect((await p.api("GET", `/v1/sources/${id}`)).json.shopDomain).toBe("acme.myshopify.com");
  });
});

describe("signature headers cannot buy CPU", () => {
  function countMacs() {
    let n = 0;
    const sign = crypto.subtle.sign.bind(crypto.subtle);
    const verify = crypto.subtle.verify.bind(crypto.subtle);
    vi.spyOn(crypto.subtle, "sign").mockImplementation((...a: Parameters<typeof sign>) => (n++, sign(...a)));
    vi.spyOn(crypto.subtle, "verify").mockImplementation((...a: Parameters<typeof verify>) => (n++, verify(...a)));
    return () => n;
  }

  it("standard-webhooks: 2,500 v1 entries are refused by the cap, without 2,500 HMACs", async () => {
    const body = JSON.stringify({ type: "a.b", data: {} });
    const id = `msg_${uniqueKey()}`;
    const ts = String(nowS());
    const fake = `v1,${bytesToBase64(new Uint8Array(32))}`;
    const macs = countMacs();
    const r = await send("/webhooks/standard-webhooks", body, {
      "webhook-id": id,
      "webhook-timestamp": ts,
      "webhook-signature": Array(2500).fill(fake).join(" "),
    });
    expect(r.status).toBe(401);
    expect(r.json.error.code).toBe("invalid_signature");
    expect(r.json.error.message).toMatch(/at most 10|too long/);
    expect(macs()).toBe(0);
    expect(r.queued).toHaveLength(0);
  });

  it("standard-webhooks: each secret's MAC is computed once, whatever the number of entries, and a valid one still passes", async () => {
    const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const body = JSON.stringify({ type: "a.b", data: {} });
    const id = `msg_${uniqueKey()}`;
    const at = new Date();
    const good = new Webhook(secret).sign(id, at, body);
    const fake = `v1,${bytesToBase64(new Uint8Array(32))}`;
    const headers = { "webhook-id": id, "webhook-timestamp": String(Math.floor(at.getTime() / 1000)) };
    const macs = countMacs();
    const bad = await send("/webhooks/standard-webhooks", body, { ...headers, "webhook-signature": Array(10).fill(fake).join(" ") });
    expect(bad.status).toBe(401);
    expect(macs()).toBe(1); // one configured secret: one MAC for ten candidates
    const ok = await send("/webhooks/standard-webhooks", body, { ...headers, "webhook-signature": [...Array(9).fill(fake), good].join(" ") });
    expect(ok.status).toBe(202);
    const tooLong = await send("/webhooks/standard-webhooks", body, { ...headers, "webhook-signature": `${good} ${"v1,".padEnd(5000, "A")}` });
    expect(tooLong.status).toBe(401);
    expect(tooLong.json.error.code).toBe("invalid_signature");
  });

  it("stripe: caps v1 entries, and computes each secret's MAC once", async () => {
    const secret = "whsec_test_stripe_secret_value";
    const source = await createSource({ provider: "stripe", secrets: [secret, "whsec_second_stripe_secret"] });
    const body = JSON.stringify({ id: `evt_${uniqueKey()}`, type: "charge.succeeded" });
    const t = nowS();
    const good = (await stripe.sign(secret, body, { timestamp: String(t) }))["stripe-signature"]!.split(",")[1];
    const fake = `v1=${"0".repeat(64)}`;
    const macs = countMacs();
    const many = await send(`/webhooks/${source}`, body, { "stripe-signature": [`t=${t}`, ...Array(2500).fill(fake)].join(",") });
    expect(many.status).toBe(401);
    expect(many.json.error.message).toMatch(/at most 10|too long/);
    expect(macs()).toBe(0);
    const ten = await send(`/webhooks/${source}`, body, { "stripe-signature": [`t=${t}`, ...Array(10).fill(fake)].join(",") });
    expect(ten.status).toBe(401);
    expect(macs()).toBe(2); // two secrets
    const ok = await send(`/webhooks/${source}`, body, { "stripe-signature": [`t=${t}`, ...Array(9).fill(fake), good].join(",") });
    expect(ok.status).toBe(202);
  });
});

describe("bodies are counted while they stream", () => {
  // Large rather than endless: if the limit ever broke, the test fails instead of eating the machine's memory.
  function endless(chunk = 16 * 1024, total = 32 * 1024 * 1024) {
    const counter = { pulls: 0 };
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(c) {
        counter.pulls++;
        if (sent >= total) return c.close();
        sent += chunk;
        c.enqueue(new Uint8Array(chunk).fill(0x20));
      },
    });
    return { stream, counter };
  }

  it("answers 413 to a streamed body with no length as soon as it passes 256 KiB", async () => {
    const { stream, counter } = endless();
    const body = podiumBody();
    const r = await send("/webhooks/podium", stream, await podiumHeaders(body));
    expect(r.status).toBe(413);
    expect(r.json.error.code).toBe("payload_too_large");
    expect(counter.pulls).toBeLessThan(64);
    expect(r.queued).toHaveLength(0);
  });

  it("answers 413 before verifying anything, in small chunks too", async () => {
    const { stream, counter } = endless(1024, 8 * 1024 * 1024);
    const r = await send("/webhooks/podium", stream, { "content-type": "application/json" });
    expect(r.status).toBe(413);
    expect(counter.pulls).toBeLessThan(300);
  });

  it("accepts a streamed body within the limit, byte for byte", async () => {
    const body = podiumBody();
    const bytes = enc.encode(body);
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < bytes.length; i += 7) c.enqueue(bytes.slice(i, i + 7));
        c.close();
      },
    });
    const r = await send("/webhooks/podium", stream, await podiumHeaders(body));
    expect(r.status).toBe(202);
    expect(r.queued[0]?.body).toBe(body);
  });

  it("refuses a body whose declared length is over the limit without reading it", async () => {
    const { stream, counter } = endless();
    const body = podiumBody();
    const r = await send("/webhooks/podium", stream, { ...(await podiumHeaders(body)), "content-length": String(256 * 1024 + 1) });
    expect(r.status).toBe(413);
    expect(r.json.error.code).toBe("payload_too_large");
    expect(counter.pulls).toBeLessThan(3);
    expect(r.queued).toHaveLength(0);
  });

  it("never accepts more than the limit under a declared length that understates the body", async () => {
    // Signed over the bytes sent (JSON with trailing whitespace), so only the size can refuse it.
    const body = podiumBody() + " ".repeat(300 * 1024);
    const bytes = enc.encode(body);
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < bytes.length; i += 16 * 1024) c.enqueue(bytes.slice(i, i + 16 * 1024));
        c.close();
      },
    });
    const r = await send("/webhooks/podium", stream, { ...(await podiumHeaders(body)), "content-length": "100" });
    expect(r.status).toBe(413);
    expect(r.json.error.code).toBe("payload_too_large");
    expect(r.queued).toHaveLength(0);
  });
});

describe("the ack path's own dispatch", () => {
  it("takes a query string, and leaves a percent-encoded source id to the app's router, decoded as before", async () => {
    for (const path of ["/webhooks/podium?attempt=2", "/webhooks/pod%69um"]) {
      const body = podiumBody();
      const r = await send(path, body, await podiumHeaders(body));
      expect(r.status, path).toBe(202);
      expect(r.queued[0]?.sourceId, path).toBe("podium");
    }
  });

  it("hands what it does not match to the app, which answers the ingress's 404 unknown_source: deeper paths, a trailing slash, no source id", async () => {
    for (const path of ["/webhooks/podium/extra", "/webhooks/podium/", "/webhooks/"]) {
      const body = podiumBody();
      const r = await send(path, body, await podiumHeaders(body));
      expect(r.status, path).toBe(404);
      expect(r.json.error.code, path).toBe("unknown_source");
      expect(r.json.error.message, path).toMatch(/no trailing slash/);
      expect(r.queued, path).toHaveLength(0);
    }
  });

  it("says of a URL naming no source at all where providers post, and where the API's webhooks are", async () => {
    // POST /webhooks with a webhook's body: an API call without its /v1, as Podium's /v4/webhooks.
    for (const path of ["/webhooks", "/webhooks/"]) {
      const body = JSON.stringify({ url: "https://downstream.test/x", eventTypes: ["message.*"] });
      const r = await send(path, body, { "content-type": "application/json" });
      expect(r.status, path).toBe(404);
      expect(r.json.error.code, path).toBe("unknown_source");
      expect(r.json.error.message, path).toBe(
        "The URL names no source: providers POST to /webhooks/{sourceId} (1 to 64 of a-z, 0-9 and -, no trailing slash). A forwarding webhook is made with POST /v1/webhooks.",
      );
    }
  });
});

describe("weak whsec_ keys are refused", () => {
  it("refuses a short or malformed whsec_ secret for a source or a webhook through the API", async () => {
    const p = pipeline();
    for (const secret of ["whsec_Kg==", `whsec_${btoa("twenty-three bytes long")}`, "whsec_!!!!not-base64!!!!!!!!!!!!!!!!!!!!"]) {
      const source = await p.api("POST", "/v1/sources", { name: "s", provider: "standard-webhooks", secrets: [secret] });
      expect(source.status, secret).toBe(400);
      expect(source.json.error.code).toBe("invalid_request");
      expect(source.json.error.message).toMatch(/24 bytes/);
      const hook = await p.api("POST", "/v1/webhooks", { url: "https://downstream.test/ok/x", eventTypes: ["*"], secret });
      expect(hook.status, secret).toBe(400);
      expect(hook.json.error.code).toBe("invalid_request");
    }
    const id = (await p.api("POST", "/v1/sources", { name: "s", provider: "standard-webhooks", secrets: [goodWhsec()] })).json.id;
    expect(id).toEqual(expect.any(String));
    expect((await p.api("PATCH", `/v1/sources/${id}`, { secrets: ["whsec_Kg=="] })).status).toBe(400);
    const hook = await p.createWebhook({ url: "https://downstream.test/ok/x", eventTypes: ["*"], secret: goodWhsec() });
    expect((await p.api("PATCH", `/v1/webhooks/${hook.uid}`, { secret: "whsec_Kg==" })).status).toBe(400);
  });

  it("ignores a short whsec_ secret declared by configuration, with a log line that does not show it", async () => {
    const logged: string[] = [];
    for (const level of ["error", "warn", "log"] as const) {
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => void logged.push(JSON.stringify(args)));
    }
    const good = goodWhsec();
    const { env: configured } = testEnv({ STANDARD_WEBHOOKS_SECRET: `whsec_Kg== ${good}` });
    const declared = configSources(configured).find((s) => s.id === "standard-webhooks");
    expect(declared?.secrets).toEqual([good]);
    expect(logged.join("\n")).toMatch(/standard-webhooks/);
    expect(logged.join("\n")).not.toContain("Kg==");

    const body = JSON.stringify({ type: "a.b", data: {} });
    const at = new Date();
    const forged = new Webhook("whsec_Kg==").sign("m-1", at, body);
    const headers = { "webhook-id": "m-1", "webhook-timestamp": String(Math.floor(at.getTime() / 1000)) };
    expect((await send("/webhooks/standard-webhooks", body, { ...headers, "webhook-signature": forged }, configured)).status).toBe(401);
    const signed = new Webhook(good).sign("m-1", at, body);
    expect((await send("/webhooks/standard-webhooks", body, { ...headers, "webhook-signature": signed }, configured)).status).toBe(202);

    const { env: onlyShort } = testEnv({ STANDARD_WEBHOOKS_SECRET: "whsec_Kg==" });
    expect(configSources(onlyShort).find((s) => s.id === "standard-webhooks")).toBeUndefined();
  });

  it("keeps one of 16 to 23 bytes the first release took (its sender's events would all be refused), with a warning and the view's flag", async () => {
    const logged: string[] = [];
    for (const level of ["error", "warn", "log"] as const) {
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => void logged.push(JSON.stringify(args)));
    }
    const sixteen = `whsec_${bytesToBase64(crypto.getRandomValues(new Uint8Array(16)))}`;
    const { env: configured } = testEnv({ STANDARD_WEBHOOKS_SECRET: sixteen });
    expect(configSources(configured).find((s) => s.id === "standard-webhooks")?.secrets).toEqual([sixteen]);
    expect(logged.join("\n")).toMatch(/configuration secret below the rule kept: rotate it/);
    expect(logged.join("\n")).not.toContain(sixteen.slice("whsec_".length));

    const body = JSON.stringify({ type: "a.b", data: {} });
    const at = new Date();
    const headers = { "webhook-id": "m-16", "webhook-timestamp": String(Math.floor(at.getTime() / 1000)), "webhook-signature": new Webhook(sixteen).sign("m-16", at, body) };
    expect((await send("/webhooks/standard-webhooks", body, headers, configured)).status).toBe(202);
    const view = await call(new Request("https://edgehook.test/v1/sources/standard-webhooks", { headers: ADMIN }), configured);
    expect([view.status, await view.json()]).toEqual([200, expect.objectContaining({ readOnly: true, secretBelowRule: true })]);
  });
});

describe("a standard-webhooks source's short whsec_ secret stored by the first release, before the 24-byte rule", () => {
  // 19 bytes of key: the first release's API took any secret of 8 characters or more, and keyed a
  // whsec_ one by its base64 bytes at any length (its standardWebhooksKey), as the sender's library does.
  const SHORT = "whsec_c3ctc2VjcmV0LXN3LXNlY3JldA==";

  /** A source row as the first release (a4cf41fc) wrote it, in its own words, then migrated. */
  async function firstReleaseSource(): Promise<string> {
    const id = `sw-first-${uniqueKey()}`;
    const now = Date.now();
    await env.DB.prepare(
      `INSERT INTO sources (id, name, provider, verification, secrets, tolerance_seconds, disabled, hmac, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
      .bind(id, "sw", "standard-webhooks", "signature", JSON.stringify([SHORT]), null, 0, null, now, now)
      .run();
    return id;
  }

  /** A request its sender's library signs with `secret`. */
  async function signedBy(id: string, secret: string) {
    const body = JSON.stringify({ type: "invoice.paid", data: { n: uniqueKey() } });
    const msg = `msg_${uniqueKey()}`;
    const at = new Date();
    const headers = { "webhook-id": msg, "webhook-timestamp": String(Math.floor(at.getTime() / 1000)), "webhook-signature": new Webhook(secret).sign(msg, at, body) };
    return send(`/webhooks/${id}`, body, headers);
  }

  it("still verifies it as it did: a request its sender signs is accepted and stored", async () => {
    const p = pipeline();
    const id = await firstReleaseSource();
    const accepted = await signedBy(id, SHORT);
    expect(accepted.status, JSON.stringify(accepted.json)).toBe(202);
    await p.runIngest(accepted.queued);
    expect(await eventsOfSource(id)).toEqual([{ event_type: "invoice.paid", organization_uid: null }]);
    // Keyed by its base64 bytes, never its UTF-8 ones.
    expect((await signedBy(id, `whsec_${bytesToBase64(utf8(SHORT))}`)).status).toBe(401);
  });

  it("is flagged in the source's view (read and listed), never shown; a source without one is not", async () => {
    const p = pipeline();
    const id = await firstReleaseSource();
    const read = await p.api("GET", `/v1/sources/${id}`);
    expect(read.json.secretBelowRule).toBe(true);
    expect(JSON.stringify(read.json)).not.toContain(SHORT.slice("whsec_".length));
    const listed: { id: string; secretBelowRule: boolean }[] = [];
    for (let cursor = ""; ; ) {
      const page = (await p.api("GET", `/v1/sources?limit=100${cursor}`)).json;
      listed.push(...page.data);
      if (page.nextCursor === null) break;
      cursor = `&cursor=${page.nextCursor}`;
    }
    expect(listed.find((s) => s.id === id)?.secretBelowRule).toBe(true);
    const strong = await p.api("POST", "/v1/sources", { name: "sw", provider: "standard-webhooks", secrets: [goodWhsec()] });
    expect(strong.json.secretBelowRule).toBe(false);
    // Not while it verifies nothing: its secret is then used by nothing.
    const unverified = await p.api("PATCH", `/v1/sources/${id}`, { verification: "none" });
    expect([unverified.status, unverified.json.secretBelowRule]).toEqual([200, false]);
    // Verifying again checks what it would verify with as a rotation does: a first secret below
    // the rule is refused (give a new one before it), as a rotation back to it is.
    const again = await p.api("PATCH", `/v1/sources/${id}`, { verification: "signature" });
    expect([again.status, again.json.error?.message]).toEqual([400, expect.stringMatching(/^Invalid body: verification: its stored secret is refused \(a whsec_ secret must be base64 of at least 24 bytes.*\): send secrets with it, a new one first\.$/)]);
    expect(again.json.error.details.issues).toEqual([{ path: "verification", message: expect.stringContaining("its stored secret is refused") }]);
    const rotated = await p.api("PATCH", `/v1/sources/${id}`, { verification: "signature", secrets: [goodWhsec(), SHORT] });
    expect([rotated.status, rotated.json.verification, rotated.json.secretBelowRule]).toEqual([200, "signature", true]);
  });

  it("rotates keeping it beside a new one (both verify), then without it; a short one it does not hold is refused", async () => {
    const p = pipeline();
    const id = await firstReleaseSource();
    const strong = goodWhsec();
    const rotated = await p.api("PATCH", `/v1/sources/${id}`, { secrets: [strong, SHORT] });
    expect(rotated.status, JSON.stringify(rotated.json)).toBe(200);
    expect(rotated.json.secretBelowRule).toBe(true);
    expect((await signedBy(id, strong)).status).toBe(202);
    expect((await signedBy(id, SHORT)).status).toBe(202);

    // Held, it is taken only behind a new first one: a rotation never moves back to it.
    for (const secrets of [[SHORT], [SHORT, strong]]) {
      const back = await p.api("PATCH", `/v1/sources/${id}`, { secrets });
      expect([back.status, back.json.error?.message], JSON.stringify(secrets)).toEqual([400, expect.stringMatching(/^Invalid body: secrets\.0: a whsec_ secret must be base64 of at least 24 bytes/)]);
    }
    // A new short one, beside those it holds, is refused as ever.
    const another = `whsec_${btoa("another short key")}`;
    const refused = await p.api("PATCH", `/v1/sources/${id}`, { secrets: [strong, SHORT, another] });
    expect(refused.status).toBe(400);
    expect(refused.json.error.message).toMatch(/^Invalid body: secrets\.2: a whsec_ secret must be base64 of at least 24 bytes/);

    const dropped = await p.api("PATCH", `/v1/sources/${id}`, { secrets: [strong] });
    expect(dropped.status).toBe(200);
    expect(dropped.json.secretBelowRule).toBe(false);
    expect((await signedBy(id, SHORT)).status).toBe(401);
    // No longer held, it is a new short one: refused, alone or beside the strong one.
    expect((await p.api("PATCH", `/v1/sources/${id}`, { secrets: [SHORT] })).status).toBe(400);
    expect((await p.api("PATCH", `/v1/sources/${id}`, { secrets: [strong, SHORT] })).status).toBe(400);
  });
});

describe("a source's secrets are checked by its provider's rule: only Standard Webhooks decodes a whsec_ key", () => {
  // A secret as a tutorial or a made-up one is: whsec_ and 33 letters, no base64 (33 is not a length
  // base64 has), which stripe-node keys by as a whole string.
  const letters = (from: string) => Array.from({ length: 33 }, (_, i) => String.fromCharCode(from.charCodeAt(0) + (i % 26))).join("");
  const NOT_BASE64 = "a whsec_ secret must be base64 of at least 24 bytes after the prefix; this one is not base64";
  const stripeHeader = (payload: string, secret: string) =>
    Stripe.webhooks.generateTestHeaderStringAsync({ payload, secret, timestamp: nowS(), cryptoProvider: Stripe.createSubtleCryptoProvider() });

  it("makes a stripe source with a whsec_ secret that is no base64 key, changes it to another, and verifies stripe's signature with each", async () => {
    const p = pipeline();
    const first = `whsec_${letters("a")}`;
    const created = await p.api("POST", "/v1/sources", { name: "stripe", provider: "stripe", secrets: [first] });
    expect(created.status, JSON.stringify(created.json)).toBe(201);
    const id = created.json.id;
    const body = () => JSON.stringify({ id: `evt_${uniqueKey()}`, object: "event", type: "charge.succeeded", data: { object: {} } });
    const signed = async (secret: string) => {
      const b = body();
      return send(`/webhooks/${id}`, b, { "content-type": "application/json", "stripe-signature": await stripeHeader(b, secret) });
    };
    expect((await signed(first)).status).toBe(202);

    const second = `whsec_${letters("A")}`;
    const changed = await p.api("PATCH", `/v1/sources/${id}`, { secrets: [second] });
    expect(changed.status, JSON.stringify(changed.json)).toBe(200);
    expect((await signed(second)).status).toBe(202);
    expect((await signed(first)).status).toBe(401);
  });

  it("still refuses such a secret for a standard-webhooks source, made or changed, with the same message", async () => {
    const p = pipeline();
    const secret = `whsec_${letters("a")}`;
    const made = await p.api("POST", "/v1/sources", { name: "sw", provider: "standard-webhooks", secrets: [secret] });
    expect(made.status).toBe(400);
    expect(made.json.error).toMatchObject({ code: "invalid_request", message: `Invalid body: secrets.0: ${NOT_BASE64}.` });
    const id = (await p.api("POST", "/v1/sources", { name: "sw", provider: "standard-webhooks", secrets: [goodWhsec()] })).json.id;
    const changed = await p.api("PATCH", `/v1/sources/${id}`, { secrets: [goodWhsec(), secret] });
    expect(changed.status).toBe(400);
    expect(changed.json.error).toMatchObject({ code: "invalid_request", message: `Invalid body: secrets.1: ${NOT_BASE64}.` });
  });

  it("uses such a secret declared for podium by configuration, and verifies with it", async () => {
    const secret = `whsec_${letters("a")}`;
    const { env: configured } = testEnv({ PODIUM_WEBHOOK_SECRET: secret });
    expect(configSources(configured).find((s) => s.id === "podium")?.secrets).toEqual([secret]);
    const body = podiumBody();
    expect((await send("/webhooks/podium", body, await podium.sign(secret, body), configured)).status).toBe(202);
  });
});

describe("rejected signatures are rate-limited per source and client", () => {
  it("answers a guessing client's rejected signatures 429 with Retry-After, and still accepts its correct ones", async () => {
    const source = await createSource({ secrets: ["rate-limited-secret"] });
    // Providers send everyone's webhooks from a few shared addresses: this one is one of them.
    const client = `203.0.113.${Math.floor(Math.random() * 200) + 1}`;
    const body = podiumBody();
    await failUntilLimited(401, async (i) => send(`/webhooks/${source}`, body, { ...(await podiumHeaders(body, `guess-${i}`)), "cf-connecting-ip": client }));

    const right = await send(`/webhooks/${source}`, body, { ...(await podiumHeaders(body, "rate-limited-secret")), "cf-connecting-ip": client });
    expect(right.status).toBe(202);
    expect(right.queued).toHaveLength(1);
    expect(right.json.eventId).toBe(right.queued[0]!.eventId);

    // The correct signature did not lift the block: the next rejected one still waits.
    const wrong = await send(`/webhooks/${source}`, body, { ...(await podiumHeaders(body, "guess-again")), "cf-connecting-ip": client });
    expect(wrong.status).toBe(429);
    expect(wrong.json.error.code).toBe("rate_limited");
    expect(wrong.json.error.message).toMatch(/signature/);
    expect(wrong.json.error.details).toEqual({ reason: "invalid_signature" });
    expect(Number(wrong.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(Number(wrong.headers.get("retry-after"))).toBeLessThanOrEqual(60);
    expect(wrong.queued).toHaveLength(0);

    const other = await send(`/webhooks/${source}`, body, { ...(await podiumHeaders(body, "guess-again")), "cf-connecting-ip": "198.51.100.9" });
    expect(other.status).toBe(401);
  });

  it("counts an IPv6 client by its /64: guessing from the next address of the prefix is still rate-limited", async () => {
    const source = await createSource({ secrets: ["ipv6-limited-secret"] });
    const prefix = `2001:db8:${crypto.getRandomValues(new Uint16Array(1))[0]!.toString(16)}:${crypto.getRandomValues(new Uint16Array(1))[0]!.toString(16)}`;
    const body = podiumBody();
    // Each guess from another address of the prefix.
    await failUntilLimited(401, async (i) =>
      send(`/webhooks/${source}`, body, { ...(await podiumHeaders(body, `guess-${i}`)), "cf-connecting-ip": `${prefix}::${i.toString(16)}` }),
    );
    // A correct signature from the prefix is still accepted.
    expect((await send(`/webhooks/${source}`, body, { ...(await podiumHeaders(body, "ipv6-limited-secret")), "cf-connecting-ip": `${prefix}::ff` })).status).toBe(202);
  });

  it("while blocked, verifies without the limiter or D1 and accepts a correct signature; counts each rejected one", async () => {
    let limits = 0;
    let overLimit = true;
    const limiter = { limit: async () => (limits++, { success: !overLimit }) };
    const source = await createSource({ secrets: ["blocked-secret"] });
    const client = clientAddress();
    const body = podiumBody();
    const from = async (secret: string, overrides = {}) =>
      send(`/webhooks/${source}`, body, { ...(await podiumHeaders(body, secret)), "cf-connecting-ip": client }, { SIGNATURE_FAILURES: limiter, ...overrides });
    // One rejection the limiter calls one too many: blocked from here on (this also warms the source cache).
    expect((await from("wrong")).status).toBe(429);
    expect(limits).toBe(1);

    const { db, calls: d1 } = d1Double();
    const ok = await from("blocked-secret", { DB: db });
    expect(ok.status).toBe(202);
    expect(ok.queued).toHaveLength(1);
    expect(limits).toBe(1);
    expect(d1).toEqual({ prepared: 0, sql: [], batches: [] });

    // The limiter now says this rejection is within the limit: the block still holds until its minute is over.
    overLimit = false;
    const bad = await from("wrong", { DB: db });
    expect(bad.status).toBe(429);
    expect(Number(bad.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(Number(bad.headers.get("retry-after"))).toBeLessThanOrEqual(60);
    expect(limits).toBe(2);
    expect(d1).toEqual({ prepared: 0, sql: [], batches: [] });
  });

  it("consults the limiter only when a signature is rejected, and never D1", async () => {
    let limits = 0;
    const limiter = { limit: async () => (limits++, { success: true }) };
    const source = await createSource({ secrets: ["limiter-secret"] });
    const body = podiumBody();
    // Warm the source cache, then count D1 calls on both paths.
    await send(`/webhooks/${source}`, body, await podiumHeaders(body, "limiter-secret"));
    const { db, calls: d1 } = d1Double();
    const ok = await send(`/webhooks/${source}`, body, await podiumHeaders(body, "limiter-secret"), { SIGNATURE_FAILURES: limiter, DB: db });
    expect(ok.status).toBe(202);
    expect(limits).toBe(0);
    const bad = await send(`/webhooks/${source}`, body, await podiumHeaders(body, "wrong"), { SIGNATURE_FAILURES: limiter, DB: db });
    expect(bad.status).toBe(401);
    expect(limits).toBe(1);
    expect(d1).toEqual({ prepared: 0, sql: [], batches: [] });
  });
});

describe("what the ingress reads out of a request is bounded, so its queue message fits", () => {
  it("hmac: a 150,000-character type is unknown and a long dedupe key is its hash, and the event is queued, stored and deduped", async () => {
    const hmac: HmacConfig = { header: "x-sig", algorithm: "SHA-256", encoding: "hex", prefix: "", timestampHeader: null, typePath: "type", dedupePath: "id" };
    const source = await createSource({ provider: "hmac", secrets: ["bounded-secret"], hmac });
    const id = `k-${uniqueKey()}-`.padEnd(MAX_DEDUPE_KEY_CHARS + 1, "k");
    const body = JSON.stringify({ type: "t".repeat(150_000), id });
    const sendSigned = async (b: string) => send(`/webhooks/${source}`, b, await hmacScheme(hmac).sign("bounded-secret", b));
    const p = pipeline();

    const first = await sendSigned(body);
    expect(first.status).toBe(202);
    const msg = first.queued[0]!;
    // Hashed after 0xFE, a byte no body (UTF-8) starts with, so it is no body's digest.
    const digest = await sha256Hex(concatBytes([Uint8Array.of(0xfe), utf8(id)]));
    expect(msg).toMatchObject({ eventType: "unknown", dedupeKey: digest, eventId: first.json.eventId });
    // The body went to R2 and the message kept only its key.
    expect(msg.body).toBeUndefined();
    expect(await (await env.BODIES.get(msg.bodyKey!))?.text()).toBe(body);

    // A redelivery lands on the same event; a key differing in its last character does not.
    const again = await sendSigned(body);
    expect(again.json.eventId).toBe(first.json.eventId);
    const other = await sendSigned(JSON.stringify({ type: "t".repeat(150_000), id: `${id.slice(0, -1)}j` }));
    expect(other.status).toBe(202);
    expect(other.json.eventId).not.toBe(first.json.eventId);

    await p.runIngest([...first.queued, ...again.queued]);
    expect(await eventsOfSource(source)).toEqual([{ event_type: "unknown", organization_uid: null }]);
  });

  it("hmac: a path reads the body's own fields only, not what every object inherits", async () => {
    const hmac: HmacConfig = { header: "x-sig", algorithm: "SHA-256", encoding: "hex", prefix: "", timestampHeader: null, typePath: "constructor.name", dedupePath: "id" };
    const source = await createSource({ provider: "hmac", secrets: ["own-secret"], hmac });
    const body = JSON.stringify({ id: `own-${uniqueKey()}` });
    const res = await send(`/webhooks/${source}`, body, await hmacScheme(hmac).sign("own-secret", body));
    expect(res.status).toBe(202);
    expect(res.queued[0]).toMatchObject({ eventType: "unknown" });
  });

  it('a "none" source: a type, location or organization longer than any the API can name is dropped; one at the bound is kept', async () => {
    const source = await createSource({ verification: "none", secrets: [] });
    const sendMetadata = (metadata: Record<string, string>) =>
      send(`/webhooks/${source}`, JSON.stringify({ metadata }), { "content-type": "application/json" });
    const [location, organization] = ["l".repeat(MAX_OWNER_UID_CHARS), "o".repeat(MAX_OWNER_UID_CHARS)];

    const over = await sendMetadata({ eventType: "x".repeat(200_000), locationUid: `${location}l`, organizationUid: `${organization}o` });
    expect(over.status).toBe(202);
    expect(over.queued[0]).toMatchObject({ eventType: "unknown", locationUid: null, organizationUid: null });

    const type = "message.".padEnd(MAX_EVENT_TYPE_CHARS, "x");
    const atBound = await sendMetadata({ eventType: type, locationUid: location, organizationUid: organization });
    expect(atBound.status).toBe(202);
    expect(atBound.queued[0]).toMatchObject({ eventType: type, locationUid: location, organizationUid: organization });
  });
});

describe("a provider's own id that is another event's digest (SHA-256 hex) names an event of its own", () => {
  type Sent = Awaited<ReturnType<typeof send>>;

  /** Sends `first` and `second`, then each again: two events, both stored, and each redelivery lands on its own. */
  async function twoEvents(source: string, first: () => Promise<Sent>, second: () => Promise<Sent>) {
    const [a, b, aAgain, bAgain] = [await first(), await second(), await first(), await second()];
    for (const r of [a, b, aAgain, bAgain]) expect(r.status).toBe(202);
    expect(b.json.eventId).not.toBe(a.json.eventId);
    expect(aAgain.json.eventId).toBe(a.json.eventId);
    expect(bAgain.json.eventId).toBe(b.json.eventId);
    await pipeline().runIngest([a, b, aAgain, bAgain].flatMap((r) => r.queued));
    expect(await eventsOfSource(source)).toEqual([
      { event_type: "message.received", organization_uid: null },
      { event_type: "message.sent", organization_uid: null },
    ]);
  }

  const podiumEvent = (type: string, eventUid?: string) => JSON.stringify({ metadata: { eventType: type, eventUid, nonce: uniqueKey() } });

  it("Podium: an eventUid that is the hash of a body without one", async () => {
    const source = await createSource({ secrets: ["digest-secret"] });
    const sendPodium = async (body: string) => send(`/webhooks/${source}`, body, await podiumHeaders(body, "digest-secret"));
    const x = podiumEvent("message.received");
    const y = podiumEvent("message.sent", await sha256Hex(x));
    await twoEvents(source, () => sendPodium(x), () => sendPodium(y));
  });

  it("Podium: an eventUid of white space alone is no id: each body is its own event, deduped by its digest", async () => {
    const source = await createSource({ secrets: ["blank-uid-secret"] });
    const sendPodium = async (body: string) => send(`/webhooks/${source}`, body, await podiumHeaders(body, "blank-uid-secret"));
    const [x, y] = [podiumEvent("message.received", " "), podiumEvent("message.sent", " ")];
    await twoEvents(source, () => sendPodium(x), () => sendPodium(y));
  });

  it("Podium: an eventUid that is the hash of an eventUid too long to keep", async () => {
    const source = await createSource({ secrets: ["long-secret"] });
    const sendPodium = async (body: string) => send(`/webhooks/${source}`, body, await podiumHeaders(body, "long-secret"));
    const long = `long-${uniqueKey()}-`.padEnd(MAX_DEDUPE_KEY_CHARS + 44, "k");
    const [x, y] = [podiumEvent("message.received", long), podiumEvent("message.sent", await sha256Hex(long))];
    await twoEvents(source, () => sendPodium(x), () => sendPodium(y));
  });

  it("hmac: a key too long to keep that is another event's body, whose digest its hash was", async () => {
    const hmac: HmacConfig = { header: "x-sig", algorithm: "SHA-256", encoding: "hex", prefix: "", timestampHeader: null, typePath: "type", dedupePath: "id" };
    const source = await createSource({ provider: "hmac", secrets: ["long-body-secret"], hmac });
    const sendHmac = async (body: string) => send(`/webhooks/${source}`, body, await hmacScheme(hmac).sign("long-body-secret", body));
    // No id: its key is the digest of the body, which is itself a key too long to keep.
    const x = JSON.stringify({ type: "message.received", pad: `${uniqueKey()}-`.padEnd(MAX_DEDUPE_KEY_CHARS, "p") });
    const y = JSON.stringify({ type: "message.sent", id: x });
    await twoEvents(source, () => sendHmac(x), () => sendHmac(y));
  });

  it("Standard Webhooks: a webhook-id that is the hash of a webhook-id too long to keep", async () => {
    const secret = goodWhsec();
    const source = await createSource({ provider: "standard-webhooks", secrets: [secret] });
    const sendSw = async (id: string, type: string) => {
      const body = JSON.stringify({ type, data: {} });
      const at = new Date();
      return send(`/webhooks/${source}`, body, {
        "webhook-id": id,
        "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
        "webhook-signature": new Webhook(secret).sign(id, at, body),
      });
    };
    const long = `msg_${uniqueKey()}_`.padEnd(300, "m");
    const digest = await sha256Hex(long);
    await twoEvents(source, () => sendSw(long, "message.received"), () => sendSw(digest, "message.sent"));
  });

  // Computed on the code before this rule: events stored then keep their ids, so their redeliveries still dedupe.
  it.each([
    { key: "given", body: '{"metadata":{"eventType":"message.received","eventUid":"pinned-given-key"}}', id: "evt_4a13d4752ebd7ef86505981db88aa3fd" },
    { key: "body digest", body: '{"metadata":{"eventType":"message.received"},"data":{"body":"pinned"}}', id: "evt_c826bce45abc1514b323e6c6652be222" },
    // Changed once (it was evt_12b55b4721f090a0af1eabae0e448e5b), when its hash stopped meeting a body's digest.
    { key: "over-long", body: JSON.stringify({ metadata: { eventType: "message.received", eventUid: "pinned-long-key-".padEnd(300, "k") } }), id: "evt_4be49dff60a3bb7b1dc658aa555bb7a7" },
    { key: "ill-formed", body: '{"metadata":{"eventType":"message.received","eventUid":"pinned-\\ud800-key"}}', id: "evt_6f9f4121e4cd68cc1573090d9f4bb171" },
  ])("a $key key keeps the event id it had", async ({ body, id }) => {
    const res = await send("/webhooks/podium", body, await podiumHeaders(body));
    expect(res.status).toBe(202);
    expect(res.json.eventId).toBe(id);
  });

  it("an alert keeps the event id it had", async () => {
    expect(await eventIdFor({ id: ALERT_SOURCE, eventSalt: null }, { given: "alr_pinned:opened" })).toBe("evt_e846693c4a9e22c21394aadc95821ed1");
  });
});

describe("an event type that is a wildcard, which no list or replay can name", () => {
  // A data object's stays of that object, so its data scope still guards it.
  it.each([["*", "unknown"], ["message.*", "message.unknown"]])("%s is %s at the ingress and stored so: the list finds it by type, and its body is kept as sent", async (type, unknown) => {
    const source = await createSource({ verification: "none", secrets: [] });
    const body = JSON.stringify({ metadata: { eventType: type, eventUid: `wild-${uniqueKey()}` } });
    const res = await send(`/webhooks/${source}`, body, { "content-type": "application/json" });
    expect(res.status).toBe(202);
    expect(res.queued[0]).toMatchObject({ eventType: unknown });
    const p = pipeline();
    await p.runIngest(res.queued);
    expect(await eventsOfSource(source)).toEqual([{ event_type: unknown, organization_uid: null }]);
    // Stored as the type itself, it could be found by no type: the list refuses a wildcard.
    expect((await p.api("GET", `/v1/events?eventType=${encodeURIComponent(type)}&sourceId=${source}`)).status).toBe(400);
    const listed = await p.api("GET", `/v1/events?eventType=${unknown}&sourceId=${source}`);
    expect(listed.json.data.map((e: { id: string }) => e.id)).toEqual([res.json.eventId]);
    expect((await p.api("GET", `/v1/events/${res.json.eventId}`)).json.body).toBe(body);
  });
});

describe("an event type with a control character, which no header can carry", () => {
  it("is unknown at the ingress, so its deliveries can go out, after its object when a data scope guards it", async () => {
    const source = await createSource({ verification: "none", secrets: [] });
    for (const [type, unknown] of [["message.y\nx: 1", "message.unknown"], ["Review\t.created", "review.unknown"], ["push\n", "unknown"]]) {
      const res = await send(`/webhooks/${source}`, JSON.stringify({ metadata: { eventType: type } }), { "content-type": "application/json" });
      expect(res.status).toBe(202);
      expect(res.queued[0], type).toMatchObject({ eventType: unknown });
    }
  });

  it.each([
    { type: "message.y\r\nx: 1", header: "message.y%0D%0Ax%3A%201", why: "stored before that" },
    { type: "commande.créée\u202e", header: "commande.cr%C3%A9%C3%A9e%E2%80%AE", why: "not ASCII" },
    // Else it would read as the type "x.é" above to a receiver decoding what is encoded.
    { type: "x.%C3%A9", header: "x.%25C3%25A9", why: "holding a %" },
  ])("$why, goes percent-encoded in edgehook-event-type (decoded, the type): every webhook owed it is sent it", async ({ type, header }) => {
    const { p, key, org } = await webhookSetup("ok");
    await p.runIngest([ingestMessage({ eventType: type, organizationUid: org, body: podiumBody({ organizationUid: org }) })]);
    await p.deliver();
    const [got] = await received(key);
    expect(got?.headers["edgehook-event-type"]).toBe(header);
    expect(decodeURIComponent(header)).toBe(type);
    expect(got?.headers["x"]).toBeUndefined();
  });
});

describe("only an allowlist of headers is stored", () => {
  it("stores content-type, user-agent and the provider's own headers; never credentials or unknown headers", async () => {
    const body = podiumBody();
    const r = await send("/webhooks/podium", body, {
      ...(await podiumHeaders(body)),
      "user-agent": "Podium-Webhooks/1.0",
      "x-api-key": "k-123",
      "x-auth": "a-456",
      authorization: "Bearer t",
      "x-custom": "c",
    });
    expect(r.status).toBe(202);
    expect(Object.keys(r.queued[0]!.headers).sort()).toEqual(["content-type", "podium-timestamp", "user-agent"]);

    const secret = "github-webhook-secret";
    const source = await createSource({ provider: "github", secrets: [secret] });
    const gh = JSON.stringify({ action: "opened" });
    const g = await send(`/webhooks/${source}`, gh, {
      "content-type": "application/json",
      "x-hub-signature-256": await githubSign(secret, gh),
      "x-github-event": "issues",
      "x-github-delivery": "d-9",
      "x-github-hook-id": "42",
      "x-api-key": "k",
    });
    expect(g.status).toBe(202);
    expect(g.queued[0]!.headers).toEqual({
      "content-type": "application/json",
      "x-github-event": "issues",
      "x-github-delivery": "d-9",
      "x-github-hook-id": "42",
    });
  });
  it("never stores an hmac source's signature, even one stored before its header was refused as one the ingress keeps", async () => {
    const hmac: HmacConfig = { header: "user-agent", algorithm: "SHA-256", encoding: "hex", prefix: "", timestampHeader: null, typePath: null, dedupePath: null };
    const source = await createSource({ provider: "hmac", secrets: ["hua-secret-1"], hmac });
    const body = JSON.stringify({ hello: "world" });
    const signed = await hmacScheme(hmac).sign("hua-secret-1", body);
    const r = await send(`/webhooks/${source}`, body, { "content-type": "application/json", ...signed });
    expect(r.status).toBe(202);
    expect(r.queued[0]!.headers).toEqual({ "content-type": "application/json" });
  });
});
