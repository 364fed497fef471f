import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { disableWebhookStatements, filterProgramTotal } from "../../src/store/webhooks";
import { FILTER_LIMITS, programCharge, validateFilter } from "../../src/routing/filter";
import { disableFailing } from "../../src/pipeline/commands";
import type { IngestMessage } from "../../src/domain/types";
import { meteredD1 } from "../../bench/d1-meter";
import { placeLocations } from "../../src/store/locations";
import { ADMIN, call, createSource, dashboardCookie, dashboardForm, meteredApiCall, podiumBody, type Answered } from "./helpers";
import { pipeline, received, uniqueKey } from "./pipeline";
import { d1Double, type SeenStatement } from "./d1-double";
import { racing } from "./racing";
import { deliveryRows } from "./rows";
import { DATA_SCOPES, makeToken, as } from "./tokens";
import { at } from "../support/json-at";
import { standardWebhooks } from "../../src/schemes/standard-webhooks";

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
    expect(got.json).not.toHaveProperty("secret");
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

  it("refuses a URL-safe whsec_ secret to sign with (receivers' libraries cannot decode it), and to a standard-webhooks source in the same words; a source holding one verifies with it", async () => {
    const p = pipeline();
    // 27 bytes whose base64 has both + and /, written URL-safe.
    const standard = "whsec_" + btoa(String.fromCharCode(0xfb, 0xff, 0xbf, ...Array(24).fill(0x41)));
    expect(standard).toMatch(/[+/]/);
    const urlSafe = standard.replace(/\+/g, "-").replace(/\//g, "_");
    const refused = await p.api("POST", "/v1/webhooks", { ...base(), secret: urlSafe });
    expect(refused.status).toBe(400);
    expect(JSON.stringify(refused.json.error)).toContain("standard base64");
    const [{ message }] = refused.json.error.details.issues as [{ message: string }];
    const made = await p.api("POST", "/v1/webhooks", { ...base(), secret: standard });
    expect(made.status).toBe(201);
    expect((await p.api("PATCH", `/v1/webhooks/${made.json.uid}`, { secret: urlSafe })).status).toBe(400);
    // A source's sender signs with the key as its library decodes it: the same rule, in the same words (the audit's all-underscore key too).
    const id = `url-safe-${uniqueKey()}`;
    for (const secret of [urlSafe, "whsec_________________________________"]) {
      const source = await p.api("POST", "/v1/sources", { id, name: "url-safe", provider: "standard-webhooks", secrets: [standard, secret] });
      expect(source.status, secret).toBe(400);
      expect(source.json.error.details.issues, secret).toEqual([{ path: "secrets.1", message }]);
    }
    expect((await p.api("POST", "/v1/sources", { id, name: "url-safe", provider: "standard-webhooks", secrets: [standard] })).status).toBe(201);
    const rotated = await p.api("PATCH", `/v1/sources/${id}`, { secrets: [urlSafe, standard] });
    expect(rotated.json.error.details.issues).toEqual([{ path: "secrets.0", message }]);
    // Other providers key by the whole string: theirs is any secret.
    expect((await p.api("POST", "/v1/sources", { name: "stripe", provider: "stripe", secrets: [urlSafe] })).status).toBe(201);

    // A source stored with one before keeps verifying with it, and a rotation may keep it beside a new one.
    const held = await createSource({ provider: "standard-webhooks", secrets: [urlSafe] });
    const send = async () => {
      const body = JSON.stringify({ type: "invoice.paid", data: {} });
      const headers = await standardWebhooks.sign(urlSafe, body, { id: `msg_${uniqueKey()}` });
      return call(new Request(`https://edgehook.test/webhooks/${held}`, { method: "POST", headers: { ...headers, "content-type": "application/json" }, body }));
    };
    expect((await send()).status).toBe(202);
    expect((await p.api("PATCH", `/v1/sources/${held}`, { secrets: [standard, urlSafe] })).status).toBe(200);
    expect((await send()).status).toBe(202);
  });

  it("refuses a secret pasted with white space at an end or holding a control, bidirectional or invisible character, without its value; one held from before stays behind a new one", async () => {
    const p = pipeline();
    const pasted = [" SEKRITabcdefgh", "SEKRITabcdefgh\n", "SEKRIT\u0001abcdefgh", "SEKRITab\u202ecdefgh", "\u200bSEKRITabcdefgh", "SEKRIT\u200babcdefgh", "SEKRITab\u00adcdefgh", "SEKRIT\u2800abcdefgh", "SEKRIT\u2028abcdefgh"];
    for (const secret of pasted) {
      const webhook = await p.api("POST", "/v1/webhooks", { ...base(), secret });
      expect(webhook.status, JSON.stringify(secret)).toBe(400);
      expect(webhook.json.error.details.issues.map((i: { path: string }) => i.path)).toEqual(["secret"]);
      const source = await p.api("POST", "/v1/sources", { name: "pasted", provider: "stripe", secrets: [secret] });
      expect(source.status, JSON.stringify(secret)).toBe(400);
      expect(source.json.error.details.issues.map((i: { path: string }) => i.path)).toEqual(["secrets.0"]);
      expect(JSON.stringify([webhook.json, source.json])).not.toContain("SEKRIT");
    }
    // One within, named by its code point (a zero-width space a page's copy brought along).
    const within = await p.api("POST", "/v1/webhooks", { ...base(), secret: "SEKRIT\u200babcdefgh" });
    expect(within.json.error.details.issues).toEqual([{ path: "secret", message: "must not contain an invisible character (U+200B)" }]);
    // White space within one (a passphrase) stays accepted.
    expect((await p.api("POST", "/v1/sources", { name: "phrase", provider: "stripe", secrets: ["correct horse battery"] })).status).toBe(201);
    // A source holding one from before (stored before the rule) keeps it behind a new first one.
    const held = await createSource({ provider: "stripe", secrets: [" SEKRITabcdefgh"] });
    expect((await p.api("PATCH", `/v1/sources/${held}`, { secrets: ["a-new-secret-1234", " SEKRITabcdefgh"] })).status).toBe(200);
    expect((await p.api("PATCH", `/v1/sources/${held}`, { secrets: [" SEKRITabcdefgh"] })).status).toBe(400);

    // A webhook's own secret from before (padded, or a whsec_ key under 24 bytes), sent back with its other fields, changes nothing and is taken; another such is refused.
    for (const own of [" SEKRITabcdefgh", "whsec_AAAAAAAAAAAA"]) {
      const hook = await p.createWebhook(base());
      await env.DB.prepare("UPDATE webhooks SET secret = ? WHERE uid = ?").bind(own, hook.uid).run();
      const kept = await p.api("PATCH", `/v1/webhooks/${hook.uid}`, { secret: own, maxAttempts: 3 });
      expect(kept.status, `${own}: ${JSON.stringify(kept.json)}`).toBe(200);
      const put = await p.api("PUT", `/v1/webhooks/${hook.uid}`, { url: hook.url, eventTypes: hook.eventTypes, organizationUid: hook.organizationUid, secret: own });
      expect(put.status, `${own}: ${JSON.stringify(put.json)}`).toBe(200);
      const other = await p.api("PATCH", `/v1/webhooks/${hook.uid}`, { secret: `${own}X` });
      expect(other.status, own).toBe(400);
      expect(other.json.error.details.issues.map((i: { path: string }) => i.path)).toEqual(["secret"]);
      expect(await env.DB.prepare("SELECT secret, previous_secret FROM webhooks WHERE uid = ?").bind(hook.uid).first()).toMatchObject({ secret: own, previous_secret: null });
    }
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

  it("refuses a URL that is this Edgehook's own ingress (each event would come back as a new one), from the API and the dashboard", async () => {
    const p = pipeline();
    const loop = { ...base(), url: "https://edgehook.test/webhooks/podium" };
    for (const url of [loop.url, "https://edgehook.test./webhooks/podium", "https://EDGEHOOK.test/%77ebhooks/podium"]) {
      const refused = await p.api("POST", "/v1/webhooks", { ...loop, url });
      expect(refused.status).toBe(400);
      expect(refused.json.error.details.issues).toEqual([{ path: "url", message: expect.stringContaining("own ingress") }]);
      // Worded as every other field's refusal, so the dashboard names its box by its label.
      expect(refused.json.error.message).toMatch(/^Invalid body: url: .*own ingress/);
    }
    const made = await p.createWebhook(base());
    expect((await p.api("PATCH", `/v1/webhooks/${made.uid}`, { url: loop.url })).status).toBe(400);
    expect((await p.api("POST", "/v1/notification-endpoints", { url: loop.url, alertTypes: ["webhook.failing"] })).status).toBe(400);
    // Another path of the same origin is not the ingress.
    expect((await p.api("PATCH", `/v1/webhooks/${made.uid}`, { url: "https://edgehook.test/elsewhere" })).status).toBe(200);
    const form = await dashboardForm("/dashboard/webhooks", await dashboardCookie(), { url: loop.url, eventTypes: "*", organizationUid: loop.organizationUid });
    expect(form.status).toBe(400);
    expect(await form.text()).toMatch(/URL: [^<]*own ingress/);
    const endpoint = await dashboardForm("/dashboard/alerts/endpoints", await dashboardCookie(), { url: loop.url, alertTypes: "webhook.failing" });
    expect(endpoint.status).toBe(400);
    expect(await endpoint.text()).toMatch(/URL: [^<]*own ingress/);
  });

  it("refuses a URL with a bidirectional override or a control character, which would read as another where it is shown", async () => {
    const p = pipeline();
    const url = "https://downstream.test/ok/\u202emoc.elpmaxe.sdrocer-latot//:sptth";
    const made = await p.api("POST", "/v1/webhooks", { ...base(), url });
    expect(made.status).toBe(400);
    expect(made.json.error.details.issues).toEqual([{ path: "url", message: expect.stringContaining("bidirectional formatting characters") }]);
    const ok = await p.api("POST", "/v1/webhooks", { ...base(), url: new URL(url).href });
    expect(ok.status).toBe(201);
    expect((await p.api("PATCH", `/v1/webhooks/${ok.json.uid}`, { url: `${url}\u0085` })).status).toBe(400);
    expect((await p.api("POST", "/v1/notification-endpoints", { url, alertTypes: ["webhook.failing"] })).status).toBe(400);
  });

  it("stores a URL as it is sent (the parser's form), so what is shown is what is requested; port 0 is refused", async () => {
    const p = pipeline();
    const key = uniqueKey();
    for (const [typed, stored] of [
      [`  HTTPS://Downstream.TEST/ok/${key}  `, `https://downstream.test/ok/${key}`],
      [`https:downstream.test\\ok\\${key}`, `https://downstream.test/ok/${key}`],
    ]) {
      const made = await p.api("POST", "/v1/webhooks", { ...base(), url: typed });
      expect(made.status).toBe(201);
      expect(made.json.url).toBe(stored);
      expect((await p.api("GET", `/v1/webhooks/${made.json.uid}`)).json.url).toBe(stored);
      // The same URL typed otherwise is no change of it.
      const again = await p.api("PATCH", `/v1/webhooks/${made.json.uid}`, { url: typed });
      expect(again.json.url).toBe(stored);
      expect(again.json.updatedAt).toBe(made.json.updatedAt);
      expect((await p.api("PATCH", `/v1/webhooks/${made.json.uid}`, {})).json.updatedAt).toBe(made.json.updatedAt);
    }
    const endpoint = await p.api("POST", "/v1/notification-endpoints", { url: ` HTTPS://Downstream.TEST/ok/${key}`, alertTypes: ["webhook.failing"] });
    expect(endpoint.json.url).toBe(`https://downstream.test/ok/${key}`);
    // One stored as typed before URLs were stored in the parser's form: given back as read, it is no new URL
    // (its credential headers stay, nothing is written).
    const legacy = await p.api("POST", "/v1/webhooks", { ...base(), transformHeaders: { authorization: "'Bearer legacy-token-1234'" } });
    const typed = `https://Downstream.TEST/ok/${key}`;
    await env.DB.prepare("UPDATE webhooks SET url = ? WHERE uid = ?").bind(typed, legacy.json.uid).run();
    const kept = await p.api("PATCH", `/v1/webhooks/${legacy.json.uid}`, { url: typed });
    expect(kept.status).toBe(200);
    expect(kept.json).toMatchObject({ url: typed, updatedAt: legacy.json.updatedAt });
    expect((await p.api("PATCH", `/v1/webhooks/${legacy.json.uid}`, { url: typed, timeoutMs: 2000 })).json).toMatchObject({ url: typed, timeoutMs: 2000 });
    // A URL is at most 2048 characters as it is stored and sent, percent-encoded.
    const long = await p.api("POST", "/v1/webhooks", { ...base(), url: `https://downstream.test/${"é".repeat(400)}` });
    expect(long.status).toBe(400);
    expect(long.json.error.details.issues).toEqual([{ path: "url", message: "must be at most 2048 characters once percent-encoded" }]);
    const zero = await p.api("POST", "/v1/webhooks", { ...base(), url: "https://downstream.test:0/x" });
    expect(zero.status).toBe(400);
    expect(zero.json.error.details.issues).toEqual([{ path: "url", message: "must not use port 0" }]);
  });

  it("answers 400 invalid_request with the issues for bad input", async () => {
    const p = pipeline();
    for (const body of [
      { ...base(), eventTypes: [] },
      { ...base(), eventTypes: ["message.received,message.sent"] },
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
    // Podium's PUT changes only what it gives: one sent so here is told it replaces, and of PATCH.
    const podiumPut = await p.api("PUT", `/v1/webhooks/${created.uid}`, { disabled: true });
    expect(podiumPut.status).toBe(400);
    const replaces = "required: a PUT replaces the whole webhook (what it leaves out goes back to its default); PATCH changes only the fields it gives";
    expect(podiumPut.json.error.details.issues).toEqual([
      { path: "url", message: replaces },
      { path: "eventTypes", message: replaces },
    ]);
    // Created without them, or given them wrong, a webhook is told as before.
    const bare = await p.api("POST", "/v1/webhooks", {});
    expect(bare.json.error.details.issues).toEqual([
      { path: "url", message: "required (expected string)" },
      { path: "eventTypes", message: "required (expected array)" },
    ]);
    expect((await p.api("PUT", `/v1/webhooks/${created.uid}`, { url: 1, eventTypes: ["*"] })).json.error.details.issues).toEqual([
      { path: "url", message: "Invalid input: expected string, received number" },
    ]);
    // A filter or headers map that is no JSON object is told so in JSON's word, not zod's ("record").
    const notObjects = await p.api("PATCH", `/v1/webhooks/${created.uid}`, { filter: "phone", transformHeaders: ["x-a"] });
    expect(notObjects.json.error.details.issues).toEqual([
      { path: "filter", message: "Invalid input: expected object, received string" },
      { path: "transformHeaders", message: "Invalid input: expected object, received array" },
    ]);
    // Its own location and organization repeated (a whole webhook sent back) are no change.
    const same = { url: created.url, eventTypes: ["review.created"], locationUid: "loc-1", organizationUid: created.organizationUid };
    const putBack = await p.api("PUT", `/v1/webhooks/${created.uid}`, same);
    expect(putBack.status).toBe(200);
    expect(putBack.json).toMatchObject(same);
    expect((await p.api("PATCH", `/v1/webhooks/${created.uid}`, { locationUid: "loc-1", disabled: true })).json).toMatchObject({ locationUid: "loc-1", disabled: true });
    const nulled = await p.api("PATCH", `/v1/webhooks/${created.uid}`, { locationUid: null });
    expect(nulled.status).toBe(400);
    expect(nulled.json.error.details.issues).toEqual([{ path: "locationUid", message: expect.stringMatching(/cannot change/) }]);
    const rotated = await p.api("PATCH", `/v1/webhooks/${created.uid}`, { secret: "whsec_" + btoa("rotated secret, 24 bytes long") });
    expect(rotated.json).not.toHaveProperty("secret");
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

/** The batch that writes a webhook row's change (PATCH, PUT). */
const changesWebhook = (statements: SeenStatement[]) => statements.some((st) => st.sql.includes("UPDATE webhooks SET url"));
const deletesWebhook = (statements: SeenStatement[]) => statements.some((st) => st.sql.startsWith("DELETE FROM webhooks WHERE uid"));

/** A webhook row's version (its updated_at), as the store reads it. */
const versionOf = async (uid: string) => (await env.DB.prepare("SELECT updated_at FROM webhooks WHERE uid = ?").bind(uid).first<number>("updated_at"))!;

const health = (uid: string) =>
  env.DB.prepare("SELECT consecutive_failures FROM webhook_health WHERE webhook_uid = ?").bind(uid).first<number>("consecutive_failures");

describe("a change racing another write", () => {
  it("PATCH after the maintenance run disabled the webhook meanwhile answers 409 conflict and saves nothing: it stays disabled, its deliveries held", async () => {
    const { p, before, ran } = racing(changesWebhook);
    const { webhook, event } = await p.webhookOn("ok");
    const id = await p.ingest(event());
    expect((await deliveryRows(id)).map((d) => d.status)).toEqual(["pending"]);

    p.woken.splice(0);
    before(async () => env.DB.batch(disableWebhookStatements(env.DB, webhook.uid, "failing for 60 minutes", Date.now(), await versionOf(webhook.uid))));
    const res = await p.api("PATCH", `/v1/webhooks/${webhook.uid}`, { timeoutMs: 2000 });
    expect(ran()).toBe(true);
    expect(res.status).toBe(409);
    expect(res.json.error.code).toBe("conflict");
    expect(res.json.error.message).toMatch(/read it again and retry/);
    const now = await p.api("GET", `/v1/webhooks/${webhook.uid}`);
    expect(now.json).toMatchObject({ disabled: true, disabledReason: "failing for 60 minutes", timeoutMs: 5000, heldDeliveries: 1 });
    expect((await deliveryRows(id)).map((d) => d.status)).toEqual(["held"]);
    expect(p.woken).toEqual([]); // nothing released

    // Read again, the same change is saved, and the webhook stays disabled.
    const retried = await p.api("PATCH", `/v1/webhooks/${webhook.uid}`, { timeoutMs: 2000 });
    expect(retried.status).toBe(200);
    expect(retried.json).toMatchObject({ disabled: true, timeoutMs: 2000, heldDeliveries: 1 });
  });

  it("PUT after a DELETE meanwhile answers 404 not_found and writes nothing", async () => {
    const { p, other, before, ran } = racing(changesWebhook);
    const { webhook } = await p.webhookOn("ok");
    before(() => other.api("DELETE", `/v1/webhooks/${webhook.uid}`));
    // A change (one to what it is writes nothing, so it reads as made before the delete).
    const res = await p.api("PUT", `/v1/webhooks/${webhook.uid}`, { url: webhook.url, eventTypes: ["review.*"] });
    expect(ran()).toBe(true);
    expect(res.status).toBe(404);
    expect(res.json.error.code).toBe("not_found");
    expect(await env.DB.prepare("SELECT COUNT(*) AS n FROM webhooks WHERE uid = ?").bind(webhook.uid).first<number>("n")).toBe(0);
  });

  it("a disabling PATCH that loses the race holds nothing, and an enabling one keeps the failed streak", async () => {
    const { p, other, before, ran } = racing(changesWebhook);
    const { webhook, event } = await p.webhookOn("fail");
    const id = await p.ingest(event());
    await p.deliver(); // failed attempts: a streak, the delivery pending its retry
    const streak = await health(webhook.uid);
    expect(streak).toBeGreaterThan(0);
    expect((await deliveryRows(id)).map((d) => d.status)).toEqual(["pending"]);

    const path = `/v1/webhooks/${webhook.uid}`;
    // Another client sets the timeout between this PATCH's read and its write: 409, and the webhook is as the other left it.
    const losing = async (change: Record<string, unknown>, timeoutMs: number) => {
      before(() => other.api("PATCH", path, { timeoutMs }));
      const res = await p.api("PATCH", path, change);
      expect(ran()).toBe(true);
      expect(res.status).toBe(409);
      return (await p.api("GET", path)).json;
    };
    expect(await losing({ disabled: true }, 3000)).toMatchObject({ disabled: false, timeoutMs: 3000, heldDeliveries: 0 });
    expect((await deliveryRows(id)).map((d) => d.status)).toEqual(["pending"]);

    expect((await p.api("PATCH", path, { disabled: true })).status).toBe(200);
    expect((await deliveryRows(id)).map((d) => d.status)).toEqual(["held"]);
    expect(await losing({ disabled: false }, 4000)).toMatchObject({ disabled: true, timeoutMs: 4000, heldDeliveries: 1 });
    expect(await health(webhook.uid)).toBe(streak);
  });

  it("DELETE of a webhook or a notification endpoint deleted meanwhile answers 404, not a second 204", async () => {
    const { p, other, before, ran } = racing(deletesWebhook);
    const { webhook } = await p.webhookOn("ok");
    const endpoint = await p.api("POST", "/v1/notification-endpoints", { url: `https://downstream.test/ok/${uniqueKey()}`, alertTypes: ["webhook.failing"] });
    for (const path of [`/v1/webhooks/${webhook.uid}`, `/v1/notification-endpoints/${endpoint.json.uid}`]) {
      before(() => other.api("DELETE", path));
      const res = await p.api("DELETE", path);
      expect(ran(), path).toBe(true);
      expect([res.status, res.json.error.code], path).toEqual([404, "not_found"]);
    }
  });

  it("a token's DELETE of a webhook the admin widened meanwhile past its data scopes answers 409 and deletes nothing; the admin's deletes whatever the version", async () => {
    const { p, other, before, ran } = racing(deletesWebhook);
    const { webhook } = await p.webhookOn("ok", { eventTypes: ["message.received"] });
    const t = await makeToken(p, ["webhooks:write", "read_messages"]);
    const path = `/v1/webhooks/${webhook.uid}`;
    before(() => other.api("PATCH", path, { eventTypes: ["message.received", "review.created"] }));
    const res = await as(p, t.token, "DELETE", path);
    expect(ran()).toBe(true);
    expect([res.status, res.json.error.code]).toEqual([409, "conflict"]);
    expect(res.json.error.message).toBe("The webhook changed since this request read it, so it was not deleted: read it again and retry.");
    expect((await p.api("GET", path)).json.eventTypes).toEqual(["message.received", "review.created"]);
    // Read again, it is refused for the review type it now has.
    expect((await as(p, t.token, "DELETE", path)).status).toBe(403);

    before(() => other.api("PATCH", path, { timeoutMs: 2000 }));
    expect((await p.api("DELETE", path)).status).toBe(204);
    expect(ran()).toBe(true);
    expect((await p.api("GET", path)).status).toBe(404);
  });

  it("PATCH of a notification endpoint deleted meanwhile answers 404", async () => {
    const { p, other, before, ran } = racing(changesWebhook);
    const made = await p.api("POST", "/v1/notification-endpoints", { url: `https://downstream.test/ok/${uniqueKey()}`, alertTypes: ["webhook.failing"] });
    before(() => other.api("DELETE", `/v1/notification-endpoints/${made.json.uid}`));
    const res = await p.api("PATCH", `/v1/notification-endpoints/${made.json.uid}`, { disabled: true });
    expect(ran()).toBe(true);
    expect(res.status).toBe(404);
  });
});

describe("the maintenance run and the scheduler act only on the webhook as they read it", () => {
  const MINUTE = 60_000;
  /** The automatic disable of webhook `uid` (its batch). */
  const disabling = (uid: string) => (statements: SeenStatement[]) =>
    statements.some((st) => st.sql.includes("UPDATE webhooks SET disabled = 1") && st.values.includes(uid));

  /** A webhook failing for good (every attempt, one each), found due by a maintenance run a few minutes on, and an event of it pending. */
  async function failingWithPending(p: ReturnType<typeof pipeline>) {
    const made = await p.webhookOn("fail", { maxAttempts: 1, failingAfterAttempts: 1, autoDisableAfterMinutes: 1 });
    await p.ingest(made.event());
    await p.deliver();
    const pending = await p.ingest(made.event()); // not delivered: pending
    expect((await deliveryRows(pending)).map((d) => d.status)).toEqual(["pending"]);
    return { ...made, pending, path: `/v1/webhooks/${made.webhook.uid}`, later: Date.now() + 5 * MINUTE };
  }

  it("auto-disable does not apply the old setting after PATCH autoDisableAfterMinutes: null saved meanwhile", async () => {
    let uid = "";
    const { p, other, before, ran } = racing((statements) => disabling(uid)(statements));
    const { webhook, pending, path, later } = await failingWithPending(p);
    uid = webhook.uid;
    before(async () => expect((await other.api("PATCH", path, { autoDisableAfterMinutes: null })).status).toBe(200));
    const disabled = await disableFailing(p.env, later);
    expect(ran()).toBe(true);
    expect(disabled.map((d) => d.webhook.uid)).not.toContain(uid);
    expect((await p.api("GET", path)).json).toMatchObject({ disabled: false, autoDisableAfterMinutes: null, heldDeliveries: 0 });
    expect((await deliveryRows(pending)).map((d) => d.status)).toEqual(["pending"]);
    // The next run decides on the setting now saved: never.
    expect((await disableFailing(p.env, later)).map((d) => d.webhook.uid)).not.toContain(uid);
    expect((await p.api("GET", path)).json.disabled).toBe(false);
  });

  it("auto-disable skips a webhook changed meanwhile, holding nothing; the next run disables it if it still should", async () => {
    let uid = "";
    const { p, other, before, ran } = racing((statements) => disabling(uid)(statements));
    const { webhook, pending, path, later } = await failingWithPending(p);
    uid = webhook.uid;
    before(() => other.api("PATCH", path, { timeoutMs: 3000 }));
    expect((await disableFailing(p.env, later)).map((d) => d.webhook.uid)).not.toContain(uid);
    expect(ran()).toBe(true);
    expect((await p.api("GET", path)).json).toMatchObject({ disabled: false, timeoutMs: 3000 });
    expect((await deliveryRows(pending)).map((d) => d.status)).toEqual(["pending"]);

    expect((await disableFailing(p.env, later)).map((d) => d.webhook.uid)).toContain(uid);
    expect((await p.api("GET", path)).json).toMatchObject({ disabled: true, timeoutMs: 3000, heldDeliveries: 1 });
    expect((await deliveryRows(pending)).map((d) => d.status)).toEqual(["held"]);
  });

  it("auto-disable leaves a webhook whose failing streak a success ended meanwhile, holding nothing", async () => {
    let uid = "";
    const { p, before, ran } = racing((statements) => disabling(uid)(statements));
    const { webhook, pending, path, later } = await failingWithPending(p);
    uid = webhook.uid;
    // What a recorded success does to the streak (store/health.ts), landing just before the disable.
    before(async () => {
      await env.DB.prepare("UPDATE webhook_health SET consecutive_failures = 0, failing_since = NULL, last_success_at = ? WHERE webhook_uid = ?")
        .bind(Date.now(), uid)
        .run();
    });
    expect((await disableFailing(p.env, later)).map((d) => d.webhook.uid)).not.toContain(uid);
    expect(ran()).toBe(true);
    expect((await p.api("GET", path)).json).toMatchObject({ disabled: false, heldDeliveries: 0 });
    expect((await deliveryRows(pending)).map((d) => d.status)).toEqual(["pending"]);
  });

  it("a scheduler that read the webhook disabled holds nothing once it was enabled meanwhile: the released deliveries stay pending and go out", async () => {
    let uid = "";
    // The scheduler's hold: a status change of the webhook's deliveries alone.
    const { p, other, before, ran } = racing(
      (statements) =>
        statements.some((st) => st.sql.startsWith("UPDATE deliveries SET status") && st.values[0] === uid) &&
        !statements.some((st) => st.sql.includes("UPDATE webhooks")),
    );
    const { webhook, key, event } = await p.webhookOn("ok");
    const path = `/v1/webhooks/${webhook.uid}`;
    expect((await p.api("PATCH", path, { disabled: true })).status).toBe(200);
    const id = await p.ingest(event());
    expect((await deliveryRows(id)).map((d) => d.status)).toEqual(["held"]);

    uid = webhook.uid;
    // The scheduler reads the webhook (disabled); before its hold is written, the webhook is enabled, which releases.
    before(async () => expect((await other.api("PATCH", path, { disabled: false })).status).toBe(200));
    await p.deliver();
    expect(ran()).toBe(true);
    expect((await deliveryRows(id)).map((d) => d.status)).toEqual(["pending"]);
    expect((await p.api("GET", path)).json).toMatchObject({ disabled: false, heldDeliveries: 0 });

    // Woken by the change, the scheduler reads the webhook enabled and sends it.
    await p.deliver();
    expect((await deliveryRows(id)).map((d) => d.status)).toEqual(["succeeded"]);
    expect(await received(key)).toHaveLength(1);
  });
});

/** Sets when webhooks were created (behind the store's back): `at[i]` for `uids[i]`. */
async function createdAt(uids: string[], at: (i: number) => number) {
  await env.DB.batch(uids.map((uid, i) => env.DB.prepare("UPDATE webhooks SET created_at = ? WHERE uid = ?").bind(at(i), uid)));
}

describe("the sources a limited token's webhook names", () => {
  it("another organization's source answers as one that does not exist (POST, PATCH, PUT) and is never tied on; its organizations' and ownerless ones are named", async () => {
    const p = pipeline();
    const k = uniqueKey();
    const [mine, theirs] = [`org-${k}-a`, `org-${k}-b`];
    const own = await createSource({ provider: "stripe", secrets: ["whsec_stripe_test_secret"], organizationUid: mine });
    const other = await createSource({ provider: "stripe", secrets: ["whsec_stripe_test_secret"], organizationUid: theirs });
    const otherDisabled = await createSource({ provider: "stripe", secrets: ["whsec_stripe_test_secret"], organizationUid: theirs, disabled: true });
    const ownerless = await createSource({ provider: "stripe", secrets: ["whsec_stripe_test_secret"] });
    const nothing = `src-${k}-none`;
    const t = await makeToken(p, ["webhooks:read", "webhooks:write", "sources:read"], { organizationUids: [mine] });
    const body = { url: `https://downstream.test/ok/${k}`, eventTypes: ["charge.*"], organizationUid: mine };
    const stored = async () => (await p.api("GET", "/v1/webhooks?limit=100")).json.data.filter((w: { url: string }) => w.url === body.url);
    const before = await stored();
    // The answer to an id, with the id itself taken out: what it tells of the source, besides the id the caller gave.
    const told = async (res: Promise<{ status: number; json: unknown }>, id: string) => {
      const { status, json } = await res;
      return { status, answer: JSON.stringify(json).replaceAll(id, "<id>") };
    };
    const refusal = await told(as(p, t.token, "POST", "/v1/webhooks", { ...body, sourceIds: [nothing] }), nothing);
    expect(refusal.status).toBe(400);
    expect(JSON.parse(refusal.answer).error).toEqual({
      code: "invalid_request",
      message: 'Invalid body: sourceIds names no source "<id>" (GET /v1/sources lists them).',
      details: { issues: [{ path: "sourceIds.0", message: 'no source "<id>"' }] },
    });
    for (const id of [other, otherDisabled]) {
      expect(await told(as(p, t.token, "POST", "/v1/webhooks", { ...body, sourceIds: [id] }), id), id).toEqual(refusal);
      // As GET says of it.
      expect((await as(p, t.token, "GET", `/v1/sources/${id}`)).status).toBe(404);
    }
    const both = await as(p, t.token, "POST", "/v1/webhooks", { ...body, sourceIds: [own, other, nothing] });
    expect(both.json.error.details.issues).toEqual([
      { path: "sourceIds.1", message: `no source "${other}"` },
      { path: "sourceIds.2", message: `no source "${nothing}"` },
    ]);
    expect(await stored()).toEqual(before);

    // Its organization's source, one no one owns and one declared by configuration are named.
    const made = await as(p, t.token, "POST", "/v1/webhooks", { ...body, sourceIds: [own, ownerless, "podium"] });
    expect(made.status).toBe(201);
    const uid = made.json.uid;
    for (const [method, change] of [
      ["PATCH", { sourceIds: [own, other] }],
      ["PUT", { url: body.url, eventTypes: body.eventTypes, sourceIds: [other] }],
    ] as const) {
      const res = await as(p, t.token, method, `/v1/webhooks/${uid}`, change);
      expect(res.status, method).toBe(400);
      expect(res.json.error.details.issues, method).toEqual([{ path: `sourceIds.${change.sourceIds.indexOf(other)}`, message: `no source "${other}"` }]);
    }
    expect((await as(p, t.token, "GET", `/v1/webhooks/${uid}`)).json.sourceIds).toEqual([own, ownerless, "podium"]);

    // A token limited to a location not known to belong to an organization names the ownerless sources alone.
    const located = await makeToken(p, ["webhooks:write"], { locationUids: [`loc-${k}`] });
    const atLocation = { ...body, organizationUid: undefined, locationUid: `loc-${k}` };
    expect((await as(p, located.token, "POST", "/v1/webhooks", { ...atLocation, sourceIds: [own] })).json.error.details.issues).toEqual([
      { path: "sourceIds.0", message: `no source "${own}"` },
    ]);
    expect((await as(p, located.token, "POST", "/v1/webhooks", { ...atLocation, sourceIds: [ownerless] })).status).toBe(201);
    // Once its location is known to be the organization's (an event of it stored), the organization's sources too; never another's.
    await p.ingest(podiumBody({ organizationUid: mine, locationUid: `loc-${k}` }));
    expect((await as(p, located.token, "POST", "/v1/webhooks", { ...atLocation, sourceIds: [own] })).status).toBe(201);
    expect((await as(p, located.token, "POST", "/v1/webhooks", { ...atLocation, sourceIds: [other] })).json.error.details.issues).toEqual([
      { path: "sourceIds.0", message: `no source "${other}"` },
    ]);

    // The admin names any source; a webhook it tied to another's keeps it through the token's other changes.
    const tied = await p.api("POST", "/v1/webhooks", { ...body, sourceIds: [other] });
    expect(tied.status).toBe(201);
    const renamed = await as(p, t.token, "PATCH", `/v1/webhooks/${tied.json.uid}`, { eventTypes: ["charge.succeeded"] });
    expect(renamed.status).toBe(200);
    expect(renamed.json.sourceIds).toEqual([other]);
  });
});

describe("what a location token's webhook costs to check", () => {
  it("reads where its locations belong only when it names a stored source newly", async () => {
    const { db, calls } = d1Double();
    const p = pipeline({ DB: db });
    const k = uniqueKey();
    const org = `org-${k}`;
    const own = await createSource({ provider: "stripe", secrets: ["whsec_stripe_test_secret"], organizationUid: org });
    const ownerless = await createSource({ provider: "stripe", secrets: ["whsec_stripe_test_secret"] });
    await p.ingest(podiumBody({ organizationUid: org, locationUid: `loc-${k}` }));
    const t = await makeToken(p, ["webhooks:write"], { locationUids: [`loc-${k}`] });
    const body = { url: `https://downstream.test/ok/${k}`, eventTypes: ["charge.*"], locationUid: `loc-${k}` };
    const placesRead = async (sourceIds: string[] | null) => {
      const from = calls.sql.length;
      const res = await as(p, t.token, "POST", "/v1/webhooks", { ...body, sourceIds });
      expect(res.status, JSON.stringify(sourceIds)).toBe(201);
      return calls.sql.slice(from).filter((sql) => sql.includes("FROM locations")).length;
    };
    // Every source, or one declared by configuration: no stored source to check.
    expect(await placesRead(null)).toBe(0);
    expect(await placesRead(["podium"])).toBe(0);
    // A stored source, its location's organization's or no one's: read once, whatever it is (the time
    // taken tells nothing of whose it is, nor whether it exists).
    expect(await placesRead([own])).toBe(1);
    expect(await placesRead([ownerless, "podium"])).toBe(1);
  });
});

describe("webhook lists", () => {
  it("page newest first by creation; a webhook created meanwhile skips nothing and repeats nothing; a bad cursor is refused", async () => {
    const p = pipeline();
    const org = `org-${uniqueKey()}`;
    const made: string[] = [];
    for (let i = 0; i < 6; i++) made.push((await p.createWebhook({ ...base(), organizationUid: org })).uid);
    const t0 = Date.now() - 60_000;
    await createdAt(made, (i) => t0 + i * 1000);
    const { token } = await makeToken(p, ["webhooks:read"], { organizationUids: [org] });
    const list = (cursor?: string) => as(p, token, "GET", `/v1/webhooks?limit=2${cursor ? `&cursor=${cursor}` : ""}`);

    const seen: string[] = [];
    let page = await list();
    seen.push(...page.json.data.map((w: { uid: string }) => w.uid));
    // Created while the list is being read: newer than all, so not in this walk, and nothing moves.
    const late = (await p.createWebhook({ ...base(), organizationUid: org })).uid;
    while (page.json.nextCursor) {
      page = await list(page.json.nextCursor);
      expect(page.status).toBe(200);
      seen.push(...page.json.data.map((w: { uid: string }) => w.uid));
    }
    expect(seen).toEqual([...made].reverse());
    expect((await list()).json.data[0].uid).toBe(late);

    for (const bad of ["nope", btoa("c1u"), made[0]!]) {
      const res = await list(bad);
      expect(res.status, bad).toBe(400);
      expect(res.json.error.code).toBe("invalid_request");
    }
  });

  it("page notification endpoints newest first by creation", async () => {
    const p = pipeline();
    const made: string[] = [];
    for (let i = 0; i < 3; i++) {
      made.push((await p.api("POST", "/v1/notification-endpoints", { url: `https://downstream.test/ok/${uniqueKey()}`, alertTypes: ["webhook.failing"] })).json.uid);
    }
    // Later than any other endpoint of this file: the first pages are these.
    const later = Date.now() + 3_600_000;
    await createdAt(made, (i) => later + i * 1000);
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let i = 0; i < 3; i++) {
      const page: Answered<"GET", "/v1/notification-endpoints"> = await p.api("GET", `/v1/notification-endpoints?limit=1${cursor ? `&cursor=${cursor}` : ""}`);
      seen.push(page.json.data[0].uid);
      cursor = page.json.nextCursor;
    }
    expect(seen).toEqual([...made].reverse());
    expect((await p.api("GET", "/v1/notification-endpoints?cursor=nope")).status).toBe(400);
  });
});

describe("event types of a webhook", () => {
  it.each([
    ["message.recieved", "message.received"],
    ["review.creatd", "review.created"],
    ["invoice.payment_succeded", "invoice.payment_succeeded"],
    ["contact.update", "contact.updated"],
    // A wildcard under a Podium object other than object.* matches none of its types.
    ["message.received.*", "message.received"],
    ["invoice.payment.*", "invoice.*"],
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

  it("suggests a wildcard for a mistyped wildcard: messages.* → message.*", async () => {
    const p = pipeline();
    const res = await p.api("POST", "/v1/webhooks", { ...base(), eventTypes: ["messages.*"] });
    expect(res.status).toBe(201);
    expect(res.json.warnings).toEqual([{ code: "unseen_event_type", eventType: "messages.*", message: expect.stringContaining('did you mean "message.*"?') }]);
    // Another provider's type in another case is pointed to the catalog's spelling (compared without case: else none is within 3 edits).
    const cased = await p.api("POST", "/v1/webhooks", { ...base(), eventTypes: ["ORDERS.CREATE"] });
    expect(cased.status).toBe(201);
    expect(cased.json.warnings).toEqual([{ code: "unseen_event_type", eventType: "ORDERS.CREATE", message: expect.stringContaining('did you mean "orders.create"?') }]);
    // So is a Podium type in another case: it may be another provider's (a generic HMAC source's), so it is not refused.
    const podiumCased = await p.api("POST", "/v1/webhooks", { ...base(), eventTypes: ["MESSAGE.RECEIVED"] });
    expect(podiumCased.status).toBe(201);
    expect(podiumCased.json.warnings).toEqual([
      { code: "unseen_event_type", eventType: "MESSAGE.RECEIVED", message: expect.stringContaining('did you mean "message.received"?') },
    ]);
  });

  it("warns that an alert type subscribed by a webhook goes to notification endpoints only", async () => {
    const p = pipeline();
    const res = await p.api("POST", "/v1/webhooks", { ...base(), eventTypes: ["webhook.failing"], sourceIds: ["podium"] });
    expect(res.status).toBe(201);
    expect(res.json.warnings).toEqual([{ code: "unseen_event_type", eventType: "webhook.failing", message: expect.stringContaining("go only to notification endpoints") }]);
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
    // A limited token is not told what sources have received (every tenant's): the type still warns.
    const limited = await makeToken(p, ["webhooks:write", "read_payments"], { organizationUids: [`org-${k}`] });
    const asLimited = await as(p, limited.token, "POST", "/v1/webhooks", { ...body, organizationUid: `org-${k}` });
    expect(asLimited.status).toBe(201);
    expect(asLimited.json.warnings).toEqual([
      { code: "unseen_event_type", eventType: "invoice.paid", message: expect.stringContaining("is not told to a limited token") },
    ]);

    const bogus = await p.api("POST", "/v1/webhooks", { ...base(), eventTypes: ["bogus.type"] });
    expect(bogus.status).toBe(201);
    expect(bogus.json.warnings.map((w: { eventType: string }) => w.eventType)).toEqual(["bogus.type"]);
  });

  it("forgets the types a deleted source received, and learns none from its events still queued: unseen again for a webhook of every source, and for a source made again under its id", async () => {
    const p = pipeline();
    const k = uniqueKey();
    const type = `shipment_${k}.created`;
    const secrets = ["whsec_stripe_test_secret"];
    const stripe = await createSource({ provider: "stripe", secrets });
    const msg: IngestMessage = { v: 1, eventId: `evt_${k}`, sourceId: stripe, receivedAt: Date.now(), headers: {}, body: "{}", dedupeKey: k, eventType: type, locationUid: null, organizationUid: null };
    expect((await p.runIngest([msg])).acked).toHaveLength(1);
    const unseen = async (body: Record<string, unknown>) => {
      const res = await p.api("POST", "/v1/webhooks", { url: `https://downstream.test/ok/${k}`, eventTypes: [type], ...body });
      expect(res.status).toBe(201);
      return (res.json.warnings ?? []).map((w: { eventType: string }) => w.eventType);
    };
    expect(await unseen({})).toEqual([]);
    expect(await unseen({ sourceIds: [stripe] })).toEqual([]);

    expect((await p.api("DELETE", `/v1/sources/${stripe}`)).status).toBe(204);
    expect(await unseen({})).toEqual([type]);
    // An event it sent before its deletion, still queued, is stored but teaches no type.
    const late = `shipment_${k}.late`;
    expect((await p.runIngest([{ ...msg, eventId: `evt_${k}_late`, dedupeKey: `${k}-late`, eventType: late }])).acked).toHaveLength(1);
    expect((await p.api("GET", `/v1/events/evt_${k}_late`)).status).toBe(200);
    expect(await unseen({ eventTypes: [type, late] })).toEqual([type, late]);
    // Another source under its id (maybe another tenant's) has received nothing yet.
    await createSource({ id: stripe, provider: "stripe", secrets });
    expect(await unseen({ sourceIds: [stripe], eventTypes: [type, late] })).toEqual([type, late]);
    expect((await p.api("DELETE", `/v1/sources/${stripe}`)).status).toBe(204);

    // A source declared by configuration has no row, and learns its types all the same.
    const declared = `shipment_${k}.declared`;
    expect((await p.runIngest([{ ...msg, eventId: `evt_${k}_declared`, dedupeKey: `${k}-declared`, sourceId: "podium", eventType: declared }])).acked).toHaveLength(1);
    expect(await unseen({ sourceIds: ["podium"], eventTypes: [declared, late] })).toEqual([late]);
  });

  it("documents the catch-all flag and the warnings in OpenAPI", async () => {
    const doc: unknown = await (await call(new Request("https://edgehook.test/openapi.json"))).json();
    expect(at(doc, "components", "schemas", "Webhook", "properties", "catchAll", "type")).toBe("boolean");
    for (const name of ["WebhookCreated", "WebhookChanged"]) {
      const allOf = at(doc, "components", "schemas", name, "allOf");
      const own = Array.isArray(allOf) ? allOf.find((s) => at(s, "properties")) : undefined;
      expect(at(own, "properties", "warnings", "type")).toBe("array");
    }
  });
});

/**
 * Two locations of two organizations, each with a location webhook; the first organization's
 * token holds the first through where its location belongs, not the second. `routeCalls`: a call's
 * D1 round trips through `meter`, the token's own lookup aside.
 */
async function placedWebhooks() {
  const p = pipeline();
  const k = uniqueKey();
  const [org, elsewhere, here, there] = [`org-${k}`, `org-${k}-b`, `loc-${k}`, `loc-${k}-b`];
  await placeLocations(env.DB, [{ locationUid: here, organizationUid: org }, { locationUid: there, organizationUid: elsewhere }], 1).run();
  const url = `https://downstream.test/ok/${k}`;
  const placed = await p.createWebhook({ url, eventTypes: ["message.*"], locationUid: here });
  const hidden = await p.createWebhook({ url, eventTypes: ["message.*"], locationUid: there });
  const meter = meteredD1(env.DB, { record: true });
  const routeCalls = async <M extends string, P extends string>(method: M, path: P, body: unknown, headers: Record<string, string>) => {
    meter.calls.length = 0;
    const r = await meteredApiCall(meter, method, path, body, headers);
    return { ...r, calls: meter.calls.filter((c) => !c.statements.some((s) => /\bFROM tokens\b|\bUPDATE tokens\b/.test(s.sql))).length };
  };
  return { p, k, org, here, url, placed, hidden, routeCalls };
}

describe("GET /v1/webhooks/{uid}", () => {
  it("reads a webhook in one D1 call and its counts and health in one more; one the token may not see costs what an unknown uid does", async () => {
    const { p, k, org, here, url, placed, hidden, routeCalls } = await placedWebhooks();
    // Held deliveries to count: a disabled webhook of the organization, owed two events.
    const own = await p.createWebhook({ url, eventTypes: ["message.*"], organizationUid: org, disabled: true });
    for (let i = 0; i < 2; i++) await p.ingest(podiumBody({ organizationUid: org }));
    const whole = await makeToken(p, ["webhooks:read", ...DATA_SCOPES], { organizationUids: [org] });
    const contactsOnly = await makeToken(p, ["webhooks:read", "read_contacts"], { organizationUids: [org] });
    const get = (uid: string, headers: Record<string, string> = ADMIN) => routeCalls("GET", `/v1/webhooks/${uid}`, undefined, headers);
    const bearer = (t: { token: string }) => ({ authorization: `Bearer ${t.token}` });

    const admin = await get(own.uid);
    expect(admin).toMatchObject({ status: 200, calls: 2 });
    expect(admin.json).toMatchObject({ uid: own.uid, heldDeliveries: 2, backlog: { held: 2, pending: 0 }, health: { backlog: { held: 2, pending: 0 } } });
    const limited = await get(placed.uid, bearer(whole));
    expect(limited).toMatchObject({ status: 200, calls: 2, json: { uid: placed.uid, heldDeliveries: 0, backlog: { held: 0, pending: 0 } } });
    // Lacking a data scope of its types: the webhook and its health's state only, as before.
    const narrow = await get(own.uid, bearer(contactsOnly));
    expect(narrow.status).toBe(200);
    expect(narrow.json.heldDeliveries).toBeUndefined();
    expect(narrow.json.backlog).toBeUndefined();
    expect(Object.keys(narrow.json.health)).toEqual(["state"]);

    const seen = await get(hidden.uid, bearer(whole));
    const unknown = await get(`wh_${k}unknown`, bearer(whole));
    expect(seen).toMatchObject({ status: 404, calls: 1, json: { error: { code: "not_found", message: `No webhook "${hidden.uid}" (deleted, or not one this token may see).` } } });
    expect(unknown).toMatchObject({ status: 404, calls: 1, json: { error: { code: "not_found", message: `No webhook "wh_${k}unknown" (deleted, or not one this token may see).` } } });
    expect(Object.keys(seen.json.error)).toEqual(Object.keys(unknown.json.error));
    // A token of the location itself: no read of where it belongs.
    const atHere = await get(placed.uid, bearer(await makeToken(p, ["webhooks:read", ...DATA_SCOPES], { locationUids: [here] })));
    expect(atHere).toMatchObject({ status: 200, calls: 2, json: { uid: placed.uid } });
    // No more rows than the reads one at a time took (measured: 35, 10, 33, 5, 1, 7), however many
    // other webhooks and deliveries: the webhook, its location, its counts row once (it was read twice), its health.
    const rows = [admin, limited, narrow, seen, unknown, atHere].map((r) => r.rows);
    rows.forEach((n, i) => expect(n, `case ${i}`).toBeLessThanOrEqual([35, 10, 33, 5, 1, 7][i]!));
  });
});

describe("PATCH /v1/webhooks/{uid}", () => {
  it("reads where a location webhook's location belongs once, with the webhook, for a token that holds it through its organization", async () => {
    const { p, org, here, placed, hidden, routeCalls } = await placedWebhooks();
    const whole = { authorization: `Bearer ${(await makeToken(p, ["webhooks:write", ...DATA_SCOPES], { organizationUids: [org] })).token}` };
    const patch = (uid: string, body: unknown) => routeCalls("PATCH", `/v1/webhooks/${uid}`, body, whole);
    // The webhook with its location's organization, the write, its held count (was a fourth: the location again).
    const changed = await patch(placed.uid, { timeoutMs: 3000 });
    expect(changed).toMatchObject({ status: 200, calls: 3, json: { uid: placed.uid, locationUid: here, timeoutMs: 3000, heldDeliveries: 0 } });
    // Confined to the token's organization, found from where its location belongs (as read with the webhook).
    expect(changed.json.grantOrganizationUid).toBe(org);
    expect(changed.rows).toBeLessThanOrEqual(12); // 15 when the location was read again
    // One of another organization's locations stays hidden: the same one read, and a 404.
    expect(await patch(hidden.uid, { timeoutMs: 3000 })).toMatchObject({ status: 404, calls: 1, json: { error: { code: "not_found" } } });
  });
});

describe("the $regex programs of every webhook's filter together", () => {
  // 8 patterns of about 1,000 instructions each (within FILTER_LIMITS.regexProgram), distinct by `tag`.
  const heavy = (tag: string) => ({ body: Object.fromEntries(Array.from({ length: 8 }, (_, j) => [`k${j}`, { $regex: `^${tag}${j}x{990}$` }])) });
  const weight = (doc: object) => {
    const r = validateFilter(doc);
    if (!r.ok) throw new Error(`the filter is valid: ${JSON.stringify(r.issues)}`);
    return programCharge(r.filter);
  };

  /** A pipeline whose filter check runs `meanwhile.next` (once) right after reading the counts: another save landing between the check and the write. */
  const racingCheck = () => {
    const meanwhile: { next: (() => Promise<unknown>) | null } = { next: null };
    const { db } = d1Double({
      afterRun: async (st) => {
        const run = meanwhile.next;
        if (!run || !st.sql.startsWith("SELECT instructions AS total")) return;
        meanwhile.next = null;
        await run();
      },
    });
    return { racer: pipeline({ DB: db }), meanwhile };
  };

  it("refuses (400) the filter that would take them past FILTER_LIMITS.accountRegexProgram, reading one row for it (and its owner's; the webhook's too for a change); a change that adds nothing passes", async () => {
    const p = pipeline();
    const made: string[] = [];
    try {
      const total = async () => (await filterProgramTotal(env.DB)).total;
      const w = weight(heavy("over-"));
      const light = await p.api("POST", "/v1/webhooks", { ...base(), filter: { body: { s: { $regex: "^light$" } } } });
      expect(light.status).toBe(201);
      made.push(light.json.uid);
      // Fill until one more heavy filter would not fit (other tests' filters count too): each of its own
      // organization (base()), so the bound holds across owners each within its share.
      while ((await total()) + w <= FILTER_LIMITS.accountRegexProgram) {
        const r = await p.api("POST", "/v1/webhooks", { ...base(), filter: heavy(`f${made.length}-`) });
        expect(r.status).toBe(201);
        made.push(r.json.uid);
      }
      const before = await total();
      const meter = meteredD1(env.DB);
      const refused = await meteredApiCall(meter, "POST", "/v1/webhooks", { ...base(), filter: heavy("over-") });
      expect(refused.status).toBe(400);
      expect(refused.json.error.code).toBe("invalid_request");
      const sum = (before + w).toLocaleString("en-US");
      expect(refused.json.error.message).toContain(`filter: its $regex patterns count ${w.toLocaleString("en-US")} RE2 instructions (each at least 128)`);
      expect(refused.json.error.message).toContain(`that is ${sum}; the bound for all webhooks together is 262,144`);
      // A token limited to an organization is refused in words that do not tell every tenant's total.
      const org = `org-${uniqueKey()}`;
      const limited = await makeToken(p, ["webhooks:write", ...DATA_SCOPES], { organizationUids: [org] });
      const asLimited = await as(p, limited.token, "POST", "/v1/webhooks", { ...base(), organizationUid: org, filter: heavy("over-") });
      expect(asLimited.status).toBe(400);
      expect(asLimited.json.error.message).toContain("the other webhooks' filters (every organization's) leave no room for them");
      expect(asLimited.json.error.message).not.toContain(before.toLocaleString("en-US"));
      expect(asLimited.json.error.message).not.toContain(sum);
      const read = Object.entries(meter.usage.bySql).filter(([sql]) => sql.startsWith("SELECT instructions AS total"));
      expect(read.map(([, u]) => u.rowsRead)).toEqual([1]);
      // A change to the light webhook that would pass the bound is refused too; one that adds nothing passes.
      const changed = await meteredApiCall(meter, "PATCH", `/v1/webhooks/${light.json.uid}`, { filter: heavy("over-") });
      expect(changed.status).toBe(400);
      const lightCharge = weight({ body: { s: { $regex: "^light$" } } });
      expect(changed.json.error.message).toContain(`other webhooks' filters (${(before - lightCharge).toLocaleString("en-US")})`);
      // The total's row, the webhook's own part and its organization's.
      expect(Object.entries(meter.usage.bySql).filter(([sql]) => sql.startsWith("SELECT instructions AS total")).map(([, u]) => u.rowsRead)).toEqual([3]);
      expect((await p.api("PATCH", `/v1/webhooks/${light.json.uid}`, { timeoutMs: 3000 })).status).toBe(200);
      expect((await p.api("PATCH", `/v1/webhooks/${light.json.uid}`, { filter: null })).status).toBe(200);
      expect(await total()).toBe(before - lightCharge);
      // A filter stored before the bound counts nothing (filter_program 0) until its filter changes; then it counts.
      const old = made[1]!;
      await env.DB.prepare("UPDATE webhooks SET filter_program = 0 WHERE uid = ?").bind(old).run();
      const uncounted = await total();
      // Other fields changed, or its filter sent again as it is, it still counts nothing.
      expect((await p.api("PATCH", `/v1/webhooks/${old}`, { timeoutMs: 3000 })).status).toBe(200);
      expect((await p.api("PATCH", `/v1/webhooks/${old}`, { filter: heavy("f1-"), maxAttempts: 5 })).status).toBe(200);
      expect(await total()).toBe(uncounted);
      const edited = await p.api("PATCH", `/v1/webhooks/${old}`, { filter: heavy("g1-") });
      expect(edited.status).toBe(200);
      expect(await total()).toBe(uncounted + weight(heavy("g1-")));
      // Deleting gives its part back.
      const gone = made.pop();
      expect((await p.api("DELETE", `/v1/webhooks/${gone}`)).status).toBe(204);
      expect((await p.api("POST", "/v1/webhooks", { ...base(), filter: heavy("fits-") })).status).toBe(201);
    } finally {
      for (const uid of made) await p.api("DELETE", `/v1/webhooks/${uid}`);
    }
  });

  it("holds the bound when another save takes the room between the check and the write: the write is refused (400) and nothing of it is stored (migration 0054)", async () => {
    const p = pipeline();
    const made: string[] = [];
    const { racer, meanwhile } = racingCheck();
    try {
      const total = async () => (await filterProgramTotal(env.DB)).total;
      const w = weight(heavy("race-"));
      const light = await p.api("POST", "/v1/webhooks", { ...base(), filter: { body: { s: { $regex: "^light$" } } } });
      made.push(light.json.uid);
      // Room for one more heavy filter, not two.
      while ((await total()) + 2 * w <= FILTER_LIMITS.accountRegexProgram) {
        const r = await p.api("POST", "/v1/webhooks", { ...base(), filter: heavy(`r${made.length}-`) });
        expect(r.status).toBe(201);
        made.push(r.json.uid);
      }
      expect((await total()) + w).toBeLessThanOrEqual(FILTER_LIMITS.accountRegexProgram);
      const takeRoom = async () => {
        const r = await p.api("POST", "/v1/webhooks", { ...base(), filter: heavy("taken-") });
        expect(r.status).toBe(201);
        made.push(r.json.uid);
      };
      const count = async () => (await env.DB.prepare("SELECT count(*) AS n FROM webhooks").first<number>("n"))!;

      // A create.
      meanwhile.next = takeRoom;
      const before = await count();
      const created = await racer.api("POST", "/v1/webhooks", { ...base(), filter: heavy("late-") });
      expect(meanwhile.next).toBeNull();
      expect(created.status).toBe(400);
      expect(created.json.error.code).toBe("invalid_request");
      expect(created.json.error.message).toContain("the bound for all webhooks together is 262,144");
      expect(await count()).toBe(before + 1);
      expect(await total()).toBeLessThanOrEqual(FILTER_LIMITS.accountRegexProgram);

      // A change: refused whole, the webhook as it was.
      // Room for one again: the other save's webhook deleted.
      expect((await p.api("DELETE", `/v1/webhooks/${made.pop()}`)).status).toBe(204);
      meanwhile.next = takeRoom;
      const changed = await racer.api("PATCH", `/v1/webhooks/${light.json.uid}`, { filter: heavy("late-"), timeoutMs: 3000 });
      expect(meanwhile.next).toBeNull();
      expect(changed.status).toBe(400);
      const after = await p.api("GET", `/v1/webhooks/${light.json.uid}`);
      expect(after.json).toMatchObject({ filter: { body: { s: { $regex: "^light$" } } }, timeoutMs: light.json.timeoutMs });
      expect(await total()).toBeLessThanOrEqual(FILTER_LIMITS.accountRegexProgram);
    } finally {
      for (const uid of made) await p.api("DELETE", `/v1/webhooks/${uid}`);
    }
  });

  it("is the number migrations 0054 and 0055 hold the writes to, and each owner's share of it", async () => {
    const trigger = async (name: string) => env.DB.prepare("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?").bind(name).first<string>("sql");
    expect(await trigger("filter_program_bound")).toContain(`NEW.instructions > ${FILTER_LIMITS.accountRegexProgram}`);
    // Checked by each trigger that adds to a share, as it adds (migration 0055).
    for (const name of ["filter_program_share_added", "filter_program_share_changed", "filter_program_share_moved"]) expect(await trigger(name)).toContain(`> ${FILTER_LIMITS.ownerRegexProgram}\n`);
    expect(await trigger("filter_program_share_bound")).toBeNull();
    expect(FILTER_LIMITS.ownerRegexProgram).toBe(FILTER_LIMITS.accountRegexProgram / 8);
  });

  /** What an owner's webhooks' filters count together, as kept (migration 0054). */
  const shareOf = async (owner: string) =>
    (await env.DB.prepare("SELECT instructions FROM filter_program_shares WHERE owner = ?").bind(owner).first<number>("instructions")) ?? 0;
  /** The kept shares and a recount of the webhooks' rows: equal. */
  const expectSharesRecounted = async () => {
    const kept = await env.DB.prepare("SELECT owner, instructions FROM filter_program_shares ORDER BY owner").all();
    const recount = await env.DB.prepare(
      "SELECT filter_owner AS owner, sum(filter_program) AS instructions FROM webhooks WHERE filter_owner IS NOT NULL GROUP BY filter_owner HAVING sum(filter_program) <> 0 ORDER BY owner",
    ).all();
    expect(kept.results).toEqual(recount.results);
  };

  it("holds each organization's (or location's) webhooks to FILTER_LIMITS.ownerRegexProgram together, whatever the token, telling its own usage (400); another organization still saves; a location webhook confined to an organization moves its count", async () => {
    const p = pipeline();
    const made: string[] = [];
    const k = uniqueKey();
    const [orgA, orgB, loc] = [`org-${k}-a`, `org-${k}-b`, `loc-${k}`];
    await placeLocations(env.DB, [{ locationUid: loc, organizationUid: orgA }], 1).run();
    const tokenA = await makeToken(p, ["webhooks:write", "webhooks:read", ...DATA_SCOPES], { organizationUids: [orgA] });
    const tokenB = await makeToken(p, ["webhooks:write", ...DATA_SCOPES], { organizationUids: [orgB] });
    const ownerA = `organization:${orgA}`;
    const n = (x: number) => x.toLocaleString("en-US");
    // Tags of one length: every heavy filter here weighs the same.
    const w = weight(heavy("a0-"));
    try {
      // A catch-all counts toward the account only: the total is more than any one owner's.
      const catchAll = await p.api("POST", "/v1/webhooks", { url: `https://downstream.test/ok/${k}`, eventTypes: ["message.*"], filter: { body: { s: { $regex: "^catch-all$" } } } });
      expect(catchAll.status).toBe(201);
      expect(catchAll.json.catchAll).toBe(true);
      const catchAllUid: string = catchAll.json.uid;
      while ((await shareOf(ownerA)) + w <= FILTER_LIMITS.ownerRegexProgram) {
        const r = await as(p, tokenA.token, "POST", "/v1/webhooks", { ...base(), organizationUid: orgA, filter: heavy(`a${made.length}-`) });
        expect(r.status).toBe(201);
        made.push(r.json.uid);
      }
      made.push(catchAllUid);
      const used = await shareOf(ownerA);
      expect(used).toBe((made.length - 1) * w);
      const meter = meteredD1(env.DB);
      const refused = await meteredApiCall(meter, "POST", "/v1/webhooks", { ...base(), organizationUid: orgA, filter: heavy("a9-") }, { authorization: `Bearer ${tokenA.token}` });
      expect(refused.status).toBe(400);
      expect(refused.json.error.code).toBe("invalid_request");
      expect(refused.json.error.message).toContain(
        `filter: its $regex patterns count ${n(w)} RE2 instructions (each at least 128), and with the other filters of organization ${orgA}'s webhooks (${n(used)}) that is ${n(used + w)}; ` +
          "each organization's webhooks together (a location's, for location webhooks of none) may count 32,768",
      );
      // Nothing of the account's total (every tenant's) in it.
      const total = (await filterProgramTotal(env.DB)).total;
      expect(total).toBeGreaterThan(used);
      expect(refused.json.error.message).not.toContain(n(total));
      // The total's row and the organization's.
      expect(Object.entries(meter.usage.bySql).filter(([sql]) => sql.startsWith("SELECT instructions AS total")).map(([, u]) => u.rowsRead)).toEqual([2]);
      // The admin is held to it too; another organization is not held by it.
      expect((await p.api("POST", "/v1/webhooks", { ...base(), organizationUid: orgA, filter: heavy("a9-") })).status).toBe(400);
      const other = await as(p, tokenB.token, "POST", "/v1/webhooks", { ...base(), organizationUid: orgB, filter: heavy("b0-") });
      expect(other.status).toBe(201);
      made.push(other.json.uid);
      expect(await shareOf(`organization:${orgB}`)).toBe(w);

      // A location webhook the admin made counts toward its location; the organization's token, changing
      // it, confines it to the organization, which takes its count even with its share full: the filter
      // is kept (migration 0055).
      const placed = await p.api("POST", "/v1/webhooks", { url: `https://downstream.test/ok/${k}`, eventTypes: ["message.*"], locationUid: loc, filter: heavy("l0-") });
      expect(placed.status).toBe(201);
      made.push(placed.json.uid);
      expect(await shareOf(`location:${loc}`)).toBe(w);
      const moved = await as(p, tokenA.token, "PATCH", `/v1/webhooks/${placed.json.uid}`, { timeoutMs: 3000 });
      expect(moved.status).toBe(200);
      expect(moved.json.grantOrganizationUid).toBe(orgA);
      expect(await shareOf(`location:${loc}`)).toBe(0);
      expect(await shareOf(ownerA)).toBe(used + w);
      await expectSharesRecounted();
      // Deleting gives its part back.
      expect((await p.api("DELETE", `/v1/webhooks/${made.shift()}`)).status).toBe(204);
      expect(await shareOf(ownerA)).toBe(used);

      // A token of the location alone may change that webhook, not see the organization's others: refused,
      // it is not told what they count. (The share filled by hand.)
      const tokenLoc = await makeToken(p, ["webhooks:write", ...DATA_SCOPES], { locationUids: [loc] });
      const lightFilter = { body: { s: { $regex: "^light$" } } };
      expect((await p.api("PATCH", `/v1/webhooks/${placed.json.uid}`, { filter: lightFilter })).status).toBe(200);
      const lowered = await shareOf(ownerA);
      await env.DB.batch([
        env.DB.prepare("DELETE FROM filter_program_shares WHERE owner = ?").bind(ownerA),
        env.DB.prepare("INSERT INTO filter_program_shares (owner, instructions) VALUES (?, ?)").bind(ownerA, lowered + 10_000),
      ]);
      const fromLoc = await as(p, tokenLoc.token, "PATCH", `/v1/webhooks/${placed.json.uid}`, { filter: heavy("l1-") });
      expect(fromLoc.status).toBe(400);
      expect(fromLoc.json.error.message).toContain(`and the other filters of organization ${orgA}'s webhooks leave no room for them; each organization's`);
      expect(fromLoc.json.error.message).not.toContain(n(lowered + 10_000 - weight(lightFilter)));
      await env.DB.prepare("UPDATE filter_program_shares SET instructions = instructions - 10000 WHERE owner = ?").bind(ownerA).run();
      expect((await p.api("PATCH", `/v1/webhooks/${placed.json.uid}`, { filter: heavy("l0-") })).status).toBe(200);
      expect(await shareOf(ownerA)).toBe(used);

      // An owner already past its share (filters saved before it) stays editable: a change that lowers
      // it, or leaves it, passes; one that adds is refused.
      await env.DB.batch([
        env.DB.prepare("DELETE FROM filter_program_shares WHERE owner = ?").bind(ownerA),
        env.DB.prepare("INSERT INTO filter_program_shares (owner, instructions) VALUES (?, ?)").bind(ownerA, used + 10_000),
      ]);
      expect(used + 10_000).toBeGreaterThan(FILTER_LIMITS.ownerRegexProgram);
      const light = { body: { s: { $regex: "^light$" } } };
      expect((await as(p, tokenA.token, "PATCH", `/v1/webhooks/${made[0]}`, { filter: light })).status).toBe(200);
      expect((await as(p, tokenA.token, "PATCH", `/v1/webhooks/${made[0]}`, { timeoutMs: 4000 })).status).toBe(200);
      expect(await shareOf(ownerA)).toBe(used + 10_000 - w + weight(light));
      expect((await as(p, tokenA.token, "PATCH", `/v1/webhooks/${made[0]}`, { filter: heavy("a0-") })).status).toBe(400);
      await env.DB.prepare("UPDATE filter_program_shares SET instructions = instructions - 10000 WHERE owner = ?").bind(ownerA).run();
    } finally {
      for (const uid of made) await p.api("DELETE", `/v1/webhooks/${uid}`);
    }
    expect(await shareOf(ownerA)).toBe(0);
    await expectSharesRecounted();
  });

  it("lets an organization's token disable or edit a location webhook (confining it to the organization) though its share is full: only a filter that counts more is held to the new owner's share (migration 0055)", async () => {
    const p = pipeline();
    const made: string[] = [];
    const k = uniqueKey();
    const [orgA, locA1] = [`org-${k}-a`, `loc-${k}-a1`];
    await placeLocations(env.DB, [{ locationUid: locA1, organizationUid: orgA }], 1).run();
    const tokenA = await makeToken(p, ["webhooks:write", "webhooks:read", ...DATA_SCOPES], { organizationUids: [orgA] });
    const tokenLoc = await makeToken(p, ["webhooks:write", "webhooks:read", ...DATA_SCOPES], { locationUids: [locA1] });
    const [ownerA, ownerLoc] = [`organization:${orgA}`, `location:${locA1}`];
    const n = (x: number) => x.toLocaleString("en-US");
    const w = weight(heavy("o0-"));
    const lightFilter = { body: { s: { $regex: "^light$" } } };
    const light = weight(lightFilter);
    try {
      // The organization's share as full as heavy filters make it.
      while ((await shareOf(ownerA)) + w <= FILTER_LIMITS.ownerRegexProgram) {
        const r = await as(p, tokenA.token, "POST", "/v1/webhooks", { ...base(), organizationUid: orgA, filter: heavy(`o${made.length}-`) });
        expect(r.status).toBe(201);
        made.push(r.json.uid);
      }
      const used = await shareOf(ownerA);
      // The location's token makes location webhooks, each counted in the location's share.
      const located = async (filter: object) => {
        const r = await as(p, tokenLoc.token, "POST", "/v1/webhooks", { url: `https://downstream.test/ok/${k}`, eventTypes: ["message.*"], locationUid: locA1, filter });
        expect(r.status).toBe(201);
        expect(r.json.grantOrganizationUid).toBeNull();
        made.push(r.json.uid);
        return r.json.uid as string;
      };
      const [toDisable, toRetry, toPress, toGrow] = [await located(heavy("l0-")), await located(heavy("l1-")), await located(heavy("l2-")), await located(lightFilter)];
      expect(await shareOf(ownerLoc)).toBe(3 * w + light);

      // The organization's token changes them, no filter sent: each is confined to the organization and its
      // count moves there, past the share, and passes.
      const disabled = await as(p, tokenA.token, "PATCH", `/v1/webhooks/${toDisable}`, { disabled: true });
      expect(disabled.status, JSON.stringify(disabled.json)).toBe(200);
      expect(disabled.json).toMatchObject({ disabled: true, grantOrganizationUid: orgA });
      const retried = await as(p, tokenA.token, "PATCH", `/v1/webhooks/${toRetry}`, { maxAttempts: 5 });
      expect(retried.status, JSON.stringify(retried.json)).toBe(200);
      expect(retried.json).toMatchObject({ maxAttempts: 5, grantOrganizationUid: orgA });
      // The dashboard's Disable button, pressed by the organization's token.
      const login = await dashboardForm("/dashboard/login", null, { token: tokenA.token });
      const cookie = login.headers.get("set-cookie")!.split(";")[0]!;
      const pressed = await dashboardForm(`/dashboard/webhooks/${toPress}/disable`, cookie, {});
      expect(pressed.status).toBe(303);
      expect(new URL(pressed.headers.get("location")!, "https://edgehook.test").searchParams.get("notice")).toBe("Disabled: pending and new deliveries are held until it is enabled.");
      expect((await as(p, tokenA.token, "GET", `/v1/webhooks/${toPress}`)).json).toMatchObject({ disabled: true, grantOrganizationUid: orgA });
      expect(await shareOf(ownerLoc)).toBe(light);
      expect(await shareOf(ownerA)).toBe(used + 3 * w);
      expect(used + 3 * w).toBeGreaterThan(FILTER_LIMITS.ownerRegexProgram);
      await expectSharesRecounted();

      // While past it, the organization's next heavier filter is refused, a new one too; a lighter one passes.
      // (Another filter of the same count is no heavier: it passes.)
      expect((await as(p, tokenA.token, "PATCH", `/v1/webhooks/${toDisable}`, { filter: heavy("m0-") })).status).toBe(200);
      expect(await shareOf(ownerA)).toBe(used + 3 * w);
      const heavierStill = { body: { ...heavy("m0-").body, k0: { $regex: "^m0-0x{1000}$" } } };
      expect(weight(heavierStill)).toBeGreaterThan(w);
      const grown = await as(p, tokenA.token, "PATCH", `/v1/webhooks/${toDisable}`, { filter: heavierStill });
      expect(grown.status).toBe(400);
      expect(grown.json.error.message).toContain(
        `filter: its $regex patterns count ${n(weight(heavierStill))} RE2 instructions (each at least 128), and with the other filters of organization ${orgA}'s webhooks (${n(used + 2 * w)}) that is ${n(used + 2 * w + weight(heavierStill))}; `,
      );
      expect((await as(p, tokenA.token, "POST", "/v1/webhooks", { ...base(), organizationUid: orgA, filter: lightFilter })).status).toBe(400);
      expect((await as(p, tokenA.token, "PATCH", `/v1/webhooks/${toDisable}`, { filter: lightFilter })).status).toBe(200);
      expect(await shareOf(ownerA)).toBe(used + 2 * w + light);
      await expectSharesRecounted();

      // A move that also grows is held to the new owner's share with its whole new count: refused, the webhook as it was.
      const moveAndGrow = await as(p, tokenA.token, "PATCH", `/v1/webhooks/${toGrow}`, { filter: heavy("g0-") });
      expect(moveAndGrow.status).toBe(400);
      expect(moveAndGrow.json.error.message).toContain(
        `filter: its $regex patterns count ${n(w)} RE2 instructions (each at least 128), and with the other filters of organization ${orgA}'s webhooks (${n(used + 2 * w + light)}) that is ${n(used + 3 * w + light)}; `,
      );
      expect((await p.api("GET", `/v1/webhooks/${toGrow}`)).json).toMatchObject({ grantOrganizationUid: null, filter: lightFilter });
      expect(await shareOf(ownerLoc)).toBe(light);

      // The write holds the same rule on its own (two saves at once may both pass the check): a move that
      // keeps the count passes, one that grows it aborts.
      const write = (program: number) =>
        env.DB.prepare("UPDATE webhooks SET grant_organization_uid = ?, filter_program = ? WHERE uid = ?").bind(orgA, program, toGrow).run();
      await expect(write(light + 1)).rejects.toThrow(/filter_program_share_bound/);
      expect(await shareOf(ownerLoc)).toBe(light);
      await write(light);
      expect(await shareOf(ownerLoc)).toBe(0);
      expect(await shareOf(ownerA)).toBe(used + 2 * w + 2 * light);
      // Its owner's columns left out of the write: the trigger still finds the owner.
      await expect(env.DB.prepare("UPDATE webhooks SET filter_program = filter_program + 1 WHERE uid = ?").bind(toGrow).run()).rejects.toThrow(/filter_program_share_bound/);
      await env.DB.prepare("UPDATE webhooks SET filter_program = filter_program - 1 WHERE uid = ?").bind(toGrow).run();
      expect(await shareOf(ownerA)).toBe(used + 2 * w + 2 * light - 1);
      await expectSharesRecounted();
    } finally {
      for (const uid of made) await p.api("DELETE", `/v1/webhooks/${uid}`);
    }
    expect(await shareOf(ownerA)).toBe(0);
    expect(await shareOf(ownerLoc)).toBe(0);
    await expectSharesRecounted();
  });

  it("holds each owner's share when another save of theirs takes the room between the check and the write: refused (400) by the write, nothing of it stored (migration 0054)", async () => {
    const p = pipeline();
    const made: string[] = [];
    const org = `org-${uniqueKey()}`;
    const owner = `organization:${org}`;
    const { racer, meanwhile } = racingCheck();
    const w = weight(heavy("s0-"));
    try {
      // Room in the organization's share for one more heavy filter, not two.
      while ((await shareOf(owner)) + 2 * w <= FILTER_LIMITS.ownerRegexProgram) {
        const r = await p.api("POST", "/v1/webhooks", { ...base(), organizationUid: org, filter: heavy(`s${made.length}-`) });
        expect(r.status).toBe(201);
        made.push(r.json.uid);
      }
      expect((await shareOf(owner)) + w).toBeLessThanOrEqual(FILTER_LIMITS.ownerRegexProgram);
      meanwhile.next = async () => {
        const r = await p.api("POST", "/v1/webhooks", { ...base(), organizationUid: org, filter: heavy("t0-") });
        expect(r.status).toBe(201);
        made.push(r.json.uid);
      };
      const count = async () => (await env.DB.prepare("SELECT count(*) AS n FROM webhooks WHERE organization_uid = ?").bind(org).first<number>("n"))!;
      const before = await count();
      const created = await racer.api("POST", "/v1/webhooks", { ...base(), organizationUid: org, filter: heavy("u0-") });
      expect(meanwhile.next).toBeNull();
      expect(created.status).toBe(400);
      expect(created.json.error.message).toContain("may count 32,768");
      expect(await count()).toBe(before + 1);
      expect(await shareOf(owner)).toBeLessThanOrEqual(FILTER_LIMITS.ownerRegexProgram);
      await expectSharesRecounted();
    } finally {
      for (const uid of made) await p.api("DELETE", `/v1/webhooks/${uid}`);
    }
  });
});

describe("a webhook body with several mistakes", () => {
  const paths = (res: { json: { error: { code: string; details: { issues: { path: string }[] } } } }) => {
    expect(res.json.error.code).toBe("invalid_request");
    return res.json.error.details.issues.map((i) => i.path);
  };

  it("is answered every issue at once, its schema's, its event types' and its URL's, on create and on change", async () => {
    const p = pipeline();
    const organizationUid = `org-${uniqueKey()}`;
    const wrong = { url: "ftp://x", eventTypes: ["message.bad1"], timeoutMs: 50 };
    const made = await p.api("POST", "/v1/webhooks", { ...wrong, organizationUid });
    expect(made.status).toBe(400);
    expect(paths(made)).toEqual(["timeoutMs", "eventTypes.0", "url"]);
    // Each issue as it is said alone: the type's closest one kept.
    expect(made.json.error.details.issues[1]).toMatchObject({ closest: expect.any(String) });
    // Without a schema issue, the two the handler checks.
    expect(paths(await p.api("POST", "/v1/webhooks", { url: "ftp://x", eventTypes: ["message.bad1"], organizationUid }))).toEqual(["eventTypes.0", "url"]);
    const w = await p.createWebhook(base());
    for (const method of ["PATCH", "PUT"]) {
      const changed = await p.api(method, `/v1/webhooks/${w.uid}`, wrong);
      expect(changed.status, method).toBe(400);
      // In one order wherever they are said: the first issue writes the message.
      expect(paths(changed), method).toEqual(["timeoutMs", "eventTypes.0", "url"]);
      expect(paths(await p.api(method, `/v1/webhooks/${w.uid}`, { url: "ftp://x", eventTypes: ["message.bad1"] })), method).toEqual(["eventTypes.0", "url"]);
    }
    // One issue alone is answered as before, its own words.
    const alone = await p.api("POST", "/v1/webhooks", { ...base(), eventTypes: ["message.bad1"] });
    expect(alone.json.error.message).toContain("(GET /v1/event-types lists them.)");
    // A webhook not there is its 404 once its body is whole; before, the schema's 400 alone.
    expect(paths(await p.api("PATCH", "/v1/webhooks/wh_none", wrong))).toEqual(["timeoutMs"]);
  });

  it("of a change says its own issues beside the schema's: an owner given that is not the webhook's, a secret that is none, a rotation of nothing", async () => {
    const p = pipeline();
    const w = await p.createWebhook(base());
    for (const method of ["PATCH", "PUT"]) {
      const whole = method === "PUT" ? { url: base().url, eventTypes: base().eventTypes } : {};
      const owner = await p.api(method, `/v1/webhooks/${w.uid}`, { ...whole, maxAttempts: 500, organizationUid: `org-${uniqueKey()}`, previousSecretValidSeconds: 60 });
      expect(paths(owner), method).toEqual(["maxAttempts", "organizationUid", "previousSecretValidSeconds"]);
      const secret = await p.api(method, `/v1/webhooks/${w.uid}`, { ...whole, maxAttempts: 500, secret: "whsec_!!!!!!!!!!!!!!!!" });
      expect(paths(secret), method).toEqual(["maxAttempts", "secret"]);
      // A secret the schema refuses is no rotation of nothing beside it.
      const unread = await p.api(method, `/v1/webhooks/${w.uid}`, { ...whole, maxAttempts: 500, secret: 12345678, previousSecretValidSeconds: 60 });
      expect(paths(unread), method).toEqual(["secret", "maxAttempts"]);
      // Each as said alone, without the schema's issue.
      expect(paths(await p.api(method, `/v1/webhooks/${w.uid}`, { ...whole, secret: "whsec_!!!!!!!!!!!!!!!!" })), method).toEqual(["secret"]);
    }
  });

  it("of a PUT is checked as the PUT saves it: without sourceIds it has none, so a Podium type's typo is said beside the schema's issue", async () => {
    const p = pipeline();
    const stripe = await createSource({ provider: "stripe", secrets: ["s"] });
    const w = await p.createWebhook({ ...base(), eventTypes: ["*"], sourceIds: [stripe] });
    const put = await p.api("PUT", `/v1/webhooks/${w.uid}`, { url: base().url, eventTypes: ["message.bad1"], timeoutMs: 50 });
    expect(paths(put)).toEqual(["timeoutMs", "eventTypes.0"]);
    // A PATCH keeps the webhook's sources: the type may be Stripe's, a warning once saved.
    expect(paths(await p.api("PATCH", `/v1/webhooks/${w.uid}`, { eventTypes: ["message.bad1"], timeoutMs: 50 }))).toEqual(["timeoutMs"]);
  });

  it("tells a token lacking a type's data scope nothing of whether a source received it", async () => {
    const p = pipeline();
    const scopes = DATA_SCOPES.filter((s) => s !== "read_contacts");
    const { token } = await makeToken(p, [...scopes, "webhooks:write", "events:read"]);
    const typo = `contact.creatd${uniqueKey().slice(0, 6)}`;
    const body = { ...base(), eventTypes: [typo], timeoutMs: 50 };
    const answers = async () => [
      await as(p, token, "POST", "/v1/webhooks", body),
      await as(p, token, "GET", `/v1/events?eventType=${encodeURIComponent(typo.replace("contact", "Contact"))}`),
      await as(p, token, "GET", "/v1/events?eventType=Contact.Created"),
    ].map((r) => ({ status: r.status, error: r.json.error }));
    const unseen = await answers();
    const src = await createSource({ secrets: ["s"] });
    await env.DB.batch([typo, typo.replace("contact", "Contact"), "Contact.Created"].map((t) => env.DB.prepare("INSERT INTO source_event_types (event_type, source_id, first_seen_at) VALUES (?, ?, 0)").bind(t, src)));
    expect(await answers()).toEqual(unseen);
    // The body's schema issue alone; without it, the 403 naming the scope.
    expect(unseen[0]!.error.details.issues.map((i: { path: string }) => i.path)).toEqual(["timeoutMs"]);
    const whole = await as(p, token, "POST", "/v1/webhooks", { ...body, timeoutMs: undefined });
    expect(whole.json.error).toMatchObject({ code: "forbidden", details: { missingScope: "read_contacts" } });
  });

  it("keeps a hint an issue's refusal said beside another issue: the alerts' source is no webhook's", async () => {
    const p = pipeline();
    const res = await p.api("POST", "/v1/webhooks", { ...base(), url: "ftp://x", sourceIds: ["edgehook"] });
    expect(paths(res)).toEqual(["sourceIds.0", "url"]);
    expect(res.json.error.message).toContain("a notification endpoint does (POST /v1/notification-endpoints)");
  });

  it("is shown on the dashboard's form at once", async () => {
    const cookie = await dashboardCookie();
    const res = await dashboardForm("/dashboard/webhooks", cookie, { url: "ftp://x", eventTypes: "message.bad1", timeoutMs: "50", organizationUid: `org-${uniqueKey()}` });
    expect(res.status).toBe(400);
    const said = await res.text();
    for (const words of ["Timeout (ms): must be at least 100", "is not a Podium event type", "URL: must be https:"]) expect(said).toContain(words);
    // A number past its bound is said in the form's words beside the API's other issues.
    const rate = await (await dashboardForm("/dashboard/webhooks", cookie, { url: "ftp://x", eventTypes: "message.*", rateLimit: "0" })).text();
    expect(rate).toContain("Rate limit: 0 is no rate: give 1..1000 attempts a second, or leave it empty for no limit");
    expect(rate).toContain("URL: must be https:");
  });

  it("tells a token limited to organizations that gives both owners to give one, not of catch-alls; the admin of catch-alls too", async () => {
    const p = pipeline();
    const key = uniqueKey();
    const both = { url: `https://downstream.test/ok/${key}`, eventTypes: ["message.*"], organizationUid: `org-${key}`, locationUid: `loc-${key}` };
    const { token } = await makeToken(p, ["webhooks:write", "read_messages"], { organizationUids: [`org-${key}`] });
    const limited = await as(p, token, "POST", "/v1/webhooks", both);
    expect(limited.status).toBe(400);
    expect(limited.json.error.details.issues).toEqual([{ path: "locationUid", message: expect.stringMatching(/^give exactly one of locationUid or organizationUid \(.*\)$/) }]);
    expect(limited.json.error.message).not.toContain("catch-all");
    const admin = await p.api("POST", "/v1/webhooks", both);
    expect(admin.json.error.details.issues[0].message).toMatch(/, or neither for a catch-all$/);
  });
});
