// What GET /openapi.json declares, held to what the API answers: every error an operation
// answers for what it takes is declared on it, and the schemas take what the server takes.
import { describe, expect, it } from "vitest";
import { ERROR_CODES } from "../../src/domain/errors";
import { isRecord } from "../../src/domain/guards";
import { isScope, SCOPES, type Scope } from "../../src/domain/scopes";
import { EXAMPLE_IDS } from "../../src/api/schemas/examples";
import { ADMIN, bodiedRequest, call, clientAddress, createSource, failUntilLimited, podiumBody, post } from "./helpers";
import { pipeline } from "./pipeline";
import { as, DATA_SCOPES, makeToken } from "./tokens";

type Json = Record<string, unknown>;

interface Operation {
  name: string;
  method: string;
  path: string;
  op: Json;
}

async function document(): Promise<Json> {
  const doc: unknown = await (await call(new Request("https://edgehook.test/openapi.json"))).json();
  if (!isRecord(doc)) throw new Error("/openapi.json is not an object");
  return doc;
}

const at = (node: unknown, ...keys: string[]): unknown => keys.reduce<unknown>((n, k) => (isRecord(n) ? n[k] : undefined), node);

function operations(doc: Json): Operation[] {
  const paths = isRecord(doc.paths) ? doc.paths : {};
  return Object.entries(paths).flatMap(([path, item]) =>
    Object.entries(isRecord(item) ? item : {}).flatMap(([method, op]) => (isRecord(op) ? [{ name: `${method.toUpperCase()} ${path}`, method: method.toUpperCase(), path, op }] : [])),
  );
}

const declared = (o: Operation) => Object.keys(isRecord(o.op.responses) ? o.op.responses : {});
const params = (o: Operation) => (Array.isArray(o.op.parameters) ? o.op.parameters.filter(isRecord) : []);
const hasBody = (o: Operation) => o.op.requestBody !== undefined;
const isApi = (o: Operation) => o.path.startsWith("/v1/");
const needsToken = (o: Operation) => Array.isArray(o.op.security) && o.op.security.length > 0;

/** Every object within `node` (itself first), with where it is. */
function* objects(node: unknown, path: string): Generator<[string, Json]> {
  if (Array.isArray(node)) {
    for (const [i, x] of node.entries()) yield* objects(x, `${path}[${i}]`);
    return;
  }
  if (!isRecord(node)) return;
  yield [path, node];
  for (const [k, v] of Object.entries(node)) yield* objects(v, `${path}.${k}`);
}

const acceptsNull = (schema: unknown): boolean =>
  isRecord(schema) &&
  ((Array.isArray(schema.type) && schema.type.includes("null")) ||
    schema.type === "null" ||
    [schema.anyOf, schema.oneOf].some((xs) => Array.isArray(xs) && xs.some(acceptsNull)));

describe("the OpenAPI document's errors", () => {
  it("says every reason the ingress answers 400 for, a header read for one value sent twice among them, as it answers", async () => {
    const described = String(at(await document(), "paths", "/webhooks/{sourceId}", "post", "responses", "400", "description"));
    expect(described).toMatch(/not UTF-8/);
    expect(described).toMatch(/sent more than once/);
    expect(described).toMatch(/url_verification/);
    // Two copies of a header arrive joined by a comma.
    const source = await createSource({ provider: "slack", secrets: ["slack-signing-secret"] });
    const res = await call(post(`/webhooks/${source}`, "{}", { "x-slack-request-timestamp": "1, 2", "x-slack-signature": "v0=00" }));
    expect(res.status).toBe(400);
    expect(at(await res.json(), "error", "code")).toBe("malformed_payload");
  });

  it("declares 400 on every operation that validates a path parameter or a body, and on every API operation (each refuses a query parameter it does not take)", async () => {
    const ops = operations(await document());
    const validating = ops.filter((o) => params(o).length > 0 || hasBody(o) || isApi(o));
    expect(validating.map((o) => o.name)).toEqual(expect.arrayContaining(["GET /v1/events/{id}", "DELETE /v1/tokens/{id}", "POST /v1/dead-letters/{id}/replay", "GET /v1/stats"]));
    expect(validating.filter((o) => !declared(o).includes("400")).map((o) => o.name)).toEqual([]);
  });

  it("declares 401 with WWW-Authenticate, and 429 with Retry-After, on every operation that needs a token, and 403 on every one that needs a scope", async () => {
    const ops = operations(await document());
    const authenticated = ops.filter(needsToken);
    expect(authenticated.length).toBeGreaterThan(30);
    expect(ops.filter(isApi).filter((o) => !needsToken(o)).map((o) => o.name)).toEqual([]);
    expect(authenticated.filter((o) => !declared(o).includes("401")).map((o) => o.name)).toEqual([]);
    expect(authenticated.filter((o) => at(o.op, "responses", "429", "headers", "Retry-After") === undefined).map((o) => o.name)).toEqual([]);
    expect(authenticated.filter((o) => at(o.op, "responses", "401", "headers", "WWW-Authenticate") === undefined).map((o) => o.name)).toEqual([]);
    expect(authenticated.filter((o) => o.op["x-required-scope"] !== undefined && !declared(o).includes("403")).map((o) => o.name)).toEqual([]);
  });

  it("declares 415 on every API operation that takes a JSON body, and 413 on every API operation (the 64 KiB limit is checked before routing)", async () => {
    const api = operations(await document()).filter(isApi);
    const withBody = api.filter(hasBody);
    expect(withBody.length).toBeGreaterThan(10);
    expect(withBody.filter((o) => !declared(o).includes("415")).map((o) => o.name)).toEqual([]);
    expect(api.filter((o) => !declared(o).includes("413")).map((o) => o.name)).toEqual([]);
  });

  // The declarations above are true: each operation answers them.
  it("answers those errors: 400 for a path parameter too long, 413, 415, and 429 once the address is over the limit", async () => {
    const api = operations(await document()).filter(isApi);
    const request = (o: Operation, id: string, init: RequestInit = {}) =>
      call(new Request(`https://edgehook.test${o.path.replace(/\{\w+\}/g, id)}`, { method: o.method, ...init }));
    for (const o of api.filter((x) => params(x).some((p) => p.in === "path"))) {
      const res = await request(o, "x".repeat(300), { headers: ADMIN });
      expect(res.status, o.name).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code, o.name).toBe("invalid_request");
    }
    for (const o of api.filter(hasBody)) {
      const text = await request(o, "does-not-exist", { headers: { ...ADMIN, "content-type": "text/plain" }, body: "{}" });
      expect(text.status, o.name).toBe(415);
    }
    // Every operation, one that takes no body included (a GET, as curl -X GET sends one): the
    // limit is index.ts's, before routing. (A DELETE takes none but `{}`, refusing any other: NO_BODY.)
    expect(api.filter((o) => !hasBody(o)).map((o) => o.name)).toEqual(expect.arrayContaining(["GET /v1/webhooks/{uid}", "GET /v1/tokens"]));
    expect(api.filter((o) => o.method === "DELETE" && !hasBody(o)).map((o) => o.name)).toEqual([]);
    for (const o of api) {
      const headers = { ...ADMIN, "content-type": "application/json" };
      const body = JSON.stringify({ x: "a".repeat(70_000) });
      const huge =
        o.method === "GET"
          ? await call(bodiedRequest("GET", `https://edgehook.test${o.path.replace(/\{\w+\}/g, "does-not-exist")}`, headers, body))
          : await request(o, "does-not-exist", { headers, body });
      expect(huge.status, o.name).toBe(413);
      expect(((await huge.json()) as { error: { code: string } }).error.code, o.name).toBe("payload_too_large");
    }
    const client = clientAddress();
    // 20 failed authentications a minute are refused 401; the next, and then every request, 429.
    await failUntilLimited(401, (i) => call(new Request("https://edgehook.test/v1/stats", { headers: { authorization: `Bearer wrong-${i}`, "cf-connecting-ip": client } })));
    for (const o of api) {
      const res = await request(o, "does-not-exist", { headers: { ...ADMIN, "cf-connecting-ip": client } });
      expect(res.status, o.name).toBe(429);
      expect(Number(res.headers.get("retry-after")), o.name).toBeGreaterThan(0);
    }
  });
});

describe("the OpenAPI document's scopes", () => {
  const required = (o: Operation): Scope[] => {
    const listed = o.op["x-required-scope"];
    return Array.isArray(listed) ? listed.filter(isScope) : [];
  };
  const path = (o: Operation) => o.path.replace(/\{\w+\}/g, "does-not-exist");

  it("lists in x-required-scope, an array on every operation that needs a scope, each scope a token needs: one lacking it is refused 403 naming it", async () => {
    const scoped = operations(await document()).filter((o) => o.op["x-required-scope"] !== undefined);
    expect(scoped.length).toBeGreaterThan(30);
    const wellFormed = (listed: unknown) => Array.isArray(listed) && listed.length > 0 && listed.every(isScope);
    expect(scoped.filter((o) => !wellFormed(o.op["x-required-scope"])).map((o) => o.name)).toEqual([]);
    // The security requirement names the same scopes (OpenAPI 3.1's roles of a bearer scheme).
    expect(scoped.filter((o) => JSON.stringify(o.op.security) !== JSON.stringify([{ bearer: o.op["x-required-scope"] }])).map((o) => o.name)).toEqual([]);
    const p = pipeline();
    // A token with every scope but `lacking` (admin implies them all).
    const tokens = new Map<Scope, string>();
    const lackingOnly = async (lacking: Scope) => {
      const token = tokens.get(lacking) ?? (await makeToken(p, SCOPES.filter((s) => s !== "admin" && s !== lacking))).token;
      tokens.set(lacking, token);
      return token;
    };
    for (const o of scoped) {
      for (const scope of required(o)) {
        const res = await as(p, await lackingOnly(scope), o.method, path(o), hasBody(o) ? {} : undefined);
        expect(res.status, `${o.name} without ${scope}`).toBe(403);
        expect(res.json.error.details.missingScope, `${o.name} without ${scope}`).toBe(scope);
      }
    }
  });

  it("lists both scopes testing a webhook needs: a token with those alone is answered, and one with webhooks:read alone is refused naming events:read", async () => {
    const doc = await document();
    expect(at(doc, "paths", "/v1/webhooks/{uid}/test", "post", "x-required-scope")).toEqual(["webhooks:read", "events:read"]);
    const p = pipeline();
    const both = await makeToken(p, ["webhooks:read", "events:read", ...DATA_SCOPES]);
    const answered = await as(p, both.token, "POST", "/v1/webhooks/does-not-exist/test", { eventId: "does-not-exist" });
    expect(answered.status).toBe(404);
    const webhooksOnly = await makeToken(p, ["webhooks:read", ...DATA_SCOPES]);
    const refused = await as(p, webhooksOnly.token, "POST", "/v1/webhooks/does-not-exist/test", { eventId: "does-not-exist" });
    expect(refused.status).toBe(403);
    expect(refused.json.error.details.missingScope).toBe("events:read");
  });

  it("says a new webhook's 403 about its owner names the field in details.issues, as the API answers it", async () => {
    const doc = await document();
    expect(at(doc, "paths", "/v1/webhooks", "post", "description")).toMatch(/details\.issues[^.]*organizationUid[^.]*locationUid/);
    // Said where it happens: the 403 every operation shares is about scopes and grants alone.
    expect(at(doc, "paths", "/v1/events", "get", "responses", "403", "description")).not.toMatch(/details\.issues|webhook/);
    const p = pipeline();
    const limited = await makeToken(p, ["webhooks:write", ...DATA_SCOPES], { organizationUids: ["org-of-the-document"] });
    const refused = await as(p, limited.token, "POST", "/v1/webhooks", { url: "https://downstream.test/ok/document", eventTypes: ["*"], organizationUid: "another-org" });
    expect(refused.status).toBe(403);
    expect(refused.json.error.details.issues.map((i: { path: string }) => i.path)).toEqual(["organizationUid"]);
  });
});

describe("the OpenAPI document's schemas", () => {
  it("enumerates the error codes a program branches on, each an ErrorCode the server answers with", async () => {
    const code = at(await document(), "components", "schemas", "Error", "properties", "error", "properties", "code");
    expect(at(code, "type")).toBe("string");
    expect(at(code, "enum")).toEqual([...ERROR_CODES]);
  });

  it("says every summary and description in printable text: no control character (a `\\t` in a template string read as a tab)", async () => {
    const said = [...objects(await document(), "")].flatMap(([path, o]) =>
      (["summary", "description"] as const).flatMap((k) => (typeof o[k] === "string" && /[\u0000-\u0009\u000b-\u001f\u007f]/.test(o[k]) ? [`${path}.${k}`] : [])),
    );
    expect(said).toEqual([]);
  });

  it("makes no named schema nullable (null is allowed where a field is used, not in what it names)", async () => {
    const doc = await document();
    const components = at(doc, "components", "schemas");
    expect(Object.entries(isRecord(components) ? components : {}).filter(([, s]) => acceptsNull(s)).map(([name]) => name)).toEqual([]);
  });

  it("reads a source's hmac as possibly null, takes none in a create, and takes it back as read in a change, as the server does", async () => {
    const doc = await document();
    const property = (schema: string) => at(doc, "components", "schemas", schema, "properties", "hmac");
    expect(acceptsNull(property("Source"))).toBe(true);
    for (const [schema, nullable] of [["SourceCreate", false], ["SourcePatch", true]] as const) {
      const hmac = property(schema);
      const ref = [...objects(hmac, schema)].flatMap(([, s]) => (typeof s.$ref === "string" ? [s.$ref] : []));
      expect(ref, schema).toEqual(["#/components/schemas/HmacConfig"]);
      expect(acceptsNull(hmac), schema).toBe(nullable);
    }
    // The component itself is not nullable: a create's hmac refuses null.
    expect(acceptsNull(at(doc, "components", "schemas", "HmacConfig"))).toBe(false);
    const p = pipeline();
    const created = await p.api("POST", "/v1/sources", { name: "n", provider: "stripe", secrets: ["a-secret-of-length"], hmac: null });
    expect(created.json.error.details.issues.map((i: { path: string }) => i.path)).toEqual(["hmac"]);
    const { id } = (await p.api("POST", "/v1/sources", { name: "n", provider: "stripe", secrets: ["a-secret-of-length"] })).json;
    expect((await p.api("PATCH", `/v1/sources/${id}`, { hmac: null })).status).toBe(200);
  });

  it("gives every time of an answer the date-time format", async () => {
    const doc = await document();
    const times = [...objects(doc.components, "components")].flatMap(([path, s]) =>
      Object.entries(isRecord(s.properties) ? s.properties : {})
        .filter(([name]) => name === "at" || name.endsWith("At"))
        .map(([name, prop]) => [`${path}.${name}`, prop] as const),
    );
    expect(times.map(([name]) => name)).toEqual(expect.arrayContaining(["components.schemas.DeadLetter.receivedAt", "components.schemas.DeadLetter.replayedAt"]));
    const formatted = (prop: unknown): boolean => isRecord(prop) && (prop.format === "date-time" || (Array.isArray(prop.allOf) && prop.allOf.some(formatted)));
    expect(times.filter(([, prop]) => !formatted(prop)).map(([name]) => name)).toEqual([]);
  });

  it("declares a replay's body optional, as a replay without one is taken", async () => {
    const doc = await document();
    expect(at(doc, "paths", "/v1/events/{id}/replay", "post", "requestBody", "required")).not.toBe(true);
    const p = pipeline();
    const { event } = await p.webhookOn("ok");
    const eventId = await p.ingest(event());
    const res = await call(new Request(`https://edgehook.test/v1/events/${eventId}/replay`, { method: "POST", headers: ADMIN }));
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ deliveries: 1 });
  });

  it("says which end of the events list's time range is included, as the list answers", async () => {
    const doc = await document();
    const list = operations(doc).find((o) => o.name === "GET /v1/events");
    const described = (name: string) => {
      const q = list ? params(list).find((p) => p.name === name) : undefined;
      return String(at(q, "description") ?? at(q, "schema", "description"));
    };
    expect(described("since")).toContain("(included)");
    expect(described("until")).toContain("(excluded)");
    expect(String(at(doc, "components", "schemas", "BulkRetryRequest", "properties", "since", "description"))).toContain("(included)");
    const eventId = await pipeline().ingest();
    const receivedAt = String(at(await (await call(new Request(`https://edgehook.test/v1/events/${eventId}`, { headers: ADMIN }))).json(), "receivedAt"));
    const ids = async (query: string) => {
      const page = await (await call(new Request(`https://edgehook.test/v1/events?${query}=${encodeURIComponent(receivedAt)}`, { headers: ADMIN }))).json();
      const data = at(page, "data");
      return Array.isArray(data) ? data.map((e) => at(e, "id")) : [];
    };
    expect(await ids("since")).toContain(eventId);
    expect(await ids("until")).not.toContain(eventId);
  });

  it("names in heldDeliveries' and backlog's descriptions every answer that carries them, and no other", async () => {
    const doc = await document();
    const p = pipeline();
    const { webhook } = await p.webhookOn("ok", { disabled: true });
    const one = `/v1/webhooks/${webhook.uid}`;
    const replacement = { url: webhook.url, eventTypes: webhook.eventTypes, organizationUid: webhook.organizationUid, disabled: true };
    const answers: [string, unknown][] = [
      ["POST /v1/webhooks", webhook],
      [`GET /v1/webhooks/{uid}`, (await p.api("GET", one)).json],
      [`PATCH /v1/webhooks/{uid}`, (await p.api("PATCH", one, { timeoutMs: 3000 })).json],
      [`PUT /v1/webhooks/{uid}`, (await p.api("PUT", one, replacement)).json],
      ["GET /v1/webhooks", (await p.api("GET", "/v1/webhooks?limit=1")).json.data[0]],
    ];
    for (const field of ["heldDeliveries", "backlog"]) {
      const property = at(doc, "components", "schemas", "Webhook", "properties", field);
      // A named schema's description is on the component its property refers to.
      const ref = at(property, "$ref");
      const described = String(at(typeof ref === "string" ? at(doc, ...ref.split("/").slice(1)) : property, "description"));
      for (const [name, answer] of answers) {
        expect(isRecord(answer) && "uid" in answer, name).toBe(true);
        const carries = isRecord(answer) && field in answer;
        expect(described.includes(`\`${name}\``), `${name} ${carries ? "carries" : "does not carry"} ${field}: ${described}`).toBe(carries);
      }
    }
  });

  it("describes every query parameter, so a filter says what it keeps", async () => {
    const bare = operations(await document()).flatMap((o) =>
      params(o)
        .filter((q) => q.in === "query" && !(typeof q.description === "string" || typeof at(q, "schema", "description") === "string"))
        .map((q) => `${o.name} ?${String(q.name)}`),
    );
    expect(bare).toEqual([]);
  });

  it("says what the dead letters' open=false lists, as the list answers: every letter, closed ones included", async () => {
    const list = operations(await document()).find((o) => o.name === "GET /v1/dead-letters");
    const described = String(at(list ? params(list).find((q) => q.name === "open") : undefined, "description"));
    const p = pipeline({ RETRY_BASE_SECONDS: "0" });
    const { org } = await p.webhookOn("flaky?fails=1", { maxAttempts: 1 });
    const eventId = await p.ingest(podiumBody({ organizationUid: org }));
    await p.deliver();
    const letterOf = async (query: string) =>
      (await p.api("GET", `/v1/dead-letters?limit=100&${query}`)).json.data.find((d: { eventId: string }) => d.eventId === eventId);
    expect((await p.api("POST", `/v1/dead-letters/${(await letterOf("open=true")).id}/replay`)).status).toBe(202);
    expect(await letterOf("open=true")).toBeUndefined();
    expect(await letterOf("open=false")).toMatchObject({ replayedAt: expect.any(String) });
    expect(described).toMatch(/`false`[^.]*closed ones included/);
  });

  it("says of every operation how it is authenticated: a token, or nothing (security: []) for the liveness check and the ingress", async () => {
    const ops = operations(await document());
    expect(ops.filter((o) => !Array.isArray(o.op.security)).map((o) => o.name)).toEqual([]);
    expect(ops.filter((o) => !needsToken(o)).map((o) => o.name).sort()).toEqual(["GET /healthz", "POST /webhooks/{sourceId}"]);
  });

  it("declares that the ingress takes any body for an hmac source, JSON for the others", async () => {
    const content = at(await document(), "paths", "/webhooks/{sourceId}", "post", "requestBody", "content");
    expect(Object.keys(isRecord(content) ? content : {}).sort()).toEqual(["*/*", "application/json"]);
  });

  it("declares the Retry-After of the ingress's 429 and 503", async () => {
    const responses = at(await document(), "paths", "/webhooks/{sourceId}", "post", "responses");
    for (const status of ["429", "503"]) expect(at(responses, status, "headers", "Retry-After"), status).toMatchObject({ schema: { type: "integer" } });
  });

  it("declares the 200 of Slack's url_verification handshake on the ingress", async () => {
    const doc = await document();
    const ok = at(doc, "paths", "/webhooks/{sourceId}", "post", "responses", "200");
    expect(at(ok, "content", "application/json", "schema", "properties", "challenge")).toMatchObject({ type: "string" });
  });
});

/**
 * A request body's example as the reference (/docs, Scalar) takes it: the media type's `examples`
 * or `example`, else the schema's (`examples[0]`, then `example`); without one it makes its own,
 * each string "" and each array [""], which the API refuses.
 */
function exampleOf(doc: Json, o: Operation): unknown {
  const media = at(o.op, "requestBody", "content", "application/json");
  const named = at(media, "examples");
  const first = isRecord(named) ? Object.values(named)[0] : undefined;
  if (first !== undefined) return at(first, "value");
  if (at(media, "example") !== undefined) return at(media, "example");
  const schema = at(media, "schema");
  const ref = at(schema, "$ref");
  const resolved = typeof ref === "string" ? at(doc, ...ref.split("/").slice(1)) : schema;
  const examples = at(resolved, "examples");
  return Array.isArray(examples) && examples.length > 0 ? examples[0] : at(resolved, "example");
}

const takesJson = (o: Operation) => isRecord(at(o.op, "requestBody", "content", "application/json"));

/**
 * The caller's own ids of what the server names (a webhook, an event), which replace the examples'
 * (EXAMPLE_IDS); a location's or organization's uid is the caller's to give, so the example's stands.
 */
interface OwnIds {
  webhookUid?: string;
  eventId?: string;
}

/** `example`, with the ids `own` gives in place of the examples'. */
function withIds(example: unknown, own: OwnIds): unknown {
  if (Array.isArray(example)) return example.map((x) => withIds(x, own));
  if (isRecord(example)) return Object.fromEntries(Object.entries(example).map(([k, v]) => [k, withIds(v, own)]));
  if (example === EXAMPLE_IDS.webhookUid) return own.webhookUid ?? example;
  if (example === EXAMPLE_IDS.eventId) return own.eventId ?? example;
  return example;
}

describe("the OpenAPI document's request examples", () => {
  it("gives every JSON request body an example, the one /docs shows and sends", async () => {
    const doc = await document();
    const bodied = operations(doc).filter(takesJson);
    expect(bodied.length).toBeGreaterThan(15);
    expect(bodied.filter((o) => !isRecord(exampleOf(doc, o))).map((o) => o.name)).toEqual([]);
  });

  // /docs's "Test Request" fills an optional parameter with its example, ticked: a made-up If-Match
  // made every change 412, and the events list's example filters made it answer none.
  it("gives no optional query or header parameter an example, which /docs would send", async () => {
    const doc = await document();
    const sent = operations(doc).flatMap((o) =>
      params(o)
        .filter((p) => p.in !== "path" && p.required !== true && [p.example, p.examples, at(p, "schema", "example"), at(p, "schema", "examples")].some((x) => x !== undefined))
        .map((p) => `${o.name} ${String(p.in)} ${String(p.name)}`),
    );
    expect(sent).toEqual([]);
  });

  // The point: each is one a caller could send as shown (its path's and its references' ids their own), not a 400.
  it("has the API take each example as sent: 2xx, each operation in turn on the objects the others' examples made", async () => {
    const doc = await document();
    const bodied = operations(doc).filter(takesJson);
    const p = pipeline({ RETRY_BASE_SECONDS: "0" });
    const sent: string[] = [];
    const send = async (name: string, path: Record<string, string> = {}, ids: OwnIds = {}) => {
      const o = bodied.find((x) => x.name === name);
      if (o === undefined) throw new Error(`${name} takes no JSON body`);
      const body = withIds(exampleOf(doc, o), ids);
      const res = await p.api(o.method, o.path.replace(/\{(\w+)\}/g, (_, k: string) => path[k] ?? `{${k}}`), body);
      expect(res.status, `${name} ${JSON.stringify(body)}: ${JSON.stringify(res.json)}`).toBeGreaterThanOrEqual(200);
      expect(res.status, `${name} ${JSON.stringify(body)}: ${JSON.stringify(res.json)}`).toBeLessThan(300);
      sent.push(name);
      return res.json;
    };

    const webhook = await send("POST /v1/webhooks");
    // The ingress's example, signed as Podium signs it, is an event of the webhook's location.
    const ingress = bodied.find((o) => o.name === "POST /webhooks/{sourceId}");
    const eventId = await p.ingest(JSON.stringify(ingress ? exampleOf(doc, ingress) : null));
    sent.push("POST /webhooks/{sourceId}");
    expect(await send("POST /v1/webhooks/{uid}/test", { uid: webhook.uid }, { eventId })).toMatchObject({ matched: true });
    expect(await send("POST /v1/events/{id}/replay", { id: eventId }, { webhookUid: webhook.uid })).toEqual({ deliveries: 1 });
    await send("POST /v1/events/replay");
    await send("POST /v1/deliveries/retry", {}, { webhookUid: webhook.uid });
    await send("PATCH /v1/webhooks/{uid}", { uid: webhook.uid });
    await send("PUT /v1/webhooks/{uid}", { uid: webhook.uid });

    // A delivery that failed for good, and its dead letter.
    const failing = await p.webhookOn("flaky?fails=1", { maxAttempts: 1 });
    const failed = await p.ingest(failing.event());
    await p.deliver();
    const delivery = (await p.api("GET", `/v1/deliveries?eventId=${failed}`)).json.data[0];
    const letter = (await p.api("GET", "/v1/dead-letters?limit=100&open=true")).json.data.find((d: { eventId: string }) => d.eventId === failed);
    await send("POST /v1/dead-letters/{id}/replay", { id: String(letter.id) });
    await send("POST /v1/deliveries/{id}/retry", { id: delivery.id });
    await send("DELETE /v1/dead-letters/{id}", { id: String(letter.id) });

    const source = await send("POST /v1/sources");
    await send("PATCH /v1/sources/{id}", { id: source.id });
    await send("DELETE /v1/sources/{id}", { id: source.id });
    const token = await send("POST /v1/tokens");
    await send("DELETE /v1/tokens/{id}", { id: token.id });
    const endpoint = await send("POST /v1/notification-endpoints");
    await send("PATCH /v1/notification-endpoints/{uid}", { uid: endpoint.uid });
    await send("DELETE /v1/notification-endpoints/{uid}", { uid: endpoint.uid });
    await send("DELETE /v1/webhooks/{uid}", { uid: webhook.uid });
    await send("DELETE /v1/webhooks/{uid}", { uid: failing.webhook.uid });

    // Every operation's example was sent (a new one is added above).
    expect(bodied.map((o) => o.name).filter((name) => !sent.includes(name))).toEqual([]);
  });
});

describe("the OpenAPI document's names", () => {
  it("gives every operation a unique camelCase operationId, the name client generators give its method", async () => {
    const ops = operations(await document());
    expect(ops.length).toBeGreaterThan(30);
    const ids = ops.map((o) => o.op.operationId);
    expect(ops.filter((o) => typeof o.op.operationId !== "string" || !/^[a-z][a-zA-Z]*$/.test(o.op.operationId)).map((o) => o.name)).toEqual([]);
    expect(ids.filter((id, i) => ids.indexOf(id) !== i)).toEqual([]);
    const idOf = (name: string) => ops.find((o) => o.name === name)?.op.operationId;
    expect(idOf("GET /v1/events")).toBe("listEvents");
    expect(idOf("GET /v1/events/{id}")).toBe("getEvent");
    expect(idOf("POST /v1/events/replay")).toBe("replayEvents");
    expect(idOf("POST /v1/webhooks")).toBe("createWebhook");
    expect(idOf("POST /webhooks/{sourceId}")).toBe("receiveWebhook");
  });

  it("tags every operation with one tag, each declared with a description at the top level and each used", async () => {
    const doc = await document();
    const ops = operations(doc);
    const declared = (Array.isArray(doc.tags) ? doc.tags : []).filter(isRecord);
    const names = declared.map((t) => t.name);
    expect(names.length).toBeGreaterThan(5);
    expect(names.filter((n, i) => names.indexOf(n) !== i)).toEqual([]);
    expect(declared.filter((t) => typeof t.description !== "string" || t.description === "").map((t) => t.name)).toEqual([]);
    const tagsOf = (o: Operation) => (Array.isArray(o.op.tags) ? o.op.tags : []);
    expect(ops.filter((o) => tagsOf(o).length !== 1 || !names.includes(tagsOf(o)[0])).map((o) => o.name)).toEqual([]);
    const used = new Set(ops.flatMap(tagsOf));
    expect(names.filter((n) => !used.has(n))).toEqual([]);
    const tagOf = (name: string) => tagsOf(ops.find((o) => o.name === name) ?? { name, method: "", path: "", op: {} })[0];
    expect(tagOf("GET /v1/events")).toBe("Events");
    expect(tagOf("POST /v1/events/{id}/replay")).toBe("Events");
    expect(tagOf("POST /v1/deliveries/{id}/retry")).toBe("Deliveries");
    expect(tagOf("DELETE /v1/tokens/{id}")).toBe("Tokens");
  });
});
