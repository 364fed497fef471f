// A status list (`GET /v1/events?status=…`) checks each event it examines against its deliveries:
// the more deliveries each event has, the fewer events a call examines (store/scan.ts,
// rowsBoundedScan), so that a call reads under the bound as each event is owed to more webhooks;
// and each event's check reads its deliveries only to a cap (store/event-deliveries.ts,
// deliveryVerdictOf), so that no step can pass the bound however many an event has.
import { env } from "cloudflare:workers";
import { expect, it } from "vitest";
import { meteredD1 } from "../../bench/d1-meter";
import { eventIdFor } from "../../src/domain/ids";
import { GRANT_PROBE_ROWS, grantListsJson, grantListsRows, webhookInGrantSql } from "../../src/store/access";
import { deliveryVerdictOf, deliveryVerdictRows, deliveryVerdictStrays } from "../../src/store/event-deliveries";
import { dlvKey, evtKey } from "../../src/store/delivery-rows";
import { apiIdSql } from "../../src/store/names";
import { statusCode } from "../../src/store/transitions";
import { ADMIN, ingestMessage, meteredApiCall, pagedList, podiumBody } from "./helpers";
import { pipeline, uniqueKey } from "./pipeline";
import { makeToken } from "./tokens";

/** The most D1 rows any operator read may read. */
const MAX_ROWS = 10_000;
/** What refusing a deliveries list by a webhook the token may not see reads: the token, the webhook by its key (and its location's organization). */
const OUTSIDE_ROWS = 3;

it("examine fewer events a call as each has more deliveries: five webhooks owed every event, each call under the bound, paged to the one match", async () => {
  const p = pipeline();
  const key = uniqueKey();
  const org = `org-${key}`;
  // The oldest event is held for a disabled webhook: the one match, behind every other event.
  await p.createWebhook({ url: `https://example.com/${key}/held`, eventTypes: ["message.sent"], organizationUid: org, disabled: true });
  const sent = { ...ingestMessage({ eventType: "message.sent", organizationUid: org, body: podiumBody({ organizationUid: org }) }), eventId: await eventIdFor({ id: "podium", eventSalt: null }, { given: `${key}-sent` }), dedupeKey: `${key}-sent` };
  await p.runIngest([sent]);
  for (let i = 0; i < 5; i++) await p.createWebhook({ url: `https://example.com/${key}/${i}`, eventTypes: ["message.received"] });
  // Ids as the ingress makes them (a hash: each event's deliveries a narrow range of their own).
  const message = async (i: number) => ({
    ...ingestMessage({ organizationUid: org, body: podiumBody({ organizationUid: org }) }),
    eventId: await eventIdFor({ id: "podium", eventSalt: null }, { given: `${key}-${i}` }),
    dedupeKey: `${key}-${i}`,
  });
  for (let b = 0; b < 20; b++) await p.runIngest(await Promise.all(Array.from({ length: 100 }, (_, i) => message(b * 100 + i))));
  const orgToken = (await makeToken(p, ["events:read", "read_messages"], { organizationUids: [org] })).token;

  // The admin's walk along the events, and a limited token's along the places rows.
  for (const headers of [ADMIN, { authorization: `Bearer ${orgToken}` }]) {
    const { data } = await pagedList<{ id: string }>(meteredD1(env.DB), "/v1/events?status=held&limit=50", { maxRows: MAX_ROWS, maxCalls: 20, headers });
    expect(data.map((e) => e.id)).toEqual([sent.eventId]);
  }
}, 120_000);

it("size each step by the costliest rate seen, at most half the rows left and twice what was examined: the newest events cheap (no deliveries), the older owed to five webhooks, each call under the bound", async () => {
  const p = pipeline();
  const key = uniqueKey();
  const org = `org-${key}`;
  for (let i = 0; i < 5; i++) await p.createWebhook({ url: `https://example.com/${key}/${i}`, eventTypes: ["message.received"], organizationUid: org });
  const message = async (i: number, eventType: string) => ({
    ...ingestMessage({ eventType, organizationUid: org, body: podiumBody({ organizationUid: org }) }),
    eventId: await eventIdFor({ id: "podium", eventSalt: null }, { given: `${key}-${i}` }),
    dedupeKey: `${key}-${i}`,
  });
  // 1,800 events with five deliveries each, then 300 newer ones no webhook is owed: a first step
  // of those alone once priced the next 1,800 events at a few rows each (over 21,000 rows in one call here).
  for (let b = 0; b < 18; b++) await p.runIngest(await Promise.all(Array.from({ length: 100 }, (_, i) => message(b * 100 + i, "message.received"))));
  for (let b = 18; b < 21; b++) await p.runIngest(await Promise.all(Array.from({ length: 100 }, (_, i) => message(b * 100 + i, "message.sent"))));
  const orgToken = (await makeToken(p, ["events:read", "read_messages"], { organizationUids: [org] })).token;

  for (const headers of [ADMIN, { authorization: `Bearer ${orgToken}` }]) {
    await pagedList(meteredD1(env.DB), "/v1/events?status=held&limit=50", { maxRows: MAX_ROWS, maxCalls: 20, headers });
  }
}, 120_000);

it("cap what one event's deliveries may cost: a hundred webhooks owed every event (~100 rows each), each call under the bound, paged to the end as SQL finds them", async () => {
  const p = pipeline();
  const key = uniqueKey();
  const org = `org-${key}`;
  // Every event goes to a hundred webhooks; one in eight also to a disabled one (held): the one
  // delivery in the status among 101, anywhere in the event's range (ids are hashes).
  for (let i = 0; i < 100; i++) await p.createWebhook({ url: `https://example.com/${key}/${i}`, eventTypes: ["message.received", "message.sent"], organizationUid: org });
  await p.createWebhook({ url: `https://example.com/${key}/held`, eventTypes: ["message.sent"], organizationUid: org, disabled: true });
  const message = async (i: number) => ({
    ...ingestMessage({ eventType: i % 8 === 0 ? "message.sent" : "message.received", organizationUid: org, body: podiumBody({ organizationUid: org }) }),
    eventId: await eventIdFor({ id: "podium", eventSalt: null }, { given: `${key}-${i}` }),
    dedupeKey: `${key}-${i}`,
  });
  for (let b = 0; b < 4; b++) await p.runIngest(await Promise.all(Array.from({ length: 50 }, (_, i) => message(b * 50 + i))));
  const orgToken = (await makeToken(p, ["events:read", "read_messages"], { organizationUids: [org] })).token;

  // What one event's verdict reads, against what the scan counts on (its own row included):
  // one of those owed the hundred webhooks (and any an earlier test made), and another with its
  // deliveries listed again as strays (as if stored before migration 0034), each at caps below and past them.
  const meter = meteredD1(env.DB);
  // (Each with its range to itself: another event received in the same millisecond with the same
  // first two key bytes shares it, and its deliveries count toward the cap, rightly answering 2 early.)
  const owed = await env.DB.prepare(
    `SELECT d.event AS seq, count(*) AS n FROM deliveries d JOIN events e ON e.seq = d.event
     WHERE NOT EXISTS (SELECT 1 FROM events o WHERE o.received_at = e.received_at AND substr(o.id, 1, 2) = substr(e.id, 1, 2) AND o.seq <> e.seq)
     GROUP BY d.event ORDER BY n DESC LIMIT 2`,
  ).all<{ seq: number; n: number }>();
  const [one, two] = owed.results;
  await env.DB.prepare("INSERT INTO stray_deliveries (event, delivery) SELECT ?, seq FROM deliveries WHERE event = ?").bind(two!.seq, one!.seq).run();
  // As the admin's condition (the status), and a limited token's (its webhooks too: an IN list).
  const webhooks = ` AND d.webhook IN (${Array.from({ length: 120 }, (_, i) => i + 1).join(", ")})`;
  for (const [within, probes] of [["", 0], [webhooks, 1]] as const) {
    for (const [event, n, strays] of [[one!.seq, one!.n, 0], [two!.seq, two!.n, one!.n]] as const) {
      for (const cap of [1, 10, n - 1, n, n + 1, 4 * n, 5 * n]) {
        meter.reset();
        const verdict = deliveryVerdictOf("walked.seq", "walked.received_at", "walked.id", `d.status = ${statusCode("failed")}${within}`, cap);
        const row = await meter.db.prepare(`SELECT ${verdict} AS verdict FROM events walked WHERE seq = ?`).bind(event).first<{ verdict: number }>();
        expect(row!.verdict, `cap ${cap} of ${n}`).toBe(cap > n && deliveryVerdictStrays(cap) > strays ? 0 : 2);
        expect(meter.usage.rowsRead, `cap ${cap} of ${n}${within ? " (IN list)" : ""}`).toBeLessThanOrEqual(deliveryVerdictRows(cap, probes));
      }
    }
  }
  await env.DB.prepare("DELETE FROM stray_deliveries WHERE event = ?").bind(two!.seq).run();

  // Held deliveries: one event in eight; failed: none (every event's deliveries read to the end).
  // As SQL finds them: every event for the admin, the organization's for its token.
  for (const status of ["held", "failed"] as const) {
    for (const [headers, ofOrg] of [[ADMIN, null], [{ authorization: `Bearer ${orgToken}` }, org]] as const) {
      const truth = await env.DB.prepare(
        `SELECT ${apiIdSql("evt_", "e.id")} AS id FROM events e
         WHERE EXISTS (SELECT 1 FROM deliveries d WHERE d.event = e.seq AND d.status = ?1) AND (?2 IS NULL OR e.organization = (SELECT id FROM names WHERE name = ?2))
         ORDER BY e.seq DESC`,
      ).bind(statusCode(status), ofOrg).all<{ id: string }>();
      if (ofOrg) expect(truth.results.length).toBe(status === "held" ? 25 : 0);
      const { data, rows } = await pagedList<{ id: string }>(meter, `/v1/events?status=${status}&limit=10`, { maxRows: MAX_ROWS, maxCalls: 40, headers });
      expect(data.map((e) => e.id), status).toEqual(truth.results.map((r) => r.id));
      console.log(`rows read paging status=${status}${ofOrg ? " (organization token)" : ""}:`, rows);
    }
  }
}, 120_000);

it("decide an event too heavy to decide within the bound (replayed to a hundred webhooks sixty times, none in the status) exactly: the one call past the bound reads its deliveries, and it is not listed", async () => {
  const p = pipeline();
  const key = uniqueKey();
  const org = `org-${key}`;
  for (let i = 0; i < 100; i++) await p.createWebhook({ url: `https://example.com/${key}/${i}`, eventTypes: ["message.received"], organizationUid: org });
  const message = async (i: number) => ({
    ...ingestMessage({ organizationUid: org, body: podiumBody({ organizationUid: org }) }),
    eventId: await eventIdFor({ id: "podium", eventSalt: null }, { given: `${key}-${i}` }),
    dedupeKey: `${key}-${i}`,
  });
  const [older, heavy, newer] = await Promise.all([0, 1, 2].map(message));
  for (const m of [older!, heavy!, newer!]) await p.runIngest([m]);
  // Over 6,000 deliveries: more than a call's rows allow to read.
  for (let r = 0; r < 60; r++) expect((await p.api("POST", `/v1/events/${heavy!.eventId}/replay`, {})).status).toBe(202);
  const { n } = (await env.DB.prepare(`SELECT count(*) AS n FROM deliveries d JOIN events e ON e.seq = d.event WHERE e.id = ${evtKey("?1")}`).bind(heavy!.eventId).first<{ n: number }>())!;
  expect(n).toBeGreaterThan(6_000);

  // (The organization's token: the file's other tests leave thousands of events the admin would page through too.)
  const orgToken = (await makeToken(p, ["events:read", "read_messages"], { organizationUids: [org] })).token;
  const meter = meteredD1(env.DB);
  // Past the bound by at most the event's deliveries, each with its probe of the token's webhooks.
  const { data, rows } = await pagedList<{ id: string }>(meter, "/v1/events?status=failed&limit=10", { maxRows: MAX_ROWS + 2 * n, maxCalls: 10, headers: { authorization: `Bearer ${orgToken}` } });
  // (At most one: an exact check of deliveries none of which is in the status reads no list, and may fit.)
  expect(rows.filter((r) => r > MAX_ROWS).length).toBeLessThanOrEqual(1);
  // Not one of its deliveries failed: not listed (nor any other, none of theirs failed either).
  expect(data).toEqual([]);
  // One of them failing lists it.
  await env.DB.prepare(`UPDATE deliveries SET status = ${statusCode("failed")} WHERE seq = (SELECT max(d.seq) FROM deliveries d JOIN events e ON e.seq = d.event WHERE e.id = ${evtKey("?1")})`).bind(heavy!.eventId).run();
  const again = await pagedList<{ id: string }>(meter, "/v1/events?status=failed&limit=10", { maxRows: MAX_ROWS + 2 * n, maxCalls: 10, headers: { authorization: `Bearer ${orgToken}` } });
  expect(again.data.map((e) => e.id)).toEqual([heavy!.eventId]);
}, 120_000);

/** A token's webhooks: thousands, each an id of the list a limited token's status check was given. */
const GRANTED = 6_000;

it(`events by status for a token whose grant holds ${GRANTED} webhooks: each call within ${MAX_ROWS} rows, its pages together exactly the events with a delivery in the status to a webhook within its grant`, async () => {
  const p = pipeline();
  const key = uniqueKey();
  const [org, other] = [`org-${key}`, `other-${key}`];
  const loc = (name: string) => `loc-${key}-${name}`;
  // Held deliveries (disabled webhooks, of message.sent) to webhooks of every kind, within the token's grant
  // (its organization and the location B) or not: where an event is owed only those outside it, it must not be listed.
  const held = async (name: string, owner: Record<string, string>, eventTypes = ["message.sent"]) =>
    [name, (await p.createWebhook({ url: `https://example.com/${key}/held-${name}`, eventTypes, disabled: true, ...owner })).uid] as const;
  const webhooks = new Map([
    await held("org", { organizationUid: org }, ["message.failed"]), // its organization's: within
    await held("other", { organizationUid: other }), // another organization's: outside
    await held("all", {}), // a catch-all: outside
    await held("A", { locationUid: loc("A") }), // a location of its organization: within
    await held("B", { locationUid: loc("B") }), // its location (of another organization): within
    await held("C", { locationUid: loc("C") }), // another organization's location: outside
    await held("E1", { locationUid: loc("E1") }), // moved to another organization, confined to its own: within
    await held("E2", { locationUid: loc("E2") }), // moved to another organization: outside
    await held("F1", { locationUid: loc("F1") }), // of its organization, confined to another: outside
    await held("F2", { locationUid: loc("F2") }), // of its organization: within
  ]);
  const within = ["org", "A", "B", "E1", "F2"].map((n) => webhooks.get(n)!);
  // Five of the organization's webhooks owed every event (pending deliveries besides the held).
  for (let i = 0; i < 5; i++) within.push((await p.createWebhook({ url: `https://example.com/${key}/${i}`, eventTypes: ["message.sent", "message.failed"], organizationUid: org })).uid);
  // Thousands more of the organization's, owed nothing here: copies of one, made cheaply, with their names (the grant finds them by name).
  const pad = await p.createWebhook({ url: `https://example.com/${key}/pad`, eventTypes: ["review.created"], organizationUid: org });
  const columns = (await env.DB.prepare("SELECT name FROM pragma_table_info('webhooks')").all<{ name: string }>()).results.map((r) => r.name);
  await env.DB.prepare(
    `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${GRANTED})
     INSERT INTO webhooks (${columns.join(", ")}) SELECT ${columns.map((c) => (c === "uid" ? "w.uid || '-' || n.i" : `w.${c}`)).join(", ")} FROM webhooks w, n WHERE w.uid = ?`,
  ).bind(pad.uid).run();
  await env.DB.prepare("INSERT OR IGNORE INTO names (name) SELECT uid FROM webhooks WHERE uid LIKE ? || '-%'").bind(pad.uid).run();

  // Events at every place (B2: the token's, of another organization, with no webhook of its own), of either type.
  const places: [string, string | null][] = [[org, loc("A")], [other, loc("B")], [other, loc("B2")], [other, loc("C")], [org, loc("E1")], [org, loc("E2")], [org, loc("F1")], [org, loc("F2")], [org, null]];
  const message = async (i: number) => {
    const [organizationUid, locationUid] = places[i % places.length]!;
    const eventType = i % 4 === 3 ? "message.failed" : "message.sent";
    return {
      ...ingestMessage({ eventType, organizationUid, locationUid, body: podiumBody({ type: eventType, organizationUid, ...(locationUid ? { locationUid } : {}) }) }),
      eventId: await eventIdFor({ id: "podium", eventSalt: null }, { given: `${key}-${i}` }),
      dedupeKey: `${key}-${i}`,
    };
  };
  for (let b = 0; b < 4; b++) await p.runIngest(await Promise.all(Array.from({ length: 100 }, (_, i) => message(b * 100 + i))));
  // Where the locations are now, and the confinements (as a limited token's webhooks get): read when the list is.
  const at = Date.now();
  for (const [l, o] of [["A", org], ["B", other], ["B2", other], ["C", other], ["E1", other], ["E2", other], ["F1", org], ["F2", org]] as const) {
    await env.DB.prepare("INSERT OR REPLACE INTO locations (location_uid, organization_uid, updated_at) VALUES (?, ?, ?)").bind(loc(l), o, at).run();
  }
  await env.DB.prepare("UPDATE webhooks SET grant_organization_uid = ? WHERE uid = ?").bind(org, webhooks.get("E1")).run();
  await env.DB.prepare("UPDATE webhooks SET grant_organization_uid = ? WHERE uid = ?").bind(other, webhooks.get("F1")).run();
  const headers = { authorization: `Bearer ${(await makeToken(p, ["events:read", "read_messages"], { organizationUids: [org], locationUids: [loc("B"), loc("B2")] })).token}` };

  const meter = meteredD1(env.DB);
  for (const status of ["held", "pending"] as const) {
    // As SQL finds them: the events the token sees (its organization's, its locations') with a delivery in the status to one of the webhooks within its grant.
    const truth = (inGrant: boolean) =>
      env.DB.prepare(
        `SELECT ${apiIdSql("evt_", "e.id")} AS id FROM events e
         WHERE (e.organization = (SELECT id FROM names WHERE name = ?1) OR e.location IN (SELECT id FROM names WHERE name IN (?2, ?3)))
           AND EXISTS (SELECT 1 FROM deliveries d JOIN names n ON n.id = d.webhook WHERE d.event = e.seq AND d.status = ?4
             AND (n.name IN (SELECT value FROM json_each(?5))) = ?6)
         ORDER BY e.seq DESC`,
      ).bind(org, loc("B"), loc("B2"), statusCode(status), JSON.stringify(within), inGrant ? 1 : 0).all<{ id: string }>();
    const expected = (await truth(true)).results.map((r) => r.id);
    // (Pending: the organization's five, within the grant, owe it every event of the organization.)
    const pending = (await env.DB.prepare(
      `SELECT ${apiIdSql("evt_", "e.id")} AS id FROM events e WHERE e.organization = (SELECT id FROM names WHERE name = ?1)
         AND EXISTS (SELECT 1 FROM deliveries d WHERE d.event = e.seq AND d.status = ?2) ORDER BY e.seq DESC`,
    ).bind(org, statusCode("pending")).all<{ id: string }>()).results.map((r) => r.id);
    if (status === "pending") expect(expected).toEqual(pending);
    else {
      // Within the grant: the organization's failed, and those sent at A, B, E1, F2; outside it only, those sent at B2, E2, F1 and of no location (another organization's webhook, a catch-all, a location's).
      expect(expected.length).toBeGreaterThan(150);
      const outside = new Set((await truth(false)).results.map((r) => r.id).filter((id) => !expected.includes(id)));
      expect(outside.size).toBeGreaterThan(100);
    }
    const { data, rows } = await pagedList<{ id: string }>(meter, `/v1/events?status=${status}&limit=50`, { maxRows: MAX_ROWS, maxCalls: 60, headers });
    expect(data.map((e) => e.id), status).toEqual(expected);
    console.log(`rows read paging status=${status} (a token of ${GRANTED} webhooks): ${rows.length} calls, at most ${Math.max(...rows)}:`, rows.join(" "));
    // Each event's check of the grant, read to the end: its answer, and its rows within their price (a statement's lists besides).
    const access = { hiddenObjects: [], organizationUids: [org], locationUids: [loc("B"), loc("B2")] };
    const condition = `d.status = ${statusCode(status)} AND ${webhookInGrantSql("d.webhook", 2)}`;
    const events = await env.DB.prepare(
      `SELECT e.seq, ${apiIdSql("evt_", "e.id")} AS id, count(*) AS n FROM events e JOIN deliveries d ON d.event = e.seq
       WHERE e.organization IN (SELECT id FROM names WHERE name IN (?1, ?2)) GROUP BY e.seq ORDER BY e.seq DESC LIMIT 40`,
    ).bind(org, other).all<{ seq: number; id: string; n: number }>();
    for (const e of events.results) {
      meter.reset();
      // (Deep enough for another event's deliveries in its range too: events received in one millisecond may share one.)
      const cap = e.n + 100;
      const verdict = deliveryVerdictOf("walked.seq", "walked.received_at", "walked.id", condition, cap);
      const row = await meter.db.prepare(`SELECT ${verdict} AS verdict FROM events walked WHERE seq = ?1`).bind(e.seq, grantListsJson(access)).first<{ verdict: number }>();
      expect(row!.verdict, `${status} ${e.id}`).toBe(expected.includes(e.id) ? 1 : 0);
      expect(meter.usage.rowsRead).toBeLessThanOrEqual(deliveryVerdictRows(cap, GRANT_PROBE_ROWS) + 2 * grantListsRows(access));
    }
  }

  // Its deliveries lists the same way: those to webhooks within its grant, of events it sees, newest first (by status, of an event, all).
  const deliveries = (status: string | null, event: string | null, webhook: string | null) =>
    env.DB.prepare(
      `SELECT 'dlv_' || lower(hex(d.id)) AS id FROM deliveries d JOIN names n ON n.id = d.webhook JOIN events e ON e.seq = d.event
       WHERE n.name IN (SELECT value FROM json_each(?1)) AND (?2 IS NULL OR d.status = ?2) AND (?3 IS NULL OR e.id = ${evtKey("?3")}) AND (?7 IS NULL OR n.name = ?7)
         AND (e.organization = (SELECT id FROM names WHERE name = ?4) OR e.location IN (SELECT id FROM names WHERE name IN (?5, ?6)))
       ORDER BY d.seq DESC`,
    ).bind(JSON.stringify(within), status === null ? null : statusCode(status as "held"), event, org, loc("B"), loc("B2"), webhook).all<{ id: string }>();
  // An event of the organization's sent at A: owed its webhooks (the five, A's) and a catch-all's.
  const [newest] = (await deliveries("held", null, webhooks.get("A")!)).results;
  const { event: ofEvent } = (await env.DB.prepare(`SELECT ${apiIdSql("evt_", "e.id")} AS event FROM deliveries d JOIN events e ON e.seq = d.event WHERE d.id = ${dlvKey("?1")}`).bind(newest!.id).first<{ event: string }>())!;
  const cases = [
    ["status=held", "held", null, null],
    ["", null, null, null],
    [`eventId=${ofEvent}`, null, ofEvent, null],
    [`eventId=${ofEvent}&webhookUid=${webhooks.get("A")}`, null, ofEvent, webhooks.get("A")!],
  ] as const;
  // The catch-all, owed the event but outside the grant, is refused by name (not an empty page).
  const catchAll = await meteredApiCall(meter, "GET", `/v1/deliveries?eventId=${ofEvent}&webhookUid=${webhooks.get("all")}&limit=100`, undefined, headers);
  expect(catchAll).toMatchObject({ status: 404, json: { error: { code: "not_found" } } });
  for (const [query, status, event, webhook] of cases) {
    const expected = (await deliveries(status, event, webhook)).results.map((r) => r.id);
    expect(expected.length, query).toBe(webhook ? 1 : expected.length || 1);
    const { data, rows } = await pagedList<{ id: string }>(meter, `/v1/deliveries?${query}&limit=100`, { maxRows: MAX_ROWS, maxCalls: 100, headers });
    expect(data.map((d) => d.id), query).toEqual(expected);
    console.log(`rows read paging deliveries?${query} (a token of ${GRANTED} webhooks): ${rows.length} calls, at most ${Math.max(...rows)}`);
  }
}, 300_000);

it("a deliveries list filtered to a webhook outside a token's grant, or none, answers 404 as the webhook's own routes do, in a few rows, whether the token holds a few webhooks or more than are listed", async () => {
  const p = pipeline();
  const key = uniqueKey();
  const [org, other] = [`org-${key}`, `other-${key}`];
  // Another organization's webhook, owed 1,500 events (more than a call walks); and a catch-all owed them too.
  const outside = await p.createWebhook({ url: `https://example.com/${key}/other`, eventTypes: ["message.sent"], organizationUid: other, disabled: true });
  const catchAll = await p.createWebhook({ url: `https://example.com/${key}/all`, eventTypes: ["message.sent"], disabled: true });
  const mine = await p.createWebhook({ url: `https://example.com/${key}/mine`, eventTypes: ["message.sent"], organizationUid: org, disabled: true });
  const message = async (i: number, organizationUid: string) => ({
    ...ingestMessage({ eventType: "message.sent", organizationUid, body: podiumBody({ type: "message.sent", organizationUid }) }),
    eventId: await eventIdFor({ id: "podium", eventSalt: null }, { given: `${key}-${i}` }),
    dedupeKey: `${key}-${i}`,
  });
  for (let b = 0; b < 15; b++) await p.runIngest(await Promise.all(Array.from({ length: 100 }, (_, i) => message(b * 100 + i, i % 50 === 0 ? org : other))));
  const small = { authorization: `Bearer ${(await makeToken(p, ["events:read", "read_messages"], { organizationUids: [org] })).token}` };
  const meter = meteredD1(env.DB);
  // Each filter's answer (the uid left out) and the rows it read, and the deliveries to the token's own webhook.
  const answers = async (headers: Record<string, string>) => {
    const outsideLists: { query: string; status: number; json: unknown; rows: number }[] = [];
    for (const uid of [outside.uid, catchAll.uid, `wh_never_${key}`]) {
      for (const query of [`webhookUid=${uid}`, `webhookUid=${uid}&status=held`]) {
        const r = await meteredApiCall(meter, "GET", `/v1/deliveries?${query}&limit=100`, undefined, headers);
        outsideLists.push({ query: query.replace(uid, "…"), status: r.status, json: JSON.parse(JSON.stringify(r.json).replaceAll(uid, "…")), rows: r.rows });
      }
    }
    const own = await pagedList<{ id: string }>(meter, `/v1/deliveries?webhookUid=${mine.uid}&status=held&limit=100`, { maxRows: MAX_ROWS, maxCalls: 100, headers });
    return { outsideLists, own: own.data.length };
  };
  const before = await answers(small);
  // Each 404, word for word as for a webhook never stored (and as GET /v1/webhooks/{uid}), the webhook read by its key.
  for (const l of before.outsideLists) {
    expect(l, l.query).toMatchObject({ status: 404, json: { error: { code: "not_found", message: 'No webhook "…" (deleted, or not one this token may see).' } } });
    expect(l.rows, l.query).toBeLessThanOrEqual(OUTSIDE_ROWS);
  }
  console.log(`rows read refusing a webhook outside the grant: at most ${Math.max(...before.outsideLists.map((l) => l.rows))}`);
  expect(before.own).toBe(30);
  // The organization's webhooks past those listed: copies of one, with their names.
  const pad = await p.createWebhook({ url: `https://example.com/${key}/pad`, eventTypes: ["review.created"], organizationUid: org });
  const columns = (await env.DB.prepare("SELECT name FROM pragma_table_info('webhooks')").all<{ name: string }>()).results.map((r) => r.name);
  await env.DB.prepare(
    `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000)
     INSERT INTO webhooks (${columns.join(", ")}) SELECT ${columns.map((c) => (c === "uid" ? "w.uid || '-' || n.i" : `w.${c}`)).join(", ")} FROM webhooks w, n WHERE w.uid = ?`,
  ).bind(pad.uid).run();
  await env.DB.prepare("INSERT OR IGNORE INTO names (name) SELECT uid FROM webhooks WHERE uid LIKE ? || '-%'").bind(pad.uid).run();
  const large = { authorization: `Bearer ${(await makeToken(p, ["events:read", "read_messages"], { organizationUids: [org] })).token}` };
  expect(await answers(large)).toEqual(before);
  // To the admin too, a webhook never stored is refused by name; one deleted whose deliveries are kept
  // (until the retention purges them) still lists them, to the admin only, and is retried by no bulk retry.
  const refused = { status: 404, json: { error: { code: "not_found" } } };
  expect(await meteredApiCall(meter, "GET", `/v1/deliveries?webhookUid=wh_never_${key}`)).toMatchObject(refused);
  const kept = (await pagedList<{ id: string }>(meter, `/v1/deliveries?webhookUid=${outside.uid}&limit=100`, { maxRows: MAX_ROWS, maxCalls: 100 })).data.map((d) => d.id);
  expect(kept.length).toBe(1470);
  expect((await p.api("DELETE", `/v1/webhooks/${outside.uid}`)).status).toBe(204);
  const gone = await pagedList<{ id: string }>(meter, `/v1/deliveries?webhookUid=${outside.uid}&limit=100`, { maxRows: MAX_ROWS, maxCalls: 100 });
  expect(gone.data.map((d) => d.id)).toEqual(kept);
  const deletedFirst = await meteredApiCall(meter, "GET", `/v1/deliveries?webhookUid=${outside.uid}&limit=1`);
  expect(deletedFirst.rows).toBeLessThanOrEqual(MAX_ROWS);
  const toToken = await meteredApiCall(meter, "GET", `/v1/deliveries?webhookUid=${outside.uid}`, undefined, small);
  expect(toToken).toMatchObject({ ...refused, json: { error: { message: `No webhook "${outside.uid}" (deleted, or not one this token may see).` } } });
  expect(toToken.rows).toBeLessThanOrEqual(OUTSIDE_ROWS);
  expect(await p.api("POST", "/v1/deliveries/retry", { status: "failed", webhookUid: outside.uid })).toMatchObject(refused);
}, 300_000);
