// A source id deleted and made again (by another organization's token) is a stream of its own: the
// deleted source's events, still stored until the retention, share no event id with the new one's
// (migration 0060, eventIdFor). Sources stored before, and those configuration declares, keep the
// ids they always had. The expected ids here are SHA-256 computed by hand, not by eventIdFor.
import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { HmacConfig } from "../../src/domain/hmac-config";
import worker from "../../src/index";
import { hmacScheme } from "../../src/schemes/hmac";
import { dedupeTextSql } from "../../src/store/names";
import { podiumBody, podiumHeaders, post } from "./helpers";
import { pipeline, received, uniqueKey } from "./pipeline";
import { as, DATA_SCOPES, makeToken } from "./tokens";

type P = ReturnType<typeof pipeline>;

const HMAC: HmacConfig = { header: "x-signature", algorithm: "SHA-256", encoding: "hex", prefix: "sha256=", timestampHeader: null, typePath: "type", dedupePath: "id" };

/** Posts an order event `id` to the source, signed with `secret`: its status and event id. */
async function postOrder(p: P, source: string, secret: string, id: number | string) {
  const body = JSON.stringify({ type: "order.created", id: String(id) });
  const headers = { "content-type": "application/json", ...(await hmacScheme(HMAC).sign(secret, body)) };
  const res = await worker.fetch(post(`/webhooks/${source}`, body, headers), p.env, createExecutionContext());
  const json = (await res.json()) as { eventId?: string };
  return { status: res.status, eventId: json.eventId ?? "" };
}

/** Posts each order and runs the ingest consumer over what was queued: the event ids answered. */
async function ingestOrders(p: P, source: string, secret: string, ids: (number | string)[]): Promise<string[]> {
  const answers = [];
  for (const id of ids) answers.push(await postOrder(p, source, secret, id));
  expect(answers.map((a) => a.status)).toEqual(ids.map(() => 202));
  const { retried } = await p.runIngest(p.queues.ingest.sent.splice(0));
  expect(retried).toEqual([]);
  return answers.map((a) => a.eventId);
}

/** A tenant: a token limited to its own organization, and its webhook on the fake downstream. */
async function tenant(p: P) {
  const key = uniqueKey();
  const org = `org-${key}`;
  const { token } = await makeToken(p, ["sources:read", "sources:write", "webhooks:read", "webhooks:write", "events:read", ...DATA_SCOPES], { organizationUids: [org] });
  const hook = await as(p, token, "POST", "/v1/webhooks", { url: `https://downstream.test/ok/${key}`, eventTypes: ["*"], organizationUid: org });
  expect(hook.status, JSON.stringify(hook.json)).toBe(201);
  return { key, org, token, secret: `secret-${key}-long-enough` };
}

type Tenant = Awaited<ReturnType<typeof tenant>>;

/** Makes the tenant's hmac source `id` with its secret (201). */
async function makeSource(p: P, t: Tenant, id: string) {
  const made = await as(p, t.token, "POST", "/v1/sources", { id, name: "orders", provider: "hmac", secrets: [t.secret], hmac: HMAC });
  expect(made.status, JSON.stringify(made.json)).toBe(201);
  return made;
}

/** Two tenants; `a` makes source `id`, stores these orders and deletes it, then `b` makes `id` again: a's event ids. */
async function reusedId(p: P, aOrders: number[]) {
  const [a, b] = [await tenant(p), await tenant(p)];
  const id = `orders-${a.key}`;
  await makeSource(p, a, id);
  const old = await ingestOrders(p, id, a.secret, aOrders);
  await p.deliver();
  expect(await deliveredIds(a.key)).toEqual(aOrders.map(String));
  const oldViews = await Promise.all(old.map(async (e) => (await as(p, a.token, "GET", `/v1/events/${e}`)).json));
  expect((await as(p, a.token, "DELETE", `/v1/sources/${id}`)).status).toBe(204);
  await makeSource(p, b, id);
  return { a, b, id, old, oldViews };
}

/** The order ids the tenant's webhook received, in order. */
const deliveredIds = async (key: string) => (await received(key)).map((r) => (JSON.parse(r.body) as { id: string }).id);

/** The events stored under `source` with this dedupe key: their ids and owners. */
async function storedWithKey(source: string, dedupeKey: string) {
  const { results } = await env.DB.prepare(
    `SELECT o.name AS org FROM events e LEFT JOIN names o ON o.id = e.organization
     WHERE e.source = (SELECT id FROM names WHERE name = ?) AND ${dedupeTextSql("e.dedupe")} = ?`,
  )
    .bind(source, dedupeKey)
    .all<{ org: string | null }>();
  return results.map((r) => r.org);
}

const saltOf = async (id: string) => (await env.DB.prepare("SELECT event_salt FROM sources WHERE id = ?").bind(id).first<{ event_salt: string | null }>())?.event_salt;

const hashedId = async (text: string) => {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  return `evt_${[...digest].map((b) => b.toString(16).padStart(2, "0")).join("").slice(0, 32)}`;
};

describe("a source id deleted and made again by another organization", () => {
  it("stores and delivers every event of the new source to its owner, and leaves the deleted source's events as they were", async () => {
    const p = pipeline();
    const { a, b, id, old, oldViews } = await reusedId(p, [1000, 1001, 1002, 1003, 1004]);
    const made = await ingestOrders(p, id, b.secret, [1002, 1003, 1004, 1005, 1006, 1007]);
    expect(made.filter((e) => old.includes(e))).toEqual([]);
    await p.deliver();
    expect(await deliveredIds(b.key)).toEqual(["1002", "1003", "1004", "1005", "1006", "1007"]);
    for (const [i, e] of made.entries()) {
      const read = await as(p, b.token, "GET", `/v1/events/${e}`);
      expect([read.status, read.json.organizationUid, JSON.parse(read.json.body ?? "{}").id], e).toEqual([200, b.org, String(1002 + i)]);
    }
    // The deleted source's events: still stored, still its owner's alone, unchanged; none sent again.
    for (const [i, e] of old.entries()) {
      expect((await as(p, a.token, "GET", `/v1/events/${e}`)).json).toEqual(oldViews[i]);
      expect((await as(p, b.token, "GET", `/v1/events/${e}`)).status).toBe(404);
    }
    expect(await storedWithKey(id, "1003")).toEqual(expect.arrayContaining([a.org, b.org]));
    expect(await deliveredIds(a.key)).toHaveLength(5);
  });

  it("stores a provider's redelivery to the new source once, under the id it answered first", async () => {
    const p = pipeline();
    const { a, b, id } = await reusedId(p, [2000]);

    const [first] = await ingestOrders(p, id, b.secret, [2000]);
    const [again] = await ingestOrders(p, id, b.secret, [2000]);
    expect(again).toBe(first);
    await p.deliver();
    expect(await deliveredIds(b.key)).toEqual(["2000"]);
    expect((await storedWithKey(id, "2000")).sort()).toEqual([a.org, b.org].sort());
  });
});

describe("a source's salt", () => {
  it("is made with the source, kept by a change, and shown in no answer", async () => {
    const p = pipeline();
    const a = await tenant(p);
    const id = `salted-${a.key}`;
    const made = await makeSource(p, a, id);
    const salt = await saltOf(id);
    expect(salt).toMatch(/^[0-9a-f]{32}$/);
    const changed = await as(p, a.token, "PATCH", `/v1/sources/${id}`, { name: "renamed", secrets: [`${a.secret}-2`, a.secret] });
    expect(changed.status).toBe(200);
    expect(await saltOf(id)).toBe(salt);
    const answers = [made, changed, await as(p, a.token, "GET", `/v1/sources/${id}`), await as(p, a.token, "GET", "/v1/sources")];
    for (const answer of answers) expect(JSON.stringify(answer.json)).not.toContain(salt);
    // Not writable: the API takes no such field.
    expect((await as(p, a.token, "PATCH", `/v1/sources/${id}`, { eventSalt: "0".repeat(32) })).status).toBe(400);
    // Another source made under another id has its own.
    await makeSource(p, a, `${id}-2`);
    expect(await saltOf(`${id}-2`)).not.toBe(salt);
  });
});

describe("the ids events had before migration 0060", () => {
  it("are kept by a source stored before it (no salt): its events' ids, and a redelivery across the deploy stored once", async () => {
    const p = pipeline();
    const a = await tenant(p);
    const id = "legacy-orders";
    await makeSource(p, a, id);
    // As the migration leaves a row stored before it.
    await env.DB.prepare("UPDATE sources SET event_salt = NULL WHERE id = ?").bind(id).run();
    // sha256("legacy-orders\nlegacy-1"), its first 32 hex digits.
    const expected = "evt_c2b37219a4f2ccec157acde82c848a9e";
    expect(await hashedId(`${id}\nlegacy-1`)).toBe(expected);
    expect(await ingestOrders(p, id, a.secret, ["legacy-1"])).toEqual([expected]);
    expect(await ingestOrders(p, id, a.secret, ["legacy-1"])).toEqual([expected]);
    await p.deliver();
    expect(await deliveredIds(a.key)).toEqual(["legacy-1"]);
    expect(await storedWithKey(id, "legacy-1")).toEqual([a.org]);
  });

  it("are kept by a source configuration declares", async () => {
    const p = pipeline();
    const body = podiumBody({ eventUid: "srcgen-pinned" });
    const res = await worker.fetch(post("/webhooks/podium", body, await podiumHeaders(body)), p.env, createExecutionContext());
    // sha256("podium\nsrcgen-pinned"), its first 32 hex digits.
    const expected = "evt_7b336e2ca8b12eb063f984a3ef1c309a";
    expect(await hashedId("podium\nsrcgen-pinned")).toBe(expected);
    expect([res.status, await res.json()]).toEqual([202, { eventId: expected }]);
  });
});
