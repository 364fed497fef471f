// A status list (`GET /v1/events?status=…`) checks each event it examines against its deliveries:
// the more deliveries each event has, the fewer events a call examines (store/scan.ts,
// rowsBoundedScan), so that a call reads under the bound as each event is owed to more webhooks;
// and each event's check reads its deliveries only to a cap (store/event-deliveries.ts,
// deliveryVerdictOf), so that no step can pass the bound however many an event has.
import { env } from "cloudflare:workers";
import { expect, it } from "vitest";
import { meteredD1 } from "../../bench/d1-meter";
import { eventIdFor } from "../../src/domain/ids";
import { deliveryVerdictOf, deliveryVerdictRows, deliveryVerdictStrays } from "../../src/store/event-deliveries";
import { evtKey } from "../../src/store/delivery-rows";
import { apiIdSql } from "../../src/store/names";
import { statusCode } from "../../src/store/transitions";
import { ADMIN, ingestMessage, pagedList, podiumBody } from "./helpers";
import { pipeline, uniqueKey } from "./pipeline";
import { makeToken } from "./tokens";

/** The most D1 rows any operator read may read. */
const MAX_ROWS = 10_000;

it("examine fewer events a call as each has more deliveries: five webhooks owed every event, each call under the bound, paged to the one match", async () => {
  const p = pipeline();
  const key = uniqueKey();
  const org = `org-${key}`;
  // The oldest event is held for a disabled webhook: the one match, behind every other event.
  await p.createWebhook({ url: `https://example.com/${key}/held`, eventTypes: ["message.sent"], organizationUid: org, disabled: true });
  const sent = { ...ingestMessage({ eventType: "message.sent", organizationUid: org, body: podiumBody({ organizationUid: org }) }), eventId: await eventIdFor("podium", `${key}-sent`), dedupeKey: `${key}-sent` };
  await p.runIngest([sent]);
  for (let i = 0; i < 5; i++) await p.createWebhook({ url: `https://example.com/${key}/${i}`, eventTypes: ["message.received"] });
  // Ids as the ingress makes them (a hash: each event's deliveries a narrow range of their own).
  const message = async (i: number) => ({
    ...ingestMessage({ organizationUid: org, body: podiumBody({ organizationUid: org }) }),
    eventId: await eventIdFor("podium", `${key}-${i}`),
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
    eventId: await eventIdFor("podium", `${key}-${i}`),
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
    eventId: await eventIdFor("podium", `${key}-${i}`),
    dedupeKey: `${key}-${i}`,
  });
  for (let b = 0; b < 4; b++) await p.runIngest(await Promise.all(Array.from({ length: 50 }, (_, i) => message(b * 50 + i))));
  const orgToken = (await makeToken(p, ["events:read", "read_messages"], { organizationUids: [org] })).token;

  // What one event's verdict reads, against what the scan counts on (its own row included):
  // one of those owed the hundred webhooks (and any an earlier test made), and another with its
  // deliveries listed again as strays (as if stored before migration 0034), each at caps below and past them.
  const meter = meteredD1(env.DB);
  const owed = await env.DB.prepare("SELECT event AS seq, count(*) AS n FROM deliveries GROUP BY event ORDER BY n DESC LIMIT 2").all<{ seq: number; n: number }>();
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
    eventId: await eventIdFor("podium", `${key}-${i}`),
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
  expect(rows.filter((r) => r > MAX_ROWS)).toHaveLength(1);
  // Not one of its deliveries failed: not listed (nor any other, none of theirs failed either).
  expect(data).toEqual([]);
  // One of them failing lists it.
  await env.DB.prepare(`UPDATE deliveries SET status = ${statusCode("failed")} WHERE seq = (SELECT max(d.seq) FROM deliveries d JOIN events e ON e.seq = d.event WHERE e.id = ${evtKey("?1")})`).bind(heavy!.eventId).run();
  const again = await pagedList<{ id: string }>(meter, "/v1/events?status=failed&limit=10", { maxRows: MAX_ROWS + 2 * n, maxCalls: 10, headers: { authorization: `Bearer ${orgToken}` } });
  expect(again.data.map((e) => e.id)).toEqual([heavy!.eventId]);
}, 120_000);
