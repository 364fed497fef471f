// Every list of /v1 pages the same way (docs/api.md#lists): `limit` 1..100, an opaque
// `cursor`, `{data, nextCursor}`, and a page read by its key, not by reading the table.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { meteredD1 } from "../../bench/d1-meter";
import { ERROR_CODES } from "../../src/domain/errors";
import { EVENT_TYPES } from "../../src/domain/event-types";
import { insertToken } from "../../src/store/tokens";
import type { components } from "../../cli/src/api";
import { ADMIN, call, createSource, dashboardCookie, type ApiAnswer } from "./helpers";
import { pipeline, uniqueKey } from "./pipeline";
import { as, makeToken } from "./tokens";

type P = ReturnType<typeof pipeline>;
type Schemas = components["schemas"];
type Get = (path: string) => Promise<ApiAnswer>;

/** Every item of a list (its items as the API documents them), walking its pages of `limit`; each page but the last is full. */
async function walk<T>(get: Get, path: string, limit: number): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | null = null;
  for (let pages = 0; pages < 1000; pages++) {
    const { status, json } = await get(`${path}${path.includes("?") ? "&" : "?"}limit=${limit}${cursor ? `&cursor=${cursor}` : ""}`);
    expect(status, JSON.stringify(json)).toBe(200);
    expect(json.data.length).toBeLessThanOrEqual(limit);
    items.push(...json.data);
    cursor = json.nextCursor;
    if (cursor === null) return items;
    expect(json.data).toHaveLength(limit);
  }
  throw new Error(`${path}: no end after 1000 pages`);
}

const admin = (p: P): Get => (path) => p.api("GET", path);
const ids = (items: { id: string }[]) => items.map((i) => i.id);

async function storeTokens(names: string[], createdAt: (i: number) => number): Promise<string[]> {
  const k = uniqueKey();
  const made = names.map((name, i) => ({ id: `tok_${k}${String(i).padStart(2, "0")}`, name, createdAt: createdAt(i) }));
  for (const t of made) {
    await insertToken(
      env.DB,
      { ...t, scopes: ["events:read"], organizationUids: null, locationUids: null, lastUsedAt: null, revokedAt: null },
      `hash-${t.id}`,
    );
  }
  return made.map((t) => t.id);
}

describe("GET /v1/sources", () => {
  it("pages by id, configuration sources among the stored ones: every source once, in order", async () => {
    const p = pipeline();
    const k = uniqueKey();
    const made = await Promise.all(["a", "m", "q", "z", "zz"].map((s) => createSource({ id: `${s}-${k}`, secrets: ["a-long-secret"] })));
    const all = ids(await walk<Schemas["Source"]>(admin(p), "/v1/sources", 2));
    expect(new Set(all).size).toBe(all.length);
    expect(all).toEqual([...all].sort());
    expect(all).toEqual(ids(await walk<Schemas["Source"]>(admin(p), "/v1/sources", 100)));
    expect(all.filter((id) => made.includes(id))).toEqual(made);
    for (const declared of ["podium", "standard-webhooks"]) expect(all).toContain(declared);
  });

  it("gives a limited token full pages of its organizations' sources only", async () => {
    const p = pipeline();
    const k = uniqueKey();
    const [orgA, orgB, orgC] = [`org-${k}-a`, `org-${k}-b`, `org-${k}-c`];
    const mine: string[] = [];
    for (const [i, org] of [orgA, orgB, orgA, orgC, orgB, orgA, orgC, orgA].entries()) {
      const id = await createSource({ id: `s${i}-${k}`, secrets: ["a-long-secret"], organizationUid: org });
      if (org !== orgC) mine.push(id);
    }
    const t = await makeToken(p, ["sources:read"], { organizationUids: [orgA, orgB] });
    // One organization twice, as a token stored before the API refused that may hold it.
    await env.DB.prepare("UPDATE tokens SET organization_uids = ? WHERE id = ?").bind(JSON.stringify([orgA, orgB, orgA]), t.id).run();
    const seen = ids(await walk<Schemas["Source"]>((path) => as(p, t.token, "GET", path), "/v1/sources", 2));
    expect(seen).toEqual([...mine].sort());
  });

  it("reads a page, not every source", async () => {
    const k = uniqueKey();
    const org = `org-${k}`;
    for (let i = 0; i < 60; i++) await createSource({ id: `r${String(i).padStart(2, "0")}-${k}`, secrets: ["a-long-secret"], organizationUid: org });
    const p = pipeline();
    const t = await makeToken(p, ["sources:read"], { organizationUids: [org] });
    const meter = meteredD1(env.DB);
    for (const headers of [ADMIN, { authorization: `Bearer ${t.token}` }]) {
      let cursor = "";
      for (let page = 0; page < 2; page++) {
        meter.reset();
        const res = await call(new Request(`https://edgehook.test/v1/sources?limit=2${cursor}`, { headers }), { DB: meter.db });
        const json = (await res.json()) as { data: unknown[]; nextCursor: string };
        expect(json.data).toHaveLength(2);
        // The page, the token's owners and the page's rejection summaries (their list of reasons, a row a code), not the 60 sources.
        expect(meter.usage.rowsRead, JSON.stringify(meter.usage.bySql)).toBeLessThan(30 + ERROR_CODES.length);
        cursor = `&cursor=${json.nextCursor}`;
      }
    }
  });
});

describe("the dashboard's sources", () => {
  it("shows 100 a page with a link to the next, over every source", async () => {
    const k = uniqueKey();
    const made: string[] = [];
    for (let i = 0; i < 101; i++) made.push(await createSource({ id: `d${String(i).padStart(3, "0")}-${k}`, secrets: ["a-long-secret"] }));
    const cookie = await dashboardCookie();
    let path: string | null = "/dashboard/sources";
    const shown: string[] = [];
    for (let pages = 0; path && pages < 100; pages++) {
      const html = await (await call(new Request(`https://edgehook.test${path}`, { headers: { cookie } }))).text();
      shown.push(...made.filter((id) => html.includes(`>${id}<`)));
      path = /<a href="(\/dashboard\/sources\?cursor=[^"]+)">More sources →<\/a>/.exec(html)?.[1]?.replace(/&amp;/g, "&") ?? null;
      if (pages === 0) expect(path).not.toBeNull();
    }
    expect(shown).toEqual(made);
  });
});

describe("GET /v1/tokens", () => {
  it("pages newest first: every token once, in order, those made at the same time by id", async () => {
    const p = pipeline();
    const base = Date.now() - 60_000;
    const made = await storeTokens(["a", "b", "c", "d", "e"], (i) => base + Math.floor(i / 2));
    const all = await walk<Schemas["Token"]>(admin(p), "/v1/tokens", 2);
    const order = all.map((t) => [Date.parse(t.createdAt), t.id] as const);
    expect(new Set(ids(all)).size).toBe(all.length);
    expect(order).toEqual([...order].sort(([a, x], [b, y]) => b - a || (y < x ? -1 : 1)));
    expect(ids(all)).toEqual(ids(await walk<Schemas["Token"]>(admin(p), "/v1/tokens", 100)));
    // Made in pairs at the same millisecond, each pair newer than the one before: ids rise with their index.
    expect(ids(all).filter((id) => made.includes(id))).toEqual([...made].reverse());
  });

  it("reads a page, not every token", async () => {
    await storeTokens(Array.from({ length: 60 }, (_, i) => `n${i}`), (i) => Date.now() - 120_000 + i);
    const meter = meteredD1(env.DB);
    const res = await call(new Request("https://edgehook.test/v1/tokens?limit=2", { headers: ADMIN }), { DB: meter.db });
    expect(((await res.json()) as { data: unknown[] }).data).toHaveLength(2);
    expect(meter.usage.rowsRead).toBeLessThan(25);
  });
});

describe("GET /v1/event-types", () => {
  it("pages the catalog in its order: every type once", async () => {
    const p = pipeline();
    const t = await makeToken(p, ["events:read"]);
    const all = await walk<Schemas["EventType"]>((path) => as(p, t.token, "GET", path), "/v1/event-types", 2);
    expect(all).toEqual(EVENT_TYPES);
    // The default page of 50 holds the whole catalog, as the unpaged answer did.
    expect((await p.api("GET", "/v1/event-types")).json).toEqual({ data: EVENT_TYPES, nextCursor: null });
  });
});

describe("GET /v1/webhooks", () => {
  it("reads a page, not every webhook", async () => {
    const p = pipeline();
    for (let i = 0; i < 60; i++) await p.createWebhook({ url: `https://downstream.test/ok/${uniqueKey()}`, eventTypes: ["message.received"] });
    const meter = meteredD1(env.DB);
    const res = await call(new Request("https://edgehook.test/v1/webhooks?limit=2", { headers: ADMIN }), { DB: meter.db });
    expect(((await res.json()) as { data: unknown[] }).data).toHaveLength(2);
    expect(meter.usage.rowsRead, JSON.stringify(meter.usage.bySql)).toBeLessThan(25);
  });
});

describe("every list of /v1", () => {
  const LISTS = [
    "/v1/sources",
    "/v1/webhooks",
    "/v1/tokens",
    "/v1/event-types",
    "/v1/events",
    "/v1/deliveries",
    "/v1/alerts",
    "/v1/dead-letters",
    "/v1/notification-endpoints",
  ];

  it("refuses a limit of 0, over 100 or not a number, and a cursor it did not give, with 400 invalid_request", async () => {
    const p = pipeline();
    for (const list of LISTS) {
      for (const q of ["limit=0", "limit=101", "limit=abc", "limit=2.5", "cursor=bm9wZQ", "cursor=%2B%2B%2B", `cursor=${btoa("s-5")}`]) {
        const res = await p.api("GET", `${list}?${q}`);
        expect(res.status, `${list}?${q}`).toBe(400);
        expect(res.json.error.code, `${list}?${q}`).toBe("invalid_request");
      }
      // Out of bounds, the answer gives the bound and what was given, not zod's ">=1".
      for (const [q, says] of [["limit=0", "must be at least 1 (got 0)"], ["limit=101", "must be at most 100 (got 101)"]]) {
        expect((await p.api("GET", `${list}?${q}`)).json.error.message, `${list}?${q}`).toBe(`Invalid query: limit: ${says}.`);
      }
      // An unknown cursor says what to send instead.
      expect((await p.api("GET", `${list}?cursor=bm9wZQ`)).json.error.message, list).toMatch(/leave cursor out to start again from the first page\.$/);
      const ok = await p.api("GET", `${list}?limit=100`);
      expect(ok.status, list).toBe(200);
      expect(ok.json).toEqual({ data: expect.any(Array), nextCursor: ok.json.nextCursor === null ? null : expect.any(String) });
    }
  });

  it("seals each cursor for its list: it shows no position, opens nowhere else, and none can be made up", async () => {
    const p = pipeline();
    for (let i = 0; i < 3; i++) await p.ingest();
    const first = await p.api("GET", "/v1/events?limit=1");
    const cursor: string = first.json.nextCursor;
    // Where the list stopped, an insertion sequence every tenant's events share, is not in it.
    const newest: number = (await env.DB.prepare("SELECT max(seq) AS s FROM events").first<{ s: number }>())!.s;
    const decoded = new TextDecoder().decode(Uint8Array.from(atob(cursor.replace(/-/g, "+").replace(/_/g, "/")), (ch) => ch.charCodeAt(0)));
    expect(decoded).not.toContain(`s${newest}`);
    expect((await p.api("GET", `/v1/events?limit=1&cursor=${cursor}`)).status).toBe(200);
    // The same position seals the same, so a client can tell a cursor that did not move.
    expect((await p.api("GET", "/v1/events?limit=1")).json.nextCursor).toBe(cursor);
    // Given to another list (the same kind of position), it is refused.
    for (const list of LISTS.filter((l) => l !== "/v1/events")) {
      const res = await p.api("GET", `${list}?cursor=${cursor}`);
      expect(res.status, list).toBe(400);
      expect(res.json.error.message, list).toBe("The cursor is not one this API returned for this list: pass the cursor the same request's previous page answered (the same filters), or leave cursor out to start again from the first page.");
    }
    // A position written by hand, as cursors were (base64url of "s<seq>"), is refused.
    const made = btoa(`s${newest}`).replace(/=+$/, "");
    expect((await p.api("GET", `/v1/events?cursor=${made}`)).status).toBe(400);
  });
});
