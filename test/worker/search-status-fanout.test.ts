// A search with a status filter (`GET /v1/events?q=…&status=…`) checks each event it examines
// against its deliveries: with events owed to many webhooks each, a call still reads at most the
// bound (each check capped, store/event-deliveries.ts deliveryVerdictOf; an event not decided
// within the rows left ends the call's range, store/events.ts eventsWithBodies), and its pages
// together answer exactly the events with a delivery in the status, within the token's grant.
import { env } from "cloudflare:workers";
import { expect, it } from "vitest";
import { meteredD1 } from "../../bench/d1-meter";
import { eventIdFor } from "../../src/domain/ids";
import { evtKey } from "../../src/store/delivery-rows";
import { apiIdSql } from "../../src/store/names";
import { statusCode } from "../../src/store/transitions";
import { ADMIN, apiCall, ingestMessage, meteredApiCall, pagedList, podiumBody } from "./helpers";
import { pipeline, uniqueKey } from "./pipeline";
import { makeToken } from "./tokens";

/** The most D1 rows any operator read may read. */
const MAX_ROWS = 10_000;
/** Webhooks of the organization owed every event: ~40 deliveries an event. */
const FAN_OUT = 40;
const EVENTS = 600;

it(`search with a status over events owed to ${FAN_OUT} webhooks each: every call within ${MAX_ROWS} rows, its pages together the exact answer, for the admin and an organization's token`, async () => {
  const p = pipeline();
  const key = uniqueKey();
  const org = `org-${key}`;
  for (let i = 0; i < FAN_OUT; i++) {
    await p.createWebhook({ url: `https://example.com/${key}/${i}`, eventTypes: ["message.received", "message.sent", "message.failed"], organizationUid: org });
  }
  // Held deliveries (disabled webhooks): the organization's own for message.sent, one of no
  // organization (outside the token's grant) for message.failed; one delivery among ~41, anywhere in its event's range.
  await p.createWebhook({ url: `https://example.com/${key}/held-org`, eventTypes: ["message.sent"], organizationUid: org, disabled: true });
  await p.createWebhook({ url: `https://example.com/${key}/held-all`, eventTypes: ["message.failed"], disabled: true });
  // Received after the webhooks were made (else not owed to them), in a window of their own,
  // three to a millisecond (the walk's order is the time, then the position).
  const since = Date.now() + 1000;
  const until = since + 3600_000;
  // Two locations, two events each in turn: a query naming one matches half the events (and of each type).
  const placeOf = (i: number) => `loc-${key}-${i % 4 < 2 ? "a" : "b"}`;
  const typeOf = (i: number) => (i % 10 === 3 ? "message.sent" : i % 10 === 7 ? "message.failed" : "message.received");
  const message = async (i: number) => ({
    ...ingestMessage({ eventType: typeOf(i), organizationUid: org, receivedAt: since + 1000 + Math.floor(i / 3), body: podiumBody({ type: typeOf(i), organizationUid: org, locationUid: placeOf(i) }) }),
    eventId: await eventIdFor({ id: "podium", eventSalt: null }, { given: `${key}-${i}` }),
    dedupeKey: `${key}-${i}`,
  });
  const messages = await Promise.all(Array.from({ length: EVENTS }, (_, i) => message(i)));
  for (let b = 0; b < EVENTS / 100; b++) await p.runIngest(messages.slice(b * 100, b * 100 + 100));
  const atA = new Set(messages.filter((_, i) => placeOf(i).endsWith("-a")).map((m) => m.eventId));
  const orgToken = (await makeToken(p, ["events:read", "read_messages"], { organizationUids: [org] })).token;

  const meter = meteredD1(env.DB);
  const window = `since=${new Date(since).toISOString()}&until=${new Date(until).toISOString()}`;
  // The organization (every event's body names it), and one of its locations (half of the bodies name it).
  for (const [q, location] of [[org, false], [`loc-${key}-a`, true]] as const) {
    for (const status of location ? (["held"] as const) : (["held", "failed"] as const)) {
      for (const [headers, limited] of [[ADMIN, false], [{ authorization: `Bearer ${orgToken}` }, true]] as const) {
        const what = `q=${q} status=${status}${limited ? " (organization token)" : ""}`;
        // As SQL finds them: the window's events of the organization with a delivery in the status (for
        // the token, to one of the organization's webhooks), newest first by received time; those naming the location.
        const truth = await env.DB.prepare(
          `SELECT ${apiIdSql("evt_", "e.id")} AS id FROM events e
           WHERE e.received_at >= ?1 AND e.received_at < ?2 AND e.organization = (SELECT id FROM names WHERE name = ?3)
             AND EXISTS (SELECT 1 FROM deliveries d WHERE d.event = e.seq AND d.status = ?4
               AND (NOT ?5 OR d.webhook IN (SELECT n.id FROM names n JOIN webhooks w ON w.uid = n.name WHERE w.organization_uid = ?3)))
           ORDER BY e.received_at DESC, e.seq DESC`,
        ).bind(since, until, org, statusCode(status), limited ? 1 : 0).all<{ id: string }>();
        const expected = truth.results.map((r) => r.id).filter((id) => !location || atA.has(id));
        expect(expected.length, what).toBe((status === "failed" ? 0 : limited ? EVENTS / 10 : EVENTS / 5) / (location ? 2 : 1));
        const { data, rows } = await pagedList<{ id: string }>(meter, `/v1/events?q=${q}&status=${status}&limit=25&${window}`, { maxRows: MAX_ROWS, maxCalls: 200, headers });
        expect(data.map((e) => e.id), what).toEqual(expected);
        console.log(`rows read searching ${what}: ${rows.length} calls, at most ${Math.max(...rows)}:`, rows.join(" "));
      }
    }
  }
}, 300_000);

it("decide a search's first event too heavy to decide within the bound (replayed to a hundred webhooks sixty times, none in the status) exactly: the one call past the bound reads its deliveries, the search moves on, and it is found once one is in the status", async () => {
  const p = pipeline();
  const key = uniqueKey();
  const org = `org-${key}`;
  for (let i = 0; i < 100; i++) await p.createWebhook({ url: `https://example.com/${key}/${i}`, eventTypes: ["message.received"], organizationUid: org });
  const since = Date.now() + 1000;
  const message = async (i: number) => ({
    ...ingestMessage({ organizationUid: org, receivedAt: since + 1000 + i, body: podiumBody({ organizationUid: org }) }),
    eventId: await eventIdFor({ id: "podium", eventSalt: null }, { given: `${key}-${i}` }),
    dedupeKey: `${key}-${i}`,
  });
  const [older, heavy, newer] = await Promise.all([0, 1, 2].map(message));
  await p.runIngest([older!, heavy!, newer!]);
  // Over 6,000 deliveries: more than a call's rows allow to read.
  for (let r = 0; r < 60; r++) expect((await p.api("POST", `/v1/events/${heavy!.eventId}/replay`, {})).status).toBe(202);
  const { n } = (await env.DB.prepare(`SELECT count(*) AS n FROM deliveries d JOIN events e ON e.seq = d.event WHERE e.id = ${evtKey("?1")}`).bind(heavy!.eventId).first<{ n: number }>())!;
  expect(n).toBeGreaterThan(6_000);

  const orgToken = (await makeToken(p, ["events:read", "read_messages"], { organizationUids: [org] })).token;
  const meter = meteredD1(env.DB);
  const search = `/v1/events?q=${org}&status=failed&limit=10&since=${new Date(since).toISOString()}&until=${new Date(since + 3600_000).toISOString()}`;
  // Past the bound by at most the event's deliveries, each with its probe of the token's webhooks, in the one call that begins with it.
  const headers = { authorization: `Bearer ${orgToken}` };
  const { data, rows } = await pagedList<{ id: string }>(meter, search, { maxRows: MAX_ROWS + 2 * n, maxCalls: 10, headers });
  expect(rows.filter((r) => r > MAX_ROWS)).toHaveLength(1);
  expect(data).toEqual([]);
  // One of its deliveries failing finds it.
  await env.DB.prepare(`UPDATE deliveries SET status = ${statusCode("failed")} WHERE seq = (SELECT min(d.seq) FROM deliveries d JOIN events e ON e.seq = d.event WHERE e.id = ${evtKey("?1")})`).bind(heavy!.eventId).run();
  const again = await pagedList<{ id: string }>(meter, search, { maxRows: MAX_ROWS + 2 * n, maxCalls: 10, headers });
  expect(again.data.map((e) => e.id)).toEqual([heavy!.eventId]);
}, 120_000);

/** A token's webhooks: thousands, each an id of the list its status checks were once given. */
const LISTED = 6_000;

it(`search with a status for a token whose grant holds ${LISTED} webhooks: each check tests its deliveries' webhooks against the grant (a few rows each), not the list of their ids (a row an id, once a statement), so that every call, the grant's read included, stays within the bound`, async () => {
  const p = pipeline();
  const key = uniqueKey();
  const org = `org-${key}`;
  for (let i = 0; i < 20; i++) await p.createWebhook({ url: `https://example.com/${key}/${i}`, eventTypes: ["message.received"], organizationUid: org });
  // One delivery of each event held, within the grant: a check that reads it tests it against the grant.
  await p.createWebhook({ url: `https://example.com/${key}/held`, eventTypes: ["message.received"], organizationUid: org, disabled: true });
  // More of the organization's webhooks, owed nothing here: copies of one, made cheaply, with their names (the grant finds them by name).
  const pad = await p.createWebhook({ url: `https://example.com/${key}/pad`, eventTypes: ["message.sent"], organizationUid: org });
  const columns = (await env.DB.prepare("SELECT name FROM pragma_table_info('webhooks')").all<{ name: string }>()).results.map((r) => r.name);
  const copied = columns.map((c) => (c === "uid" ? "w.uid || '-' || n.i" : `w.${c}`));
  await env.DB.prepare(
    `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${LISTED})
     INSERT INTO webhooks (${columns.join(", ")}) SELECT ${copied.join(", ")} FROM webhooks w, n WHERE w.uid = ?`,
  ).bind(pad.uid).run();
  await env.DB.prepare("INSERT OR IGNORE INTO names (name) SELECT uid FROM webhooks WHERE uid LIKE ? || '-%'").bind(pad.uid).run();
  const since = Date.now() + 1000;
  const messages = await Promise.all(
    Array.from({ length: 200 }, async (_, i) => ({
      ...ingestMessage({ organizationUid: org, receivedAt: since + 1000 + i, body: podiumBody({ organizationUid: org }) }),
      eventId: await eventIdFor({ id: "podium", eventSalt: null }, { given: `${key}-${i}` }),
      dedupeKey: `${key}-${i}`,
    })),
  );
  for (let b = 0; b < 2; b++) await p.runIngest(messages.slice(b * 100, b * 100 + 100));
  const expected = messages.map((m) => m.eventId).reverse();
  const headers = { authorization: `Bearer ${(await makeToken(p, ["events:read", "read_messages"], { organizationUids: [org] })).token}` };

  const meter = meteredD1(env.DB);
  const search = `/v1/events?q=${org}&status=held&limit=100&since=${new Date(since).toISOString()}&until=${new Date(since + 3600_000).toISOString()}`;
  // (With the list, each check read it whole: one event a call, and the grant's read alone ~12,000 rows.)
  const { data, rows } = await pagedList<{ id: string }>(meter, search, { maxRows: MAX_ROWS, maxCalls: 5, headers });
  expect(data.map((e) => e.id)).toEqual(expected);
  console.log(`rows read searching with a status (a token of ${LISTED} webhooks): ${rows.length} calls:`, rows.join(" "));
}, 120_000);

it("a search's first event purged while the call checks its deliveries: decided (no delivery in any status), not the end of the search", async () => {
  const p = pipeline();
  const key = uniqueKey();
  const org = `org-${key}`;
  await p.createWebhook({ url: `https://example.com/${key}/held`, eventTypes: ["message.received"], organizationUid: org, disabled: true });
  const since = Date.now() + 1000;
  const messages = await Promise.all(
    [0, 1, 2].map(async (i) => ({
      ...ingestMessage({ organizationUid: org, receivedAt: since + 1000 + i, body: podiumBody({ organizationUid: org }) }),
      eventId: await eventIdFor({ id: "podium", eventSalt: null }, { given: `${key}-${i}` }),
      dedupeKey: `${key}-${i}`,
    })),
  );
  await p.runIngest(messages);
  const [older, middle, newest] = messages.map((m) => m.eventId);
  const { seq } = (await env.DB.prepare(`SELECT seq FROM events WHERE id = ${evtKey("?1")}`).bind(newest).first<{ seq: number }>())!;
  // The retention's purge deletes the newest (the first the search reads) just before the call's first check of deliveries.
  let purged = false;
  const purging = (stmt: D1PreparedStatement, check: boolean): D1PreparedStatement =>
    new Proxy(stmt, {
      get(target, prop) {
        if (prop === "bind") return (...values: unknown[]) => purging(target.bind(...values), check);
        if (prop === "all" && check && !purged) {
          return async () => {
            purged = true;
            await env.DB.prepare("DELETE FROM events WHERE seq = ?").bind(seq).run();
            return target.all();
          };
        }
        const value = Reflect.get(target, prop);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  const db = new Proxy(env.DB, {
    get(target, prop) {
      if (prop === "prepare") return (sql: string) => purging(target.prepare(sql), sql.includes("AS verdict FROM events e"));
      const value = Reflect.get(target, prop);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  const search = `/v1/events?q=${org}&status=held&limit=10&since=${new Date(since).toISOString()}&until=${new Date(since + 3600_000).toISOString()}`;
  const r = await apiCall({ ...env, DB: db }, "GET", search);
  expect(purged).toBe(true);
  expect(r.status).toBe(200);
  expect(r.json.data.map((e: { id: string }) => e.id)).toEqual([middle, older]);
  expect(r.json.nextCursor).toBeNull();
});

/** The widest grant a token may have (tokens.ts' schema): so many organizations and locations, every one of them stored. */
const WIDEST = 100;

it(`lists and searches with a status for a token of ${WIDEST} organizations and ${WIDEST} locations, all stored, over events owed to ${FAN_OUT} webhooks each: every call within ${MAX_ROWS} rows, the names it looks up and its grant's read included`, async () => {
  const p = pipeline();
  const key = uniqueKey();
  const orgs = Array.from({ length: WIDEST }, (_, i) => `org-${key}-${i}`);
  const locs = Array.from({ length: WIDEST }, (_, i) => `loc-${key}-${i}`);
  for (let i = 0; i < FAN_OUT; i++) await p.createWebhook({ url: `https://example.com/${key}/${i}`, eventTypes: ["message.received"], organizationUid: orgs[0] });
  await p.createWebhook({ url: `https://example.com/${key}/held`, eventTypes: ["message.received"], organizationUid: orgs[0], disabled: true });
  // A webhook at each location, owed nothing here: the grant's read finds them all.
  for (const loc of locs) await p.createWebhook({ url: `https://example.com/${key}/${loc}`, eventTypes: ["message.failed"], locationUid: loc });
  const since = Date.now() + 1000;
  // Each location taught to belong to its organization (and both names stored) by an event owed nothing; then the events owed.
  const taught = locs.map((loc, i) => ({ type: "message.sent", org: orgs[i]!, loc }));
  const owed = Array.from({ length: 600 }, () => ({ type: "message.received", org: orgs[0]!, loc: locs[0]! }));
  const messages = await Promise.all(
    [...taught, ...owed].map(async (e, i) => ({
      ...ingestMessage({ eventType: e.type, organizationUid: e.org, locationUid: e.loc, receivedAt: since + 1000 + i, body: podiumBody({ type: e.type, organizationUid: e.org, locationUid: e.loc }) }),
      eventId: await eventIdFor({ id: "podium", eventSalt: null }, { given: `${key}-${i}` }),
      dedupeKey: `${key}-${i}`,
    })),
  );
  for (let b = 0; b < messages.length; b += 100) await p.runIngest(messages.slice(b, b + 100));
  const expected = messages.slice(WIDEST).map((m) => m.eventId).reverse();
  const headers = { authorization: `Bearer ${(await makeToken(p, ["events:read", "webhooks:read", "read_messages"], { organizationUids: orgs, locationUids: locs })).token}` };

  const meter = meteredD1(env.DB);
  const window = `since=${new Date(since).toISOString()}&until=${new Date(since + 3600_000).toISOString()}`;
  // (A search's time runs to now by default: the window holds these events, received just ahead of the clock.)
  for (const filter of ["", `${window}&`, `q=${orgs[0]}&${window}&`]) {
    for (const status of ["held", "failed"] as const) {
      const what = `${filter}status=${status}`;
      const { data, rows } = await pagedList<{ id: string }>(meter, `/v1/events?${filter}status=${status}&limit=100`, { maxRows: MAX_ROWS, maxCalls: 200, headers });
      expect(data.map((e) => e.id), what).toEqual(status === "held" ? expected : []);
      console.log(`rows read with the widest grant, ${what}: ${rows.length} calls, at most ${Math.max(...rows)}`);
    }
  }
  // Its other reads of the grant: webhooks, deliveries by status, the stats.
  const webhooks = await pagedList<{ uid: string }>(meter, "/v1/webhooks?limit=100", { maxRows: MAX_ROWS, maxCalls: 10, headers });
  expect(webhooks.data).toHaveLength(FAN_OUT + 1 + WIDEST);
  const held = await pagedList<{ id: string }>(meter, "/v1/deliveries?status=held&limit=100", { maxRows: MAX_ROWS, maxCalls: 20, headers });
  expect(held.data).toHaveLength(expected.length);
  const stats = await meteredApiCall(meter, "GET", "/v1/stats", undefined, headers);
  expect(stats.status).toBe(200);
  expect(stats.rows).toBeLessThanOrEqual(MAX_ROWS);
  console.log(`rows read with the widest grant: webhooks at most ${Math.max(...webhooks.rows)}, held deliveries at most ${Math.max(...held.rows)}, stats ${stats.rows}`);
}, 300_000);
