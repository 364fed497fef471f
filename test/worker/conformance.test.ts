// The check every API and ingress call of the tests goes through (helpers.ts, conformance.ts): an answer that
// drifts from its operation's documented response is caught, so the test that saw it fails.
import { describe, expect, it } from "vitest";
import { nonConformance, operationOf } from "./conformance";
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

  it("finds the operation of a concrete path: a literal segment over a parameter, the query ignored, none for what the API does not serve", () => {
    expect(operationOf("POST", "/v1/events/replay")?.template).toBe("/v1/events/replay");
    expect(operationOf("POST", "/v1/events/evt_1/replay?dry=true")?.template).toBe("/v1/events/{id}/replay");
    expect(operationOf("GET", "/v1/events/replay")?.template).toBe("/v1/events/{id}");
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
