// The places rows (store/event-places.ts, migration 0036): one per insert group, or small groups
// joined, saying where their events are; the lists by location and organization, and limited
// tokens, walk them.
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { meteredD1 } from "../../bench/d1-meter";
import { newDelivery } from "../../src/domain/delivery";
import { eventIdFor } from "../../src/domain/ids";
import type { IngestMessage } from "../../src/domain/types";
import { insertDeliveries } from "../../src/store/deliveries";
import { DELIVERY_WEBHOOKS } from "../../src/store/delivery-webhooks";
import { PACKED_SPAN } from "../../src/store/packed";
import { RETENTION_START, retentionStep, type RetentionCursor } from "../../src/store/retention";
import { PACKED_ROWS } from "../../src/store/scan";
import { ADMIN, ingestMessage, meteredApiCall, pagedList, podiumBody, type Answered } from "./helpers";
import { DAY, histories, ingestAction, purgeAction, purgeAll } from "./histories";
import { pipeline, uniqueKey } from "./pipeline";
import { packedRecounted, packedStored, placesRecounted, placesStored } from "./recount";
import { makeToken } from "./tokens";

/** The most D1 rows any operator read may read. */
const MAX_ROWS = 10_000;


describe("D1's rows read", () => {
  it("count each element json_each yields, and none for json_extract: a places row is read without json_each", async () => {
    const list = JSON.stringify(Array.from({ length: 100 }, (_, i) => i));
    const each = await env.DB.prepare("SELECT count(*) AS n FROM json_each(?)").bind(list).all();
    const extract = await env.DB.prepare("SELECT json_extract(?, '$[5]', '$[7]') AS x").bind(list).all();
    expect(each.meta.rows_read).toBe(100);
    expect(extract.meta.rows_read).toBe(0);
  });
});

describe("places rows", () => {
  it("equal a recount from the events after any mix of ingests (duplicates, events at no place) and purges, and the migration writes the same", async () => {
    const p = pipeline();
    const key = uniqueKey();
    const orgs = [0, 1, 2].map((i) => `org-${key}-${i}`);
    const locs = [0, 1, 2, 3].map((i) => `loc-${key}-${i}`);
    const stored: IngestMessage[] = [];
    let made = 0;
    const action = fc.oneof(
      { arbitrary: ingestAction, weight: 4 },
      { arbitrary: purgeAction, weight: 1 },
    );
    await histories(
      action,
      async (a, now) => {
        if (a.kind === "purge") return purgeAll(now);
        const msgs: IngestMessage[] = [];
        for (let i = 0; i < a.n; i++) {
          const eventUid = `${key}-${made++}`;
          // Places vary within a batch, some events at none; some are old enough to purge.
          const [org, loc] = [(a.at + i) % 4 === 3 ? null : orgs[(a.at + i) % 3]!, (a.at * 7 + i) % 5 === 4 ? null : locs[(a.at * 7 + i) % 5]!];
          msgs.push({
            ...ingestMessage({ body: podiumBody({ eventUid, organizationUid: org ?? undefined, locationUid: loc ?? undefined }) }),
            eventId: await eventIdFor({ id: "podium", eventSalt: null }, { given: eventUid }),
            dedupeKey: eventUid,
            organizationUid: org,
            locationUid: loc,
            receivedAt: i < a.old ? now - 11 * DAY - i : now - i,
          });
        }
        // A redelivered event, in the batch and later, is stored once: its position has no entry.
        await p.runIngest(a.again && stored.length > 0 ? [stored[0]!, ...msgs, msgs[0]!] : msgs);
        stored.push(...msgs);
      },
      async () => expect(await placesStored(env.DB)).toEqual(await placesRecounted(env.DB)),
    );
    expect(await placesStored(env.DB)).not.toEqual([]);

    // Migration 0036 backfills a row per insert group (ingest joins small ones: rows span more),
    // each what a recount says; run again it adds only what is missing (the groups an older
    // release stored meanwhile) and forgets rows whose events are gone.
    const migration = env.TEST_MIGRATIONS.find((m) => m.name.startsWith("0036_"))!;
    const rerun = () => env.DB.batch(migration.queries.map((q) => env.DB.prepare(q)));
    // The database as before it: no places rows, the block indexes (0024, 0025).
    await env.DB.batch(
      ["DROP TABLE event_places", "CREATE INDEX events_location_block ON events (seq >> 12, location, seq)", "CREATE INDEX events_organization_block ON events (seq >> 12, organization, seq)"].map((q) =>
        env.DB.prepare(q),
      ),
    );
    await rerun();
    const backfilled = await placesStored(env.DB);
    expect(backfilled).toEqual(await placesRecounted(env.DB));
    const groups = await env.DB.prepare("SELECT seq, last FROM contents").all<{ seq: number; last: number }>();
    const isGroup = (r: { seq: number; last: number }) => groups.results.some((g) => g.seq === r.seq && g.last === r.last);
    expect(backfilled.filter((r) => !isGroup(r))).toEqual([]);
    const indexes = await env.DB.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events'").all<{ name: string }>();
    expect(indexes.results.map((r) => r.name)).not.toContain("events_location_block");
    expect(indexes.results.map((r) => r.name)).not.toContain("events_organization_block");
    await env.DB.prepare("DELETE FROM event_places WHERE seq = ?").bind(backfilled[0]!.seq).run();
    await env.DB.prepare("INSERT INTO event_places (seq, last, locations) VALUES ((SELECT max(seq) FROM events) + 10, (SELECT max(seq) FROM events) + 12, '{\"1\":[0]}')").run();
    await rerun();
    expect(await placesStored(env.DB)).toEqual(backfilled);
  }, 60_000); // random histories of D1 transactions: a busy machine takes longer than 5 s (nothing here is timed)

  it("keep the places of an event the purge keeps, a replay of it made between the purge's read and its transaction", async () => {
    const p = pipeline();
    const key = uniqueKey();
    const [org, loc] = [`org-${key}`, `loc-${key}`];
    const hook = await p.createWebhook({ url: `https://example.com/${key}`, eventTypes: ["*"], organizationUid: org });
    const now = Date.now();
    // Two events past the retention in one group (one places row), their deliveries settled.
    const msgs = await Promise.all(
      [0, 1].map(async (i) => ({
        ...ingestMessage({ organizationUid: org, locationUid: loc, body: podiumBody({ eventUid: `${key}-${i}`, organizationUid: org, locationUid: loc }) }),
        eventId: await eventIdFor({ id: "podium", eventSalt: null }, { given: `${key}-${i}` }),
        dedupeKey: `${key}-${i}`,
        organizationUid: org,
        locationUid: loc,
        receivedAt: now - 11 * DAY - i,
      })),
    );
    await p.runIngest(msgs);
    await env.DB.prepare("UPDATE deliveries SET status = 2, next_attempt_at = NULL WHERE status IN (0, 1)").run();
    const kept = msgs[0]!;
    // The purge reads both as candidates; one is replayed before its transaction, which keeps that one.
    const db = new Proxy(env.DB, {
      get(target, prop) {
        if (prop === "batch") {
          return async (stmts: D1PreparedStatement[]) => {
            await insertDeliveries(env.DB, [await newDelivery("replay", { id: kept.eventId, receivedAt: kept.receivedAt }, { uid: hook.uid }, Date.now())]);
            return target.batch(stmts);
          };
        }
        const v: unknown = Reflect.get(target, prop);
        return typeof v === "function" ? v.bind(target) : v;
      },
    });
    for (let from: RetentionCursor | null = RETENTION_START; from; ) {
      from = (await retentionStep(db, { cutoff: now - 10 * DAY, graceCutoff: now + 1, from, limit: 100, now })).next;
    }
    const listed = await p.api("GET", `/v1/events?locationUid=${loc}&limit=100`);
    expect(listed.json.data.map((e: { id: string }) => e.id)).toEqual([kept.eventId]);
    expect(await placesStored(env.DB)).toEqual(await placesRecounted(env.DB));
    expect(await packedStored(env.DB, DELIVERY_WEBHOOKS)).toEqual(await packedRecounted(env.DB, DELIVERY_WEBHOOKS));
  });

  it("join small groups into rows of up to PACKED_SPAN positions, so a walk covers as many events whatever the traffic", async () => {
    const p = pipeline();
    const key = uniqueKey();
    const loc = `loc-${key}`;
    const before = await env.DB.prepare("SELECT count(*) AS n FROM event_places").first<number>("n");
    // 120 batches of 3 events (light traffic: the queue hands over what a quarter second brought).
    for (let b = 0; b < 120; b++) {
      await p.runIngest(Array.from({ length: 3 }, () => ingestMessage({ locationUid: loc, body: podiumBody({ locationUid: loc }) })));
    }
    const rows = (await placesStored(env.DB)).slice(before!);
    expect(rows.length).toBeLessThanOrEqual(Math.ceil(360 / (PACKED_SPAN - 3)) + 1);
    for (const r of rows) expect(r.last - r.seq + 1).toBeLessThanOrEqual(PACKED_SPAN);
    expect(await placesStored(env.DB)).toEqual(await placesRecounted(env.DB));
    // Every event of the location listed, newest first, in one call.
    const meter = meteredD1(env.DB);
    const r = await meteredApiCall(meter, "GET", `/v1/events?locationUid=${loc}&limit=100`);
    expect(r.json.data).toHaveLength(100);

    // A group a release before 0036 stored (its events, no places row) is not spanned by a join,
    // so running the migration again lists it. A starts a row (far past the newest), B joins it and
    // is then taken out of it again, as if an older release had stored B; C must not join across B.
    const three = () => Array.from({ length: 3 }, () => ingestMessage({ locationUid: loc, body: podiumBody({ locationUid: loc }) }));
    await env.DB.prepare(`UPDATE sqlite_sequence SET seq = seq + ${PACKED_SPAN} WHERE name = 'events'`).run();
    await p.runIngest(three());
    const a = (await env.DB.prepare("SELECT seq, last, locations, organizations FROM event_places ORDER BY seq DESC LIMIT 1").first<Record<string, unknown>>())!;
    await p.runIngest(three());
    await env.DB.prepare("UPDATE event_places SET last = ?2, locations = ?3, organizations = ?4 WHERE seq = ?1").bind(a.seq, a.last, a.locations, a.organizations).run();
    await p.runIngest(three());
    const migration = env.TEST_MIGRATIONS.find((m) => m.name.startsWith("0036_"))!;
    await env.DB.batch(migration.queries.map((q) => env.DB.prepare(q)));
    expect(await placesStored(env.DB)).toEqual(await placesRecounted(env.DB));
  });

  it("keep a limited token's status list within its bound behind thousands of other tenants' places rows", async () => {
    const p = pipeline();
    const key = uniqueKey();
    const org = `org-${key}`;
    // Three webhooks owed each event: a status check reads each event's deliveries. A disabled
    // webhook holds the delivery of the organization's oldest event (a message sent), so it has one
    // held delivery, far below the events the list walks first.
    await p.createWebhook({ url: `https://example.com/${key}/held`, eventTypes: ["message.sent"], organizationUid: org, disabled: true });
    const sent = ingestMessage({ eventType: "message.sent", organizationUid: org, body: podiumBody({ organizationUid: org }) });
    await p.runIngest([sent]);
    for (let i = 0; i < 3; i++) await p.createWebhook({ url: `https://example.com/${key}/${i}`, eventTypes: ["message.received"] });
    // Ids as the ingress makes them (a hash: each event's deliveries a narrow range of their own).
    const message = async (i: number) => ({
      ...ingestMessage({ organizationUid: org, body: podiumBody({ organizationUid: org }) }),
      eventId: await eventIdFor({ id: "podium", eventSalt: null }, { given: `${key}-${i}` }),
      dedupeKey: `${key}-${i}`,
    });
    for (let b = 0; b < 12; b++) await p.runIngest(await Promise.all(Array.from({ length: 100 }, (_, i) => message(b * 100 + i))));
    // Newer than them, other tenants' places rows, as many as a call may walk.
    await env.DB.batch([
      env.DB.prepare(
        `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${PACKED_ROWS - 10})
         INSERT INTO event_places (seq, last, organizations) SELECT s.seq + i, s.seq + i, '{"999999":[0]}' FROM n, sqlite_sequence s WHERE s.name = 'events'`,
      ),
      env.DB.prepare(`UPDATE sqlite_sequence SET seq = seq + ${PACKED_ROWS} WHERE name = 'events'`),
    ]);
    const token = (await makeToken(p, ["events:read", "read_messages"], { organizationUids: [org] })).token;
    const meter = meteredD1(env.DB);
    const found: string[] = [];
    let cursor: string | null = null;
    for (let calls = 0; calls < 20; calls++) {
      const r: Answered<"GET", "/v1/events"> & { rows: number } = await meteredApiCall(meter, "GET", `/v1/events?status=held&limit=50${cursor ? `&cursor=${cursor}` : ""}`, undefined, { authorization: `Bearer ${token}` });
      expect(r.status).toBe(200);
      expect(r.rows).toBeLessThanOrEqual(MAX_ROWS);
      found.push(...r.json.data.map((e: { id: string }) => e.id));
      cursor = r.json.nextCursor;
      if (!cursor) break;
    }
    expect(cursor).toBeNull();
    expect(found).toEqual([sent.eventId]);
  });

  it("page a rare location's events through many groups to the end, each call within its bound, and a limited token sees only its own", async () => {
    const p = pipeline();
    const key = uniqueKey();
    const [rare, busy, mine, theirs] = [`loc-${key}-rare`, `loc-${key}-busy`, `org-${key}-mine`, `org-${key}-theirs`];
    // Groups of one (quiet traffic) and of 100 (busy), the rare location in a few of them, far apart.
    const batch = (n: number, rareAt: number | null) =>
      Array.from({ length: n }, (_, i) => {
        const loc = i === rareAt ? rare : busy;
        const org = i % 2 === 0 ? mine : theirs;
        return ingestMessage({ locationUid: loc, organizationUid: org, body: podiumBody({ locationUid: loc, organizationUid: org }) });
      });
    const rareIds: string[] = [];
    const ingest = async (n: number, rareAt: number | null) => {
      const msgs = batch(n, rareAt);
      await p.runIngest(msgs);
      if (rareAt !== null) rareIds.unshift(msgs[rareAt]!.eventId);
    };
    await ingest(100, 3);
    for (let i = 0; i < 30; i++) await ingest(1, i === 10 ? 0 : null);
    for (let i = 0; i < 40; i++) await ingest(100, i % 13 === 0 ? 50 : null);
    // More places rows than a call walks, of groups whose events are gone (at another place):
    // the walk is cut by its bound there, not by its end.
    await env.DB.batch([
      env.DB.prepare(
        `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${PACKED_ROWS + 500})
         INSERT INTO event_places (seq, last, locations) SELECT s.seq + i, s.seq + i, '{"999999":[0]}' FROM n, sqlite_sequence s WHERE s.name = 'events'`,
      ),
      env.DB.prepare(`UPDATE sqlite_sequence SET seq = seq + ${PACKED_ROWS + 500} WHERE name = 'events'`),
    ]);
    await ingest(100, 99);

    const meter = meteredD1(env.DB);
    const pageThrough = async (path: string, headers: Record<string, string> = ADMIN) => {
      const { data, rows, calls } = await pagedList<{ id: string; organizationUid: string }>(meter, path, { maxRows: MAX_ROWS, maxCalls: 50, headers });
      return { ids: data.map((e) => e.id), orgs: data.map((e) => e.organizationUid), rows, calls };
    };
    const found = await pageThrough(`/v1/events?locationUid=${rare}&limit=2`);
    expect(found.ids).toEqual(rareIds);
    expect(found.calls).toBeGreaterThan(rareIds.length / 2); // the bound cut the walk at least once
    console.log("rows read paging a rare location:", found.rows);

    // The busy location, newest first, across groups, as the admin sees them.
    const all = await env.DB.prepare(
      `SELECT e.seq FROM events e JOIN names l ON l.id = e.location JOIN names o ON o.id = e.organization WHERE l.name = ? AND o.name = ? ORDER BY e.seq DESC`,
    ).bind(busy, mine).all<{ seq: number }>();
    const token = (await makeToken(p, ["events:read", "read_messages"], { organizationUids: [mine] })).token;
    const auth = { authorization: `Bearer ${token}` };
    const own = await pageThrough(`/v1/events?locationUid=${busy}&limit=100`, auth);
    expect(own.ids).toHaveLength(all.results.length);
    const ownOrgs = await pageThrough("/v1/events?limit=100", auth);
    expect(new Set(ownOrgs.orgs)).toEqual(new Set([mine]));
    expect(ownOrgs.ids).toHaveLength((await env.DB.prepare("SELECT count(*) AS n FROM events e JOIN names o ON o.id = e.organization WHERE o.name = ?").bind(mine).first<number>("n"))!);
    expect(new Set(ownOrgs.ids).size).toBe(ownOrgs.ids.length);
    // Another organization's events by its name: none, walking no event of it.
    expect((await pageThrough(`/v1/events?organizationUid=${theirs}&limit=100`, auth)).ids).toEqual([]);
  }, 120_000);
});
