// Input the API (and the ingress) took other than as sent, found by a fuzz audit of the management
// API: each is now refused with a code and a message naming what is wrong, and nothing is stored.
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { concatBytes, utf8 } from "../../src/domain/crypto";
import type { IngestMessage } from "../../src/domain/types";
import worker from "../../src/index";
import { ADMIN, call, dashboardCookie, dashboardForm, ingestMessage, podiumBody, podiumHeaders } from "./helpers";
import { pipeline, uniqueKey } from "./pipeline";
import { deliveryRows } from "./rows";

type ErrorBody = { error: { code: string; message: string; details?: { issues: { path: string; message: string }[] } } };

/** An admin request with a raw body. */
const raw = (method: string, path: string, body: BodyInit, headers: Record<string, string> = {}) =>
  call(new Request(`https://edgehook.test${path}`, { method, body, headers: { ...ADMIN, "content-type": "application/json", ...headers } }));
const get = (path: string) => call(new Request(`https://edgehook.test${path}`, { headers: ADMIN }));
const errorOf = async (res: Response) => (await res.json<ErrorBody>()).error;
const count = async (table: "tokens" | "sources" | "webhooks") =>
  (await env.DB.prepare(`SELECT count(*) AS n FROM ${table}`).first<{ n: number }>())?.n ?? 0;

/** `json` with each "é" as the single Latin-1 byte 0xE9, which is no UTF-8. */
const latin1 = (json: string) => concatBytes(json.split("é").flatMap((part, i) => (i === 0 ? [utf8(part)] : [Uint8Array.of(0xe9), utf8(part)])));

async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

describe("a body that is not UTF-8", () => {
  const p = pipeline();

  it("is refused on every route that takes JSON, not stored with U+FFFD in place of the bad bytes", async () => {
    const id = `utf8-${uniqueKey()}`;
    expect((await p.api("POST", "/v1/sources", { id, name: "plain", provider: "stripe", secrets: ["a-fuzz-secret"] })).status).toBe(201);
    const before = { tokens: await count("tokens"), sources: await count("sources"), webhooks: await count("webhooks") };
    const sends: [string, string, string][] = [
      ["POST", "/v1/webhooks", '{"url":"https://x.test/t","eventTypes":["review.created"],"filter":{"body":{"name":"café"}}}'],
      ["POST", "/v1/sources", `{"id":"${id}-2","name":"café","provider":"stripe","secrets":["a-fuzz-secret"]}`],
      ["PATCH", `/v1/sources/${id}`, '{"name":"café"}'],
      ["POST", "/v1/tokens", '{"name":"café","scopes":["events:read"]}'],
    ];
    for (const [method, path, json] of sends) {
      const res = await raw(method, path, latin1(json));
      expect(res.status, `${method} ${path}`).toBe(400);
      expect(await errorOf(res)).toEqual({ code: "invalid_request", message: "The body is not valid UTF-8.", details: { issues: [{ path: "", message: "not valid UTF-8" }] } });
    }
    expect({ tokens: await count("tokens"), sources: await count("sources"), webhooks: await count("webhooks") }).toEqual(before);
    expect((await p.api("GET", `/v1/sources/${id}`)).json.name).toBe("plain");

    // The same bodies in UTF-8 are stored as sent.
    for (const [method, path, json] of sends) {
      const res = await raw(method, path, utf8(json));
      expect(res.status, `${method} ${path}`).toBeLessThan(300);
      expect(JSON.stringify(await res.json())).toContain("café");
    }
  });
});

describe("a JSON body giving a key twice in one object", () => {
  const p = pipeline();

  it("is refused on every route that takes JSON, naming the key's path, where JSON.parse kept the last silently", async () => {
    const id = `twice-${uniqueKey()}`;
    expect((await p.api("POST", "/v1/sources", { id, name: "plain", provider: "stripe", secrets: ["a-fuzz-secret"] })).status).toBe(201);
    const before = { tokens: await count("tokens"), sources: await count("sources"), webhooks: await count("webhooks") };
    const hook = '"url":"https://x.test/t","eventTypes":["review.created"]';
    const sends: [string, string, string, string][] = [
      ["POST", "/v1/webhooks", `{${hook},"filter":{"headers":{"x-github-event":"push","x-github-event":"release"}}}`, 'filter.headers["x-github-event"]'],
      ["POST", "/v1/webhooks", `{${hook},"filter":{"body":{"a":1,"a":2}}}`, "filter.body.a"],
      // Spelt otherwise, the same key; in an array's object; at the top.
      ["POST", "/v1/webhooks", `{${hook},"filter":{"body":{"a":1,"\\u0061":2}}}`, "filter.body.a"],
      ["POST", "/v1/webhooks", `{${hook},"filter":{"body":{"$or":[{"a":1},{"b":{"x":1},"c":[],"b":2}]}}}`, "filter.body.$or[1].b"],
      ["POST", "/v1/webhooks", `{${hook},"url":"https://y.test/t"}`, "url"],
      // After a byte order mark, which the validator's parse passes over.
      ["POST", "/v1/webhooks", `\uFEFF{${hook},"url":"https://y.test/t"}`, "url"],
      ["PATCH", `/v1/sources/${id}`, '{"name":"one", "name" : "two"}', "name"],
      ["POST", "/v1/tokens", '{"name":"t","scopes":["events:read"],"scopes":["admin"]}', "scopes"],
    ];
    for (const [method, path, json, at] of sends) {
      const res = await raw(method, path, json);
      expect(res.status, json).toBe(400);
      const message = "this key is given twice in one object (JSON would keep only the last): give it once";
      expect(await errorOf(res), json).toEqual({ code: "invalid_request", message: `Invalid body: ${at}: ${message}.`, details: { issues: [{ path: at, message }] } });
    }
    expect({ tokens: await count("tokens"), sources: await count("sources"), webhooks: await count("webhooks") }).toEqual(before);
    expect((await p.api("GET", `/v1/sources/${id}`)).json.name).toBe("plain");
    // A key once in each of two objects, or a value that reads as a key, is no repeat.
    const once = `{${hook},"filter":{"body":{"a":"b","b":{"a":1},"c":["a",{"a":"a"}],"d":"\\",\\"d\\":"}}}`;
    expect((await raw("POST", "/v1/webhooks", once)).status, once).toBe(201);
    // A search's filter document likewise, and the dashboard's filter and extra headers boxes.
    const q = encodeURIComponent('{"body":{"data.type":"a","data.type":"b"}}');
    const searched = await get(`/v1/events?q=${q}`);
    expect(searched.status).toBe(400);
    expect((await errorOf(searched)).details?.issues).toEqual([{ path: 'q.body["data.type"]', message: "this key is given twice in one object (JSON would keep only the last): give it once" }]);
    const cookie = await dashboardCookie();
    for (const [box, label, at] of [["filter", "Filter", "headers.x"], ["transformHeaders", "Extra headers", '["x-a"]']] as const) {
      const value = box === "filter" ? '{"headers":{"x":"1","x":"2"}}' : '{"x-a":"1","x-a":"2"}';
      const res = await dashboardForm("/dashboard/webhooks", cookie, { url: "https://downstream.test/ok/twice", eventTypes: "*", [box]: value });
      expect(res.status, box).toBe(400);
      expect(await res.text(), box).toContain(`${label}, ${at.replace(/"/g, "&quot;")}: this key is given twice in one object`);
    }
    // Not JSON at all: still the validator's answer, not this one.
    const broken = await raw("POST", "/v1/tokens", '{"name":"t","name":');
    expect(broken.status).toBe(400);
    expect((await errorOf(broken)).message).not.toMatch(/twice/);
  });
});

describe("a JSON body's Content-Type, as RFC 9110 writes a media type", () => {
  it("is taken with white space around its `;` or an empty parameter (they answered 415); one that is not application/json (a +json type too, as documented), or not a media type, is 415", async () => {
    for (const type of ["application/json;", "application/json ; charset=utf-8", "application/json;charset=UTF-8", "Application/JSON\t;\tcharset=\"utf-8\" ;", "application/json; a=b; ;c=d"]) {
      const res = await raw("POST", "/v1/tokens", JSON.stringify({ name: `typed-${uniqueKey()}`, scopes: ["read_messages"] }), { "content-type": type });
      expect(res.status, type).toBe(201);
    }
    // An operation's optional body, by the same decision: read, so on to its 404.
    expect((await raw("POST", "/v1/deliveries/dlv_none/retry", "{}", { "content-type": "application/json ;" })).status).toBe(404);
    const tokens = await count("tokens");
    for (const type of ["text/plain", "application/jsonx", "application/json charset=utf-8", "application/json;charset", "application/json;=utf-8", "application/json; charset=utf 8", "application/merge-patch+json", "application/vnd.api+json", "json", "application/json;charset=\"utf-8"]) {
      const res = await raw("POST", "/v1/tokens", JSON.stringify({ name: `untyped-${uniqueKey()}`, scopes: ["read_messages"] }), { "content-type": type });
      expect(res.status, type).toBe(415);
      expect(await errorOf(res), type).toEqual({
        code: "unsupported_media_type",
        message: "Send the body as JSON, with the header Content-Type: application/json.",
        details: { issues: [{ path: "content-type", message: "must be application/json" }] },
      });
    }
    expect(await count("tokens")).toBe(tokens);
  });
});

describe("a Content-Encoding that compresses", () => {
  it("is refused by the API with 415 saying so, not as a body that is not JSON", async () => {
    const tokens = await count("tokens");
    const body = utf8('{"name":"zipped","scopes":["events:read"]}');
    // aes128gcm (RFC 8188) encrypts rather than compresses: its bytes are no more the body.
    for (const encoding of ["gzip", "br", "GZIP", "identity, gzip", "aes128gcm", "pack200-gzip"]) {
      const res = await raw("POST", "/v1/tokens", await gzip(body), { "content-encoding": encoding });
      expect(res.status, encoding).toBe(415);
      const error = await errorOf(res);
      expect(error).toMatchObject({ code: "unsupported_media_type", details: { issues: [{ path: "content-encoding" }] } });
      expect(error.message).toContain("Content-Encoding");
      expect(error.message).toContain("not supported");
    }
    expect(await count("tokens")).toBe(tokens);
    expect((await raw("POST", "/v1/tokens", body, { "content-encoding": "identity" })).status).toBe(201);
  });

  it("is refused by the ingress with 415 before its signature is checked, and nothing is queued", async () => {
    const p = pipeline();
    const send = async (body: Uint8Array, encoding: string) => {
      const ctx = createExecutionContext();
      const headers = { ...(await podiumHeaders(body)), "content-encoding": encoding };
      const res = await worker.fetch(new Request("https://edgehook.test/webhooks/podium", { method: "POST", body, headers }), p.env, ctx);
      await waitOnExecutionContext(ctx);
      return res;
    };
    // Signed over the compressed bytes, as a sender compressing its requests signs them.
    const zipped = await send(await gzip(utf8(podiumBody())), "gzip");
    expect(zipped.status).toBe(415);
    const error = await errorOf(zipped);
    expect(error.code).toBe("unsupported_media_type");
    expect(error.message).toContain("Content-Encoding");
    expect(p.queues.ingest.sent).toEqual([]);

    expect((await send(utf8(podiumBody()), "identity")).status).toBe(202);
    // A token that names no compression (a sender's slip) changes no byte: the body is taken.
    expect((await send(utf8(podiumBody()), "utf-8")).status).toBe(202);
    expect(p.queues.ingest.sent.map((m: IngestMessage) => m.sourceId)).toEqual(["podium", "podium"]);
  });

  it("is declared where it is answered: on the ingress and on every route that takes a body", async () => {
    const doc = await (await call(new Request("https://edgehook.test/openapi.json"))).json<{ paths: Record<string, Record<string, { responses: Record<string, { description: string }> }>> }>();
    expect(doc.paths["/webhooks/{sourceId}"]!.post!.responses["415"]?.description).toContain("Content-Encoding");
    expect(doc.paths["/v1/tokens"]!.post!.responses["415"]?.description).toContain("Content-Encoding");
  });
});

describe("a range replay's time left out", () => {
  it("says it is required, not that a time is malformed", async () => {
    const res = await raw("POST", "/v1/events/replay", JSON.stringify({ since: "2026-12-01T00:00:00Z", dryRun: true }));
    expect(res.status).toBe(400);
    expect(await errorOf(res)).toMatchObject({
      code: "invalid_request",
      details: { issues: [{ path: "until", message: "required: an ISO 8601 time with Z or an offset, such as 2026-11-28T00:00:00Z" }] },
    });
  });
});

describe("a body's field the operation does not take", () => {
  it("is named in the path, with where the fields are listed", async () => {
    const res = await raw("POST", "/v1/events/replay", JSON.stringify({ since: "2026-12-01T00:00:00Z", until: "2026-12-02T00:00:00Z", webhookUID: "w" }));
    expect(res.status).toBe(400);
    expect(await errorOf(res)).toEqual({
      code: "invalid_request",
      message: "Invalid body: webhookUID: not a field this operation takes (a typo?): GET /openapi.json lists each operation's fields.",
      details: { issues: [{ path: "webhookUID", message: "not a field this operation takes (a typo?): GET /openapi.json lists each operation's fields" }] },
    });
  });
});

describe("a body of thousands of issues", () => {
  it("lists the first 100, its message saying how many more (a 59 KB body of unknown fields answered 725 KB)", async () => {
    const fields = Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`f${i}`, 1]));
    const body = JSON.stringify({ name: "many", scopes: ["read_messages"], ...fields });
    const res = await raw("POST", "/v1/tokens", body);
    expect(res.status).toBe(400);
    const text = await res.text();
    expect(text.length).toBeLessThan(20_000);
    const error = (JSON.parse(text) as ErrorBody).error;
    const unknown = "not a field this operation takes (a typo?): GET /openapi.json lists each operation's fields";
    expect(error.code).toBe("invalid_request");
    expect(error.message).toBe(`Invalid body: f0: ${unknown} (and 4900 more issues: details.issues lists the first 100).`);
    expect(error.details?.issues).toEqual(Array.from({ length: 100 }, (_, i) => ({ path: `f${i}`, message: unknown })));
    // One past the cap is said in the singular; at the cap, nothing is left out.
    const one = await raw("POST", "/v1/tokens", JSON.stringify({ name: "many", scopes: ["read_messages"], ...Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`g${i}`, 1])) }));
    expect((await errorOf(one)).message).toMatch(/\(and 1 more issue: details\.issues lists the first 100\)\.$/);
    const hundred = await errorOf(await raw("POST", "/v1/tokens", JSON.stringify({ name: "many", scopes: ["read_messages"], ...Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`h${i}`, 1])) })));
    expect(hundred.details?.issues).toHaveLength(100);
    expect(hundred.message).toBe(`Invalid body: h0: ${unknown}.`);
  });
});

describe("a search's q out of its bounds", () => {
  it("says what to send, empty or over 2,000 characters", async () => {
    const empty = await get("/v1/events?q=");
    expect(empty.status).toBe(400);
    expect((await errorOf(empty)).details?.issues).toEqual([{ path: "q", message: "empty: give what to search for, or leave q out" }]);
    const long = await get(`/v1/events?q=${"a".repeat(2001)}`);
    expect(long.status).toBe(400);
    expect((await errorOf(long)).details?.issues).toEqual([
      { path: "q", message: "at most 2,000 characters, a filter document's too: search for a shorter value, text or document" },
    ]);
  });
});

describe("a route that does not exist", () => {
  it("answers 404 saying where the routes are listed", async () => {
    const res = await get("/v1/attempts/att_0");
    expect(res.status).toBe(404);
    expect(await errorOf(res)).toEqual({ code: "not_found", message: "No route for GET /v1/attempts/att_0: GET /openapi.json lists the API's routes." });
  });
});

describe("a body that is not JSON", () => {
  it("says what to send, an empty one with a JSON Content-Type too", async () => {
    for (const body of ["", "{"]) {
      const res = await raw("POST", "/v1/events/replay", body);
      expect(res.status, body).toBe(400);
      expect((await errorOf(res)).message, body).toBe("The body is not valid JSON: send one JSON object ({} when you give none of its fields).");
    }
  });
});

describe("a required field left out", () => {
  it("is said to be required, not a value of the wrong type", async () => {
    const res = await raw("POST", "/v1/tokens", JSON.stringify({ scopes: ["events:read"] }));
    expect(res.status).toBe(400);
    expect(await errorOf(res)).toEqual({
      code: "invalid_request",
      message: "Invalid body: name: required (expected string).",
      details: { issues: [{ path: "name", message: "required (expected string)" }] },
    });
    // A value of the wrong type is still said as one.
    const wrong = await raw("POST", "/v1/tokens", JSON.stringify({ name: 5, scopes: ["events:read"] }));
    expect((await errorOf(wrong)).details?.issues[0]?.message).toBe("Invalid input: expected string, received number");
  });

  it("of the wrong type is said to be one, without a length bound the field's own type does not have (the secrets list's 5 read as 5 characters)", async () => {
    const source = await raw("POST", "/v1/sources", JSON.stringify({ id: `wt-${uniqueKey()}`, name: "x", provider: "stripe", secrets: "TOPSECRETVALUE1234" }));
    expect((await errorOf(source)).details?.issues).toEqual([{ path: "secrets", message: "Invalid input: expected array, received string" }]);
    const webhook = await raw("POST", "/v1/webhooks", JSON.stringify({ url: "https://x.test/t", eventTypes: ["review.created"], secret: ["TOPSECRETVALUE1234"] }));
    expect((await errorOf(webhook)).details?.issues).toEqual([{ path: "secret", message: "Invalid input: expected string, received array" }]);
    // A length issue with no type issue at its path stays.
    const short = await raw("POST", "/v1/sources", JSON.stringify({ id: `wt-${uniqueKey()}`, name: "x", provider: "stripe", secrets: ["a", "b", "c", "d", "e", "f"] }));
    expect((await errorOf(short)).details?.issues).toContainEqual({ path: "secrets", message: "must have at most 5 items (got 6)" });
  });
});

describe("a bulk retry of held deliveries", () => {
  it("says that enabling the webhook sends them, not only the statuses it takes", async () => {
    const res = await raw("POST", "/v1/deliveries/retry", JSON.stringify({ status: "held" }));
    expect(res.status).toBe(400);
    expect((await errorOf(res)).details?.issues).toEqual([
      { path: "status", message: 'held deliveries are not retried: they go out when their webhook is enabled (PATCH /v1/webhooks/{uid} {"disabled": false})' },
    ]);
    // None at all is said to be required, with the ones it takes.
    const none = await raw("POST", "/v1/deliveries/retry", JSON.stringify({ webhookUid: "w" }));
    expect((await errorOf(none)).details?.issues).toEqual([
      { path: "status", message: 'required: the status of the deliveries to retry, "failed", "expired", "succeeded" or "pending"' },
    ]);
    // Another status is still answered with the ones it takes.
    const other = await raw("POST", "/v1/deliveries/retry", JSON.stringify({ status: "bogus" }));
    expect((await errorOf(other)).details?.issues[0]?.message).toContain('"failed"');
  });
});

describe("a reversed time range", () => {
  it("answers 400 on the events list, with or without q, as a range replay does", async () => {
    for (const q of ["", "&q=x", "&eventType=message.received"]) {
      for (const [since, until] of [
        ["2026-12-01T00:00:00Z", "2026-11-01T00:00:00Z"],
        ["2026-12-01T00:00:00Z", "2026-12-01T00:00:00Z"],
      ]) {
        const res = await get(`/v1/events?since=${since}&until=${until}${q}`);
        expect(res.status, q).toBe(400);
        expect(await errorOf(res)).toMatchObject({ code: "invalid_request", details: { issues: [{ path: "until", message: "until must be later than since" }] } });
      }
    }
    expect((await get("/v1/events?since=2026-11-01T00:00:00Z&until=2026-12-01T00:00:00Z")).status).toBe(200);
  });

  it("of two times within one millisecond says that times are kept to the millisecond, on the list, a search and a range replay", async () => {
    // …00.0001Z..…00.0002Z is a range as written, but both bounds round up to …00.001Z: it said only
    // "until must be later than since", of an until that is.
    const [since, until] = ["2026-12-01T00:00:00.0001Z", "2026-12-01T00:00:00.0002Z"];
    const said = "until must be later than since: times are kept to the millisecond, and both round up to 2026-12-01T00:00:00.001Z";
    const answers = [
      ...["", "&q=x"].map((q) => get(`/v1/events?since=${since}&until=${until}${q}`)),
      raw("POST", "/v1/events/replay", JSON.stringify({ since, until, dryRun: true })),
    ];
    for (const res of await Promise.all(answers)) {
      expect(res.status).toBe(400);
      expect(await errorOf(res)).toMatchObject({ code: "invalid_request", details: { issues: [{ path: "until", message: said }] } });
    }
    // The same time written twice, or an until earlier at a finer digit, is not a range at any precision: said as before.
    for (const [a, b] of [
      ["2026-12-01T00:00:00.0001Z", "2026-12-01T00:00:00.000100Z"],
      ["2026-12-01T00:00:00.0002Z", "2026-12-01T00:00:00.0001Z"],
      ["2026-12-01T00:00:00Z", "2026-12-01T01:00:00+01:00"],
    ]) {
      const res = await get(`/v1/events?since=${a}&until=${encodeURIComponent(b!)}`);
      expect(res.status, `${a}..${b}`).toBe(400);
      expect((await errorOf(res)).details?.issues, `${a}..${b}`).toEqual([{ path: "until", message: "until must be later than since" }]);
    }
  });

  it("is not a since later than now without an until: a search answers it as the list does, an empty last page", async () => {
    // A search's until defaults to now; it answered 400 "until must be later than since", naming a parameter not given.
    const since = new Date(Date.now() + 3_600_000).toISOString();
    for (const q of ["", "&q=x", "&q=data.a%3D1"]) {
      const res = await get(`/v1/events?since=${since}${q}`);
      expect(res.status, q).toBe(200);
      expect(await res.json(), q).toEqual({ data: [], nextCursor: null });
      // A cursor that is not one is still refused, as the list refuses it.
      const forged = await get(`/v1/events?since=${since}${q}&cursor=not-a-cursor`);
      expect(forged.status, q).toBe(400);
      expect((await errorOf(forged)).code, q).toBe("invalid_request");
    }
  });
});

describe("a time a list or replay cannot read", () => {
  it("is named alone, saying what a time looks like, and a URL's bare + in an offset (a space once decoded) is said to be %2B", async () => {
    // curl "…?since=2026-12-03T13:00:00+02:00": the query decodes the + as a space.
    const plus = await get("/v1/events?since=2026-12-03T13:00:00+02:00&until=2026-12-03T14:00:00+02:00");
    expect(plus.status).toBe(400);
    const issues = (await errorOf(plus)).details?.issues;
    expect(issues?.map((i) => i.path)).toEqual(["since", "until"]);
    expect(issues?.[0]?.message).toContain("%2B");
    const noZone = await get("/v1/events?since=2026-12-03T13:00:00");
    expect((await errorOf(noZone)).details?.issues).toEqual([{ path: "since", message: expect.stringContaining("Z or an offset") }]);
    expect((await get("/v1/events?since=2026-12-03T13:00:00%2B02:00&until=2026-12-03T14:00:00%2B02:00")).status).toBe(200);
    const body = await raw("POST", "/v1/events/replay", JSON.stringify({ since: "2026-12-03T13:00:00", until: "2026-12-03T14:00:00Z", dryRun: true }));
    expect((await errorOf(body)).details?.issues).toEqual([{ path: "since", message: expect.stringContaining("Z or an offset") }]);
  });
});

describe("numbers in a path or query", () => {
  it("takes a dead letter id in decimal digits only, and a 404 names the id as given", async () => {
    const p = pipeline();
    const msg = ingestMessage({ body: podiumBody() });
    await p.runQueue<IngestMessage>("edgehook-ingest-dlq", [msg], 11, `dead-${msg.eventId}`);
    const letter = (await p.api("GET", "/v1/dead-letters")).json.data.find((d: { eventId: string }) => d.eventId === msg.eventId);
    for (const id of ["abc", "1e3", "0x10", `${letter.id}.0`, `+${letter.id}`, `0${letter.id}`, "0", "-1", "9".repeat(20)]) {
      for (const [method, path] of [["DELETE", `/v1/dead-letters/${id}`], ["POST", `/v1/dead-letters/${id}/replay`]] as const) {
        const res = await p.api(method, path);
        expect(res.status, path).toBe(404);
        expect(res.json.error).toEqual({ code: "not_found", message: `No dead letter "${id}".` });
      }
    }
    expect((await p.api("DELETE", `/v1/dead-letters/${letter.id}`)).status).toBe(204);
    expect((await p.api("DELETE", `/v1/dead-letters/${letter.id}`)).json.error.message).toBe(`No dead letter "${letter.id}".`);
  });

  it("takes limit and the other whole numbers of a query in decimal digits only, saying so", async () => {
    const source = `num-${uniqueKey()}`;
    expect((await raw("POST", "/v1/sources", JSON.stringify({ id: source, name: "n", provider: "stripe", secrets: ["a-fuzz-secret"] }))).status).toBe(201);
    const lists = ["/v1/events?limit=", "/v1/webhooks?limit=", "/v1/dead-letters?limit=", `/v1/sources/${source}/rejections?limit=`, "/v1/listen?replay="];
    for (const list of lists) {
      for (const value of ["%205", "0x10", "1e2", "", "+5", "5.0", "-1"]) {
        const res = await get(`${list}${value}`);
        expect(res.status, `${list}${value}`).toBe(400);
        const name = list.slice(list.indexOf("?") + 1, -1);
        expect(await errorOf(res)).toEqual({
          code: "invalid_request",
          message: `Invalid query: ${name}: expected a whole number (decimal digits).`,
          details: { issues: [{ path: name, message: "expected a whole number (decimal digits)" }] },
        });
      }
    }
    const five = await get("/v1/webhooks?limit=5");
    expect(five.status).toBe(200);
    // A number past a double's range is as far out of bounds as any: the digits as written are said, cut short.
    expect((await errorOf(await get(`/v1/events?limit=${"9".repeat(400)}`))).message).toBe(`Invalid query: limit: must be at most 100 (got ${"9".repeat(39)}…).`);
  });
});

describe("a list given one item twice", () => {
  it("refuses a source's secret given twice, on create and change, without echoing it", async () => {
    const id = `twice-${uniqueKey()}`;
    const create = await raw("POST", "/v1/sources", JSON.stringify({ id, name: "t", provider: "stripe", secrets: ["abcdefgh12", "abcdefgh12"] }));
    expect(create.status).toBe(400);
    const error = await errorOf(create);
    expect(error).toMatchObject({ code: "invalid_request", details: { issues: [{ path: "secrets.1" }] } });
    expect(error.message).toContain("given twice");
    expect(JSON.stringify(error)).not.toContain("abcdefgh12");
    expect((await get(`/v1/sources/${id}`)).status).toBe(404);

    expect((await raw("POST", "/v1/sources", JSON.stringify({ id, name: "t", provider: "stripe", secrets: ["abcdefgh12"] }))).status).toBe(201);
    const before = await (await get(`/v1/sources/${id}`)).json();
    const patch = await raw("PATCH", `/v1/sources/${id}`, JSON.stringify({ secrets: ["new-secret-1", "abcdefgh12", "new-secret-1"] }));
    expect(patch.status).toBe(400);
    expect(await errorOf(patch)).toMatchObject({ code: "invalid_request", details: { issues: [{ path: "secrets.2" }] } });
    expect(await (await get(`/v1/sources/${id}`)).json()).toEqual(before);
  });
});

describe("a query parameter a list does not take", () => {
  it("is refused naming it, rather than ignored (a misspelt filter answered every row)", async () => {
    const source = `params-${uniqueKey()}`;
    expect((await raw("POST", "/v1/sources", JSON.stringify({ id: source, name: "n", provider: "stripe", secrets: ["a-fuzz-secret"] }))).status).toBe(201);
    const deliveries = await get("/v1/deliveries?eventType=x&locationUid=y");
    expect(deliveries.status).toBe(400);
    const error = await errorOf(deliveries);
    expect(error.code).toBe("invalid_request");
    expect(error.message).toBe("Invalid query: eventType: not a parameter of this list, which takes status, webhookUid, eventId, limit, cursor.");
    expect(error.details?.issues.map((i) => i.path)).toEqual(["eventType", "locationUid"]);
    const events = await get("/v1/events?webhookUid=nope&Status=failed");
    expect((await errorOf(events)).details?.issues.map((i) => i.path)).toEqual(["webhookUid", "Status"]);

    const lists = ["/v1/webhooks", "/v1/sources", "/v1/tokens", "/v1/event-types", "/v1/dead-letters", "/v1/notification-endpoints", "/v1/alerts", `/v1/sources/${source}/rejections`, "/v1/listen"];
    for (const list of lists) {
      const res = await get(`${list}?tpye=x`);
      expect(res.status, list).toBe(400);
      expect((await errorOf(res)).details?.issues, list).toEqual([{ path: "tpye", message: expect.stringContaining("not a parameter of this list") }]);
    }
    // The parameters each takes are still taken.
    // (webhookUid is looked up: none is named x, so 404, not the 400 of a parameter not taken; so is sourceId, podium a declared one.)
    expect((await get("/v1/deliveries?status=failed&webhookUid=x&eventId=y&limit=1")).status).toBe(404);
    expect((await get("/v1/events?q=x&eventType=a&sourceId=podium&locationUid=c&organizationUid=d&status=failed&since=2026-11-01T00:00:00Z&until=2026-11-02T00:00:00Z&limit=1")).status).toBe(200);
    expect((await get("/v1/dead-letters?open=true&limit=1")).status).toBe(200);
  });

  it("refuses an empty filter and a wildcard type by name, as every filter of the list does (they answered an empty page)", async () => {
    for (const [query, path] of [["eventType=", "eventType"], ["sourceId=", "sourceId"], ["locationUid=", "locationUid"], ["eventType=message.*", "eventType"]]) {
      const res = await get(`/v1/events?${query}`);
      expect(res.status, query).toBe(400);
      expect((await errorOf(res)).details?.issues?.map((i: { path: string }) => i.path), query).toEqual([path]);
    }
    // A source id no source could have (ids are slugs) is refused as one, not quoted in a 404 as if it might exist.
    for (const id of ["Stripe", "Sign in at evil.example/login", "a".repeat(65)]) {
      const res = await get(`/v1/events?sourceId=${encodeURIComponent(id)}`);
      const error = await errorOf(res);
      expect([res.status, error.code, error.details?.issues?.map((i: { path: string }) => i.path)], id).toEqual([400, "invalid_request", ["sourceId"]]);
      expect(error.message, id).toBe("Invalid query: sourceId: no source has such an id (lowercase letters, digits and -, at most 64).");
    }
    const replay = await pipeline().api("POST", "/v1/events/replay", { since: "2026-11-01T00:00:00Z", until: "2026-11-02T00:00:00Z", eventType: "message.*", dryRun: true });
    expect(replay.status).toBe(400);
    expect(replay.json.error.message).toMatch(/no wildcard/);
  });
});

describe("a query parameter on an operation that takes none", () => {
  it("is refused naming it, and the operation does nothing (/v1/stats?since= answered every hour)", async () => {
    const stats = await get("/v1/stats?since=2026-11-01T00:00:00Z");
    expect(stats.status).toBe(400);
    // (It takes some since: the cursor and the webhooks of its per-webhook counts.)
    expect(await errorOf(stats)).toEqual({
      code: "invalid_request",
      message: "Invalid query: since: not a parameter of this list, which takes cursor, webhookUids, failingFirst.",
      details: { issues: [{ path: "since", message: "not a parameter of this list, which takes cursor, webhookUids, failingFirst" }] },
    });

    const before = await count("webhooks");
    const create = await raw("POST", "/v1/webhooks?dryRun=true", JSON.stringify({ url: "https://downstream.test/ok/query", eventTypes: ["*"] }));
    expect(create.status).toBe(400);
    expect((await errorOf(create)).details?.issues).toEqual([{ path: "dryRun", message: "this operation takes no query parameters" }]);
    expect(await count("webhooks")).toBe(before);

    const made = await raw("POST", "/v1/webhooks", JSON.stringify({ url: "https://downstream.test/ok/query", eventTypes: ["*"] }));
    expect(made.status).toBe(201);
    const { uid } = await made.json<{ uid: string }>();
    const one = await get(`/v1/webhooks/${uid}?expand=deliveries&x=1`);
    expect((await errorOf(one)).details?.issues).toEqual(["expand", "x"].map((path) => ({ path, message: "this operation takes no query parameters" })));
    // Without one, each answers as before.
    expect((await get("/v1/stats")).status).toBe(200);
    expect((await get(`/v1/webhooks/${uid}`)).status).toBe(200);
  });
});

describe("a query parameter with no name (`?=x`)", () => {
  it("is refused as one the operation does not take, a write's included, rather than ignored (the router reads none there)", async () => {
    const before = await count("tokens");
    const create = await raw("POST", "/v1/tokens?=x", JSON.stringify({ name: `nameless-${uniqueKey()}`, scopes: ["read_messages"] }));
    expect(create.status).toBe(400);
    expect(await errorOf(create)).toEqual({
      code: "invalid_request",
      message: "Invalid query: this operation takes no query parameters (a parameter with no name, =…).",
      details: { issues: [{ path: "", message: "this operation takes no query parameters (a parameter with no name, =…)" }] },
    });
    expect(await count("tokens")).toBe(before);
    for (const query of ["=x", "=%ff", "limit=1&=", "=&limit=1"]) {
      const res = await get(`/v1/tokens?${query}`);
      expect(res.status, query).toBe(400);
      expect((await errorOf(res)).details?.issues, query).toEqual([{ path: "", message: "not a parameter of this list, which takes limit, cursor (a parameter with no name, =…)" }]);
    }
    expect((await get("/v1/stats?=1")).status).toBe(400);
    // An empty part names nothing: `?&` and a trailing `&` are no parameter.
    for (const query of ["", "&", "limit=1&", "&&limit=1"]) expect((await get(`/v1/tokens?${query}`)).status, query).toBe(200);
  });
});

describe("no body where an operation requires one", () => {
  it("is refused, not read as {} (a PATCH without a body answered a change to nothing)", async () => {
    const made = await raw("POST", "/v1/webhooks", JSON.stringify({ url: "https://downstream.test/ok/nobody", eventTypes: ["*"] }));
    const { uid } = await made.json<{ uid: string }>();
    // The webhook as stored (its backlog's estimate moves with the clock).
    const stored = async () => {
      const { backlog: _, ...rest } = await (await get(`/v1/webhooks/${uid}`)).json<Record<string, unknown>>();
      return rest;
    };
    const before = await stored();
    const refused = {
      code: "invalid_request",
      message: "This operation takes a JSON body: send one, with the header Content-Type: application/json.",
      details: { issues: [{ path: "", message: "required" }] },
    };
    for (const [method, path] of [["PATCH", `/v1/webhooks/${uid}`], ["PUT", `/v1/webhooks/${uid}`], ["POST", "/v1/webhooks"], ["POST", "/v1/tokens"]]) {
      const res = await call(new Request(`https://edgehook.test${path}`, { method, headers: ADMIN }));
      expect(res.status, `${method} ${path}`).toBe(400);
      expect(await errorOf(res), `${method} ${path}`).toEqual(refused);
    }
    // Nor an empty Content-Type (curl -H "Content-Type;"), nor an empty body without one.
    for (const init of [{ headers: { ...ADMIN, "content-type": "" } }, { headers: ADMIN, body: new Uint8Array(0) }]) {
      const res = await call(new Request(`https://edgehook.test/v1/webhooks/${uid}`, { method: "PATCH", ...init }));
      expect(await errorOf(res)).toEqual(refused);
    }
    expect(await stored()).toEqual(before);
    // An empty body sent as JSON is not JSON; a body without a Content-Type is 415, as before.
    expect((await raw("PATCH", `/v1/webhooks/${uid}`, "")).status).toBe(400);
    const untyped = await call(new Request(`https://edgehook.test/v1/webhooks/${uid}`, { method: "PATCH", headers: ADMIN, body: utf8('{"disabled":true}') }));
    expect(untyped.status).toBe(415);
    // A replay's body is optional: none replays to every matching webhook.
    const replay = await call(new Request("https://edgehook.test/v1/events/evt_00000000000000000000000000000000/replay", { method: "POST", headers: ADMIN }));
    expect(replay.status).toBe(404);
    // Nor is an empty one sent as JSON (the dashboard's, curl -H): it was answered "not valid JSON".
    const typed = await call(
      new Request("https://edgehook.test/v1/events/evt_00000000000000000000000000000000/replay", { method: "POST", headers: { ...ADMIN, "content-type": "application/json" } }),
    );
    expect(typed.status).toBe(404);
  });
});

describe("a body on an operation that takes none", () => {
  it("is refused naming each field (a retry's {\"url\":…} was answered 202 as if taken); none, or {}, is taken", async () => {
    const p = pipeline({ RETRY_BASE_SECONDS: "0" });
    const { event, webhook } = await p.webhookOn("fail", { maxAttempts: 1 });
    const eventId = await p.ingest(event());
    // This file's other webhooks take every event too.
    const delivery = async () => (await deliveryRows(eventId)).find((d) => d.webhook_uid === webhook.uid)!;
    const deliveryId = (await delivery()).id;
    await p.deliver();
    const letters = (await p.api("GET", "/v1/dead-letters?limit=100")).json.data as { id: number; eventId: string | null; deliveryId: string | null }[];
    const letter = letters.find((l) => l.eventId === eventId && l.deliveryId === deliveryId)!;
    const message = "this operation takes no fields: send no body, or {}";
    for (const path of [`/v1/deliveries/${deliveryId}/retry`, `/v1/dead-letters/${letter.id}/replay`]) {
      for (const [body, fields] of [[{ url: "https://elsewhere.test/" }, ["url"]], [{ force: true, dryRun: true }, ["force", "dryRun"]]] as const) {
        const res = await raw("POST", path, JSON.stringify(body));
        expect(res.status, `${path} ${JSON.stringify(body)}`).toBe(400);
        expect((await errorOf(res)).details?.issues, path).toEqual(fields.map((f) => ({ path: f, message })));
      }
      // Not an object, nor a body as a form (curl -d), is taken either.
      expect((await raw("POST", path, "[]")).status, path).toBe(400);
      expect((await raw("POST", path, "force=true", { "content-type": "application/x-www-form-urlencoded" })).status, path).toBe(415);
    }
    // Nothing was retried or replayed.
    expect(await delivery()).toMatchObject({ status: "failed", attempt_count: 1 });
    expect((await p.api("GET", `/v1/dead-letters?limit=100`)).json.data.find((l: { id: number }) => l.id === letter.id)).toMatchObject({ replayedAt: null });

    // {} is taken, as is no body, with a JSON Content-Type (the dashboard's) or without one.
    expect((await raw("POST", `/v1/deliveries/${deliveryId}/retry`, "{}")).status).toBe(202);
    for (const headers of [{ ...ADMIN, "content-type": "application/json" }, ADMIN]) {
      expect((await call(new Request(`https://edgehook.test/v1/deliveries/${deliveryId}/retry`, { method: "POST", headers }))).status).toBe(202);
    }
    await p.deliver();
    const replayed = await raw("POST", `/v1/dead-letters/${letter.id}/replay`, "{}");
    expect(replayed.status).toBe(202);
  });
});

describe("a body on a DELETE", () => {
  it("is refused as a retry's is (bad JSON 400, not JSON 415, a field 400 by name), and nothing is deleted; none, or {}, deletes", async () => {
    const p = pipeline();
    const key = uniqueKey();
    const webhook = (await p.api("POST", "/v1/webhooks", { url: `https://downstream.test/ok/delete-body-${key}`, eventTypes: ["*"] })).json.uid as string;
    expect((await p.api("POST", "/v1/sources", { id: `delete-body-${key}`, name: "n", provider: "stripe", secrets: ["a-fuzz-secret"] })).status).toBe(201);
    const token = (await p.api("POST", "/v1/tokens", { name: "delete body", scopes: ["events:read"] })).json.id as string;
    const endpoint = (await p.api("POST", "/v1/notification-endpoints", { url: `https://ops.test/delete-body-${key}`, alertTypes: ["webhook.failing"] })).json.uid as string;
    const paths = [`/v1/webhooks/${webhook}`, `/v1/sources/delete-body-${key}`, `/v1/tokens/${token}`, `/v1/notification-endpoints/${endpoint}`];
    const message = "this operation takes no fields: send no body, or {}";
    for (const path of [...paths, "/v1/dead-letters/999999999"]) {
      expect((await raw("DELETE", path, "{bad json")).status, path).toBe(400);
      expect((await raw("DELETE", path, "x", { "content-type": "text/plain" })).status, path).toBe(415);
      const field = await raw("DELETE", path, '{"confirm":false}');
      expect(field.status, path).toBe(400);
      expect((await errorOf(field)).details?.issues, path).toEqual([{ path: "confirm", message }]);
    }
    // Each is still there.
    for (const path of paths) expect((await get(path)).status, path).toBe(200);
    // {} deletes, as does no body, with a JSON Content-Type (the dashboard's) or without one.
    const [first, second, third] = paths as [string, string, string, string];
    expect((await raw("DELETE", first, "{}")).status).toBe(204);
    expect((await call(new Request(`https://edgehook.test${second}`, { method: "DELETE", headers: { ...ADMIN, "content-type": "application/json" } }))).status).toBe(204);
    expect((await call(new Request(`https://edgehook.test${third}`, { method: "DELETE", headers: ADMIN }))).status).toBe(204);
    expect((await get(first)).status).toBe(404);
    expect((await get(second)).status).toBe(404);
  });
});

describe("control and bidirectional formatting characters", () => {
  const HIDDEN = ["ops\u0000", "a\u001b[31mred", "two\r\nlines", "tab\there", "del\u007f", "\u202eevil", "x\u2066y\u2069", "\u202a", "\u202d"];

  it("are refused in the names of sources and tokens and in the organizations and locations given to webhooks, tokens and sources", async () => {
    const id = `hidden-${uniqueKey()}`;
    expect((await raw("POST", "/v1/sources", JSON.stringify({ id, name: "plain", provider: "stripe", secrets: ["a-fuzz-secret"] }))).status).toBe(201);
    const before = { tokens: await count("tokens"), sources: await count("sources"), webhooks: await count("webhooks") };
    const webhook = { url: "https://downstream.test/ok/hidden", eventTypes: ["*"] };
    for (const text of HIDDEN) {
      const cases: [string, string, unknown, string][] = [
        ["POST", "/v1/sources", { name: text, provider: "stripe", secrets: ["a-fuzz-secret"] }, "name"],
        ["POST", "/v1/sources", { name: "n", provider: "stripe", secrets: ["a-fuzz-secret"], organizationUid: text }, "organizationUid"],
        ["PATCH", `/v1/sources/${id}`, { name: text }, "name"],
        ["POST", "/v1/tokens", { name: text, scopes: ["events:read"] }, "name"],
        ["POST", "/v1/tokens", { name: "t", scopes: ["events:read"], organizationUids: ["org-1", text] }, "organizationUids.1"],
        ["POST", "/v1/tokens", { name: "t", scopes: ["events:read"], locationUids: [text] }, "locationUids.0"],
        ["POST", "/v1/webhooks", { ...webhook, locationUid: text }, "locationUid"],
        ["POST", "/v1/webhooks", { ...webhook, organizationUid: text }, "organizationUid"],
      ];
      for (const [method, path, body, field] of cases) {
        const res = await raw(method, path, JSON.stringify(body));
        const what = `${method} ${path} ${JSON.stringify(body)}`;
        expect(res.status, what).toBe(400);
        const error = await errorOf(res);
        expect(error.details?.issues, what).toEqual([{ path: field, message: "must not contain control or bidirectional formatting characters" }]);
        expect(error.message, what).toBe(`Invalid body: ${field}: must not contain control or bidirectional formatting characters.`);
      }
    }
    expect({ tokens: await count("tokens"), sources: await count("sources"), webhooks: await count("webhooks") }).toEqual(before);
    expect((await get(`/v1/sources/${id}`)).status).toBe(200);
    expect((await (await get(`/v1/sources/${id}`)).json<{ name: string }>()).name).toBe("plain");
    // Text a person reads as it is stays accepted: accents, other scripts, an emoji, a right-to-left name.
    expect((await raw("POST", "/v1/tokens", JSON.stringify({ name: "café ☕ مرحبا", scopes: ["events:read"], organizationUids: ["org-é"] }))).status).toBe(201);
  });
});

/** Each place an organization or location uid is given to own something new: method, path, body, the field's path. */
function ownerCases(text: string, webhook: { url: string; eventTypes: string[] }): [string, string, unknown, string][] {
  return [
    ["POST", "/v1/webhooks", { ...webhook, organizationUid: text }, "organizationUid"],
    ["POST", "/v1/webhooks", { ...webhook, locationUid: text }, "locationUid"],
    ["POST", "/v1/tokens", { name: "t", scopes: ["events:read"], organizationUids: ["org-2", text] }, "organizationUids.1"],
    ["POST", "/v1/tokens", { name: "t", scopes: ["events:read"], locationUids: [text] }, "locationUids.0"],
    ["POST", "/v1/sources", { name: "n", provider: "stripe", secrets: ["a-fuzz-secret"], organizationUid: text }, "organizationUid"],
  ];
}

describe("white space at either end of an organization or location uid", () => {
  it("is refused where one is given to own a webhook, a token or a source: no event's uid carries it, so it would own nothing, without a word", async () => {
    const before = { tokens: await count("tokens"), sources: await count("sources"), webhooks: await count("webhooks") };
    const webhook = { url: "https://downstream.test/ok/padded", eventTypes: ["*"] };
    for (const text of ["org-1 ", " org-1", "org-1\u00a0", "\u3000loc-1", "org-1\ufeff"]) {
      for (const [method, path, body, field] of ownerCases(text, webhook)) {
        const res = await raw(method, path, JSON.stringify(body));
        const what = `${method} ${path} ${JSON.stringify(body)}`;
        expect(res.status, what).toBe(400);
        expect((await errorOf(res)).details?.issues, what).toEqual([{ path: field, message: "must not begin or end with white space" }]);
      }
    }
    expect({ tokens: await count("tokens"), sources: await count("sources"), webhooks: await count("webhooks") }).toEqual(before);
    // White space within one stays accepted.
    expect((await raw("POST", "/v1/tokens", JSON.stringify({ name: "t", scopes: ["events:read"], organizationUids: ["org 1"] }))).status).toBe(201);
  });
});

describe("an invisible character at either end of an organization or location uid", () => {
  it("is refused, named by its code point, where one is given to own a webhook, a token or a source: as white space, it would own nothing, unseen", async () => {
    const before = { tokens: await count("tokens"), sources: await count("sources"), webhooks: await count("webhooks") };
    const webhook = { url: "https://downstream.test/ok/invisible", eventTypes: ["*"] };
    const padded: [string, string][] = [
      ["org-1\u200b", "U+200B"], // zero-width space
      ["\u200corg-1", "U+200C"], // zero-width non-joiner
      ["loc-1\u200d", "U+200D"], // zero-width joiner
      ["\u2060org-1", "U+2060"], // word joiner
      ["org-1\u00ad", "U+00AD"], // soft hyphen
      ["org-1\ufe0f", "U+FE0F"], // variation selector
      ["\u3164org-1", "U+3164"], // Hangul filler
      ["org-1\u{e0020}", "U+E0020"], // tag space (a surrogate pair)
    ];
    for (const [text, code] of padded) {
      for (const [method, path, body, field] of ownerCases(text, webhook)) {
        const res = await raw(method, path, JSON.stringify(body));
        const what = `${method} ${path} ${JSON.stringify(body)}`;
        expect(res.status, what).toBe(400);
        expect((await errorOf(res)).details?.issues, what).toEqual([{ path: field, message: `must not begin or end with an invisible character (${code})` }]);
      }
    }
    expect({ tokens: await count("tokens"), sources: await count("sources"), webhooks: await count("webhooks") }).toEqual(before);
    // A bidirectional control at an end is reported once, as the hidden character it is anywhere.
    const bidi = await raw("POST", "/v1/tokens", JSON.stringify({ name: "t", scopes: ["events:read"], locationUids: ["\u200floc-1"] }));
    expect((await errorOf(bidi)).details?.issues).toEqual([{ path: "locationUids.0", message: "must not contain control or bidirectional formatting characters" }]);
    // Within one (an emoji's joiner), and visible text at either end, stay accepted.
    expect((await raw("POST", "/v1/tokens", JSON.stringify({ name: "t", scopes: ["events:read"], organizationUids: ["org-\u{1f469}\u200d\u{1f4bb}-1", "é-org-☕"] }))).status).toBe(201);
  });
});

describe("a blank name", () => {
  it("is refused for a source and a token (only white space or invisible characters, or a line or paragraph separator anywhere), as the empty one is; nothing is stored", async () => {
    const id = `blank-${uniqueKey()}`;
    expect((await raw("POST", "/v1/sources", JSON.stringify({ id, name: "plain", provider: "stripe", secrets: ["a-fuzz-secret"] }))).status).toBe(201);
    const before = { tokens: await count("tokens"), sources: await count("sources") };
    const blank = "must not be blank: it holds only white space or invisible characters";
    const names: [string, string][] = [
      ["   ", blank],
      ["\u00a0\u3000", blank], // no-break and ideographic spaces
      ["\u200b", blank], // zero-width space
      ["\u2800", blank], // braille blank
      ["\u3164", blank], // Hangul filler
      ["\ufeff\u2060", blank], // BOM, word joiner
      [" \u{e0020}", blank], // a tag space (a surrogate pair)
      ["a\u2028b", "must not contain a line or paragraph separator (U+2028)"],
      ["\u2029", "must not contain a line or paragraph separator (U+2029)"],
    ];
    for (const [text, message] of names) {
      const cases: [string, string, unknown][] = [
        ["POST", "/v1/tokens", { name: text, scopes: ["events:read"] }],
        ["POST", "/v1/sources", { name: text, provider: "stripe", secrets: ["a-fuzz-secret"] }],
        ["PATCH", `/v1/sources/${id}`, { name: text }],
      ];
      for (const [method, path, body] of cases) {
        const res = await raw(method, path, JSON.stringify(body));
        const what = `${method} ${path} ${JSON.stringify(body)}`;
        expect(res.status, what).toBe(400);
        const error = await errorOf(res);
        expect(error.code, what).toBe("invalid_request");
        expect(error.details?.issues, what).toEqual([{ path: "name", message }]);
      }
    }
    expect({ tokens: await count("tokens"), sources: await count("sources") }).toEqual(before);
    expect((await (await get(`/v1/sources/${id}`)).json<{ name: string }>()).name).toBe("plain");
    // The empty name is said as before; a name with visible text around white space or a joiner (an emoji's) stays accepted.
    expect((await errorOf(await raw("POST", "/v1/tokens", JSON.stringify({ name: "", scopes: ["events:read"] })))).details?.issues).toEqual([{ path: "name", message: "must not be empty" }]);
    for (const text of [" ops team ", "\u{1f469}\u200d\u{1f4bb}", "\u2800x"]) {
      expect((await raw("POST", "/v1/tokens", JSON.stringify({ name: text, scopes: ["events:read"] }))).status, text).toBe(201);
    }
  });
});

describe("a generic HMAC source's prefix", () => {
  it("may not contain \", \", which parts the copies of a header sent twice, so no signature could match it", async () => {
    const p = pipeline();
    const res = await p.api("POST", "/v1/sources", { name: "hmac prefix", provider: "hmac", secrets: ["a-long-secret"], hmac: { header: "x-sig", prefix: "v=1, s=" } });
    expect(res.status).toBe(400);
    expect(res.json.error.details.issues).toEqual([expect.objectContaining({ path: "hmac.prefix", message: 'must not contain ", "' })]);
  });

  it("and its headers must be ones a request can carry: a prefix of printable ASCII, no connection header; one stored so still reads", async () => {
    const p = pipeline();
    const make = (hmac: Record<string, string>) => p.api("POST", "/v1/sources", { name: "hmac carried", provider: "hmac", secrets: ["a-long-secret"], hmac: { header: "x-sig", ...hmac } });
    for (const prefix of ["a\nb", "sig\u0000=", "v\u007f=", "é=", "\u2713", "v1\t="]) {
      const res = await make({ prefix });
      expect(res.status, JSON.stringify(prefix)).toBe(400);
      expect(res.json.error.details.issues).toEqual([{ path: "hmac.prefix", message: "holds a character other than printable ASCII, which senders do not send alike" }]);
    }
    for (const [field, name] of [["header", "Host"], ["header", "content-length"], ["timestampHeader", "transfer-encoding"]] as const) {
      const res = await make({ [field]: name });
      expect(res.status, name).toBe(400);
      expect(res.json.error.details.issues).toEqual([expect.objectContaining({ path: `hmac.${field}`, message: expect.stringContaining("describes the connection") })]);
    }
    for (const prefix of ["sha256=", "v1,", "t=1 v="]) expect((await make({ prefix })).status, JSON.stringify(prefix)).toBe(201);
    // A source stored with one before these rules still reads, in the API and the dashboard, and may be renamed.
    const made = await make({});
    await env.DB.prepare("UPDATE sources SET hmac = json_set(hmac, '$.header', 'connection', '$.prefix', ?) WHERE id = ?").bind("a\u0001", made.json.id).run();
    expect((await p.api("GET", `/v1/sources/${made.json.id}`)).json.hmac).toMatchObject({ header: "connection", prefix: "a\u0001" });
    expect((await p.api("PATCH", `/v1/sources/${made.json.id}`, { name: "renamed" })).status).toBe(200);
    const page = await call(new Request("https://edgehook.test/dashboard/sources", { headers: { cookie: await dashboardCookie() } }));
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("renamed");
  });
});
