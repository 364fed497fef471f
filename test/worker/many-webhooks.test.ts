// Operator reads of a deployment with thousands of webhooks: lists of their ids are bound as one
// value or read from their rows, never written into a statement (D1 refuses one over 100 KB,
// which the local runtime enforces: SQLITE_TOOBIG), and a status list over them stays bounded.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { meteredD1 } from "../../bench/d1-meter";
import { ADMIN, ingestMessage, meteredApiCall, pagedList, podiumBody, type Answered } from "./helpers";
import { pipeline, uniqueKey } from "./pipeline";
import { DATA_SCOPES, makeToken } from "./tokens";
import { copyWebhook, settlePending } from "./rows";
import { locationOrganizations, placeLocations } from "../../src/store/locations";
import { DELIVERY_STATUSES } from "../../src/domain/delivery";
import type { components } from "../../cli/src/api";

/** The most D1 rows any operator read may read, whatever the volume stored. */
const MAX_ROWS = 10_000;
const WEBHOOKS = 8_000;
/** What a token holding one webhook reads at most, however many others have: a few dozen rows measured (2026-12-01). */
const OWN_ROWS = 200;

const meter = meteredD1(env.DB);

/**
 * WEBHOOKS webhooks of one organization, copies of one made through the API, and one event of
 * theirs: a pending delivery to each. Names' ids have seven digits, as in a deployment that has
 * stored many names (~13 bytes each in a packed row's path, ~10 in a list).
 */
async function manyWebhooks(o: { catchAll?: boolean } = {}) {
  const p = pipeline();
  const key = uniqueKey();
  const org = `org-${key}`;
  // Owed the event too, outside the organization's grant.
  if (o.catchAll) await p.createWebhook({ url: `https://downstream.test/ok/${key}-all`, eventTypes: ["*"] });
  await env.DB.prepare("INSERT INTO names (id, name) SELECT max(1000000, max(id) + 1), ? FROM names").bind(`pad-${key}`).run();
  const first = await p.createWebhook({ url: `https://downstream.test/ok/${key}`, eventTypes: ["*"], organizationUid: org });
  // Made earlier than the first, so that the event is owed to each.
  await copyWebhook(first.uid, WEBHOOKS);
  await p.runIngest([ingestMessage({ organizationUid: org, body: podiumBody({ organizationUid: org }) })]);
  const { results } = await env.DB.prepare(
    `SELECT 'dlv_' || lower(hex(d.id)) AS id FROM deliveries d JOIN names n ON n.id = d.webhook JOIN webhooks w ON w.uid = n.name WHERE w.organization_uid = ? ORDER BY d.seq DESC`,
  )
    .bind(org)
    .all<{ id: string }>();
  expect(results).toHaveLength(WEBHOOKS);
  return { p, org, deliveries: results.map((r) => r.id) };
}

describe(`reads over ${WEBHOOKS.toLocaleString("en")} webhooks`, () => {
  it(`list every pending delivery by status, each call within ${MAX_ROWS} rows, for the admin`, async () => {
    const { deliveries } = await manyWebhooks();
    // More webhooks with deliveries in the status than a list walks each along its own rows: every delivery, checked.
    const listed = await pagedList<{ id: string; status: string }>(meter, "/v1/deliveries?status=pending&limit=100", { maxRows: MAX_ROWS, maxCalls: 100 });
    expect(listed.data.map((d) => d.id)).toEqual(deliveries);
    expect(listed.data.every((d) => d.status === "pending")).toBe(true);
    for (const status of ["failed", "succeeded"]) {
      const none = await pagedList(meter, `/v1/deliveries?status=${status}&limit=100`, { maxRows: MAX_ROWS, maxCalls: 100 });
      expect(none.data, status).toEqual([]);
    }
  }, 120_000);

  it("answer a token limited to the organization owning them: its deliveries and events by status", async () => {
    const { p, org, deliveries } = await manyWebhooks({ catchAll: true });
    const headers = { authorization: `Bearer ${(await makeToken(p, ["events:read", ...DATA_SCOPES], { organizationUids: [org] })).token}` };
    // Past 800 webhooks (200 for events) its reads test each delivery's webhook against the grant, not a list of the 8,000 (two rows
    // each to read, 25,518 rows for a page of deliveries, 49,518 by status, 24,023 events by status): within the bound.
    for (const path of ["/v1/deliveries?status=pending&limit=100", "/v1/deliveries?limit=100"]) {
      const { data } = await pagedList<{ id: string }>(meter, path, { maxRows: MAX_ROWS, maxCalls: 200, headers });
      expect(data.map((d) => d.id), path).toEqual(deliveries);
    }
    const events = await pagedList<{ organizationUid: string }>(meter, "/v1/events?status=pending&limit=50", { maxRows: MAX_ROWS, maxCalls: 100, headers });
    expect(events.data.map((e) => e.organizationUid)).toEqual([org]);
    const admin = await meteredApiCall(meter, "GET", `/v1/events?status=pending&organizationUid=${org}&limit=50`, undefined, ADMIN);
    expect(admin.rows).toBeLessThanOrEqual(MAX_ROWS);
    expect(admin.json.data.map((e: { organizationUid: string }) => e.organizationUid)).toEqual([org]);
  }, 120_000);

  it(`read for a token limited to another organization only its own webhook: deliveries, events by status, webhooks and stats within ${OWN_ROWS} rows`, async () => {
    const { p, org } = await manyWebhooks();
    const own = `${org}-own`;
    const mine = await p.createWebhook({ url: `https://downstream.test/ok/${own}`, eventTypes: ["*"], organizationUid: own });
    await p.runIngest([ingestMessage({ organizationUid: own, body: podiumBody({ organizationUid: own }) })]);
    const token = await makeToken(p, ["events:read", "webhooks:read", ...DATA_SCOPES], { organizationUids: [own] });
    const headers = { authorization: `Bearer ${token.token}` };
    const read = async <P extends string>(path: P) => {
      const r = await meteredApiCall(meter, "GET", path, undefined, headers);
      expect(r.status, path).toBe(200);
      // Its webhooks found by their owner (migration 0040), not each of the 8,000 others read and checked (~16,000 rows).
      expect(r.rows, path).toBeLessThanOrEqual(OWN_ROWS);
      return r.json;
    };
    for (const path of ["/v1/deliveries?status=pending&limit=100", "/v1/deliveries?limit=100"]) {
      const page = await read(path);
      expect(page.data.map((d: { webhookUid: string; status: string }) => [d.webhookUid, d.status]), path).toEqual([[mine.uid, "pending"]]);
    }
    const events = await read("/v1/events?status=pending&limit=50");
    expect(events.data.map((e: { organizationUid: string }) => e.organizationUid)).toEqual([own]);
    const webhooks = await read("/v1/webhooks?limit=100");
    expect(webhooks.data.map((w: { uid: string }) => w.uid)).toEqual([mine.uid]);
    const stats = await read("/v1/stats");
    expect(stats.webhooks.map((w: { uid: string; pending: number }) => [w.uid, w.pending])).toEqual([[mine.uid, 1]]);
    expect(stats.deliveries.pending).toBe(1);
  }, 120_000);

  it(`answer /v1/stats within ${MAX_ROWS} rows a call: the admin's totals exact and every webhook on one of its pages; a token holding them all, its events counted and its webhooks paged`, async () => {
    const { p, org } = await manyWebhooks();
    const theirs = (await env.DB.prepare("SELECT uid FROM webhooks WHERE organization_uid = ? ORDER BY uid").bind(org).all<{ uid: string }>()).results.map((r) => r.uid);
    const every = (await env.DB.prepare("SELECT uid FROM webhooks WHERE kind = 'webhook' ORDER BY uid").all<{ uid: string }>()).results.map((r) => r.uid);
    const token = await makeToken(p, ["events:read", "webhooks:read", ...DATA_SCOPES], { organizationUids: [org] });
    // Every page of the per-webhook counts, each call within the bound: the first answer and the webhooks of all.
    const pages = async (headers: Record<string, string>) => {
      const webhooks: { uid: string; pending: number }[] = [];
      let first: components["schemas"]["Stats"] | undefined;
      let cursor: string | null = null;
      for (let calls = 1; ; calls++) {
        expect(calls).toBeLessThanOrEqual(1_000);
        const r: Answered<"GET", "/v1/stats"> & { rows: number } = await meteredApiCall(meter, "GET", `/v1/stats${cursor ? `?cursor=${encodeURIComponent(cursor)}` : ""}`, undefined, headers);
        expect(r.status).toBe(200);
        // (Before: every webhook's counters and row read, ~4 rows each: 64,030 for the token at 8,000, the admin's 51,609 at 12,900.)
        expect(r.rows, `call ${calls}`).toBeLessThanOrEqual(MAX_ROWS);
        const page: components["schemas"]["Stats"] = r.json;
        first ??= page;
        webhooks.push(...r.json.webhooks);
        cursor = r.json.webhooksNextCursor;
        if (cursor === null) return { first, webhooks };
      }
    };
    const admin = await pages(ADMIN);
    expect(admin.webhooks.map((w) => w.uid).sort()).toEqual(every);
    const byStatus = (await env.DB.prepare("SELECT status, COUNT(*) AS n FROM deliveries GROUP BY status").all<{ status: number; n: number }>()).results;
    expect(admin.first.deliveries).toEqual(Object.fromEntries(DELIVERY_STATUSES.map((s, i) => [s, byStatus.find((r) => r.status === i)?.n ?? 0])));
    expect(admin.first.series.every((b: { attempts: number | null }) => b.attempts !== null)).toBe(true);

    const limited = await pages({ authorization: `Bearer ${token.token}` });
    expect(limited.webhooks.map((w) => w.uid).sort()).toEqual(theirs);
    expect(limited.webhooks.every((w) => w.pending === 1)).toBe(true);
    // Its event counted from its organization's counters; its deliveries, a webhook's counters each, not summed.
    expect(limited.first.events.total).toBe(1);
    expect(limited.first.deliveries).toBeNull();
    expect(limited.first.series.every((b: { attempts: number | null }) => b.attempts === null)).toBe(true);
    // Named (the dashboard's page of webhooks): each tested against the grant, an outsider's refused by name (404).
    const outsider = await p.createWebhook({ url: "https://downstream.test/ok/outsider", eventTypes: ["*"], organizationUid: `${org}-other` });
    const named = [theirs[0]!, theirs[theirs.length - 1]!];
    const some = await meteredApiCall(meter, "GET", `/v1/stats?webhookUids=${named.join(",")}`, undefined, { authorization: `Bearer ${token.token}` });
    expect(some.rows).toBeLessThanOrEqual(MAX_ROWS);
    expect(some.json.webhooks.map((w: { uid: string }) => w.uid).sort()).toEqual([...named].sort());
    const refused = await meteredApiCall(meter, "GET", `/v1/stats?webhookUids=${[...named, outsider.uid].join(",")}`, undefined, { authorization: `Bearer ${token.token}` });
    expect(refused).toMatchObject({ status: 404, json: { error: { code: "not_found", details: { webhookUids: [outsider.uid] } } } });
    expect(refused.rows).toBeLessThanOrEqual(MAX_ROWS);
  }, 300_000);

  it(`put the webhooks failing now first on /v1/stats (failingFirst) within ${MAX_ROWS} rows, for the admin and a token holding them all, however many fail`, async () => {
    const { p, org } = await manyWebhooks();
    const theirs = (await env.DB.prepare("SELECT uid FROM webhooks WHERE organization_uid = ? ORDER BY uid").bind(org).all<{ uid: string }>()).results.map((r) => r.uid);
    const last = theirs.at(-1)!;
    // Every one failing, the last by uid since last: the first of anyone's a walk of the failing (latest streaks first) comes to.
    await env.DB.prepare(
      `INSERT INTO webhook_health (webhook_uid, consecutive_failures, failing_since, last_failure_at, last_error)
       SELECT uid, 3, CASE WHEN uid = ?1 THEN 3 ELSE 2 END, 3, 'HTTP 500' FROM webhooks WHERE organization_uid = ?2
       ON CONFLICT (webhook_uid) DO UPDATE SET failing_since = excluded.failing_since`,
    )
      .bind(last, org)
      .run();
    const token = await makeToken(p, ["events:read", "webhooks:read", ...DATA_SCOPES], { organizationUids: [org] });
    const rows: Record<string, number> = {};
    for (const [who, headers] of Object.entries({ admin: ADMIN, token: { authorization: `Bearer ${token.token}` } })) {
      const r = await meteredApiCall(meter, "GET", "/v1/stats?failingFirst=true", undefined, headers);
      expect(r.status).toBe(200);
      expect(r.rows, who).toBeLessThanOrEqual(MAX_ROWS);
      rows[who] = r.rows;
      const uids = r.json.webhooks.map((w: { uid: string }) => w.uid);
      // Among the 100 failing, shown the longest failing first: it last.
      expect(uids.indexOf(last), who).toBe(99);
      // Up to 100 failing, then the first page by uid without them (all failing too, here).
      expect(new Set(uids).size).toBe(uids.length);
      expect(uids.length, who).toBeLessThanOrEqual(200);
      expect(r.json.webhooksNextCursor).not.toBeNull();
    }
    console.log("rows read by /v1/stats?failingFirst=true, every one of 8,000 webhooks failing:", rows);
  }, 300_000);

  it(`retry in bulk within ${MAX_ROWS} rows a call, for the admin and a token holding them all, paging to a failed delivery past the first webhooks`, async () => {
    const { p, org } = await manyWebhooks();
    // The webhook with the highest id: the last a walk in webhook order comes to.
    const last = (await env.DB.prepare("SELECT n.name FROM names n JOIN webhooks w ON w.uid = n.name WHERE w.organization_uid = ? ORDER BY n.id DESC LIMIT 1").bind(org).first<string>("name"))!;
    const token = await makeToken(p, ["events:replay", ...DATA_SCOPES], { organizationUids: [org] });
    for (const headers of [ADMIN, { authorization: `Bearer ${token.token}` }]) {
      await settlePending(last, "failed");
      let count = 0;
      let cursor: string | null = null;
      for (let calls = 1; ; calls++) {
        expect(calls).toBeLessThanOrEqual(200);
        const r: Answered<"POST", "/v1/deliveries/retry"> & { rows: number } = await meteredApiCall(meter, "POST", "/v1/deliveries/retry", { status: "failed", ...(cursor ? { cursor } : {}) }, headers);
        expect(r.status).toBe(202);
        // (Before: every counts row from the cursor's for the admin, 12,910 rows at 12,900 webhooks; the token's grant, 32,020 at 8,000.)
        expect(r.rows, `call ${calls}`).toBeLessThanOrEqual(MAX_ROWS);
        count += r.json.count;
        cursor = r.json.nextCursor;
        if (cursor === null) break;
      }
      expect(count).toBe(1);
    }
  }, 300_000);
});

const LOCATIONS = 2_000;
/** What a token of one organization with LOCATIONS locations known reads, holding three location webhooks: ~2,000 more before migration 0057. */
const LOCATED_ROWS = 300;

describe(`reads of a token whose organization has ${LOCATIONS.toLocaleString("en")} locations known`, () => {
  it(`find its location webhooks by their location's organization (kept on their rows), within ${LOCATED_ROWS} rows, following the locations that move`, async () => {
    const p = pipeline();
    const key = uniqueKey();
    const [orgA, orgB] = [`org-${key}-a`, `org-${key}-b`];
    const [movedIn, movedOut, placedLater] = [`loc-${key}-in`, `loc-${key}-out`, `loc-${key}-later`];
    // Placed before the events below (which move them: a later receipt), as learned from events long gone.
    const places = Array.from({ length: LOCATIONS }, (_, i) => ({ locationUid: `loc-${key}-${i}`, organizationUid: orgA }));
    places.push({ locationUid: movedIn, organizationUid: orgB }, { locationUid: movedOut, organizationUid: orgA });
    await placeLocations(env.DB, places, Date.now() - 60_000).run();
    // The admin's (confined to no organization), at a location each; the last's location not known yet.
    const hook = async (locationUid: string) => (await p.createWebhook({ url: `https://downstream.test/ok/${locationUid}`, eventTypes: ["*"], locationUid })).uid;
    const [hookIn, hookOut, hookLater] = [await hook(movedIn), await hook(movedOut), await hook(placedLater)];
    const tokenOf = async (org: string) => ({ authorization: `Bearer ${(await makeToken(p, ["events:read", "webhooks:read", ...DATA_SCOPES], { organizationUids: [org] })).token}` });
    const [a, b] = [await tokenOf(orgA), await tokenOf(orgB)];

    // Events of Podium's (a source that teaches): one at movedOut while still orgA's, then the moves.
    const stayed = await p.ingest(podiumBody({ organizationUid: orgA, locationUid: movedOut }));
    const cameIn = await p.ingest(podiumBody({ organizationUid: orgA, locationUid: movedIn }));
    await p.ingest(podiumBody({ organizationUid: orgB, locationUid: movedOut }));
    await p.ingest(podiumBody({ organizationUid: orgA, locationUid: placedLater }));
    expect(await locationOrganizations(env.DB, [movedIn, movedOut, placedLater])).toEqual(new Map([[movedIn, orgA], [movedOut, orgB], [placedLater, orgA]]));
    for (const uid of [hookIn, hookOut]) await settlePending(uid, "failed");

    const read = async <P extends string>(path: P, headers: Record<string, string>) => {
      const r = await meteredApiCall(meter, "GET", path, undefined, headers);
      expect(r.status, path).toBe(200);
      // (Before 0057: every location of its organization's read, an index entry and a probe each: ~2,000 rows more a read.)
      expect(r.rows, path).toBeLessThanOrEqual(LOCATED_ROWS);
      return r.json;
    };
    const uids = (list: { uid: string }[]) => list.map((w) => w.uid).sort();
    expect(uids((await read("/v1/webhooks?limit=100", a)).data)).toEqual([hookIn, hookLater].sort());
    expect(uids((await read("/v1/stats", a)).webhooks)).toEqual([hookIn, hookLater].sort());
    // Its event whose delivery failed at the webhook still its own; not the one whose webhook's location moved out.
    expect((await read("/v1/events?status=failed&limit=50", a)).data.map((e: { id: string }) => e.id)).toEqual([cameIn]);
    expect(stayed).not.toBe(cameIn);
    // The other organization's token holds the webhook whose location moved in.
    expect(uids((await read("/v1/webhooks?limit=100", b)).data)).toEqual([hookOut]);
    expect(uids((await read("/v1/stats", b)).webhooks)).toEqual([hookOut]);
  }, 120_000);
});
