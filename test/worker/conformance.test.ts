// The check every API and ingress call of the tests goes through (helpers.ts, conformance.ts): an answer that
// drifts from its operation's documented response is caught, so the test that saw it fails.
import { describe, expect, it } from "vitest";
import { nonConformance, operationOf, requestNonConformance, undocumentedNonConformance, assertRequestConforms, type SentRequest } from "./conformance";
import { ADMIN, call } from "./helpers";
import { schemaIssues } from "./json-schema";
import { pipeline } from "./pipeline";

describe("an API answer held to its documented response", () => {
  it("passes the server's own answer, and fails one whose time, fields or status drifted from the document", async () => {
    const p = pipeline();
    const created = await p.api("POST", "/v1/webhooks", { url: "https://downstream.test/ok/conformance", eventTypes: ["*"] });
    expect(created.status).toBe(201);
    const path = `/v1/webhooks/${created.json.uid}`;
    const got = await p.api("GET", path);
    expect(nonConformance("GET", path, 200, got.json)).toBeNull();

    // A documented date-time answered as epoch milliseconds, or in another format.
    expect(nonConformance("GET", path, 200, { ...got.json, createdAt: Date.parse(got.json.createdAt) })).toMatch(/expected string, received number[\s\S]*createdAt/);
    expect(nonConformance("GET", path, 200, { ...got.json, updatedAt: "2026-11-28 17:59:31" })).toMatch(/datetime[\s\S]*updatedAt/);
    // A field the document does not declare, or one it requires left out.
    expect(nonConformance("GET", path, 200, { ...got.json, internalNote: "x" })).toMatch(/fields its documented schema does not declare/);
    const { url: _, ...withoutUrl } = got.json;
    expect(nonConformance("GET", path, 200, withoutUrl)).toMatch(/url/);
    // A status the operation does not document; an error body not in the documented shape.
    expect(nonConformance("GET", path, 202, got.json)).toMatch(/answered 202, which it does not document/);
    expect(nonConformance("GET", path, 404, { error: "not_found" })).toMatch(/does not match/);
    // A 500 is any route's internal_error (docs/api.md), in the error shape.
    expect(nonConformance("GET", path, 500, { error: { code: "internal_error", message: "x" } })).toBeNull();
    expect(nonConformance("GET", path, 500, { error: { code: "conflict", message: "x" } })).toMatch(/internal_error/);
  });

  it("holds an answer's headers to those its status declares: present when required, of their schema, and Retry-After only where declared", async () => {
    // The check read statuses and bodies only: a 429 without Retry-After, or with "soon", passed.
    const error = (code: string) => ({ error: { code, message: "x" } });
    const headers = (h: Record<string, string>) => new Headers(h);
    const limited = error("rate_limited");
    expect(nonConformance("GET", "/v1/webhooks", 429, limited, headers({ "retry-after": "30" }))).toBeNull();
    expect(nonConformance("GET", "/v1/webhooks", 429, limited, headers({}))).toMatch(/header Retry-After: required, absent/);
    expect(nonConformance("GET", "/v1/webhooks", 429, limited, headers({ "retry-after": "soon" }))).toMatch(/header Retry-After \("soon"\)/);
    expect(nonConformance("GET", "/v1/webhooks", 429, limited, headers({ "retry-after": "1.5" }))).toMatch(/header Retry-After/);
    expect(nonConformance("GET", "/v1/webhooks", 429, limited, headers({ "retry-after": "-1" }))).toMatch(/header Retry-After/);
    // On a status that does not declare it: a 400 that says when to retry, a 404 with a challenge.
    expect(nonConformance("GET", "/v1/webhooks", 400, error("invalid_request"), headers({ "retry-after": "30" }))).toMatch(/Retry-After: sent \("30"\), which this status does not declare/);
    expect(nonConformance("GET", "/v1/webhooks/x", 404, error("not_found"), headers({ "www-authenticate": "Bearer" }))).toMatch(/WWW-Authenticate: sent/);
    expect(nonConformance("GET", "/v1/webhooks", 401, error("unauthorized"), headers({}))).toMatch(/WWW-Authenticate: required, absent/);
    // The ingress's: a 503 says when, a 405 what it serves.
    expect(nonConformance("POST", "/webhooks/podium", 503, error("queue_unavailable"), headers({ "retry-after": "5" }))).toBeNull();
    expect(nonConformance("POST", "/webhooks/podium", 503, error("queue_unavailable"), headers({}))).toMatch(/Retry-After: required, absent/);
    expect(nonConformance("POST", "/webhooks/podium", 202, { eventId: "evt_1" }, headers({ "retry-after": "5" }))).toMatch(/Retry-After: sent/);

    // And the server's own answers pass it (call() holds each to it): a 401 with its challenge.
    const anonymous = await call(new Request("https://edgehook.test/v1/webhooks"));
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("www-authenticate")).toBeTruthy();
  });

  it("finds the operation of a concrete path: a literal segment over a parameter, the query ignored, none for what the API does not serve", () => {
    expect(operationOf("POST", "/v1/events/replay")?.template).toBe("/v1/events/replay");
    expect(operationOf("POST", "/v1/events/evt_1/replay?dry=true")?.template).toBe("/v1/events/{id}/replay");
    // The concrete path takes POST alone: OpenAPI matches it before /v1/events/{id}, whatever the method.
    expect(operationOf("GET", "/v1/events/replay")).toBeUndefined();
    expect(operationOf("POST", "/v1/deliveries/retry")?.template).toBe("/v1/deliveries/retry");
    expect(operationOf("PATCH", "/v1/events/evt_1")).toBeUndefined();
    expect(operationOf("GET", "/v1/nothing-here")).toBeUndefined();
    // The ingress's answers are documented too (app.ts registers them): its ack is held to them.
    expect(operationOf("POST", "/webhooks/podium")?.template).toBe("/webhooks/{sourceId}");
    expect(nonConformance("POST", "/webhooks/podium", 202, { eventId: "evt_1" })).toBeNull();
    expect(nonConformance("POST", "/webhooks/podium", 202, { eventId: 1 })).toMatch(/eventId/);
    expect(operationOf("GET", "/dashboard/webhooks")).toBeUndefined();
  });
});

describe("a request the API accepted held to what its operation documents taking", () => {
  const webhook = { url: "https://downstream.test/ok/conformance", eventTypes: ["*"] };
  const sent = (method: string, path: string, body?: unknown): SentRequest => ({ method, path, contentType: "application/json", body: body === undefined ? undefined : JSON.stringify(body) });

  it("passes what the document allows, and names each part of a request it does not", () => {
    expect(requestNonConformance(sent("POST", "/v1/webhooks", webhook))).toBeNull();
    expect(requestNonConformance(sent("GET", "/v1/events?limit=10&status=failed"))).toBeNull();
    // The body: a field it does not declare, a wrong type, none where one is required.
    expect(requestNonConformance(sent("POST", "/v1/webhooks", { ...webhook, note: "x" }))).toMatch(/Property "note" does not match additional properties/);
    expect(requestNonConformance(sent("POST", "/v1/webhooks", { ...webhook, timeoutMs: "5000" }))).toMatch(/body\/timeoutMs: Instance type "string" is invalid\. Expected "integer"/);
    expect(requestNonConformance(sent("POST", "/v1/webhooks"))).toMatch(/no body, which the operation requires/);
    expect(requestNonConformance({ ...sent("POST", "/v1/webhooks"), body: "{" })).toMatch(/not JSON/);
    expect(requestNonConformance({ ...sent("POST", "/v1/webhooks", webhook), contentType: "text/plain" })).toMatch(/text\/plain, which the operation does not document/);
    // A body the operation takes none of (a GET), and one it may go without (a replay).
    expect(requestNonConformance(sent("GET", "/v1/stats", {}))).toMatch(/does not document taking/);
    expect(requestNonConformance(sent("POST", "/v1/events/evt_1/replay"))).toBeNull();
    // The query: out of range, not in the enum, given twice, not a parameter of the operation.
    expect(requestNonConformance(sent("GET", "/v1/events?limit=500"))).toMatch(/query limit: 500 is greater than 100/);
    expect(requestNonConformance(sent("GET", "/v1/events?status=done"))).toMatch(/query status: Instance does not match any of/);
    expect(requestNonConformance(sent("GET", "/v1/events?limit=1&limit=2"))).toMatch(/query limit: given 2 times/);
    expect(requestNonConformance(sent("GET", "/v1/events?Status=failed"))).toMatch(/query Status: a parameter the operation does not document/);
    // The ingress takes any media type, read by the source's provider (its Content-Type unchecked):
    // a body must be one of them, a JSON object (a byte order mark before it ignored) or text.
    const ingress = (body: string, contentType = "application/json"): SentRequest => ({ method: "POST", path: "/webhooks/src-1", contentType, body });
    expect(requestNonConformance(ingress('\uFEFF{"a":1}'))).toBeNull();
    expect(requestNonConformance(ingress("plain text"))).toBeNull();
    expect(requestNonConformance(ingress("", "text/plain"))).toBeNull();
    // A shop domain in any case, which the API takes (and stores lower-case): the document's pattern
    // was the lower-case one zod checks after lower-casing, so it forbade `Acme.myshopify.com`.
    expect(requestNonConformance(sent("PATCH", "/v1/sources/src-1", { shopDomain: "Acme.MyShopify.com" }))).toBeNull();
    expect(requestNonConformance(sent("PATCH", "/v1/sources/src-1", { shopDomain: "acme.example.com" }))).toMatch(/body\/shopDomain: String does not match pattern/);
    // A path parameter: the document says a dead letter's id is an integer.
    expect(requestNonConformance(sent("POST", "/v1/dead-letters/7/replay"))).toBeNull();
    expect(requestNonConformance(sent("POST", "/v1/dead-letters/seven/replay"))).toMatch(/path id: Instance type "string" is invalid\. Expected "integer"/);
  });

  it("holds only what the API accepted: a request it refused (the tests' bad input) is exempt", () => {
    const bad = sent("POST", "/v1/webhooks", { ...webhook, note: "x" });
    expect(() => assertRequestConforms(bad, 400)).not.toThrow();
    expect(() => assertRequestConforms(bad, 201)).toThrow(/OpenAPI conformance/);
    // A listener's 101 (switching to a WebSocket) accepted its query too.
    expect(() => assertRequestConforms(sent("GET", "/v1/listen?replay=500"), 400)).not.toThrow();
    expect(() => assertRequestConforms(sent("GET", "/v1/listen?replay=500"), 101)).toThrow(/query replay: 500 is greater than 100/);
  });
});

describe("an answer for what the document does not name under /v1", () => {
  it("is the documented error with its code: 404 not_found for a path, 405 method_not_allowed (with Allow) for a method", async () => {
    for (const [method, path, status, code] of [
      ["GET", "/v1/nope", 404, "not_found"],
      ["GET", "/v1", 404, "not_found"],
      ["DELETE", "/v1/stats", 405, "method_not_allowed"],
      ["PUT", "/v1/webhooks", 405, "method_not_allowed"],
    ] as const) {
      // call() holds it to the check too (helpers.ts): this names what it answers.
      const res = await call(new Request(`https://edgehook.test${path}`, { method, headers: ADMIN }));
      expect(res.status, `${method} ${path}`).toBe(status);
      expect(res.headers.get("content-type")).toMatch(/^application\/json/);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe(code);
      if (status === 405) expect(res.headers.get("allow")).toMatch(/GET|POST/);
    }
    const { status } = await call(new Request("https://edgehook.test/v1/nope"));
    expect(status).toBe(401); // authentication comes first, and answers the error too
  });

  it("takes a path without parameters before a templated one, as OpenAPI matches them: a method it does not take is its 405, naming its methods alone", async () => {
    for (const [method, path, allow] of [
      ["GET", "/v1/deliveries/retry", "POST"],
      ["DELETE", "/v1/deliveries/retry", "POST"],
      ["GET", "/v1/events/replay", "POST"],
      ["PATCH", "/v1/events/replay", "POST"],
    ] as const) {
      const res = await call(new Request(`https://edgehook.test${path}`, { method, headers: ADMIN }));
      expect([res.status, res.headers.get("allow"), ((await res.json()) as { error: { code: string } }).error.code], `${method} ${path}`).toEqual([405, allow, "method_not_allowed"]);
    }
    // Unauthenticated, it is the 401 as any other path's.
    expect((await call(new Request("https://edgehook.test/v1/deliveries/retry"))).status).toBe(401);
    // The templated routes still serve their own paths.
    expect((await call(new Request("https://edgehook.test/v1/deliveries/dlv_00000000000000000000000000000000", { headers: ADMIN }))).status).toBe(404);
  });

  it("fails an answer in another shape: not JSON, an undocumented field or code, a 405 naming no methods, a success", () => {
    const ok = { status: 404, contentType: "application/json", allow: null };
    expect(undocumentedNonConformance("GET", "/v1/nope", ok, { error: { code: "not_found", message: "No route." } })).toBeNull();
    expect(undocumentedNonConformance("GET", "/v1/nope", { ...ok, contentType: "text/plain" }, "404 Not Found")).toMatch(/not the JSON error/);
    expect(undocumentedNonConformance("GET", "/v1/nope", ok, { error: "not_found" })).toMatch(/not the documented error/);
    expect(undocumentedNonConformance("GET", "/v1/nope", ok, { error: { code: "no_route", message: "x" } })).toMatch(/not the documented error/);
    expect(undocumentedNonConformance("GET", "/v1/nope", ok, { error: { code: "not_found", message: "x" }, path: "/v1/nope" })).toMatch(/not the documented error/);
    expect(undocumentedNonConformance("GET", "/v1/nope", ok, { error: { code: "invalid_request", message: "x" } })).toMatch(/code invalid_request, not not_found/);
    expect(undocumentedNonConformance("PUT", "/v1/webhooks", { ...ok, status: 405 }, { error: { code: "method_not_allowed", message: "x" } })).toMatch(/no Allow header/);
    expect(undocumentedNonConformance("GET", "/v1/nope", { ...ok, status: 200 }, {})).toMatch(/not a refusal/);
  });
});

describe("the document's JSON Schema (json-schema.ts)", () => {
  const thing = {
    type: "object",
    properties: { id: { $ref: "#/components/schemas/Id" }, at: { type: ["string", "null"], format: "date-time" }, n: { type: "integer", maximum: 9 } },
    required: ["id"],
    additionalProperties: false,
  };
  const root = { components: { schemas: { Id: { type: "string", maxLength: 3, pattern: "^[a-z]+$" }, Thing: thing } } };
  const check = (value: unknown) => schemaIssues(root.components.schemas.Thing, value, root);

  it("holds a value to the schema as the document renders it, $refs followed", () => {
    expect(check({ id: "ab", at: "2026-12-03T20:00:00.123Z", n: 3 })).toEqual([]);
    expect(check({ id: "ab", at: null })).toEqual([]);
    for (const [bad, where] of [
      [{}, "(root)"],
      [{ id: "AB" }, "(root)/id"],
      [{ id: "abcd" }, "(root)/id"],
      [{ id: "a", at: "2026-12-03 20:00:00" }, "(root)/at"],
      [{ id: "a", n: 1.5 }, "(root)/n"],
      [{ id: "a", n: 10 }, "(root)/n"],
      [{ id: "a", extra: 1 }, "(root)"],
    ] as const) {
      const issues = check(bad);
      expect(issues.length, JSON.stringify(bad)).toBeGreaterThan(0);
      expect(issues.some((i) => i.startsWith(`${where}: `)), `${JSON.stringify(bad)}: ${issues.join("; ")}`).toBe(true);
    }
  });

  it("follows the $refs of a schema the document's walk does not reach (a parameter's)", () => {
    expect(schemaIssues({ $ref: "#/components/schemas/Id" }, "ab", root)).toEqual([]);
    expect(schemaIssues({ $ref: "#/components/schemas/Id" }, "AB", root).length).toBeGreaterThan(0);
  });
});
