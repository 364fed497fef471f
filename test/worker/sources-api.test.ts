import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { nextVersion } from "../../src/domain/version";
import { getStoredSource, updateSource } from "../../src/store/sources";
import { SERIES_BUCKET_MS } from "../../src/domain/time";
import { d1Double, type SeenStatement } from "./d1-double";
import { racing } from "./racing";
import { ADMIN, apiCall, call, podiumBody, podiumHeaders, post, testEnv } from "./helpers";
import { as, makeToken } from "./tokens";
import { pipeline, uniqueKey } from "./pipeline";
import { at, keysAt } from "../support/json-at";

/** The batch that writes a source row's change. */
const changesSource = (statements: SeenStatement[]) => statements.some((st) => st.sql.trimStart().startsWith("UPDATE sources SET"));

describe("/v1/sources", () => {
  it("creates a source whose ingress verifies at once with its secret; secrets never come back", async () => {
    const p = pipeline();
    const id = `acme-${uniqueKey()}`;
    const created = await p.api("POST", "/v1/sources", { id, name: "Acme Podium", provider: "podium", secrets: ["acme-secret-1"] });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({
      id,
      name: "Acme Podium",
      provider: "podium",
      verification: "signature",
      toleranceSeconds: 300,
      disabled: false,
      ingressUrl: `https://edgehook.test/webhooks/${id}`,
      readOnly: false,
    });
    // Its times in ISO 8601, the same in the answer to a read.
    const isIso = (t: unknown) => typeof t === "string" && new Date(t).toISOString() === t;
    expect(created.json.createdAt).toSatisfy(isIso);
    expect(created.json.updatedAt).toSatisfy(isIso);
    expect((await p.api("GET", `/v1/sources/${id}`)).json).toMatchObject({ createdAt: created.json.createdAt, updatedAt: created.json.updatedAt });
    expect(JSON.stringify(created.json)).not.toContain("acme-secret-1");
    expect(JSON.stringify((await p.api("GET", `/v1/sources/${id}`)).json)).not.toContain("acme-secret-1");

    const body = podiumBody();
    expect((await call(post(`/webhooks/${id}`, body, await podiumHeaders(body, "acme-secret-1")))).status).toBe(202);
  });

  it("rotates secrets with PATCH: new and old both verify, then the old one is dropped", async () => {
    const p = pipeline();
    const id = (await p.api("POST", "/v1/sources", { name: "r", provider: "podium", secrets: ["old-secret-1"] })).json.id;
    expect(id).toMatch(/^src-[a-z0-9-]+$/);
    const send = async (secret: string) => {
      const body = podiumBody();
      return (await call(post(`/webhooks/${id}`, body, await podiumHeaders(body, secret)))).status;
    };
    expect(await send("old-secret-1")).toBe(202);
    await p.api("PATCH", `/v1/sources/${id}`, { secrets: ["new-secret-2", "old-secret-1"] });
    expect(await send("new-secret-2")).toBe(202);
    expect(await send("old-secret-1")).toBe(202);
    await p.api("PATCH", `/v1/sources/${id}`, { secrets: ["new-secret-2"] });
    expect(await send("old-secret-1")).toBe(401);
  });

  it("disables and deletes: the ingress answers 404 unknown_source", async () => {
    const p = pipeline();
    const id = (await p.api("POST", "/v1/sources", { name: "d", provider: "podium", secrets: ["d-secret-1"] })).json.id;
    const send = async () => {
      const body = podiumBody();
      return (await call(post(`/webhooks/${id}`, body, await podiumHeaders(body, "d-secret-1")))).status;
    };
    await p.api("PATCH", `/v1/sources/${id}`, { disabled: true });
    expect(await send()).toBe(404);
    await p.api("PATCH", `/v1/sources/${id}`, { disabled: false });
    expect(await send()).toBe(202);
    expect((await p.api("DELETE", `/v1/sources/${id}`)).status).toBe(204);
    expect(await send()).toBe(404);
    expect((await p.api("GET", `/v1/sources/${id}`)).status).toBe(404);
  });

  it("lists configuration sources read-only beside stored ones, and refuses to change them", async () => {
    const p = pipeline();
    const list = (await p.api("GET", "/v1/sources")).json.data;
    expect(list.find((s: { id: string }) => s.id === "podium")).toMatchObject({ provider: "podium", readOnly: true });
    expect(list.find((s: { id: string }) => s.id === "standard-webhooks")).toMatchObject({ readOnly: true });
    for (const [method, body] of [["PATCH", { name: "x" }], ["DELETE", undefined]] as const) {
      const res = await p.api(method, "/v1/sources/podium", body);
      expect(res.status).toBe(409);
      expect(res.json.error.code).toBe("conflict");
    }
    expect((await p.api("POST", "/v1/sources", { id: "podium", name: "x", provider: "podium", secrets: ["12345678"] })).status).toBe(409);
  });

  it("PATCH of a source deleted meanwhile answers 404 not_found, not 200", async () => {
    const { p, other, before, ran } = racing(changesSource);
    const id = (await p.api("POST", "/v1/sources", { name: "gone", provider: "podium", secrets: ["gone-secret-1"] })).json.id;
    before(() => other.api("DELETE", `/v1/sources/${id}`));
    const res = await p.api("PATCH", `/v1/sources/${id}`, { name: "renamed" });
    expect(ran()).toBe(true);
    expect(res.status).toBe(404);
    expect(res.json.error.code).toBe("not_found");
    expect((await other.api("GET", `/v1/sources/${id}`)).status).toBe(404);
  });

  it("POST of a source deleted right after its insert answers 201 with what was created, not 500", async () => {
    const id = `brief-${uniqueKey()}`;
    let deleted = false;
    const { db } = d1Double({
      afterRun: async (st) => {
        if (deleted || !st.sql.trimStart().startsWith("INSERT INTO sources")) return;
        deleted = true;
        await env.DB.prepare("DELETE FROM sources WHERE id = ?").bind(id).run();
      },
    });
    const res = await pipeline({ DB: db }).api("POST", "/v1/sources", { id, name: "brief", provider: "podium", secrets: ["brief-secret-1"] });
    expect(deleted).toBe(true);
    expect(res.status).toBe(201);
    expect(res.json).toMatchObject({ id, name: "brief", provider: "podium", readOnly: false });
    expect((await pipeline().api("GET", `/v1/sources/${id}`)).status).toBe(404);
  });

  it("PATCH after a secret rotation meanwhile answers 409 conflict and does not undo the rotation", async () => {
    const { p, other, before, ran } = racing(changesSource);
    const id = (await p.api("POST", "/v1/sources", { name: "r", provider: "podium", secrets: ["old-secret-1"] })).json.id;
    const send = async (secret: string) => {
      const body = podiumBody();
      return (await call(post(`/webhooks/${id}`, body, await podiumHeaders(body, secret)))).status;
    };
    // The rotation lands between this rename's read and its write.
    before(() => other.api("PATCH", `/v1/sources/${id}`, { secrets: ["new-secret-2", "old-secret-1"] }));
    const res = await p.api("PATCH", `/v1/sources/${id}`, { name: "renamed" });
    expect(ran()).toBe(true);
    expect(res.status).toBe(409);
    expect(res.json.error.code).toBe("conflict");
    expect(res.json.error.message).toMatch(/read it again and retry/);
    expect((await p.api("GET", `/v1/sources/${id}`)).json.name).toBe("r");
    expect(await send("new-secret-2")).toBe(202);

    // Sent again, the rename is saved, and the rotation stays.
    const retried = await p.api("PATCH", `/v1/sources/${id}`, { name: "renamed" });
    expect(retried.status).toBe(200);
    expect(retried.json.name).toBe("renamed");
    expect(await send("new-secret-2")).toBe(202);
    expect(await send("old-secret-1")).toBe(202);
  });

  it("a PATCH to what a source already is writes nothing: its updatedAt stays, and a rotation racing it is saved, not answered 409", async () => {
    const { p, other, before, ran } = racing(changesSource);
    const id = (await p.api("POST", "/v1/sources", { name: "same", provider: "podium", secrets: ["old-secret-1"] })).json.id;
    const { updatedAt } = (await p.api("GET", `/v1/sources/${id}`)).json;
    for (const change of [{}, { name: "same" }, { name: "same", secrets: ["old-secret-1"], disabled: false }]) {
      const res = await other.api("PATCH", `/v1/sources/${id}`, change);
      expect(res.status, JSON.stringify(change)).toBe(200);
      expect(res.json.updatedAt, JSON.stringify(change)).toBe(updatedAt);
    }
    // Another client saves the source as it is between this rotation's read and its write.
    let meanwhile: { status: number } | null = null;
    before(async () => (meanwhile = await other.api("PATCH", `/v1/sources/${id}`, { name: "same" })));
    const res = await p.api("PATCH", `/v1/sources/${id}`, { secrets: ["new-secret-2", "old-secret-1"] });
    expect(ran()).toBe(true);
    expect(meanwhile).toMatchObject({ status: 200 });
    expect(res.status).toBe(200);
    const body = podiumBody();
    expect((await call(post(`/webhooks/${id}`, body, await podiumHeaders(body, "new-secret-2")))).status).toBe(202);
  });

  it("a source sent back as read (what a PATCH takes of its GET, every kind) is a 200 that changes nothing, its version included", async () => {
    const p = pipeline();
    const k = uniqueKey();
    const doc: unknown = await (await call(new Request("https://edgehook.test/openapi.json"))).json();
    // What a PATCH takes of what a GET answers: the rest (id, provider, ingressUrl, createdAt, …) is read-only, secrets are never read.
    const patchable = keysAt(doc, "components", "schemas", "SourcePatch", "properties").filter((f) => f !== "secrets");
    const hmac = { header: "x-sig", prefix: "sha256=", typePath: "type" };
    const { token } = await makeToken(p, ["sources:read", "sources:write"], { organizationUids: [`org-${k}`] });
    const tenant = { authorization: `Bearer ${token}` };
    const unlimited = { authorization: `Bearer ${(await makeToken(p, ["sources:read", "sources:write"])).token}` };
    const made = [
      await p.api("POST", "/v1/sources", { name: "plain", provider: "podium", secrets: [`podium-${k}-secret`] }),
      await p.api("POST", "/v1/sources", { name: "hmac", provider: "hmac", secrets: [`hmac-${k}-secret`], hmac, toleranceSeconds: 60 }),
      await p.api("POST", "/v1/sources", { name: "shop", provider: "shopify", secrets: [`shop-${k}-secret`], shopDomain: "Acme.myshopify.com" }),
      await p.api("POST", "/v1/sources", { name: "any shop", provider: "shopify", secrets: [`shop-${k}-secret`], disabled: true }),
      await p.api("POST", "/v1/sources", { name: "open", provider: "github", verification: "none" }),
      await apiCall(p.env, "POST", "/v1/sources", { name: "owned", provider: "stripe", secrets: [`stripe-${k}-secret`] }, tenant),
    ];
    for (const res of made) expect(res.status, JSON.stringify(res.json)).toBe(201);
    // Each by the admin and by a token that is not: the ownerless ones teach where locations are, so it may not change how they verify.
    const writers = [ADMIN, unlimited, tenant];
    for (const { json: { id } } of made) {
      for (const auth of writers) {
        const read = await apiCall(p.env, "GET", `/v1/sources/${id}`, undefined, auth);
        if (read.status === 404) continue; // the tenant sees its organization's source alone
        const body = Object.fromEntries(Object.entries(read.json).filter(([f]) => patchable.includes(f)));
        expect(Object.keys(body).sort(), id).toEqual([...patchable].sort());
        const res = await apiCall(p.env, "PATCH", `/v1/sources/${id}`, body, auth);
        // A change answers no rejections (a read's alone has them).
        const { rejections: _, ...source } = read.json;
        expect([res.status, res.json], `${id} ${JSON.stringify(body)}`).toEqual([200, source]);
        expect((await apiCall(p.env, "GET", `/v1/sources/${id}`, undefined, auth)).json, id).toEqual(read.json);
      }
    }
    // null is no configuration: an hmac source's is refused, naming it, and its configuration stays.
    const none = await p.api("PATCH", `/v1/sources/${made[1]!.json.id}`, { hmac: null });
    expect([none.status, none.json.error.details.issues]).toEqual([400, [{ path: "hmac", message: expect.stringContaining("required for the hmac provider") }]]);
    expect((await p.api("GET", `/v1/sources/${made[1]!.json.id}`)).json.hmac).toEqual(made[1]!.json.hmac);
    // The default tolerance shown and sent back left it following the deployment's (nothing stored); null unpins one set.
    expect((await getStoredSource(env.DB, made[0]!.json.id))?.toleranceSeconds).toBeNull();
    expect((await getStoredSource(env.DB, made[1]!.json.id))?.toleranceSeconds).toBe(60);
    const unpinned = await p.api("PATCH", `/v1/sources/${made[1]!.json.id}`, { toleranceSeconds: null });
    expect(unpinned.json.toleranceSeconds).toBe(300);
    expect((await getStoredSource(env.DB, made[1]!.json.id))?.toleranceSeconds).toBeNull();
  });

  it("two PATCHes of a source within one millisecond each move its version: the second, made from the first's read, is refused", async () => {
    const p = pipeline();
    const id = (await p.api("POST", "/v1/sources", { name: "v", provider: "podium", secrets: ["v-secret-1"] })).json.id;
    // Both land in the millisecond the source was written (its version): the first must still move it.
    const at = Date.now() + 60_000;
    await env.DB.prepare("UPDATE sources SET updated_at = ? WHERE id = ?").bind(at, id).run();
    const read = await getStoredSource(env.DB, id);
    const first = { ...read!, name: "first", updatedAt: nextVersion(read!.updatedAt, at) };
    expect(await updateSource(env.DB, first, read!.updatedAt)).toBe("saved");
    expect(await updateSource(env.DB, { ...read!, name: "second", updatedAt: nextVersion(read!.updatedAt, at) }, read!.updatedAt)).toBe("changed");
    expect((await getStoredSource(env.DB, id))?.name).toBe("first");
  });

  it("answers 409 for a taken id and 400 for bad input", async () => {
    const p = pipeline();
    const id = `dup-${uniqueKey()}`;
    expect((await p.api("POST", "/v1/sources", { id, name: "a", provider: "podium", secrets: ["12345678"] })).status).toBe(201);
    expect((await p.api("POST", "/v1/sources", { id, name: "b", provider: "podium", secrets: ["12345678"] })).status).toBe(409);
    for (const body of [
      { name: "a", provider: "podium" }, // signature verification needs secrets
      { name: "a", provider: "nope", secrets: ["12345678"] },
      { name: "a", provider: "podium", secrets: ["1", "2", "3", "4", "5", "6"] },
      { id: "Bad_Id", name: "a", provider: "podium", secrets: ["12345678"] },
      { name: "a", provider: "podium", secrets: Array(6).fill("12345678") },
      // Six different secrets, each one a source could hold: at most five.
      { name: "a", provider: "podium", secrets: [1, 2, 3, 4, 5, 6].map((i) => `secret-number-${i}`) },
    ]) {
      const res = await p.api("POST", "/v1/sources", body);
      expect(res.status).toBe(400);
      expect(res.json.error.code).toBe("invalid_request");
    }
    expect((await p.api("POST", "/v1/sources", { name: "five", provider: "podium", secrets: [1, 2, 3, 4, 5].map((i) => `secret-number-${i}`) })).status).toBe(201);
    // A source without verification exists only if created so on purpose.
    expect((await p.api("POST", "/v1/sources", { name: "open", provider: "podium", verification: "none" })).status).toBe(201);
  });

  it("a PATCH of a source's provider or owner is refused as a change it cannot make, not as a typo", async () => {
    const p = pipeline();
    const id = `fixed-${uniqueKey()}`;
    expect((await p.api("POST", "/v1/sources", { id, name: "a", provider: "podium", secrets: ["12345678"] })).status).toBe(201);
    for (const body of [{ provider: "stripe" }, { organizationUid: "org-b" }, { name: "b", provider: "stripe", organizationUid: null }]) {
      const res = await p.api("PATCH", `/v1/sources/${id}`, body);
      expect(res).toMatchObject({ status: 400, json: { error: { code: "invalid_request" } } });
      expect(res.json.error.message).toContain("cannot change; create a new source instead");
    }
    // Beside a misspelt field, each is an unknown field, the misspelt one not said to be fixed.
    const typo = await p.api("PATCH", `/v1/sources/${id}`, { provider: "stripe", nmae: "b" });
    expect(typo.json.error.details.issues.find((i: { path: string }) => i.path === "nmae").message).toContain("a typo?");
    expect((await p.api("GET", `/v1/sources/${id}`)).json).toMatchObject({ name: "a", provider: "podium", organizationUid: null });
  });

  it("a limited token's source under an id the configuration declares later is not its own any more: not listed, read, nor its rejection log", async () => {
    const p = pipeline();
    const { token } = await makeToken(p, ["sources:read", "sources:write"], { organizationUids: [`org-${uniqueKey()}`] });
    const auth = { authorization: `Bearer ${token}` };
    // Made while the configuration declared no such source...
    const undeclared = testEnv({ STANDARD_WEBHOOKS_SECRET: undefined }).env;
    const made = await apiCall(undeclared, "POST", "/v1/sources", { id: "standard-webhooks", name: "mine", provider: "podium", secrets: ["mine-secret-1"] }, auth);
    expect(made.status).toBe(201);
    try {
      // ...then declared: the ingress verifies /webhooks/standard-webhooks with the configuration's secrets,
      // and what it refuses there is the configuration source's, which is the admin's to read.
      expect((await apiCall(p.env, "GET", "/v1/sources", undefined, auth)).json.data.map((s: { id: string }) => s.id)).not.toContain("standard-webhooks");
      for (const path of ["/v1/sources/standard-webhooks", "/v1/sources/standard-webhooks/rejections"]) {
        const res = await apiCall(p.env, "GET", path, undefined, auth);
        expect([res.status, res.json.error?.code], path).toEqual([404, "not_found"]);
      }
      expect((await apiCall(p.env, "PATCH", "/v1/sources/standard-webhooks", { name: "x" }, auth)).status).toBe(404);
      expect((await p.api("GET", "/v1/sources/standard-webhooks")).json.readOnly).toBe(true);
    } finally {
      expect((await apiCall(undeclared, "DELETE", "/v1/sources/standard-webhooks", undefined, auth)).status).toBe(204);
    }
  });

  it("refuses an hmac configuration no request could pass: the timestamp in the signature's header, a prefix led by white space", async () => {
    const p = pipeline();
    const source = (hmac: Record<string, unknown>) => ({ name: "h", provider: "hmac", secrets: ["hmac-secret-1"], hmac });
    const unusable = [
      { hmac: { header: "x-sig", timestampHeader: "X-Sig" }, path: ["hmac"], message: /timestampHeader/ },
      { hmac: { header: "x-sig", prefix: " sha256=" }, path: ["hmac", "prefix"], message: /white space/ },
    ];
    for (const { hmac, path, message } of unusable) {
      const res = await p.api("POST", "/v1/sources", source(hmac));
      expect(res.status, JSON.stringify(hmac)).toBe(400);
      expect(res.json.error.code).toBe("invalid_request");
      expect(res.json.error.details.issues).toEqual([expect.objectContaining({ path: path.join("."), message: expect.stringMatching(message) })]);
    }
    const made = await p.api("POST", "/v1/sources", source({ header: "x-sig", timestampHeader: "x-ts", prefix: "sha256=" }));
    expect(made.status).toBe(201);
    // A PATCH's hmac replaces the configuration, as its description says: what it leaves out takes the default.
    const replaced = await p.api("PATCH", `/v1/sources/${made.json.id}`, { hmac: { header: "x-sig", prefix: "sha256=" } });
    expect(replaced.json.hmac).toMatchObject({ header: "x-sig", prefix: "sha256=", timestampHeader: null, encoding: "hex" });
    const doc: unknown = await (await call(new Request("https://edgehook.test/openapi.json"))).json();
    expect(JSON.stringify(at(doc, "components", "schemas", "SourcePatch", "properties", "hmac"))).toMatch(/replaces the whole configuration/i);
    for (const { hmac } of unusable) {
      const res = await p.api("PATCH", `/v1/sources/${made.json.id}`, { hmac });
      expect([res.status, res.json.error?.code], JSON.stringify(hmac)).toEqual([400, "invalid_request"]);
    }
  });
});

describe("event filters, stats and errors", () => {
  it("filters events by type, source, location, organization, delivery status and time", async () => {
    const p = pipeline();
    const key = uniqueKey();
    const org = `org-${key}`;
    await p.createWebhook({ url: `https://downstream.test/fail/${key}`, eventTypes: ["contact.*"], organizationUid: org, maxAttempts: 1 });
    const a = await p.ingest(podiumBody({ type: "message.received", organizationUid: org, locationUid: `loc-${key}-a` }));
    const b = await p.ingest(podiumBody({ type: "contact.updated", organizationUid: org, locationUid: `loc-${key}-b` }));
    await p.deliver();
    const ids = async (q: string) =>
      (await p.api("GET", `/v1/events?organizationUid=${org}&${q}`)).json.data.map((e: { id: string }) => e.id);
    expect(await ids("")).toEqual([b, a]);
    expect(await ids("eventType=contact.updated")).toEqual([b]);
    expect(await ids(`locationUid=loc-${key}-a`)).toEqual([a]);
    expect(await ids("sourceId=podium")).toEqual([b, a]);
    // A source that is none (neither declared nor stored, nor any event's) is refused by name, not listed empty.
    expect((await p.api("GET", `/v1/events?organizationUid=${org}&sourceId=other-${key}`)).json.error).toEqual({
      code: "not_found",
      message: `No source "other-${key}" (GET /v1/sources lists those this token may see).`,
      details: { issues: [{ path: "sourceId", message: `no source "other-${key}"` }] },
    });
    expect(await ids("status=failed")).toEqual([b]);
    expect(await ids(`since=${new Date(Date.now() + 60_000).toISOString()}`)).toEqual([]);
    expect(await ids(`until=${new Date(Date.now() + 60_000).toISOString()}`)).toEqual([b, a]);
    expect((await p.api("GET", "/v1/events?since=yesterday")).status).toBe(400);
    expect((await p.api("GET", "/v1/events?status=lost")).status).toBe(400);
  });

  it("refuses an events list's sourceId that names no source (404), but lists a deleted source's kept events to a token that sees every event", async () => {
    const p = pipeline();
    const key = uniqueKey();
    const [org, other] = [`org-${key}`, `org-${key}-other`];
    const make = async (id: string, owner: string | null) => {
      const secret = `${id}-secret`;
      expect((await p.api("POST", "/v1/sources", { id, name: id, provider: "podium", secrets: [secret], ...(owner ? { organizationUid: owner } : {}) })).status).toBe(201);
      return { source: id, secret };
    };
    const [mine, theirs, gone] = await Promise.all([make(`${key}-mine`, org), make(`${key}-theirs`, other), make(`${key}-gone`, null)]);
    const a = await p.ingest(podiumBody({ type: "message.received", organizationUid: org, locationUid: `loc-${key}` }), mine);
    const b = await p.ingest(podiumBody({ type: "message.received", organizationUid: org, locationUid: `loc-${key}` }), gone);
    const limited = await makeToken(p, ["events:read", "read_messages"], { organizationUids: [org] });
    const unlimited = await makeToken(p, ["events:read", "read_messages", "read_contacts", "read_payments", "read_reviews"]);
    const list = (source: string, token?: string) =>
      token === undefined ? p.api("GET", `/v1/events?sourceId=${source}`) : as(p, token, "GET", `/v1/events?sourceId=${source}`);
    const ids = (res: { json: { data: { id: string }[] } }) => res.json.data.map((e) => e.id);
    const noSource = (id: string) => ({
      code: "not_found",
      message: `No source "${id}" (GET /v1/sources lists those this token may see).`,
      details: { issues: [{ path: "sourceId", message: `no source "${id}"` }] },
    });
    // Stored, declared by configuration, the alerts': listed as before.
    expect(ids(await list(mine.source))).toEqual([a]);
    expect(ids(await list(mine.source, limited.token))).toEqual([a]);
    expect((await list("podium", limited.token)).status).toBe(200);
    expect((await list("edgehook", limited.token)).status).toBe(200);
    // None: 404 naming it, to everyone, and a deleted source to a limited token (the names are every tenant's).
    for (const token of [undefined, limited.token, unlimited.token]) expect((await list(`${key}-none`, token)).json.error).toEqual(noSource(`${key}-none`));
    // Another organization's source is none to a limited token, in the same words (GET /v1/sources/{id} answers it 404 too).
    expect((await list(theirs.source, limited.token)).json.error).toEqual(noSource(theirs.source));
    // Deleted, its events stay: the admin and an unlimited token still list them by it.
    expect((await p.api("DELETE", `/v1/sources/${gone.source}`)).status).toBe(204);
    expect(ids(await list(gone.source))).toEqual([b]);
    expect(ids(await list(gone.source, unlimited.token))).toEqual([b]);
    expect((await list(gone.source, limited.token)).json.error).toEqual(noSource(gone.source));
  });

  it("counts events and deliveries by status, and per webhook with its success rate and last failure", async () => {
    const p = pipeline();
    const key = uniqueKey();
    const org = `org-${key}`;
    const bad = await p.createWebhook({ url: `https://downstream.test/fail/${key}`, eventTypes: ["*"], organizationUid: org, maxAttempts: 1 });
    const good = await p.createWebhook({ url: `https://downstream.test/ok/${key}`, eventTypes: ["*"], organizationUid: org });
    const sent = Date.now();
    await p.ingest(podiumBody({ organizationUid: org }));
    await p.deliver();
    const { status, json } = await p.api("GET", "/v1/stats");
    expect(status).toBe(200);
    expect(json.events.total).toBeGreaterThanOrEqual(1);
    expect(json.deliveries.failed).toBeGreaterThanOrEqual(1);
    const badStats = json.webhooks.find((w: { uid: string }) => w.uid === bad.uid);
    expect(badStats).toMatchObject({ failed: 1, succeeded: 0, successRate: 0, lastError: "HTTP 500" });
    expect(badStats.lastFailureAt).toEqual(expect.any(String));
    expect(json.webhooks.find((w: { uid: string }) => w.uid === good.uid)).toMatchObject({ succeeded: 1, successRate: 1, lastFailureAt: null });
    // The six-hour series' ten-minute buckets from the one it was sent in hold this event and both
    // attempts (the last bucket alone, unless one ended meanwhile).
    expect(json.series).toHaveLength(36);
    type Bucket = { start: string; events: number; attempts: number; succeededAttempts: number };
    const since = (json.series as Bucket[]).filter((b) => Date.parse(b.start) + SERIES_BUCKET_MS > sent);
    const sum = (k: "events" | "attempts" | "succeededAttempts") => since.reduce((n, b) => n + b[k], 0);
    expect(sum("events")).toBeGreaterThanOrEqual(1);
    expect(sum("attempts")).toBeGreaterThanOrEqual(2);
    expect(sum("succeededAttempts")).toBeGreaterThanOrEqual(1);
    expect(sum("succeededAttempts")).toBeLessThan(sum("attempts"));
  });

  it("answers 405 with Allow for a wrong method (HEAD with GET, which it answers too), and JSON 404 for an unknown route", async () => {
    const p = pipeline();
    const wrong = await p.api("DELETE", "/v1/events");
    expect(wrong.status).toBe(405);
    expect(wrong.json.error.code).toBe("method_not_allowed");
    const res = await call(new Request("https://edgehook.test/v1/events", { method: "PUT", headers: ADMIN }));
    expect(res.headers.get("allow")).toBe("GET, HEAD");
    const head = await call(new Request("https://edgehook.test/v1/events", { method: "HEAD", headers: ADMIN }));
    expect(head.status).toBe(200);
    expect(await head.text()).toBe("");
    // A path served by GET and POST allows all three; one served by POST alone, POST alone.
    const tokens = await call(new Request("https://edgehook.test/v1/tokens", { method: "PUT", headers: ADMIN }));
    expect(tokens.headers.get("allow")?.split(", ").sort()).toEqual(["GET", "HEAD", "POST"]);
    const retry = await call(new Request("https://edgehook.test/v1/deliveries/dlv_0/retry", { method: "GET", headers: ADMIN }));
    expect(retry.status).toBe(405);
    expect(retry.headers.get("allow")).toBe("POST");
    const missing = await p.api("GET", "/v1/nothing-here");
    expect(missing.status).toBe(404);
    expect(missing.json.error.code).toBe("not_found");
  });

  it("answers 400 invalid_request for a body that is not JSON", async () => {
    const res = await call(
      new Request("https://edgehook.test/v1/webhooks", {
        method: "POST",
        headers: { ...ADMIN, "content-type": "application/json" },
        body: "{not json",
      }),
    );
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("invalid_request");
  });

  it("serves an OpenAPI 3.1 document and the reference page", async () => {
    const raw = await call(new Request("https://edgehook.test/openapi.json"));
    expect(raw.status).toBe(200);
    const doc: unknown = await raw.json();
    expect(at(doc, "openapi")).toBe("3.1.0");
    expect(keysAt(doc, "paths")).toEqual(expect.arrayContaining(["/v1/events", "/v1/webhooks/{uid}", "/webhooks/{sourceId}"]));
    // The ingress as it answers: an hmac source takes UTF-8 text only (other bytes are 400), and other methods are 405.
    const ingress = at(doc, "paths", "/webhooks/{sourceId}", "post");
    expect(at(ingress, "requestBody", "content", "*/*", "schema", "description")).toMatch(/UTF-8/);
    expect(keysAt(ingress, "responses")).toContain("405");
    const docs = await call(new Request("https://edgehook.test/docs"));
    expect(docs.status).toBe(200);
    expect(await docs.text()).toContain("/openapi.json");
  });
});

