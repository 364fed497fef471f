// Grants, by model: from a seed, a random world made through the API and the ingress (organizations,
// locations known or not, sources owned or not, webhooks of every place, events of random types and
// places), then random limited tokens. What each may see is computed from a small model of the
// rules (docs/podium.md#grants, docs/api.md#tokens-and-scopes) over the world as the admin reads it,
// and every read endpoint is checked against it; then random writes by the token, checking that
// nothing outside its grant changed and that what it may change did, and that the downstream of
// the URLs it gave webhooks receives only events it may read, as the world goes on.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Scope } from "../../src/domain/scopes";
import { DELIVERY_STATUSES } from "../../src/domain/delivery";
import { locationOrganizations } from "../../src/store/locations";
import { apiIdSql, idKeySql } from "../../src/store/names";
import { getStoredSource } from "../../src/store/sources";
import { webhooksByUid } from "../../src/store/webhooks";
import { settings } from "../../src/domain/settings";
import { sourceView, webhookView } from "../../src/api/views";
import { pipeline, received, uniqueKey } from "./pipeline";
import { rng, type Rng } from "./seeded";
import { as, DATA_SCOPES, makeToken } from "./tokens";
import type { ApiAnswer } from "./helpers";

type P = ReturnType<typeof pipeline>;


const TYPES = ["message.received", "message.sent", "contact.updated", "invoice.payment_succeeded", "review.created", "review.updated"] as const;
const PATTERNS = ["*", "message.*", "message.received", "contact.*", "invoice.*", "review.*", "review.created"] as const;
const DATA_SCOPE_OF: Record<string, Scope> = { message: "read_messages", contact: "read_contacts", invoice: "read_payments", review: "read_reviews" };
const API_SCOPES: Scope[] = ["events:read", "events:replay", "webhooks:read", "webhooks:write", "sources:read", "sources:write"];
const STATUSES = ["held", "pending", "succeeded", "failed", "expired"] as const;

/** A Podium body whose owner is only in `metadata` (every object falls back to it), so an event may name either, both or none. */
function body(type: string, organizationUid: string | null, locationUid: string | null, eventUid: string) {
  return JSON.stringify({
    data: { uid: crypto.randomUUID(), body: "grant model" },
    metadata: {
      eventType: type,
      eventUid,
      version: "2021.04.01",
      ...(organizationUid ? { organizationUid } : {}),
      ...(locationUid ? { locationUid } : {}),
    },
  });
}

// ---- the world as the admin reads it ----

interface Ev {
  id: string;
  order: number;
  sourceId: string;
  eventType: string;
  organizationUid: string | null;
  locationUid: string | null;
  receivedAt: string;
}
interface Dl {
  id: string;
  eventId: string;
  webhookUid: string;
  status: string;
  attemptCount: number;
  /** ISO 8601, to the millisecond (a bulk retry's `since`). */
  createdAt: string;
}
interface Wh {
  uid: string;
  url: string;
  eventTypes: string[];
  organizationUid: string | null;
  locationUid: string | null;
  grantOrganizationUid: string | null;
  sourceIds: string[] | null;
  disabled: boolean;
  [k: string]: unknown;
}
interface Src {
  id: string;
  name: string;
  organizationUid: string | null;
  teachesLocations: boolean;
  [k: string]: unknown;
}
interface Snapshot {
  events: Ev[];
  deliveries: Map<string, Dl>;
  webhooks: Map<string, Wh>;
  sources: Map<string, Src>;
  locations: Map<string, string>;
}

interface World {
  p: P;
  k: string;
  orgs: string[];
  locs: string[];
  webhookUids: string[];
  sourceIds: string[];
  /** The secrets of the sources events are sent through. */
  senders: { source: string; secret: string; owner: string | null }[];
  /** Each event's id by the eventUid of its body (what a downstream receives). */
  byEventUid: Map<string, string>;
  /** The events, as the admin reads them (an event's owner and type never change). */
  events: Ev[];
  /** Sends a random event (a location's move among them) and delivers what it is owed. */
  randomEvent: () => Promise<void>;
}

/** The world's deliveries as stored (one read: the admin's event pages would be one call per event). */
const DELIVERIES = `SELECT ${apiIdSql("dlv_", "d.id")} AS id, ${apiIdSql("evt_", "e.id")} AS event_id, w.name AS webhook_uid, d.status, d.attempt_count, d.created_at
  FROM deliveries d JOIN events e ON e.seq = d.event JOIN names w ON w.id = d.webhook
  WHERE e.id IN (SELECT ${idKeySql("evt_", "value")} FROM json_each(?))`;

/** The origin the tests call the API at (a source's ingressUrl is under it). */
const ORIGIN = "https://edgehook.test";

async function snapshot(w: World): Promise<Snapshot> {
  const events = [...w.events];
  const deliveries = new Map<string, Dl>();
  const { results } = await env.DB.prepare(DELIVERIES)
    .bind(JSON.stringify(events.map((e) => e.id)))
    .all<{ id: string; event_id: string; webhook_uid: string; status: number; attempt_count: number; created_at: number }>();
  for (const d of results) {
    deliveries.set(d.id, { id: d.id, eventId: d.event_id, webhookUid: d.webhook_uid, status: DELIVERY_STATUSES[d.status]!, attemptCount: d.attempt_count, createdAt: new Date(d.created_at).toISOString() });
  }
  // Webhooks and sources as the admin's GET of each shows them (but its counts, health and
  // rejections: activity, not what a write changes), a deleted one missing; one read of each kind.
  const [hooks, stored] = await Promise.all([webhooksByUid(env.DB, w.webhookUids), Promise.all(w.sourceIds.map((id) => getStoredSource(env.DB, id)))]);
  const hookOf = new Map(hooks.map((h) => [h.uid, h]));
  const webhooks = new Map<string, Wh>();
  for (const uid of w.webhookUids) {
    const h = hookOf.get(uid);
    if (h) webhooks.set(uid, webhookView(h));
  }
  const sources = new Map<string, Src>();
  const tolerance = settings(w.p.env).signatureToleranceSeconds;
  for (const s of stored) if (s) sources.set(s.id, sourceView(s, ORIGIN, tolerance));
  return { events, deliveries, webhooks, sources, locations: await locationOrganizations(env.DB, w.locs) };
}

// ---- the model ----

interface Tok {
  token: string;
  /** Its downstream: the URL it gives the webhooks it makes or changes. */
  key: string;
  scopes: Set<Scope>;
  orgs: string[];
  locs: string[];
  grant: { organizationUids?: string[]; locationUids?: string[] };
}

const has = (t: Tok, s: Scope) => t.scopes.has(s);
const mayRead = (t: Tok, eventType: string) => {
  const scope = DATA_SCOPE_OF[eventType.split(".")[0]!];
  return scope === undefined || has(t, scope);
};
const maySubscribe = (t: Tok, patterns: string[]) =>
  patterns.every((p) => (p === "*" ? DATA_SCOPES.every((s) => has(t, s)) : mayRead(t, p)));

function seesEvent(t: Tok, e: Ev): boolean {
  if (!mayRead(t, e.eventType)) return false;
  return (e.organizationUid !== null && t.orgs.includes(e.organizationUid)) || (e.locationUid !== null && t.locs.includes(e.locationUid));
}

function seesWebhook(t: Tok, w: Wh | undefined, locations: Map<string, string>): boolean {
  if (!w) return false;
  if (w.organizationUid !== null) return t.orgs.includes(w.organizationUid);
  if (w.locationUid === null) return false; // a catch-all
  if (t.locs.includes(w.locationUid)) return true;
  const owner = w.grantOrganizationUid ?? locations.get(w.locationUid);
  return owner !== undefined && t.orgs.includes(owner);
}

function model(t: Tok, s: Snapshot) {
  const events = s.events.filter((e) => seesEvent(t, e));
  const eventIds = new Set(events.map((e) => e.id));
  const webhooks = [...s.webhooks.values()].filter((w) => seesWebhook(t, w, s.locations));
  const webhookUids = new Set(webhooks.map((w) => w.uid));
  const deliveries = [...s.deliveries.values()].filter((d) => eventIds.has(d.eventId) && webhookUids.has(d.webhookUid));
  const sources = [...s.sources.values()].filter((x) => x.organizationUid !== null && t.orgs.includes(x.organizationUid));
  return { events, eventIds, webhooks, webhookUids, deliveries, sources };
}

/**
 * Whether a retry may send a delivery again: not when its webhook was confined to an organization
 * since (a limited token's change) and its event does not name that one (docs/podium.md: "Nobody's
 * retry sends those again: retrying one answers 409 conflict, and a bulk retry leaves them out").
 */
function retryable(s: Snapshot, d: Dl): boolean {
  const hook = s.webhooks.get(d.webhookUid);
  const e = s.events.find((x) => x.id === d.eventId);
  return hook !== undefined && e !== undefined && (hook.grantOrganizationUid === null || e.organizationUid === hook.grantOrganizationUid);
}

/** Routing's match, filters aside (the world has none): types, owner, sources. */
function owed(w: Wh, e: Ev): boolean {
  const typeOk = w.eventTypes.some((p) => p === "*" || (p.endsWith(".*") ? e.eventType.startsWith(p.slice(0, -1)) : p === e.eventType));
  if (!typeOk) return false;
  const ownerOk =
    w.organizationUid !== null
      ? e.organizationUid === w.organizationUid
      : w.locationUid === null ||
        (e.locationUid === w.locationUid && (w.grantOrganizationUid === null || e.organizationUid === w.grantOrganizationUid));
  return ownerOk && (w.sourceIds === null || w.sourceIds.includes(e.sourceId));
}

// ---- building the world ----

async function settle(p: P) {
  await p.deliver();
}

async function makeWorld(r: Rng, seed: number): Promise<World> {
  const p = pipeline();
  const k = `gm${seed}-${uniqueKey()}`;
  const orgs = [0, 1, 2].map((i) => `${k}-o${i}`);
  const locs = [0, 1, 2, 3, 4].map((i) => `${k}-l${i}`);
  const w: World = { p, k, orgs, locs, webhookUids: [], sourceIds: [], senders: [], byEventUid: new Map(), events: [], randomEvent: async () => {} };

  // The admin's source (teaches where locations belong), sources owned by some organizations
  // (the admin's making, and a limited token's), and an ownerless one an unlimited token made (teaches nothing).
  const adminSecret = `admin-${k}`;
  const admin = await p.api("POST", "/v1/sources", { id: `${k}-admin`, name: "admin", provider: "podium", secrets: [adminSecret] });
  expect(admin.status).toBe(201);
  w.senders.push({ source: admin.json.id, secret: adminSecret, owner: null });
  for (const org of orgs) {
    if (!r.chance(0.6)) continue;
    const secret = `owned-${org}`;
    if (r.chance(0.5)) {
      const made = await p.api("POST", "/v1/sources", { id: `${org}-src`, name: org, provider: "podium", secrets: [secret], organizationUid: org });
      expect(made.status).toBe(201);
    } else {
      const maker = await makeToken(p, ["sources:write"], { organizationUids: [org] });
      const made = await as(p, maker.token, "POST", "/v1/sources", { id: `${org}-src`, name: org, provider: "podium", secrets: [secret] });
      expect(made.status).toBe(201);
    }
    w.senders.push({ source: `${org}-src`, secret, owner: org });
  }
  const writer = await makeToken(p, ["sources:write"]);
  const rogueSecret = `rogue-${k}`;
  const rogue = await as(p, writer.token, "POST", "/v1/sources", { id: `${k}-rogue`, name: "rogue", provider: "podium", secrets: [rogueSecret] });
  expect(rogue.status).toBe(201);
  w.senders.push({ source: rogue.json.id, secret: rogueSecret, owner: null });
  w.sourceIds.push(...w.senders.map((s) => s.source));

  // Where locations belong: some learned from the admin's source at the start, some never.
  const home = new Map(locs.map((l) => [l, r.pick(orgs)]));
  const taught = new Set(r.subset(locs, 0.6));

  const ingest = async (sender: World["senders"][number], type: string, org: string | null, loc: string | null) => {
    const eventUid = crypto.randomUUID();
    const id = await p.ingest(body(type, org, loc, eventUid), sender);
    w.byEventUid.set(eventUid, id);
    const e = (await p.api("GET", `/v1/events/${id}`)).json;
    w.events.push({ id, order: w.events.length, sourceId: e.sourceId, eventType: e.eventType, organizationUid: e.organizationUid, locationUid: e.locationUid, receivedAt: e.receivedAt });
    await settle(p);
  };
  for (const loc of taught) await ingest(w.senders[0]!, r.pick(TYPES), home.get(loc)!, loc);

  let hooks = 0;
  const createAdminWebhook = async () => {
    const place = r.int(5);
    const where =
      place < 1 ? { organizationUid: r.pick(orgs) } : place < 4 ? { locationUid: r.pick(locs) } : { sourceIds: [w.sourceIds[0]!, ...r.subset(w.sourceIds.slice(1), 0.6)] };
    const failing = r.chance(0.3);
    const made = await p.createWebhook({
      url: `https://downstream.test/${failing ? "fail" : "ok"}/${k}-w${hooks++}`,
      eventTypes: r.chance(0.3) ? [r.pick(PATTERNS), r.pick(PATTERNS)].filter((x, i, xs) => xs.indexOf(x) === i) : [r.pick(PATTERNS)],
      maxAttempts: 1,
      disabled: r.chance(0.15),
      ...where,
    });
    w.webhookUids.push(made.uid);
  };
  // A location webhook made through an organization's grant (grantOrganizationUid), where the map allows one.
  const createGrantWebhook = async () => {
    const known = await locationOrganizations(env.DB, locs);
    const loc = r.pick(locs);
    const org = known.get(loc);
    if (org === undefined) return;
    const t = await makeToken(p, ["webhooks:write", ...DATA_SCOPES], { organizationUids: [org] });
    const made = await as(p, t.token, "POST", "/v1/webhooks", { url: `https://downstream.test/ok/${k}-w${hooks++}`, eventTypes: [r.pick(PATTERNS)], locationUid: loc, maxAttempts: 1 });
    expect(made.status).toBe(201);
    expect(made.json.grantOrganizationUid).toBe(org);
    w.webhookUids.push(made.json.uid);
  };

  w.randomEvent = async () => {
    if (r.chance(0.2)) {
      // Podium's own word moves a location to another organization.
      const loc = r.pick(locs);
      home.set(loc, r.pick(orgs));
      taught.add(loc);
      return ingest(w.senders[0]!, r.pick(TYPES), home.get(loc)!, loc);
    }
    const sender = r.pick(w.senders);
    const loc = r.chance(0.7) ? r.pick(locs) : null;
    // The admin's source names a taught location's own organization (or none); another source may claim any.
    const org =
      sender === w.senders[0] ? (loc !== null && taught.has(loc) && r.chance(0.6) ? home.get(loc)! : loc === null ? r.pick(orgs) : null) : r.chance(0.8) ? r.pick(orgs) : null;
    return ingest(sender, r.pick(TYPES), org, loc);
  };
  for (let i = 0; i < 3; i++) await createAdminWebhook();
  const steps = 22 + r.int(10);
  for (let i = 0; i < steps; i++) {
    const roll = r.next();
    if (roll < 0.12) await createAdminWebhook();
    else if (roll < 0.17) await createGrantWebhook();
    else if (roll < 0.22 && w.webhookUids.length > 0) {
      const uid = r.pick(w.webhookUids);
      const current = (await p.api("GET", `/v1/webhooks/${uid}`)).json;
      expect((await p.api("PATCH", `/v1/webhooks/${uid}`, { disabled: !current.disabled })).status).toBe(200);
      await settle(p);
    } else await w.randomEvent();
  }
  return w;
}

async function randomToken(w: World, r: Rng): Promise<Tok> {
  // Often one organization's token with most data scopes, as a tenant's would be; else any mix.
  const tenant = r.chance(0.4);
  // (A tenant's organization is one known to hold a location when there is one: where grants reach by the map.)
  const homes = [...(await locationOrganizations(env.DB, w.locs)).values()];
  const orgs = tenant ? [r.pick(homes.length > 0 ? homes : w.orgs)] : r.subset(w.orgs, 0.35);
  let locs = tenant ? [] : r.subset(w.locs, 0.25);
  if (orgs.length === 0 && locs.length === 0) locs = [r.pick(w.locs)];
  const scopes = [...r.subset(API_SCOPES, 0.75), ...r.subset(DATA_SCOPES, tenant ? 0.85 : 0.6)];
  if (scopes.length === 0) scopes.push("events:read");
  const grant = { ...(orgs.length ? { organizationUids: orgs } : {}), ...(locs.length ? { locationUids: locs } : {}) };
  const made = await makeToken(w.p, scopes, grant);
  return { token: made.token, key: `${w.k}-t${uniqueKey()}`, scopes: new Set(scopes), orgs, locs, grant };
}

// ---- reads ----

/** Every item of a list, its cursors walked to the end. */
async function walk(w: World, t: Tok, path: string, limit: number): Promise<Listed[]> {
  const items: Listed[] = [];
  let cursor: string | null = null;
  for (let i = 0; i < 200; i++) {
    const sep = path.includes("?") ? "&" : "?";
    // `path` is any list's: its items are Listed.
    const res: ApiAnswer = await as(w.p, t.token, "GET", `${path}${sep}limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    expect(res.status, path).toBe(200);
    items.push(...res.json.data);
    cursor = res.json.nextCursor;
    if (cursor === null) return items;
  }
  throw new Error(`${path}: the cursor never ended`);
}

/** A listed item, as these checks read it: named by its id (a webhook by its uid). */
type Listed = { id?: string; uid?: string };
const ids = (xs: Listed[]) => xs.map((x) => x.id ?? x.uid);
const sorted = (xs: (string | undefined)[]) => [...xs].sort();

async function checkReads(w: World, t: Tok, s: Snapshot, r: Rng) {
  const m = model(t, s);
  const p = w.p;
  const describeToken = `token ${JSON.stringify({ grant: t.grant, scopes: [...t.scopes] })}`;

  if (!has(t, "events:read")) {
    for (const path of ["/v1/events", "/v1/deliveries", "/v1/stats", `/v1/events/${s.events[0]!.id}`]) {
      const res = await as(p, t.token, "GET", path);
      expect(res.status, `${describeToken} ${path}`).toBe(403);
    }
  } else {
    // Events: no filter (newest first), then each filter and some combinations.
    const newestFirst = (es: Ev[]) => [...es].sort((a, b) => b.order - a.order).map((e) => e.id);
    const all = await walk(w, t, "/v1/events", 1 + r.int(8));
    expect(ids(all), `${describeToken} GET /v1/events`).toEqual(newestFirst(m.events));
    const times = s.events.map((e) => e.receivedAt).sort();
    const filters: Record<string, (e: Ev) => boolean>[] = [];
    const statusOf = (status: string) => (e: Ev) => m.deliveries.some((d) => d.eventId === e.id && d.status === status);
    const one = (kind = r.int(6)) => {
      if (kind === 0) {
        const type = r.pick(TYPES);
        return { [`eventType=${type}`]: (e: Ev) => e.eventType === type };
      }
      if (kind === 1) {
        const src = r.pick(w.sourceIds);
        return { [`sourceId=${src}`]: (e: Ev) => e.sourceId === src };
      }
      if (kind === 2) {
        const loc = r.pick(w.locs);
        return { [`locationUid=${loc}`]: (e: Ev) => e.locationUid === loc };
      }
      if (kind === 3) {
        const org = r.pick(w.orgs);
        return { [`organizationUid=${org}`]: (e: Ev) => e.organizationUid === org };
      }
      if (kind === 4) {
        const status = r.pick(STATUSES);
        return { [`status=${status}`]: statusOf(status) };
      }
      // A range forward in time: a reversed or empty one is refused (strict-input.test.ts).
      const [from = "", to = ""] = [r.pick(times), r.pick(times)].sort();
      const since = from;
      const until = to > from ? to : new Date(Date.parse(from) + 1).toISOString();
      return {
        [`since=${encodeURIComponent(since)}`]: (e: Ev) => e.receivedAt >= since,
        [`until=${encodeURIComponent(until)}`]: (e: Ev) => e.receivedAt < until,
      };
    };
    for (let i = 0; i < 5; i++) filters.push(one());
    for (let i = 0; i < 3; i++) {
      const first = r.int(6);
      filters.push({ ...one(first), ...one((first + 1 + r.int(5)) % 6) });
    }
    // A source the token may not name (deleted, another organization's: namedSources) is refused by name (404), not listed empty.
    const held = new Set([...t.orgs, ...t.locs.flatMap((l) => s.locations.get(l) ?? [])]);
    const nameable = (id: string) => {
      const src = s.sources.get(id);
      return src !== undefined && (src.organizationUid === null || held.has(src.organizationUid));
    };
    const refusedSource = (query: string) => [...query.matchAll(/sourceId=([^&]+)/g)].some(([, id]) => !nameable(id ?? ""));
    // (Reads change nothing: the lists are walked at once, each page after page, then checked in order.)
    const walked = await Promise.all(filters.map(async (f) => {
      const query = Object.keys(f).join("&");
      if (!refusedSource(query)) return walk(w, t, `/v1/events?${query}`, 1 + r.int(8));
      const res = await as(p, t.token, "GET", `/v1/events?${query}`);
      expect([res.status, res.json.error?.code], `${describeToken} GET /v1/events?${query}`).toEqual([404, "not_found"]);
      return null;
    }));
    for (const [i, f] of filters.entries()) {
      const query = Object.keys(f).join("&");
      const got = walked[i];
      if (got === null || got === undefined) continue;
      const want = newestFirst(m.events.filter((e) => Object.values(f).every((ok) => ok(e))));
      expect(ids(got), `${describeToken} GET /v1/events?${query}`).toEqual(want);
    }
    // Search (its text is in every body of the world).
    const found = await walk(w, t, "/v1/events?q=grant%20model", 1 + r.int(8));
    expect(ids(found), `${describeToken} search`).toEqual(newestFirst(m.events));

    // One event: visible ones with their visible deliveries; the others 404.
    const eventReads = await Promise.all(s.events.map((e) => as(p, t.token, "GET", `/v1/events/${e.id}`)));
    for (const [i, e] of s.events.entries()) {
      const res = eventReads[i]!;
      if (!m.eventIds.has(e.id)) {
        expect(res.status, `${describeToken} GET /v1/events/${e.id} ${JSON.stringify(e)}`).toBe(404);
        continue;
      }
      expect(res.status, `${describeToken} GET /v1/events/${e.id}`).toBe(200);
      expect(sorted(ids(res.json.deliveries)), `${describeToken} deliveries of ${e.id}`).toEqual(sorted(m.deliveries.filter((d) => d.eventId === e.id).map((d) => d.id)));
      for (const uid of res.json.filteredOut) expect(m.webhookUids.has(uid)).toBe(true);
    }

    // Deliveries: no filter, each filter, some combinations.
    const dFilters: Record<string, (d: Dl) => boolean>[] = [{}];
    for (const status of STATUSES) dFilters.push({ [`status=${status}`]: (d) => d.status === status });
    for (const uid of w.webhookUids) dFilters.push({ [`webhookUid=${uid}`]: (d) => d.webhookUid === uid });
    for (let i = 0; i < 4; i++) {
      const e = r.pick(s.events);
      dFilters.push({ [`eventId=${e.id}`]: (d) => d.eventId === e.id });
    }
    for (let i = 0; i < 3; i++) {
      const status = r.pick(STATUSES);
      const uid = r.pick(w.webhookUids);
      dFilters.push({ [`status=${status}`]: (d) => d.status === status, [`webhookUid=${uid}`]: (d) => d.webhookUid === uid });
    }
    // A webhook outside the grant is refused by name, as its own routes refuse it (404), not listed empty; so is an event the token does not see.
    const outside = (query: string) =>
      [...query.matchAll(/webhookUid=([^&]+)/g)].some(([, uid]) => !m.webhookUids.has(uid ?? "")) ||
      [...query.matchAll(/eventId=([^&]+)/g)].some(([, id]) => !m.eventIds.has(id ?? ""));
    const dWalked = await Promise.all(dFilters.map(async (f) => {
      const query = Object.keys(f).join("&");
      const limit = 1 + r.int(8);
      if (!outside(query)) return walk(w, t, `/v1/deliveries${query ? `?${query}` : ""}`, limit);
      const res = await as(p, t.token, "GET", `/v1/deliveries?${query}&limit=${limit}`);
      expect(res.status, `${describeToken} GET /v1/deliveries?${query}`).toBe(404);
      return null;
    }));
    for (const [i, f] of dFilters.entries()) {
      const query = Object.keys(f).join("&");
      const got = dWalked[i];
      if (got === null || got === undefined) continue;
      const want = m.deliveries.filter((d) => Object.values(f).every((ok) => ok(d))).map((d) => d.id);
      expect(sorted(ids(got)), `${describeToken} GET /v1/deliveries?${query}`).toEqual(sorted(want));
      expect(new Set(ids(got)).size).toBe(got.length);
    }

    // Stats count what it can list, but for one gap (reported, not fixed): the counters are kept per
    // webhook, so a location webhook the token holds through its organization (the location map)
    // counts its deliveries of events outside the grant too (before the location was known or moved
    // there, or claimed by a source that teaches nothing). Nothing else may be counted.
    const stats = (await as(p, t.token, "GET", "/v1/stats")).json;
    expect(stats.events.total, `${describeToken} stats.events.total`).toBe(m.events.length);
    const counted = [...s.deliveries.values()].filter((d) => {
      const e = s.events.find((x) => x.id === d.eventId)!;
      if (m.deliveries.includes(d)) return true;
      const hook = s.webhooks.get(d.webhookUid);
      return m.webhookUids.has(d.webhookUid) && mayRead(t, e.eventType) && hook!.organizationUid === null && !t.locs.includes(hook!.locationUid!);
    });
    const byStatus = (ds: Dl[]) => Object.fromEntries(STATUSES.map((st) => [st, ds.filter((d) => d.status === st).length]));
    expect(stats.deliveries, `${describeToken} stats.deliveries`).toEqual(byStatus(counted));
    // Dead letters belong to no tenant: a limited token is told none of their numbers.
    expect([stats.deadLetters, stats.parkedDeadLetters], `${describeToken} stats' dead letters`).toEqual(
      has(t, "admin") ? [expect.any(Number), expect.any(Number)] : [null, null],
    );
    if (has(t, "webhooks:read")) {
      expect(sorted(ids(stats.webhooks)), `${describeToken} stats.webhooks`).toEqual(sorted([...m.webhookUids]));
      for (const row of stats.webhooks) {
        const mine = byStatus(counted.filter((d) => d.webhookUid === row.uid));
        expect([row.succeeded, row.failed, row.pending, row.held], `${describeToken} stats of webhook ${row.uid}`).toEqual([mine.succeeded, mine.failed, mine.pending, mine.held]);
      }
    } else expect(stats.webhooks).toEqual([]);
  }

  // Webhooks: the list, and each one (with its count of held deliveries).
  if (!has(t, "webhooks:read")) {
    expect((await as(p, t.token, "GET", "/v1/webhooks")).status).toBe(403);
  } else {
    const listed = await walk(w, t, "/v1/webhooks", 1 + r.int(4));
    expect(sorted(ids(listed)), `${describeToken} GET /v1/webhooks`).toEqual(sorted([...m.webhookUids]));
    // (Each read at once, then checked in order; then each test, which the reads do not see.)
    const hookReads = await Promise.all(w.webhookUids.map((uid) => as(p, t.token, "GET", `/v1/webhooks/${uid}`)));
    for (const [i, uid] of w.webhookUids.entries()) {
      const res = hookReads[i]!;
      expect(res.status, `${describeToken} GET /v1/webhooks/${uid} ${JSON.stringify(s.webhooks.get(uid))}`).toBe(m.webhookUids.has(uid) ? 200 : 404);
      // Its count of held deliveries is the webhook's own (every object's, every event's: store/scheduler-reads.ts),
      // shown to a token holding the data scopes of all its types; to another, not at all.
      if (res.status === 200) {
        const held = [...s.deliveries.values()].filter((d) => d.webhookUid === uid && d.status === "held").length;
        const whole = maySubscribe(t, s.webhooks.get(uid)!.eventTypes);
        expect(res.json.heldDeliveries, `${describeToken} heldDeliveries of ${uid}`).toBe(whole ? held : undefined);
      }
    }
    if (has(t, "events:read")) {
      const tests = w.webhookUids.map((uid) => ({ uid, e: r.pick(s.events) }));
      const tested = await Promise.all(tests.map(({ uid, e }) => as(p, t.token, "POST", `/v1/webhooks/${uid}/test`, { eventId: e.id })));
      for (const [i, { uid, e }] of tests.entries()) {
        expect(tested[i]!.status, `${describeToken} test ${uid} on ${e.id}`).toBe(m.webhookUids.has(uid) && m.eventIds.has(e.id) ? 200 : 404);
      }
    }
  }

  // Sources: those its organizations own.
  if (!has(t, "sources:read")) {
    expect((await as(p, t.token, "GET", "/v1/sources")).status).toBe(403);
  } else {
    const listed = await walk(w, t, "/v1/sources", 1 + r.int(4));
    expect(sorted(ids(listed)), `${describeToken} GET /v1/sources`).toEqual(sorted(ids(m.sources)));
    const sourceIds = [...w.sourceIds, "podium"];
    const sourceReads = await Promise.all(sourceIds.map((id) => Promise.all([as(p, t.token, "GET", `/v1/sources/${id}`), as(p, t.token, "GET", `/v1/sources/${id}/rejections`)])));
    for (const [i, id] of sourceIds.entries()) {
      const owned = m.sources.some((x) => x.id === id) ? 200 : 404;
      const [one, rejections] = sourceReads[i]!;
      expect(one.status, `${describeToken} GET /v1/sources/${id}`).toBe(owned);
      expect(rejections.status, `${describeToken} rejections of ${id}`).toBe(owned);
    }
  }
  // Dead letters and tokens are the admin's.
  expect((await as(p, t.token, "GET", "/v1/dead-letters")).status).toBe(403);
  expect((await as(p, t.token, "GET", "/v1/tokens")).status).toBe(403);
}

// ---- writes ----

/** What changed between two snapshots. */
function changes(before: Snapshot, after: Snapshot) {
  const deliveries = [...after.deliveries.values()].filter((d) => {
    const b = before.deliveries.get(d.id);
    return !b || b.status !== d.status || b.attemptCount !== d.attemptCount;
  });
  const webhooks = [...new Set([...before.webhooks.keys(), ...after.webhooks.keys()])].filter(
    (uid) => JSON.stringify(before.webhooks.get(uid)) !== JSON.stringify(after.webhooks.get(uid)),
  );
  const sources = [...new Set([...before.sources.keys(), ...after.sources.keys()])].filter(
    (id) => JSON.stringify(before.sources.get(id)) !== JSON.stringify(after.sources.get(id)),
  );
  return { deliveries, webhooks, sources };
}

async function randomWrite(w: World, t: Tok, before: Snapshot, r: Rng): Promise<string> {
  const p = w.p;
  const m = model(t, before);
  const allDeliveries = [...before.deliveries.values()];
  const op = r.pick([0, 1, 2, 3, 4, 4, 4, 5, 6, 7]);
  const expectStatus = (res: { status: number; json: unknown }, scope: Scope, allowed: number, refused: number, what: string) => {
    expect(res.status, `${what}: ${JSON.stringify(res.json)}`).toBe(!has(t, scope) ? 403 : allowed === 0 ? refused : allowed);
  };
  const label = (what: string) => `token ${JSON.stringify({ grant: t.grant, scopes: [...t.scopes] })}: ${what}`;

  if (op === 0 && allDeliveries.length > 0) {
    const d = r.pick(allDeliveries);
    const visible = m.deliveries.some((x) => x.id === d.id);
    const res = await as(p, t.token, "POST", `/v1/deliveries/${d.id}/retry`);
    const what = label(`retry ${d.id} ${JSON.stringify(d)}`);
    expectStatus(res, "events:replay", visible ? (retryable(before, d) ? 202 : 409) : 0, 404, what);
    await settle(p);
    const after = await snapshot(w);
    const changed = changes(before, after);
    expect(changed.deliveries.map((x) => x.id), what).toEqual(res.status === 202 && d.status !== "held" ? [d.id] : []);
    return what;
  }
  if (op === 1) {
    const status = r.pick(["failed", "succeeded", "expired", "pending"] as const);
    const uid = r.chance(0.5) ? r.pick(w.webhookUids) : undefined;
    const since = r.chance(0.3) ? r.pick([...before.deliveries.values()].map((d) => d.createdAt)) : undefined;
    const what = label(`bulk retry ${status} ${uid ?? ""} ${since ?? ""}`);
    const want = m.deliveries.filter(
      (d) => d.status === status && (uid === undefined || d.webhookUid === uid) && (since === undefined || d.createdAt >= since) && retryable(before, d),
    );
    let count = 0;
    let cursor: string | undefined;
    for (let i = 0; i < 50; i++) {
      const res = await as(p, t.token, "POST", "/v1/deliveries/retry", { status, ...(uid ? { webhookUid: uid } : {}), ...(since ? { since } : {}), ...(cursor ? { cursor } : {}) });
      // A webhook named outside the grant is no webhook (as a replay to it): 404.
      expectStatus(res, "events:replay", uid !== undefined && !m.webhookUids.has(uid) ? 0 : 202, 404, what);
      if (res.status !== 202) break;
      count += res.json.count;
      cursor = res.json.nextCursor ?? undefined;
      if (!cursor) break;
    }
    await settle(p);
    const changed = changes(before, await snapshot(w));
    expect(sorted(changed.deliveries.map((x) => x.id)), what).toEqual(has(t, "events:replay") ? sorted(want.map((d) => d.id)) : []);
    if (has(t, "events:replay")) expect(count, what).toBe(want.length);
    return what;
  }
  if (op === 2) {
    const e = r.pick(before.events);
    const uid = r.chance(0.5) ? r.pick(w.webhookUids) : undefined;
    const what = label(`replay ${e.id} ${JSON.stringify(e)} to ${uid ?? "all"} ${uid ? JSON.stringify(before.webhooks.get(uid)) : ""}`);
    const res = await as(p, t.token, "POST", `/v1/events/${e.id}/replay`, uid ? { webhookUid: uid } : {});
    const targets = m.webhooks.filter((x) => (uid === undefined || x.uid === uid) && owed(x, e));
    if (!has(t, "events:replay")) expect(res.status, what).toBe(403);
    else if (!m.eventIds.has(e.id) || (uid !== undefined && !m.webhookUids.has(uid))) expect(res.status, what).toBe(404);
    else if (uid !== undefined && targets.length === 0) expect(res.status, what).toBe(409);
    else expect(res, what).toMatchObject({ status: 202, json: { deliveries: targets.length } });
    await settle(p);
    const changed = changes(before, await snapshot(w));
    const made = res.status === 202 ? targets.map((x) => x.uid) : [];
    expect(sorted(changed.deliveries.map((d) => d.webhookUid)), what).toEqual(sorted(made));
    expect(changed.deliveries.every((d) => d.eventId === e.id && !before.deliveries.has(d.id)), what).toBe(true);
    return what;
  }
  if (op === 3) {
    const times = before.events.map((e) => e.receivedAt).sort();
    const since = times[0]!;
    const until = new Date(Date.parse(times.at(-1)!) + 1).toISOString();
    const dryRun = r.chance(0.5);
    const uid = r.chance(0.4) ? r.pick(w.webhookUids) : undefined;
    const eventType = r.chance(0.3) ? r.pick(TYPES) : undefined;
    const what = label(`range replay ${dryRun ? "(dry run)" : ""} to ${uid ?? "all"} of ${eventType ?? "any type"}`);
    const owedTo = m.events
      .filter((e) => eventType === undefined || e.eventType === eventType)
      .map((e) => m.webhooks.filter((x) => (uid === undefined || x.uid === uid) && owed(x, e)));
    const refused = !has(t, "events:replay") ? 403 : uid !== undefined && !m.webhookUids.has(uid) ? 404 : 0;
    let [events, deliveries] = [0, 0];
    let cursor: string | undefined;
    for (let i = 0; i < 100; i++) {
      const res = await as(p, t.token, "POST", "/v1/events/replay", { since, until, dryRun, ...(uid ? { webhookUid: uid } : {}), ...(eventType ? { eventType } : {}), ...(cursor ? { cursor } : {}) });
      expect(res.status, what).toBe(refused || (dryRun ? 200 : 202));
      if (res.status >= 300) break;
      events += res.json.events;
      deliveries += res.json.deliveries;
      cursor = res.json.nextCursor ?? undefined;
      if (!cursor) break;
    }
    await settle(p);
    const changed = changes(before, await snapshot(w));
    const wanted = refused ? 0 : owedTo.flat().length;
    if (!refused) {
      expect([events, deliveries], what).toEqual([owedTo.filter((x) => x.length > 0).length, wanted]);
    }
    expect(changed.deliveries.length, what).toBe(dryRun ? 0 : wanted);
    for (const d of changed.deliveries) expect(m.webhookUids.has(d.webhookUid) && m.eventIds.has(d.eventId), what).toBe(true);
    return what;
  }
  if (op === 4 && w.webhookUids.length > 0) {
    // Mostly one it may change: the changes a grant allows are where one could reach too far.
    const uid = r.chance(0.7) && m.webhooks.length > 0 ? r.pick(m.webhooks).uid : r.pick(w.webhookUids);
    const hook = before.webhooks.get(uid);
    // Its own URL (enabling it as well, now and then: what it held goes there), or only enabled or disabled.
    const change = r.chance(0.7) || !hook ? { url: `https://downstream.test/ok/${t.key}`, ...(r.chance(0.4) ? { disabled: false } : {}) } : { disabled: !hook.disabled };
    const what = label(`PATCH webhook ${uid} ${JSON.stringify(change)} ${JSON.stringify(hook)}`);
    const res = await as(p, t.token, "PATCH", `/v1/webhooks/${uid}`, change);
    const visible = m.webhookUids.has(uid);
    expectStatus(res, "webhooks:write", visible ? (maySubscribe(t, hook!.eventTypes) ? 200 : 403) : 0, 404, what);
    await settle(p);
    const changed = changes(before, await snapshot(w));
    // A change to what it already is writes nothing.
    // (A limited token's change may also confine it to its organization: grantOrganizationUid.)
    const differs =
      hook !== undefined &&
      (Object.entries(change).some(([k, v]) => hook[k as keyof typeof hook] !== v) || (res.status === 200 && res.json.grantOrganizationUid !== hook.grantOrganizationUid));
    expect(changed.webhooks, what).toEqual(res.status === 200 && differs ? [uid] : []);
    // Enabling releases the webhook's held deliveries: its own, and only those.
    for (const d of changed.deliveries) expect(d.webhookUid, what).toBe(uid);
    return what;
  }
  if (op === 5 && w.webhookUids.length > 0) {
    const uid = r.pick(w.webhookUids);
    const hook = before.webhooks.get(uid);
    const what = label(`DELETE webhook ${uid} ${JSON.stringify(hook)}`);
    const res = await as(p, t.token, "DELETE", `/v1/webhooks/${uid}`);
    // As a change: what it was owed of those types would expire.
    expectStatus(res, "webhooks:write", m.webhookUids.has(uid) ? (maySubscribe(t, hook!.eventTypes) ? 204 : 403) : 0, 404, what);
    await settle(p);
    const changed = changes(before, await snapshot(w));
    expect(changed.webhooks, what).toEqual(res.status === 204 ? [uid] : []);
    for (const d of changed.deliveries) expect(d.webhookUid, what).toBe(uid);
    return what;
  }
  if (op === 6) {
    const id = r.pick(w.sourceIds);
    const src = before.sources.get(id);
    const owned = m.sources.some((x) => x.id === id);
    const kind = r.int(3);
    // Never the value it has: a change to what it already is writes nothing (docs/api.md), and this step
    // expects the source changed. Drawn again only then, so a seed's other draws stay as they were.
    const unlike = (current: string | undefined, draw: () => string) => {
      let v = draw();
      while (v === current) v = draw();
      return v;
    };
    const rotated = unlike(w.senders.find((x) => x.source === id)?.secret, () => `rotated-${w.k}-${r.int(1000)}`);
    const what = label(`${["rename", "rotate", "delete"][kind]} source ${id} ${JSON.stringify(src)}`);
    const res =
      kind === 2
        ? await as(p, t.token, "DELETE", `/v1/sources/${id}`)
        : await as(p, t.token, "PATCH", `/v1/sources/${id}`, kind === 0 ? { name: unlike(src?.name, () => `renamed-${r.int(1000)}`) } : { secrets: [rotated] });
    // Changing how a source that teaches is verified, or deleting it, is the admin's alone.
    const allowed = !owned ? 0 : kind > 0 && src!.teachesLocations ? 403 : kind === 2 ? 204 : 200;
    expectStatus(res, "sources:write", allowed, 404, what);
    const changed = changes(before, await snapshot(w));
    expect(changed.sources, what).toEqual(res.status < 300 ? [id] : []);
    if (res.status === 204) w.senders = w.senders.filter((x) => x.source !== id);
    // Events are sent with the secret the source holds.
    if (res.status === 200 && kind === 1) w.senders = w.senders.map((x) => (x.source === id ? { ...x, secret: rotated } : x));
    return what;
  }
  // Create a webhook at a random place.
  const place = r.int(3);
  const loc = r.pick(w.locs);
  const where = place === 0 ? { organizationUid: r.pick(w.orgs) } : place === 1 ? { locationUid: loc } : {};
  const eventTypes = [r.pick(PATTERNS)];
  const what = label(`create webhook ${JSON.stringify(where)} ${JSON.stringify(eventTypes)}`);
  const res = await as(p, t.token, "POST", "/v1/webhooks", { url: `https://downstream.test/ok/${t.key}`, eventTypes, maxAttempts: 1, ...where });
  const known = before.locations.get(loc);
  const inGrant =
    place === 0 ? t.orgs.includes(where.organizationUid!) : place === 1 ? t.locs.includes(loc) || (known !== undefined && t.orgs.includes(known)) : false;
  expectStatus(res, "webhooks:write", maySubscribe(t, eventTypes) && inGrant ? 201 : 0, 403, what);
  if (res.status === 201) {
    expect(res.json.grantOrganizationUid, what).toBe(place === 1 && !t.locs.includes(loc) ? known : null);
    w.webhookUids.push(res.json.uid);
  }
  const changed = changes(before, await snapshot(w));
  expect(changed.webhooks, what).toEqual(res.status === 201 ? [res.json.uid] : []);
  return what;
}

/** What a token's downstream received: only events it may read (its webhooks never carry another's). */
async function checkReceived(w: World, tokens: Tok[], events: Ev[]) {
  for (const t of tokens) {
    for (const got of await received(t.key)) {
      const uid: string = JSON.parse(got.body).metadata.eventUid;
      const e = events.find((x) => x.id === w.byEventUid.get(uid));
      expect(e && seesEvent(t, e), `token ${JSON.stringify({ grant: t.grant, scopes: [...t.scopes] })} received ${JSON.stringify(e)}`).toBe(true);
    }
  }
}

async function runSeed(seed: number) {
  const r = rng(seed);
  const w = await makeWorld(r, seed);
  const done: string[] = [];
  const tokens: Tok[] = [];
  try {
    for (let i = 0; i < 2; i++) {
      const t = await randomToken(w, r);
      tokens.push(t);
      await checkReads(w, t, await snapshot(w), r);
      for (let j = 0; j < 6; j++) {
        done.push(await randomWrite(w, t, await snapshot(w), r));
        // The world goes on: what the token's writes reach must stay within its grant afterwards too.
        if (r.chance(0.8)) await w.randomEvent();
        await checkReceived(w, tokens, w.events);
      }
      await checkReads(w, t, await snapshot(w), r);
    }
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    e.message = `seed ${seed} (after: ${done.join("; ") || "nothing"}): ${e.message}`;
    throw e;
  }
}

describe("a limited token stays inside its grant, by model", () => {
  // 63861: an organization's token re-pointed the admin's location webhook, then received another
  // organization's event there once the location moved (webhooks.ts: a change confines it now).
  // 786623: the model expected a bulk retry to take a succeeded delivery of another organization's
  // event from a webhook a token confined since; the product rightly leaves it out (docs/podium.md).
  it.each([1, 2, 3, 63861, 786623])("seed %i", async (seed) => {
    await runSeed(seed);
  }, 60_000);

  // Fresh worlds each run (four, to keep the suite's minutes in check; the fixed ones above replay).
  it("4 random seeds (the failing one is named)", async () => {
    const base = Math.floor(Math.random() * 1_000_000);
    for (let i = 0; i < 4; i++) await runSeed(base + i);
  }, 300_000);
});
