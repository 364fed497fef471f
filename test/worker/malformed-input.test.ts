// Property test over the whole documented API: every route of GET /openapi.json (with the
// ingress) gets malformed input, as the admin and as a limited token. Each answer has a
// status the route documents (or 405), the error shape with a known code,
// never a 5xx; and what was stored before reads back the same afterwards.
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { MAX_ATTEMPTS_LIMIT } from "../../src/domain/delivery";
import { isRecord } from "../../src/domain/guards";
import { ADMIN_TOKEN, call, createSource } from "./helpers";
import { deep, expectWellFormed, ILL_FORMED, RAW_NUMBERS, VALUES_BY_TYPE, type Json } from "./malformed";
import { pipeline, uniqueKey } from "./pipeline";
import { makeToken } from "./tokens";

/** A token as the admin's list shows it, on whichever page it is. */
async function tokenRead(p: ReturnType<typeof pipeline>, id: string): Promise<{ id: string; lastUsedAt: string | null } | undefined> {
  let cursor: string | null = null;
  do {
    const page: { data: { id: string; lastUsedAt: string | null }[]; nextCursor: string | null } = (await p.api("GET", `/v1/tokens?limit=100${cursor ? `&cursor=${cursor}` : ""}`)).json;
    const found = page.data.find((t: { id: string }) => t.id === id);
    if (found) return found;
    cursor = page.nextCursor;
  } while (cursor);
  return undefined;
}

/** Tokens stored, all of them (a list answers a page). */
const tokenCount = async () => (await env.DB.prepare("SELECT count(*) AS n FROM tokens").first<{ n: number }>())?.n ?? 0;

/** Fixed, so that a failure replays; the cases are bounded to run in a few seconds. */
const SEED = 20261128;
/** Error statuses any route may answer undeclared: a method it does not serve (405 is no operation's). */
const GENERIC = [405];

interface Operation {
  method: string;
  path: string;
  statuses: number[];
  query: string[];
  /** The request body's properties and their JSON types (none: no body). */
  body: Record<string, string[]> | null;
}

/** A schema's JSON types, `$ref`s resolved; [] when it says none (anything goes). */
function typesOf(schema: unknown, doc: unknown): string[] {
  if (!isRecord(schema)) return [];
  if (typeof schema.$ref === "string") return typesOf(resolve(schema.$ref, doc), doc);
  const t = schema.type;
  const own = typeof t === "string" ? [t] : Array.isArray(t) ? t.filter((x): x is string => typeof x === "string") : [];
  const alternatives = [schema.anyOf, schema.oneOf].flatMap((xs) => (Array.isArray(xs) ? xs.flatMap((x) => typesOf(x, doc)) : []));
  return [...own, ...alternatives];
}

function resolve(ref: string, doc: unknown): unknown {
  let node = doc;
  for (const part of ref.replace(/^#\//, "").split("/")) node = isRecord(node) ? node[part] : undefined;
  return node;
}

function operationsOf(doc: unknown): Operation[] {
  const ops: Operation[] = [];
  const paths = isRecord(doc) && isRecord(doc.paths) ? doc.paths : {};
  for (const [path, item] of Object.entries(paths)) {
    if (!isRecord(item)) continue;
    for (const [method, op] of Object.entries(item)) {
      if (!isRecord(op)) continue;
      const params = Array.isArray(op.parameters) ? op.parameters.filter(isRecord) : [];
      const schema = isRecord(op.requestBody) && isRecord(op.requestBody.content) ? op.requestBody.content["application/json"] : undefined;
      const bodySchema = isRecord(schema) ? schema.schema : undefined;
      const resolved = isRecord(bodySchema) && typeof bodySchema.$ref === "string" ? resolve(bodySchema.$ref, doc) : bodySchema;
      const props = isRecord(resolved) && isRecord(resolved.properties) ? resolved.properties : null;
      ops.push({
        method: method.toUpperCase(),
        path,
        statuses: Object.keys(isRecord(op.responses) ? op.responses : {}).map(Number),
        query: params.filter((p) => p.in === "query").map((p) => String(p.name)),
        body:
          bodySchema === undefined
            ? null
            : Object.fromEntries(Object.entries(props ?? {}).map(([name, s]) => [name, typesOf(s, doc)])),
      });
    }
  }
  return ops;
}

const ALL_TYPES = Object.keys(VALUES_BY_TYPE);
const RAW = "\u0001raw\u0001";

/** A value for a field that no route may accept, whatever the rest of the body. */
interface Wrong {
  value: Json;
  raw?: string;
}

/** Number spellings no route may take: not JSON, or not a finite number (1.0 or -0 read as numbers a field may take). */
const RAW_NOT_NUMBERS = RAW_NUMBERS.filter((raw) => {
  try {
    return !Number.isFinite(JSON.parse(raw));
  } catch {
    return true;
  }
});


/** Values for a field whose JSON types are `types`: of other types, huge, deep, ill-formed, or raw number spellings. */
function wrongValue(types: string[]): fc.Arbitrary<Wrong> {
  const others = ALL_TYPES.filter((t) => !types.includes(t) && !(t === "integer" && types.includes("number")) && !(t === "number" && types.includes("integer")));
  const wrongTyped = others.length > 0 ? fc.constantFrom(...others.flatMap((t) => VALUES_BY_TYPE[t] ?? [])) : fc.constant<Json>({ unexpected: true });
  const variants: fc.Arbitrary<Wrong>[] = [wrongTyped.map((value) => ({ value }))];
  if (types.includes("string") || types.length === 0) {
    variants.push(fc.constantFrom(5_000, 20_000, 70_000).chain((n) => fc.constantFrom("a", "é", "(", "%", "\\").map((c) => ({ value: c.repeat(n) }))));
    variants.push(fc.constantFrom(...ILL_FORMED).map((value) => ({ value })));
  }
  if (types.includes("array")) variants.push(fc.constantFrom(...ILL_FORMED).map((v) => ({ value: [v] })));
  if (types.includes("object")) {
    // JSON.parse keeps a "__proto__" key as an own property; zod's records drop it without a word.
    variants.push(fc.constantFrom<Json>({ body: { a: 1 } }, "x-a", { "x-b": "'v'" }).map((inner) => ({ value: RAW, raw: `{"__proto__":${JSON.stringify(inner)}}` })));
    variants.push(fc.constantFrom(...ILL_FORMED).map((v) => ({ value: { [v]: v } })));
  }
  if (types.includes("integer") || types.includes("number")) {
    variants.push(fc.constantFrom(...RAW_NOT_NUMBERS).map((raw) => ({ value: RAW, raw })));
  }
  if (types.includes("object") || types.includes("array") || types.length === 0) {
    variants.push(fc.constantFrom(20, 200, 5_000).chain((n) => fc.constantFrom("array" as const, "object" as const).map((k) => ({ value: RAW, raw: deep(n, k) }))));
  }
  return fc.oneof(...variants);
}

/** Ids of the wrong prefix, length or encoding. */
const BAD_IDS = [
  "x",
  "evt_",
  "evt_zz",
  "whk_0",
  "tok_",
  "del_123",
  "00000000-0000-0000-0000-000000000000",
  "a".repeat(129),
  "a".repeat(5000),
  "%",
  "%zz",
  "%E0%A4%A",
  "%ff%fe",
  "%C0%AF",
  "%00",
  "%2F..%2F",
  "..",
  "%20",
  "%F0%9F%92%A9",
  "-1",
  "0",
  "1.5",
  "1e309",
  "NaN",
  "Infinity",
  "9007199254740993",
  "0x10",
  "(unknown)",
];

/** Query values: of the wrong type or range, huge, badly encoded. */
const BAD_QUERY_VALUES = [
  "",
  "-1",
  "0",
  "101",
  "1.5",
  "NaN",
  "Infinity",
  "-Infinity",
  "1e309",
  "1e2",
  "0x10",
  "9007199254740993",
  "%",
  "%zz",
  "%E0%A4%A",
  "%ff",
  "%00",
  "true",
  "null",
  "[]",
  "{}",
  "2026-13-45T25:61:61Z",
  "2026-02-30T00:00:00Z",
  "0000-01-01T00:00:00Z",
  "9999-12-31T23:59:59.999Z",
  "+275760-09-13T00:00:00Z",
  "x".repeat(3000),
  "%E2%82%AC".repeat(500),
  "a,b,,c",
  "*",
  "message.*",
  "data.x=1",
  '{"body":{"a":{"$regex":"("}}}',
];

/** Content types for a body, most of them wrong. */
const CONTENT_TYPES = [
  "application/json",
  "application/json",
  "application/json",
  "application/json",
  "application/json",
  "application/json",
  "application/json; charset=utf-8",
  "text/plain",
  "application/x-www-form-urlencoded",
  "multipart/form-data; boundary=x",
  "application/xml",
  "application/vnd.api+json",
  null,
];

interface Fixture {
  sourceId: string;
  webhookUid: string;
  eventId: string;
  deliveryId: string;
  limited: string;
  limitedId: string;
}

/** What was stored before the run, as the admin reads it (volatile views aside). */
async function snapshot(p: ReturnType<typeof pipeline>, f: Fixture) {
  const source = await p.api("GET", `/v1/sources/${f.sourceId}`);
  const webhook = await p.api("GET", `/v1/webhooks/${f.webhookUid}`);
  const event = await p.api("GET", `/v1/events/${f.eventId}`);
  const token = await tokenRead(p, f.limitedId);
  const { rejections: _r, ...sourceRead } = source.json;
  const { backlog: _b, health: _h, ...webhookRead } = webhook.json;
  const { lastUsedAt: _l, ...tokenWithoutUse } = token ?? { lastUsedAt: null };
  return { statuses: [source.status, webhook.status, event.status], source: sourceRead, webhook: webhookRead, event: event.json, token: tokenWithoutUse };
}

/** Where a created resource of each collection is read back, and what of its answer is not stored. */
const READ_BACK: Record<string, { read: (created: Record<string, unknown>) => string; find?: string; writeOnly: string[] }> = {
  "/v1/webhooks": { read: (c) => `/v1/webhooks/${String(c.uid)}`, writeOnly: ["secret", "warnings"] },
  "/v1/sources": { read: (c) => `/v1/sources/${String(c.id)}`, writeOnly: [] },
  "/v1/notification-endpoints": { read: (c) => `/v1/notification-endpoints/${String(c.uid)}`, writeOnly: ["secret"] },
  "/v1/tokens": { read: () => "/v1/tokens", find: "id", writeOnly: ["token"] },
};

/** What a create answered is what was stored: the admin reads back every field of the answer the same. */
async function expectReadsBack(path: string, created: unknown, what: string) {
  const how = READ_BACK[path]!;
  expect(isRecord(created), `${what}: answered what it created`).toBe(true);
  if (!isRecord(created)) return;
  const res = await call(new Request(`https://edgehook.test${how.read(created)}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }));
  const body: unknown = await res.json();
  const found = how.find && isRecord(body) && Array.isArray(body.data) ? body.data.find((x: unknown) => isRecord(x) && x[how.find!] === created[how.find!]) : body;
  expect(isRecord(found), `${what}: read back`).toBe(true);
  if (!isRecord(found)) return;
  for (const [k, v] of Object.entries(created)) if (!how.writeOnly.includes(k)) expect(found[k], `${what}: ${k} read back`).toEqual(v);
}

describe("the API under malformed input", () => {
  const p = pipeline();
  let ops: Operation[] = [];
  let f: Fixture;

  beforeAll(async () => {
    const doc: unknown = await (await call(new Request("https://edgehook.test/openapi.json"))).json();
    ops = operationsOf(doc);
    const sourceId = `fuzz-${uniqueKey()}`;
    expect((await p.api("POST", "/v1/sources", { id: sourceId, name: "fuzz", provider: "stripe", secrets: ["a-fuzz-secret"] })).status).toBe(201);
    const { webhook, org, event } = await p.webhookOn("ok");
    const eventId = await p.ingest(event());
    const read = await p.api("GET", `/v1/events/${eventId}`);
    const deliveryId: string = read.json.deliveries[0].id;
    const limited = await makeToken(p, ["events:read", "webhooks:read", "webhooks:write", "events:replay", "sources:write", "read_messages"], {
      organizationUids: [org],
    });
    f = { sourceId, webhookUid: webhook.uid, eventId, deliveryId, limited: limited.token, limitedId: limited.id };
  });

  it("reads every route of the OpenAPI document", () => {
    const names = ops.map((o) => `${o.method} ${o.path}`);
    expect(names).toContain("POST /v1/webhooks");
    expect(names).toContain("POST /webhooks/{sourceId}");
    expect(ops.length).toBeGreaterThan(30);
  });

  it("answers each a documented status and the error shape, and what was stored stays as it was", async () => {
    const before = await snapshot(p, f);
    expect(before.statuses).toEqual([200, 200, 200]);
    expect(before.event.deliveries.map((d: { id: string }) => d.id)).toContain(f.deliveryId);
    expect(before.token).toMatchObject({ id: f.limitedId, revokedAt: null });

    // The id of what is stored, for the path parameter of each route.
    const storedFor = (op: Operation) => {
      if (op.path.startsWith("/v1/sources/") || op.path.startsWith("/webhooks/")) return f.sourceId;
      if (op.path.startsWith("/v1/deliveries/")) return f.deliveryId;
      if (op.path.startsWith("/v1/webhooks/") || op.path.startsWith("/v1/notification-endpoints/")) return f.webhookUid;
      return f.eventId;
    };

    const request = fc
      .record({
        op: fc.constantFrom(...ops.filter((o) => o.path !== "/openapi.json")),
        auth: fc.constantFrom("admin", "admin", "admin", "admin", "limited", "limited", "none", "garbage"),
        id: fc.oneof(fc.constant("<stored>"), fc.constantFrom(...BAD_IDS)),
        query: fc.array(
          fc.record({ name: fc.oneof(fc.constant("<documented>"), fc.constantFrom("unknown", "limit[]", "%zz", "", "a%00b")), value: fc.constantFrom(...BAD_QUERY_VALUES) }),
          { maxLength: 4 },
        ),
        body: fc.oneof(
          { weight: 6, arbitrary: fc.constant("<field>") },
          // A create's well-formed body, sent as it should be: it creates.
          { weight: 1, arbitrary: fc.constant("<create>") },
          fc.constantFrom("", "[]", "[{}]", "null", "1", '"x"', "true", "{", '{"a":', "not json", "\ufeff{}", "{}{}", deep(5_000, "object"), deep(5_000, "array")),
          fc.uint8Array({ minLength: 1, maxLength: 64 }),
        ),
        field: fc.nat(),
        contentType: fc.constantFrom(...CONTENT_TYPES),
        seed: fc.nat(),
      })
      .chain((r) => {
        const fields = Object.entries(r.op.body ?? {});
        const chosen = fields.length > 0 ? fields[r.field % fields.length] : undefined;
        return (chosen ? wrongValue(chosen[1]) : fc.constant<Wrong>({ value: null })).map((wrong) => ({ ...r, chosen: chosen?.[0], wrongValue: wrong }));
      });

    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const { op } = r;
        const hasParam = /\{\w+\}/.test(op.path);
        const mutating = op.method !== "GET";
        // A create's well-formed body goes as the admin's JSON with no query: it must create. Sent to
        // any other route, it is a body with a field wrong, as "<field>".
        const create = r.body === "<create>" && op.method === "POST" && op.path in READ_BACK;
        const field = r.body === "<field>" || (r.body === "<create>" && !create);
        const auth = create ? "admin" : r.auth;
        const contentType = create ? "application/json" : r.contentType;
        // A stored id is the target only of reads and of writes whose body is wrong on purpose;
        // a write with no body never targets it (it would be a well-formed request).
        const useStored = hasParam && r.id === "<stored>" && (!mutating || op.body !== null);
        const id = useStored ? storedFor(op) : r.id === "<stored>" ? "does-not-exist" : r.id;
        const path = op.path.replace(/\{\w+\}/g, id);

        const query = (create ? [] : r.query)
          .map((q, i) => `${q.name === "<documented>" ? (op.query[(r.seed + i) % Math.max(op.query.length, 1)] ?? "limit") : q.name}=${q.value}`)
          .join("&");
        const url = `https://edgehook.test${path}${query ? `?${query}` : ""}`;

        let body: BodyInit | undefined;
        if (mutating) {
          if (create) body = JSON.stringify(BASES[`${op.method} ${op.path}`]);
          else if (field) {
            // A base every route accepts, with one field wrong, and on a stored target an unknown field too.
            const base: Record<string, Json> = { ...(BASES[`${op.method} ${op.path}`] ?? {}) };
            if (r.chosen !== undefined) base[r.chosen] = r.wrongValue.value;
            if (useStored) base.__unknownField = true;
            let text = JSON.stringify(base);
            if (r.wrongValue.raw !== undefined) text = text.replace(JSON.stringify(RAW), r.wrongValue.raw);
            body = text;
          } else if (r.body !== "<create>") body = r.body;
        }
        const headers = new Headers();
        if (auth === "admin") headers.set("authorization", `Bearer ${ADMIN_TOKEN}`);
        if (auth === "limited") headers.set("authorization", `Bearer ${f.limited}`);
        if (auth === "garbage") headers.set("authorization", "Bearer ehk_garbage-token-that-names-none");
        if (contentType && body !== undefined) headers.set("content-type", contentType);
        const what = `${op.method} ${url.slice(0, 300)} as ${auth} ${contentType} ${typeof body === "string" ? body.slice(0, 300) : String(body)}`;
        let res: Response;
        try {
          res = await call(new Request(url, { method: op.method, headers, body }));
        } catch (err) {
          throw new Error(`${what} threw: ${String(err)}`);
        }
        const answer = await expectWellFormed(res, [...op.statuses, ...GENERIC], what);
        if (field && mutating) expect(res.status, `${what}: must be refused`).toBeGreaterThanOrEqual(400);
        // No cursor here was issued by the API: taking one as a place to continue from is silent bad input.
        if (/(^|&)cursor=/.test(query) && op.query.includes("cursor")) expect(res.status, `${what}: an unissued cursor`).toBeGreaterThanOrEqual(400);
        // Only a well-formed create creates, and what it answered is what was stored.
        if (create) {
          expect(res.status, what).toBe(201);
          await expectReadsBack(op.path, answer, what);
        } else expect(res.status, `${what}: created`).not.toBe(201);
      }),
      { seed: SEED, numRuns: 800 },
    );

    expect(await snapshot(p, f)).toEqual(before);
  }, 60_000);
});

/** A well-formed body per route, which the property then breaks in one field. */
const BASES: Record<string, Record<string, Json>> = {
  "POST /v1/webhooks": { url: "https://downstream.test/ok/fuzz", eventTypes: ["message.received"], organizationUid: "org-fuzz" },
  "PATCH /v1/webhooks/{uid}": { disabled: false },
  "PUT /v1/webhooks/{uid}": { url: "https://downstream.test/ok/fuzz", eventTypes: ["message.received"] },
  "POST /v1/webhooks/{uid}/test": { eventId: "evt_0" },
  "POST /v1/sources": { name: "fuzz", provider: "stripe", secrets: ["a-fuzz-secret"] },
  "PATCH /v1/sources/{id}": { name: "fuzz" },
  "POST /v1/tokens": { name: "fuzz", scopes: ["events:read"] },
  "POST /v1/events/{id}/replay": {},
  "POST /v1/events/replay": { since: "2026-01-01T00:00:00Z", until: "2026-01-02T00:00:00Z", dryRun: true },
  "POST /v1/deliveries/retry": { status: "failed", webhookUid: "does-not-exist" },
  "POST /v1/notification-endpoints": { url: "https://ops.example.com/alerts", alertTypes: ["webhook.failing"] },
  "PATCH /v1/notification-endpoints/{uid}": { disabled: true },
};

describe("bad input the property found", () => {
  const p = pipeline();
  const raw = (method: string, path: string, body: string) =>
    call(new Request(`https://edgehook.test${path}`, { method, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" }, body }));
  const errorOf = async (res: Response) => (await res.json<{ error: { code: string; message: string; details?: { issues: { path: string }[] } } }>()).error;

  it("refuses a lone surrogate anywhere in a body, which D1 would store as U+FFFD, and stores nothing", async () => {
    const tokensBefore = await tokenCount();
    const token = await raw("POST", "/v1/tokens", '{"name":"ops\\ud800","scopes":["events:read"]}');
    expect(token.status).toBe(400);
    const error = await errorOf(token);
    expect(error).toMatchObject({ code: "invalid_request", details: { issues: [{ path: "name" }] } });
    expect(error.message).toContain("name: not well-formed Unicode");
    expect(await tokenCount()).toBe(tokensBefore);

    const webhook = await raw("POST", "/v1/webhooks", '{"url":"https://downstream.test/ok/\\udfff","eventTypes":["*"],"organizationUid":"org-x"}');
    expect(webhook.status).toBe(400);
    expect(await errorOf(webhook)).toMatchObject({ code: "invalid_request", details: { issues: [{ path: "url" }] } });
    // Also in a key of a JSON document field; a surrogate pair (an emoji) is well-formed.
    const filter = await raw("POST", "/v1/webhooks", '{"url":"https://downstream.test/ok/f","eventTypes":["*"],"organizationUid":"org-x","filter":{"body":{"a\\ud800":1}}}');
    expect(await errorOf(filter)).toMatchObject({ code: "invalid_request", details: { issues: [{ path: "filter.body.a\ud800" }] } });
    expect((await raw("POST", "/v1/tokens", '{"name":"ops \\ud83d\\ude00","scopes":["events:read"]}')).status).toBe(201);
  });

  it('refuses a "__proto__" key in a filter or transformHeaders, which zod dropped: the filter was stored as {} and matched every event', async () => {
    const base = '"url":"https://downstream.test/ok/p","eventTypes":["*"],"organizationUid":"org-proto"';
    const filter = await raw("POST", "/v1/webhooks", `{${base},"filter":{"__proto__":{"body":{"a":1}}}}`);
    expect(filter.status).toBe(400);
    expect(await errorOf(filter)).toMatchObject({ code: "invalid_request", details: { issues: [{ path: "filter.__proto__" }] } });
    const headers = await raw("POST", "/v1/webhooks", `{${base},"transformHeaders":{"__proto__":"metadata.eventType"}}`);
    expect(headers.status).toBe(400);
    expect(await errorOf(headers)).toMatchObject({ code: "invalid_request", details: { issues: [{ path: "transformHeaders.__proto__" }] } });
    // On a change too: the stored filter stays.
    const { webhook } = await p.webhookOn("ok", { filter: { body: { "metadata.eventType": "message.received" } } });
    const patch = await raw("PATCH", `/v1/webhooks/${webhook.uid}`, '{"filter":{"__proto__":{}}}');
    expect(patch.status).toBe(400);
    expect((await p.api("GET", `/v1/webhooks/${webhook.uid}`)).json.filter).toEqual({ body: { "metadata.eventType": "message.received" } });
  });

  it("refuses an alerts cursor it did not issue (a blank one read as 0 answered an empty last page)", async () => {
    for (const cursor of ["0", "%20", "0x10", "1e2", "-5"]) {
      const res = await p.api("GET", `/v1/alerts?cursor=${cursor}`);
      expect(res.status, cursor).toBe(400);
      expect(res.json.error).toMatchObject({ code: "invalid_request", details: { issues: [{ path: "cursor" }] } });
    }
  });

  it("names a query parameter given twice, instead of zod's \"received NaN\"", async () => {
    const limit = await p.api("GET", "/v1/events?limit=1&limit=2");
    expect(limit.status).toBe(400);
    expect(limit.json.error).toMatchObject({ code: "invalid_request", message: "Invalid query: limit is given 2 times; give it once.", details: { issues: [{ path: "limit" }] } });
    const status = await p.api("GET", "/v1/deliveries?status=failed&status=held&status=failed");
    expect(status.json.error.message).toBe("Invalid query: status is given 3 times; give it once.");
    // A repeated parameter the route does not take is named as one it does not take.
    const unknown = await p.api("GET", "/v1/events?limit=1&x=1&x=2");
    expect(unknown.status).toBe(400);
    expect(unknown.json.error.details.issues).toEqual([{ path: "x", message: expect.stringContaining("not a parameter of this list") }]);
  });

  it("refuses an empty entry in stats' webhookUids, as an empty webhookUids, rather than answering for the others", async () => {
    const webhook = await p.createWebhook({ url: `https://downstream.test/ok/${uniqueKey()}`, eventTypes: ["*"] });
    for (const [list, path] of [[`,${webhook.uid}`, "webhookUids.0"], [`${webhook.uid},,${webhook.uid}x`, "webhookUids.1"], [`${webhook.uid},`, "webhookUids.1"]] as const) {
      const res = await p.api("GET", `/v1/stats?webhookUids=${list}`);
      expect(res.status, list).toBe(400);
      expect(res.json.error, list).toMatchObject({ code: "invalid_request", details: { issues: [{ path, message: expect.stringMatching(/^entry \d of \d is empty/) }] } });
    }
    // (The CLI's `stats --webhooks ,<uid>` shows these words: test/cli/stats.test.ts.)
    const first = await p.api("GET", `/v1/stats?webhookUids=,${webhook.uid}`);
    expect(first.json.error.message).toBe("Invalid query: webhookUids.0: entry 1 of 2 is empty (two commas together, or one at either end).");
    expect((await p.api("GET", "/v1/stats?webhookUids=")).json.error.details.issues).toEqual([{ path: "webhookUids", message: "must not be empty" }]);
    // Spaces around an entry are still read as none.
    const spaced = await p.api("GET", `/v1/stats?webhookUids=${encodeURIComponent(` ${webhook.uid} `)}`);
    expect(spaced.json.webhooks.map((w: { uid: string }) => w.uid)).toEqual([webhook.uid]);
    expect((await p.api("DELETE", `/v1/webhooks/${webhook.uid}`)).status).toBe(204);
  });

  it("states a field's own bound for a huge integer, not the safe-integer range (\"expected int to be <=9007199254740991\")", async () => {
    const limit = await p.api("GET", "/v1/events?limit=9007199254740993");
    expect(limit.status).toBe(400);
    expect(limit.json.error).toEqual({
      code: "invalid_request",
      message: "Invalid query: limit: must be at most 100 (got 9007199254740993).",
      details: { issues: [{ path: "limit", message: "must be at most 100 (got 9007199254740993)" }] },
    });
    const base = { url: "https://downstream.test/ok/r", eventTypes: ["*"], organizationUid: "org-r" };
    const big = await p.api("POST", "/v1/webhooks", { ...base, maxAttempts: 1e20 });
    expect(big.json.error.message).toBe(`Invalid body: maxAttempts: must be at most ${MAX_ATTEMPTS_LIMIT} (got about 1.00e+20).`);
    expect(big.json.error.details.issues).toHaveLength(1);
    const small = await p.api("POST", "/v1/webhooks", { ...base, timeoutMs: -1e20 });
    expect(small.json.error.message).toMatch(/^Invalid body: timeoutMs: must be at least \d+ \(got about -1\.00e\+20\)\.$/);
    expect(small.json.error.details.issues).toHaveLength(1);
  });

  it("says a transformation nested too deeply is, not that the parser's stack overflowed", async () => {
    const res = await p.api("POST", "/v1/webhooks", { url: "https://downstream.test/ok/t", eventTypes: ["*"], organizationUid: "org-t", transform: `${"(".repeat(3000)}1${")".repeat(3000)}` });
    expect(res.status).toBe(400);
    expect(res.json.error.message).toBe(
      "Invalid body: transform: the expression is nested too deeply: over 400 levels.",
    );
    // 2,000 the parser took, and the walk of its AST for regular expressions overflowed (a 500).
    const parsed = await p.api("POST", "/v1/webhooks", { url: "https://downstream.test/ok/t", eventTypes: ["*"], organizationUid: "org-t", transform: `${"(".repeat(2000)}1${")".repeat(2000)}` });
    expect(parsed.status).toBe(400);
  });
});

describe("lists and ids that name nothing, or one thing twice", () => {
  const p = pipeline();
  const base = (k: string) => ({ url: `https://downstream.test/ok/${k}`, eventTypes: ["*"], organizationUid: `org-${k}` });

  it("refuses a token naming an organization, location or scope twice (as alertTypes always was), and stores none", async () => {
    const before = await tokenCount();
    const lists: [string, string[]][] = [
      ["organizationUids", ["org-a", "org-b", "org-a"]],
      ["locationUids", ["loc-a", "loc-a"]],
      ["scopes", ["events:read", "webhooks:read", "events:read"]],
    ];
    for (const [field, list] of lists) {
      const res = await p.api("POST", "/v1/tokens", { name: "twice", scopes: ["events:read"], [field]: list });
      expect(res.status, field).toBe(400);
      expect(res.json.error.details.issues, field).toEqual([{ path: `${field}.${list.length - 1}`, message: `"${list[0]}" is given twice` }]);
    }
    expect(await tokenCount()).toBe(before);
  });

  it("takes a source id of 1 to 64 characters a-z, 0-9 and - (the contract's slug), and nothing else", async () => {
    const k = uniqueKey();
    for (const id of [`${k}`.padEnd(65, "x"), `${k}_x`, `${k}X`, ""]) {
      const res = await p.api("POST", "/v1/sources", { id, name: "x", provider: "stripe", secrets: ["a-fuzz-secret"] });
      expect(res.status, id).toBe(400);
      expect(res.json.error.details.issues, id).toEqual([{ path: "id", message: "a slug: [a-z0-9-]{1,64}" }]);
    }
    for (const id of [`${k}`.padEnd(64, "y"), `-${k}`, `${k}-`, `${k}--c`]) {
      expect((await p.api("POST", "/v1/sources", { id, name: "x", provider: "stripe", secrets: ["a-fuzz-secret"] })).status, id).toBe(201);
      expect((await p.api("GET", `/v1/sources/${id}`)).status, id).toBe(200);
    }
    expect((await p.api("POST", "/v1/webhooks", { ...base(k), sourceIds: [`-${k}`] })).status).toBe(201);
  });

  it("refuses a webhook naming a source that does not exist, or one twice; one deleted since it was named stays", async () => {
    const k = uniqueKey();
    const stored = `src-${k}`;
    await createSource({ id: stored, provider: "stripe", secrets: ["a-fuzz-secret"] });
    const unknown = await p.api("POST", "/v1/webhooks", { ...base(k), sourceIds: [stored, `nope-${k}`, "podium", `nada-${k}`] });
    expect(unknown.status).toBe(400);
    expect(unknown.json.error).toMatchObject({
      code: "invalid_request",
      message: `Invalid body: sourceIds names no source "nope-${k}", "nada-${k}" (GET /v1/sources lists them).`,
      details: { issues: [{ path: "sourceIds.1", message: `no source "nope-${k}"` }, { path: "sourceIds.3", message: `no source "nada-${k}"` }] },
    });
    const twice = await p.api("POST", "/v1/webhooks", { ...base(k), sourceIds: [stored, stored] });
    expect(twice.json.error.details.issues).toEqual([{ path: "sourceIds.1", message: `"${stored}" is given twice` }]);

    // A stored source and one declared by configuration are both sources.
    const created = await p.api("POST", "/v1/webhooks", { ...base(k), sourceIds: [stored, "podium"] });
    expect(created.status).toBe(201);
    expect((await p.api("DELETE", `/v1/sources/${stored}`)).status).toBe(204);
    // Its other fields still change; a new unknown source is still refused, and nothing is saved.
    expect((await p.api("PATCH", `/v1/webhooks/${created.json.uid}`, { eventTypes: ["message.received"] })).status).toBe(200);
    const adding = await p.api("PATCH", `/v1/webhooks/${created.json.uid}`, { sourceIds: [stored, "podium", `nope-${k}`] });
    expect(adding.status).toBe(400);
    expect((await p.api("GET", `/v1/webhooks/${created.json.uid}`)).json).toMatchObject({ sourceIds: [stored, "podium"], eventTypes: ["message.received"] });
  });

  it("refuses a webhook naming an event type twice on POST, PUT and PATCH, as its sourceIds, and changes nothing", async () => {
    const k = uniqueKey();
    const twice = ["message.received", "contact.*", "message.received"];
    const refusal = {
      code: "invalid_request",
      message: 'Invalid body: eventTypes.2: "message.received" is given twice.',
      details: { issues: [{ path: "eventTypes.2", message: '"message.received" is given twice' }] },
    };
    const posted = await p.api("POST", "/v1/webhooks", { ...base(k), eventTypes: twice });
    expect(posted.status).toBe(400);
    expect(posted.json.error).toEqual(refusal);
    expect((await p.api("GET", "/v1/webhooks?limit=100")).json.data.filter((w: { organizationUid: string }) => w.organizationUid === `org-${k}`)).toEqual([]);

    const created = (await p.api("POST", "/v1/webhooks", base(k))).json;
    const put = await p.api("PUT", `/v1/webhooks/${created.uid}`, { url: created.url, eventTypes: twice });
    const patch = await p.api("PATCH", `/v1/webhooks/${created.uid}`, { eventTypes: twice });
    for (const [method, res] of [["PUT", put], ["PATCH", patch]] as const) {
      expect(res.status, method).toBe(400);
      expect(res.json.error, method).toEqual(refusal);
    }
    expect((await p.api("GET", `/v1/webhooks/${created.uid}`)).json.eventTypes).toEqual(["*"]);
  });

  it("reads a webhook stored with an event type twice (before repeats were refused) with it once, and takes that back", async () => {
    const k = uniqueKey();
    const created = (await p.api("POST", "/v1/webhooks", base(k))).json;
    await env.DB.prepare("UPDATE webhooks SET event_types = ? WHERE uid = ?")
      .bind(JSON.stringify(["message.received", "contact.*", "message.received"]), created.uid)
      .run();
    const read = (await p.api("GET", `/v1/webhooks/${created.uid}`)).json;
    expect(read.eventTypes).toEqual(["message.received", "contact.*"]);
    const again = await p.api("PUT", `/v1/webhooks/${created.uid}`, { url: read.url, eventTypes: read.eventTypes });
    expect(again.status).toBe(200);
    expect((await p.api("PATCH", `/v1/webhooks/${created.uid}`, { timeoutMs: 2000 })).status).toBe(200);
  });
});
