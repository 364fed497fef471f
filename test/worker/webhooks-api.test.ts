import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { IngestMessage } from "../../src/domain/types";
import { ADMIN, call, createSource } from "./helpers";
import { pipeline, uniqueKey } from "./pipeline";

const base = () => ({ url: `https://downstream.test/ok/${uniqueKey()}`, eventTypes: ["message.*"], organizationUid: `org-${uniqueKey()}` });

describe("/v1/webhooks", () => {
  it("creates a webhook with a generated whsec_ secret shown once, and never shows it again", async () => {
    const p = pipeline();
    const { status, json } = await p.api("POST", "/v1/webhooks", base());
    expect(status).toBe(201);
    expect(json.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(json).toMatchObject({
      eventTypes: ["message.*"],
      locationUid: null,
      sourceIds: null,
      disabled: false,
      timeoutMs: 5000,
      maxAttempts: 15,
    });
    expect(json.createdAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    const got = await p.api("GET", `/v1/webhooks/${json.uid}`);
    expect(got.status).toBe(200);
    expect(got.json.secret).toBeUndefined();
    expect(JSON.stringify(got.json)).not.toContain(json.secret);
    const list = await p.api("GET", "/v1/webhooks?limit=100");
    expect(JSON.stringify(list.json)).not.toContain(json.secret);
    expect(list.json.data.some((w: { uid: string }) => w.uid === json.uid)).toBe(true);
  });

  it("keeps a given secret, and signs with it", async () => {
    const p = pipeline();
    const { json } = await p.api("POST", "/v1/webhooks", { ...base(), secret: "whsec_" + btoa("given secret value, 24+ bytes") });
    expect(json.secret).toBe("whsec_" + btoa("given secret value, 24+ bytes"));
    const row = await env.DB.prepare("SELECT secret FROM webhooks WHERE uid = ?").bind(json.uid).first<{ secret: string }>();
    expect(row?.secret).toBe(json.secret);
  });

  it("refuses a URL-safe whsec_ secret to sign with (receivers' libraries cannot decode it); a source verifies with one", async () => {
    const p = pipeline();
    // 27 bytes whose base64 has both + and /, written URL-safe.
    const standard = "whsec_" + btoa(String.fromCharCode(0xfb, 0xff, 0xbf, ...Array(24).fill(0x41)));
    expect(standard).toMatch(/[+/]/);
    const urlSafe = standard.replace(/\+/g, "-").replace(/\//g, "_");
    const refused = await p.api("POST", "/v1/webhooks", { ...base(), secret: urlSafe });
    expect(refused.status).toBe(400);
    expect(JSON.stringify(refused.json.error)).toContain("standard base64");
    const made = await p.api("POST", "/v1/webhooks", { ...base(), secret: standard });
    expect(made.status).toBe(201);
    expect((await p.api("PATCH", `/v1/webhooks/${made.json.uid}`, { secret: urlSafe })).status).toBe(400);
    const source = await p.api("POST", "/v1/sources", { name: "url-safe", provider: "standard-webhooks", secrets: [urlSafe] });
    expect(source.status).toBe(201);
  });

  it("answers 415 unsupported_media_type to a body not sent as JSON (curl -d sends a form), 400 to JSON that does not parse; nothing changes", async () => {
    const p = pipeline();
    const made = await p.createWebhook(base());
    const send = (headers: Record<string, string>, body: string) =>
      call(new Request(`https://edgehook.test/v1/webhooks/${made.uid}`, { method: "PATCH", headers: { ...ADMIN, ...headers }, body }));
    for (const type of ["application/x-www-form-urlencoded", "text/plain;charset=UTF-8"]) {
      const res = await send({ "content-type": type }, '{"timeoutMs":2000}');
      expect(res.status).toBe(415);
      const json = (await res.json()) as { error: { code: string; message: string } };
      expect(json.error.code).toBe("unsupported_media_type");
      expect(json.error.message).toContain("Content-Type: application/json");
    }
    const broken = await send({ "content-type": "application/json" }, '{"timeoutMs":');
    expect(broken.status).toBe(400);
    expect(((await broken.json()) as { error: { code: string } }).error.code).toBe("invalid_request");
    expect((await p.api("GET", `/v1/webhooks/${made.uid}`)).json.timeoutMs).toBe(made.timeoutMs);
  });

  it("answers 400 invalid_request with the issues for bad input", async () => {
    const p = pipeline();
    for (const body of [
      { ...base(), eventTypes: [] },
      { ...base(), eventTypes: ["message received"] },
      { ...base(), url: 42 },
      { ...base(), timeoutMs: 10 },
      { ...base(), maxAttempts: 0 },
      { ...base(), unknownField: true },
      { eventTypes: ["*"] },
    ]) {
      const { status, json } = await p.api("POST", "/v1/webhooks", body);
      expect(status).toBe(400);
      expect(json.error.code).toBe("invalid_request");
      expect(json.error.details.issues.length).toBeGreaterThan(0);
    }
  });

  it.each([
    "https://127.0.0.1/hook",
    "https://localhost/hook",
    "https://[::1]/hook",
    "https://169.254.169.254/latest",
    "https://10.1.2.3/",
    "http://hooks.example.com/",
  ])("refuses the destination %s while ALLOW_PRIVATE_DESTINATIONS is false", async (url) => {
    const p = pipeline();
    const { status, json } = await p.api("POST", "/v1/webhooks", { ...base(), url });
    expect(status).toBe(400);
    expect(json.error.code).toBe("invalid_request");
    expect(json.error.details.issues[0].path).toBe("url");
  });

  it("accepts loopback destinations when ALLOW_PRIVATE_DESTINATIONS is true", async () => {
    const p = pipeline({ ALLOW_PRIVATE_DESTINATIONS: "true" });
    const { status } = await p.api("POST", "/v1/webhooks", { ...base(), url: "http://127.0.0.1:9/hook" });
    expect(status).toBe(201);
  });

  it("changes url, types, sources, secret, disabled, timeout and attempts with PATCH and PUT, never the scope", async () => {
    const p = pipeline();
    const created = (await p.api("POST", "/v1/webhooks", { ...base(), organizationUid: undefined, locationUid: "loc-1" })).json;
    const patched = await p.api("PATCH", `/v1/webhooks/${created.uid}`, { eventTypes: ["*"], timeoutMs: 1000, disabled: true });
    expect(patched.status).toBe(200);
    expect(patched.json).toMatchObject({ eventTypes: ["*"], timeoutMs: 1000, disabled: true, url: created.url });

    for (const field of ["locationUid", "organizationUid"]) {
      const res = await p.api("PATCH", `/v1/webhooks/${created.uid}`, { [field]: "elsewhere" });
      expect(res.status).toBe(400);
      expect(res.json.error.code).toBe("invalid_request");
      expect(res.json.error.message).toMatch(/cannot change/);
    }
    const put = await p.api("PUT", `/v1/webhooks/${created.uid}`, { url: created.url, eventTypes: ["contact.updated"], sourceIds: ["podium"] });
    expect(put.status).toBe(200);
    expect(put.json).toMatchObject({
      eventTypes: ["contact.updated"],
      sourceIds: ["podium"],
      disabled: false,
      timeoutMs: 5000,
      locationUid: "loc-1",
      organizationUid: created.organizationUid,
    });
    const badPut = await p.api("PUT", `/v1/webhooks/${created.uid}`, { url: created.url, eventTypes: ["*"], organizationUid: "x" });
    expect(badPut.status).toBe(400);
    const rotated = await p.api("PATCH", `/v1/webhooks/${created.uid}`, { secret: "whsec_" + btoa("rotated secret, 24 bytes long") });
    expect(rotated.json.secret).toBeUndefined();
    const row = await env.DB.prepare("SELECT secret FROM webhooks WHERE uid = ?").bind(created.uid).first<{ secret: string }>();
    expect(row?.secret).toBe("whsec_" + btoa("rotated secret, 24 bytes long"));
  });

  it("deletes a webhook: 204, then 404", async () => {
    const p = pipeline();
    const { json } = await p.api("POST", "/v1/webhooks", base());
    expect((await p.api("DELETE", `/v1/webhooks/${json.uid}`)).status).toBe(204);
    const gone = await p.api("GET", `/v1/webhooks/${json.uid}`);
    expect(gone.status).toBe(404);
    expect(gone.json.error.code).toBe("not_found");
    expect((await p.api("DELETE", `/v1/webhooks/${json.uid}`)).status).toBe(404);
    expect((await p.api("PATCH", `/v1/webhooks/${json.uid}`, { disabled: true })).status).toBe(404);
  });

  it("answers 401 unauthorized without the admin token", async () => {
    for (const method of ["GET", "POST"]) {
      const res = await call(new Request("https://edgehook.test/v1/webhooks", { method, body: method === "POST" ? "{}" : undefined }));
      expect(res.status).toBe(401);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("unauthorized");
    }
  });
});

describe("event types of a webhook", () => {
  it.each([
    ["message.recieved", "message.received"],
    ["review.creatd", "review.created"],
    ["invoice.payment_succeded", "invoice.payment_succeeded"],
    ["contact.update", "contact.updated"],
  ])("refuses the Podium type %s that does not exist, naming %s", async (typo, closest) => {
    const p = pipeline();
    const res = await p.api("POST", "/v1/webhooks", { ...base(), eventTypes: ["message.*", typo] });
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe("invalid_request");
    expect(res.json.error.message).toContain(`"${closest}"`);
    expect(res.json.error.details.issues[0]).toMatchObject({ path: "eventTypes.1" });
    const created = await p.createWebhook(base());
    for (const method of ["PATCH", "PUT"]) {
      const changed = await p.api(method, `/v1/webhooks/${created.uid}`, { url: created.url, eventTypes: [typo] });
      expect(changed.status).toBe(400);
      expect(changed.json.error.message).toContain(`"${closest}"`);
    }
  });

  it("accepts the catalog's types, object.* and *, without warnings", async () => {
    const p = pipeline();
    const res = await p.api("POST", "/v1/webhooks", { ...base(), eventTypes: ["message.received", "contact.*", "review.response_updated", "*"] });
    expect(res.status).toBe(201);
    expect(res.json.warnings).toBeUndefined();
  });

  it("accepts other providers' types, warning about those its sources have neither received nor declared", async () => {
    const p = pipeline();
    const k = uniqueKey();
    const stripe = await createSource({ provider: "stripe", secrets: ["whsec_stripe_test_secret"] });
    const body = { url: `https://downstream.test/ok/${k}`, eventTypes: ["invoice.paid", "payment_intent.succeeded", "charge.*"], sourceIds: [stripe] };
    const first = await p.api("POST", "/v1/webhooks", body);
    expect(first.status).toBe(201);
    expect(first.json.warnings).toEqual([
      { code: "unseen_event_type", eventType: "invoice.paid", message: expect.stringContaining("invoice.paid") },
    ]);

    // Once the source has received the type, it is known.
    const msg: IngestMessage = {
      v: 1,
      eventId: `evt_${k}`,
      sourceId: stripe,
      receivedAt: Date.now(),
      headers: {},
      body: "{}",
      dedupeKey: k,
      eventType: "invoice.paid",
      locationUid: null,
      organizationUid: null,
    };
    expect((await p.runIngest([msg])).acked).toHaveLength(1);
    expect((await p.api("POST", "/v1/webhooks", body)).json.warnings).toBeUndefined();

    const bogus = await p.api("POST", "/v1/webhooks", { ...base(), eventTypes: ["bogus.type"] });
    expect(bogus.status).toBe(201);
    expect(bogus.json.warnings.map((w: { eventType: string }) => w.eventType)).toEqual(["bogus.type"]);
  });

  it("documents the catch-all flag and the warnings in OpenAPI", async () => {
    const doc = (await (await call(new Request("https://edgehook.test/openapi.json"))).json()) as any;
    expect(doc.components.schemas.Webhook.properties.catchAll.type).toBe("boolean");
    for (const name of ["WebhookCreated", "WebhookChanged"]) {
      const own = doc.components.schemas[name].allOf.find((s: { properties?: object }) => s.properties);
      expect(own.properties.warnings.type).toBe("array");
    }
  });
});
