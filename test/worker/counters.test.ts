import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EVENT_TYPES } from "../../src/domain/event-types";
import { eventIdFor } from "../../src/domain/ids";
import type { IngestMessage } from "../../src/domain/types";
import { meteredD1 } from "../../bench/d1-meter";
import { DELTA_FOLD_AGE_MS, runMaintenance } from "../../src/maintenance/cron";
import { attemptCountsStatement, DELTA_JOIN_CHARS, dropEmptyAttemptCountsStatement, foldEventCountDeltas, PENDING_DELTA_CELLS, PENDING_DELTAS, PENDING_PURGE_CELLS, PENDING_PURGES } from "../../src/store/counters";
import { HOUR_MS, SERIES_BUCKET_MS } from "../../src/domain/time";
import { pendingByHour, stats } from "../../src/store/stats";
import { deletedWithOwed, expireHeld } from "../../src/store/deliveries";
import { applyRetentionPurges, RETENTION_START, retentionMark, retentionStep } from "../../src/store/retention";
import { ingestMessage, podiumBody } from "./helpers";
import { pipeline, uniqueKey } from "./pipeline";
import { emptyCounterRows, kept, recounted } from "./recount";
import { as, makeToken } from "./tokens";

const DAY = 86_400_000;
const TYPES = EVENT_TYPES.filter((t) => t.provider === "podium").map((t) => t.type).concat(["unknown"]);

const STATS_SCOPES = ["events:read", "read_messages", "read_contacts", "read_payments", "read_reviews"] as const;
const OF_ORG = "organization = (SELECT id FROM names WHERE name = ?)";
const OF_LOC = "location = (SELECT id FROM names WHERE name = ?)";

/**
 * /v1/stats' events (the total, the last day and the series) equal a recount of the events stored,
 * for the admin and for each limited token (its events: `where`).
 */
async function expectStatsExact(p: ReturnType<typeof pipeline>, limited: { token: string; where: string; binds: string[] }[]) {
  const count = (where: string, ...binds: unknown[]) => env.DB.prepare(`SELECT COUNT(*) AS n FROM events WHERE ${where}`).bind(...binds).first<number>("n");
  for (;;) {
    const bucket = Math.floor(Date.now() / SERIES_BUCKET_MS);
    const answers = [
      { stats: (await p.api("GET", "/v1/stats")).json, where: "true", binds: [] as string[] },
      ...(await Promise.all(limited.map(async (l) => ({ stats: (await as(p, l.token, "GET", "/v1/stats")).json, where: l.where, binds: l.binds })))),
    ];
    if (Math.floor(Date.now() / SERIES_BUCKET_MS) !== bucket) continue; // asked again should a bucket end while asking
    for (const { stats, where, binds } of answers) {
      expect(stats.events.total).toBe(await count(where, ...binds));
      expect(stats.events.last24h).toBe(await count(`${where} AND received_at >= ?`, ...binds, (bucket - 143) * SERIES_BUCKET_MS));
      for (const b of stats.series as { start: string; events: number }[]) {
        const start = Date.parse(b.start);
        expect(b.events, `${where}, ${b.start}`).toBe(await count(`${where} AND received_at >= ? AND received_at < ?`, ...binds, start, start + SERIES_BUCKET_MS));
      }
    }
    return;
  }
}

const action = fc.oneof(
  fc.record({
    kind: fc.constant("ingest" as const),
    n: fc.integer({ min: 1, max: 6 }),
    old: fc.boolean(),
    org: fc.integer({ min: 0, max: 2 }),
    loc: fc.integer({ min: -1, max: 3 }),
    type: fc.integer({ min: 0, max: TYPES.length - 1 }),
    again: fc.boolean(),
  }),
  fc.constantFrom(
    { kind: "deliver" as const },
    { kind: "redeliver" as const },
    { kind: "retry" as const },
    { kind: "disable" as const },
    { kind: "enable" as const },
    { kind: "expire" as const },
    { kind: "purge" as const },
    { kind: "purge-chunk" as const },
    { kind: "replay" as const },
    { kind: "delete-webhook" as const },
  ),
);

describe("counters", () => {
  it("equal a recount after any mix of ingests, deliveries, retries, holds, releases, expiries, replays and purges", async () => {
    const p = pipeline();
    const key = uniqueKey();
    const orgs = [0, 1, 2].map((i) => `org-${key}-${i}`);
    const locs = [0, 1, 2, 3].map((i) => `loc-${key}-${i}`);
    const ok = await p.createWebhook({ url: `https://downstream.test/ok/${key}`, eventTypes: ["*"], organizationUid: orgs[0] });
    const failing = await p.createWebhook({ url: `https://downstream.test/fail/${key}`, eventTypes: ["*"], maxAttempts: 2 });
    let located = (await p.createWebhook({ url: `https://downstream.test/ok/${key}-l`, eventTypes: ["message.*", "review.*"], locationUid: locs[1] })).uid;
    const orgToken = await makeToken(p, [...STATS_SCOPES], { organizationUids: [orgs[1]!] });
    const stored: IngestMessage[] = [];
    let made = 0;
    let waited = 0;
    const count = (where: string, binds: unknown[] = [], table = "events") =>
      env.DB.prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE ${where}`).bind(...binds).first<number>("n");
    const oldIngest = { kind: "ingest" as const, n: 6, old: true, org: 1, loc: 0, type: 0, again: false };

    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 3, maxLength: 10 }), async (actions) => {
        for (const a of actions) {
          const now = Date.now();
          switch (a.kind) {
            case "ingest": {
              const msgs: IngestMessage[] = [];
              for (let i = 0; i < a.n; i++) {
                const eventUid = `${key}-${made++}`;
                const type = TYPES[(a.type + i) % TYPES.length]!;
                const body = podiumBody({ type, eventUid, organizationUid: orgs[(a.org + i) % 3], locationUid: a.loc < 0 ? undefined : locs[a.loc] });
                msgs.push({
                  v: 1,
                  eventId: await eventIdFor({ id: "podium", eventSalt: null }, { given: eventUid }),
                  sourceId: "podium",
                  dedupeKey: eventUid,
                  eventType: type,
                  locationUid: a.loc < 0 ? null : locs[a.loc]!,
                  organizationUid: i % 4 === 3 ? null : orgs[(a.org + i) % 3]!,
                  receivedAt: a.old ? now - 11 * DAY - i : now - i,
                  headers: { "content-type": "application/json" },
                  body,
                });
              }
              // A redelivered message (the same event again, in the batch and later) counts once.
              await p.runIngest(a.again && stored.length > 0 ? [...msgs, stored[0]!, msgs[0]!] : msgs);
              stored.push(...msgs);
              break;
            }
            case "deliver":
              await p.deliver();
              break;
            case "redeliver": {
              // Due retries go out now, from two runners of the same webhooks at once (a scheduler
              // lost mid-run and started again): an attempt both make is recorded once.
              await env.DB.prepare("UPDATE deliveries SET next_attempt_at = 0 WHERE status = 1").run();
              const twin = pipeline();
              for (const q of [p, twin]) q.woken.push(ok.uid, failing.uid, located);
              await Promise.all([p.deliver(), twin.deliver()]);
              break;
            }
            case "retry":
              await p.api("POST", "/v1/deliveries/retry", { status: "failed" });
              break;
            case "disable":
            case "enable":
              await p.api("PATCH", `/v1/webhooks/${ok.uid}`, { disabled: a.kind === "disable" });
              break;
            case "expire":
              await expireHeld(env.DB, now + 1, now);
              break;
            case "purge": {
              let from = RETENTION_START;
              for (;;) {
                const step = await retentionStep(env.DB, { cutoff: now - 10 * DAY, graceCutoff: now + 1, from, limit: 7, now });
                if (!step.next) break;
                from = step.next;
              }
              // The maintenance run's next step: the purges of the hours passed come off the counters.
              await applyRetentionPurges(env.DB);
              break;
            }
            case "purge-chunk":
              // A chunk, whose purge waits (the retention is not past its hour, or another comes first).
              await retentionStep(env.DB, { cutoff: now - 10 * DAY, graceCutoff: now + 1, from: RETENTION_START, limit: 3, now });
              break;
            case "replay":
              if (stored.length > 0) await p.api("POST", `/v1/events/${stored[stored.length - 1]!.eventId}/replay`, {});
              break;
            case "delete-webhook":
              await p.api("DELETE", `/v1/webhooks/${located}`);
              located = (await p.createWebhook({ url: `https://downstream.test/ok/${key}-l`, eventTypes: ["message.*"], locationUid: locs[1] })).uid;
              break;
          }
          // Checked after each action: between a purge and the step that takes it off too.
          const [have, want] = [await kept(env.DB), await recounted(env.DB)];
          expect(have).toEqual(want);
          // Nor does a purge leave rows of zeros behind (hours past the retention would pile up).
          expect(await emptyCounterRows(env.DB)).toBe(0);
          // /v1/stats counts exactly, purges waiting or not: the admin's and an organization's.
          expect((await p.api("GET", "/v1/stats")).json.events.total).toBe(await count("true"));
          expect((await as(p, orgToken.token, "GET", "/v1/stats")).json.events.total).toBe(await count(OF_ORG, [orgs[1]]));
          if (((await count("true", [], "event_count_purges")) ?? 0) > 0) waited++;
        }
      }),
      // (And one history at least in which purges wait: old events purged a chunk at a time.)
      { numRuns: 12, examples: [[[oldIngest, oldIngest, { kind: "purge-chunk" }, { kind: "deliver" }, { kind: "purge-chunk" }, { kind: "purge" }]]] },
    );
    expect(waited).toBeGreaterThan(0);

    // What /v1/stats answers comes from those counters: the same as a recount of what is stored.
    const stats = (await p.api("GET", "/v1/stats")).json;
    const events = await env.DB.prepare("SELECT COUNT(*) AS n FROM events").first<{ n: number }>();
    expect(stats.events.total).toBe(events?.n);
    const byStatus = await env.DB.prepare("SELECT status, COUNT(*) AS n FROM deliveries GROUP BY status").all<{ status: number; n: number }>();
    const statuses = ["held", "pending", "succeeded", "failed", "expired"];
    expect(stats.deliveries).toEqual(Object.fromEntries(statuses.map((s, i) => [s, byStatus.results.find((r) => r.status === i)?.n ?? 0])));
  }, 60_000); // a dozen random histories of D1 transactions: a busy machine takes longer than 5 s (nothing here is timed)

  it("go with the last event they count: the retention leaves no row of zeros for an hour, a scope or a webhook", async () => {
    // Sent, as events within a longer retention are (one past it is never sent); the pass below is given its cutoff.
    const p = pipeline({ RETENTION_DAYS: "30" });
    const { key, org, webhook: hook } = await p.webhookOn("ok");
    const loc = `loc-${key}`;
    await env.DB.prepare("UPDATE webhooks SET created_at = 0 WHERE uid = ?").bind(hook.uid).run(); // it was there when they arrived
    const now = Date.now();
    const msgs: IngestMessage[] = await Promise.all(
      [0, 1, 2].map(async (i) => ({
        v: 1 as const,
        eventId: await eventIdFor({ id: "podium", eventSalt: null }, { given: `${key}-${i}` }),
        sourceId: "podium",
        dedupeKey: `${key}-${i}`,
        eventType: "message.received",
        locationUid: loc,
        organizationUid: org,
        receivedAt: now - 11 * DAY - i * 3_600_000,
        headers: { "content-type": "application/json" },
        body: podiumBody({ type: "message.received", eventUid: `${key}-${i}`, organizationUid: org, locationUid: loc }),
      })),
    );
    await p.runIngest(msgs);
    await foldEventCountDeltas(env.DB); // (their rows counted below are event_counts')
    await p.deliver();
    const rows = async () => {
      const r = await env.DB.prepare(
        `SELECT (SELECT COUNT(*) FROM event_counts WHERE scope IN ((SELECT id FROM names WHERE name = ?1), -(SELECT id FROM names WHERE name = ?2)))
           + (SELECT COUNT(*) FROM attempt_counts WHERE webhook = (SELECT id FROM names WHERE name = ?3)) AS n`,
      )
        .bind(org, loc, hook.uid)
        .first<{ n: number }>();
      return r!.n;
    };
    // Three hours and the total, for the organization and the location; this hour's attempts.
    expect(await rows()).toBe(2 * 4 + 1);
    // (The retention's pass, its mark moving: past these hours once it is done.)
    let from = RETENTION_START;
    for (let step = await retentionStep(env.DB, { cutoff: now - 10 * DAY, graceCutoff: now + 1, from, limit: 2, now, mark: true }); step.next; ) {
      from = step.next;
      step = await retentionStep(env.DB, { cutoff: now - 10 * DAY, graceCutoff: now + 1, from, limit: 2, now, mark: true });
    }
    expect(await env.DB.prepare("SELECT COUNT(*) AS n FROM events WHERE organization = (SELECT id FROM names WHERE name = ?)").bind(org).first("n")).toBe(0);
    // The attempts' rows went with them; the events' go once their purges are taken off, at once.
    expect(await rows()).toBe(2 * 4);
    expect(await kept(env.DB)).toEqual(await recounted(env.DB));
    expect(await applyRetentionPurges(env.DB)).toBeGreaterThan(0);
    expect(await rows()).toBe(0);
    expect(await kept(env.DB)).toEqual(await recounted(env.DB));
  });

  it("of a deleted webhook go with its last delivery, or with it: the maintenance run reads no row for each webhook ever deleted", async () => {
    const p = pipeline();
    const now = Date.now();
    const countRow = (uid: string) => env.DB.prepare("SELECT COUNT(*) AS n FROM delivery_counts WHERE webhook = (SELECT id FROM names WHERE name = ?)").bind(uid).first<number>("n");
    /** The maintenance run's statements that read every delivery_counts row: the rows they read. */
    const perRowReads = async () => {
      const meter = meteredD1(env.DB);
      await expireHeld(meter.db, now - 10 * DAY, now);
      await deletedWithOwed(meter.db, 10);
      return meter.usage.rowsRead;
    };
    const purge = async () => {
      for (let from = RETENTION_START; ; ) {
        // (Their deliveries expired as they were stored, visible until now: no grace left.)
        const step = await retentionStep(env.DB, { cutoff: now - 10 * DAY, graceCutoff: Date.now() + 1, from, limit: 100, now: Date.now() });
        if (!step.next) break;
        from = step.next;
      }
      await applyRetentionPurges(env.DB);
    };
    const before = await perRowReads();
    // Two webhooks, each with a delivery of an event past the retention (expired at once): one deleted before the purge
    // takes it, one after.
    const [first, second] = [await p.createWebhook({ url: `https://downstream.test/ok/${uniqueKey()}`, eventTypes: ["*"], organizationUid: `org-${uniqueKey()}` }),
      await p.createWebhook({ url: `https://downstream.test/ok/${uniqueKey()}`, eventTypes: ["*"], organizationUid: `org-${uniqueKey()}` })];
    for (const w of [first, second]) await env.DB.prepare("UPDATE webhooks SET created_at = 0 WHERE uid = ?").bind(w.uid).run(); // there when they arrived
    await p.runIngest([first, second].map((w) => ingestMessage({ organizationUid: String(w.organizationUid), receivedAt: now - 11 * DAY })));
    expect([await countRow(first.uid), await countRow(second.uid)]).toEqual([1, 1]);
    await p.api("DELETE", `/v1/webhooks/${first.uid}`);
    expect(await countRow(first.uid)).toBe(1); // (its delivery is still stored, and counted)
    await purge();
    expect(await countRow(first.uid), "purged").toBe(0);
    expect(await countRow(second.uid)).toBe(1); // a webhook still there keeps its row
    await p.api("DELETE", `/v1/webhooks/${second.uid}`);
    expect(await countRow(second.uid), "deleted").toBe(0);
    expect(await kept(env.DB)).toEqual(await recounted(env.DB));
    // Was: a row each, read by every maintenance run's expiry of held deliveries (2 rows) and of deleted webhooks' (1).
    expect(await perRowReads()).toBe(before);
    await foldEventCountDeltas(env.DB); // (no pending count left for the tests after)
  });

  it("leave no attempt totals row for an hour once the retention took off its last attempts (migration 0041): no row an hour forever", async () => {
    const p = pipeline();
    const hook = await p.createWebhook({ url: `https://downstream.test/ok/${uniqueKey()}`, eventTypes: ["message.*"] });
    await env.DB.prepare("INSERT INTO names (name) VALUES (?) ON CONFLICT DO NOTHING").bind(hook.uid).run();
    const webhook = (await env.DB.prepare("SELECT id FROM names WHERE name = ?").bind(hook.uid).first<number>("id"))!;
    // An hour of its own, long past (no other test's attempts in it): two attempts, one of them a success.
    const hour = Math.floor((Date.now() - 900 * DAY) / HOUR_MS) - Math.floor(Math.random() * 10_000);
    const rows = `SELECT ?1 AS webhook, 0 AS object, value AS started_at, value % 2 AS ok FROM json_each(?2)`;
    const binds = [webhook, JSON.stringify([hour * HOUR_MS + 1, hour * HOUR_MS + 2])];
    const totalsOf = () => env.DB.prepare("SELECT COUNT(*) AS n FROM attempt_totals WHERE hour = ?").bind(hour).first<number>("n");
    await attemptCountsStatement(env.DB, rows, binds, 1).run();
    expect(await totalsOf()).toBe(1);
    expect(await env.DB.prepare("SELECT a0, ok0 FROM attempt_totals WHERE hour = ?").bind(hour).first()).toEqual({ a0: 2, ok0: 1 });
    // Taken off as the retention's purge does (retention.ts): the counts, then the rows left at zero.
    await env.DB.batch([attemptCountsStatement(env.DB, rows, binds, -1), dropEmptyAttemptCountsStatement(env.DB, rows, binds)]);
    expect(await env.DB.prepare("SELECT COUNT(*) AS n FROM attempt_counts WHERE hour = ?").bind(hour).first<number>("n")).toBe(0);
    expect(await totalsOf()).toBe(0);
    // And the hour counted anew later starts from nothing.
    await attemptCountsStatement(env.DB, rows, binds, 1).run();
    expect(await env.DB.prepare("SELECT a0, ok0 FROM attempt_totals WHERE hour = ?").bind(hour).first()).toEqual({ a0: 2, ok0: 1 });
    await env.DB.batch([attemptCountsStatement(env.DB, rows, binds, -1), dropEmptyAttemptCountsStatement(env.DB, rows, binds)]);
    expect(await emptyCounterRows(env.DB)).toBe(0);
  });

  it("are written by an ingest batch as one row, whatever the places it touches, and read exactly by /v1/stats before they are folded", async () => {
    const key = uniqueKey();
    const meter = meteredD1(env.DB);
    const p = pipeline({ DB: meter.db });
    const [org, loc] = [`org-${key}-0`, `loc-${key}-0`];
    const now = Date.now();
    // 100 events at 40 locations of 20 organizations, over the last seven hours (the series' six
    // and an hour before it), a tenth of them at the place the tokens below are limited to.
    const msgs: IngestMessage[] = await Promise.all(
      Array.from({ length: 100 }, async (_, i) => {
        const [o, l] = [`org-${key}-${i % 20}`, `loc-${key}-${i % 40}`];
        const type = TYPES[i % TYPES.length]!;
        return {
          v: 1 as const,
          eventId: await eventIdFor({ id: "podium", eventSalt: null }, { given: `${key}-${i}` }),
          sourceId: "podium",
          dedupeKey: `${key}-${i}`,
          eventType: type,
          locationUid: i % 10 === 0 ? loc : l,
          organizationUid: i % 10 === 0 ? org : o,
          receivedAt: now - i * 4 * 60_000,
          headers: { "content-type": "application/json" },
          body: podiumBody({ type, eventUid: `${key}-${i}`, organizationUid: o, locationUid: l }),
        };
      }),
    );
    const counterRows = () => env.DB.prepare("SELECT COUNT(*) AS n, total(n0 + n6 + n12 + n18 + n24) AS sum FROM event_counts").first();
    const before = await counterRows();
    const pending = () => env.DB.prepare("SELECT COUNT(*) AS n FROM event_count_deltas").first<number>("n");
    const pendingBefore = await pending();
    meter.reset();
    await p.runIngest(msgs);
    // The counters' statement wrote one row (D1's meta), the batch's delta; no event_counts row changed.
    const counting = Object.entries(meter.usage.bySql).filter(([sql]) => sql.startsWith("WITH r AS MATERIALIZED"));
    expect(counting.map(([, s]) => s.rowsWritten)).toEqual([1]);
    expect(await counterRows()).toEqual(before);
    expect(await pending()).toBe(pendingBefore! + 1);
    expect(pendingBefore! + 1).toBeLessThan(PENDING_DELTAS);

    // /v1/stats adds what is pending: the total, the last day and the series equal a recount, for
    // the admin and for tokens limited to an organization and a location.
    const orgToken = await makeToken(p, [...STATS_SCOPES], { organizationUids: [org] });
    const locToken = await makeToken(p, [...STATS_SCOPES], { locationUids: [loc] });
    const count = (where: string, ...binds: unknown[]) => env.DB.prepare(`SELECT COUNT(*) AS n FROM events WHERE ${where}`).bind(...binds).first<number>("n");
    const expectExact = () => expectStatsExact(p, [{ token: orgToken.token, where: OF_ORG, binds: [org] }, { token: locToken.token, where: OF_LOC, binds: [loc] }]);
    expect(await count(OF_LOC, loc)).toBe(10);
    await expectExact();
    // And the same once they are folded.
    await foldEventCountDeltas(env.DB);
    expect(await pending()).toBe(0);
    expect(await counterRows()).not.toEqual(before);
    await expectExact();
    expect(await kept(env.DB)).toEqual(await recounted(env.DB));
  });

  it("are taken off by the retention a chunk to a row, and an hour's purges at once: a row written per counter row", async () => {
    const key = uniqueKey();
    const meter = meteredD1(env.DB);
    const p = pipeline({ DB: meter.db });
    const now = Date.now();
    // (What earlier tests left past the retention purged and taken off: what is measured below is this test's.)
    for (let pass = 0; pass < 2; pass++) {
      for (let from = RETENTION_START, step; (step = await retentionStep(env.DB, { cutoff: now - 10 * DAY, graceCutoff: now + 1, from, limit: 50, now })).next; ) from = step.next;
    }
    await applyRetentionPurges(env.DB);
    expect(await env.DB.prepare("SELECT COUNT(*) AS n FROM event_count_purges").first<number>("n")).toBe(0);
    // 60 events in an hour of their own, at 20 locations of 10 organizations, counted in event_counts.
    const hour = Math.floor((now - 30 * DAY) / HOUR_MS);
    const msgs = Array.from({ length: 60 }, (_, i) =>
      ingestMessage({ dedupeKey: `${key}-${i}`, organizationUid: `org-${key}-${i % 10}`, locationUid: `loc-${key}-${i % 20}`, receivedAt: hour * HOUR_MS + i * 50_000 }),
    );
    await p.runIngest(msgs);
    await foldEventCountDeltas(env.DB);
    const hourRows = () => env.DB.prepare("SELECT * FROM event_counts WHERE hour = ? ORDER BY scope, owner").bind(hour).all();
    const before = (await hourRows()).results;
    expect(before.length).toBe(1 + 10 + 20);
    const totalsBefore = await env.DB.prepare("SELECT COUNT(*) AS n FROM event_counts WHERE hour = -1").first<number>("n");

    // Three chunks of the hour: each writes its counts as one row, and no counter row.
    let from = { receivedAt: hour * HOUR_MS - 1, seq: Number.MAX_SAFE_INTEGER };
    for (let chunk = 0; chunk < 3; chunk++) {
      meter.reset();
      const step = await retentionStep(meter.db, { cutoff: (hour + 1) * HOUR_MS, graceCutoff: now + 1, from, limit: 20, now });
      expect(step.purged).toBe(20);
      const counting = Object.entries(meter.usage.bySql).filter(([sql]) => sql.startsWith("WITH r AS MATERIALIZED"));
      expect(counting.map(([, st]) => [st.runs, st.rowsWritten])).toEqual([[1, 1]]);
      from = step.next ?? from;
    }
    expect((await hourRows()).results).toEqual(before);
    expect(await env.DB.prepare("SELECT COUNT(*) AS n FROM event_count_purges WHERE last_hour = ?").bind(hour).first<number>("n")).toBe(3);
    expect(await kept(env.DB)).toEqual(await recounted(env.DB));

    // Taken off at once: each of the hour's rows deleted (and each total row of theirs, when the
    // hour is in the totals, updated or deleted), a row written each, and the three purges deleted.
    const marks = await env.DB.prepare("SELECT after, through FROM event_count_marks").first<{ after: number; through: number }>();
    const inTotals = hour > marks!.after && hour <= marks!.through;
    meter.reset();
    expect(await applyRetentionPurges(meter.db)).toBeGreaterThanOrEqual(3);
    expect((await hourRows()).results).toEqual([]);
    // (Ingest's pending counts folded first, should any reach that hour: not this test's.)
    const folded = Object.entries(meter.usage.bySql).filter(([sql]) => sql.startsWith("WITH go AS MATERIALIZED (SELECT 1 ")).reduce((n, [, st]) => n + st.rowsWritten, 0);
    expect(meter.usage.rowsWritten - folded).toBe(before.length * (inTotals ? 2 : 1) + 3);
    // Its 30 owners' total rows go with the hour when it was in the totals; else the totals are untouched.
    expect(await env.DB.prepare("SELECT COUNT(*) AS n FROM event_counts WHERE hour = -1").first<number>("n")).toBe(totalsBefore! - (inTotals ? 30 : 0));
    expect(await kept(env.DB)).toEqual(await recounted(env.DB));
    expect(await emptyCounterRows(env.DB)).toBe(0);
  });

  it("are taken off once the retention's mark is past their hour, not while it is in it", async () => {
    const key = uniqueKey();
    const p = pipeline();
    const now = Date.now();
    // An hour between the earlier tests' events and the retention's cutoff: 20 events in its first
    // half, 20 in its second, 10 in the next hour.
    const hour = Math.floor((now - 10 * DAY) / HOUR_MS) - 2;
    const at = (h: number, minute: number, i: number) =>
      ingestMessage({ dedupeKey: `${key}-${h}-${minute}`, organizationUid: `org-${key}`, locationUid: `loc-${key}-${i % 4}`, receivedAt: h * HOUR_MS + minute * 60_000 });
    await p.runIngest([
      ...Array.from({ length: 20 }, (_, i) => at(hour, i, i)),
      ...Array.from({ length: 20 }, (_, i) => at(hour, 30 + i, i)),
      ...Array.from({ length: 10 }, (_, i) => at(hour + 1, i, i)),
    ]);
    await foldEventCountDeltas(env.DB); // (their rows counted below are event_counts')
    const rowsOf = (h: number) => env.DB.prepare("SELECT COUNT(*) AS n FROM event_counts WHERE hour = ? AND scope <> 0").bind(h).first<number>("n");
    const pass = async (cutoff: number) => {
      let from = await retentionMark(env.DB);
      for (let step; (step = await retentionStep(env.DB, { cutoff, graceCutoff: now + 1, from, limit: 100, now, mark: true })).next; ) from = step.next;
    };
    // The retention's main pass in the hour: its purge waits for the rest of the hour.
    await pass(hour * HOUR_MS + 25 * 60_000);
    expect(await applyRetentionPurges(env.DB)).toBe(0);
    expect(await rowsOf(hour)).toBe(1 + 4);
    expect(await kept(env.DB)).toEqual(await recounted(env.DB));
    expect((await p.api("GET", "/v1/stats")).json.events.total).toBe(await env.DB.prepare("SELECT COUNT(*) AS n FROM events").first<number>("n"));
    // Past it: both of the hour's purges come off at once, and its rows with them.
    await pass((hour + 1) * HOUR_MS);
    expect(await applyRetentionPurges(env.DB)).toBe(2);
    expect(await rowsOf(hour)).toBe(0);
    expect(await rowsOf(hour + 1)).toBe(1 + 4);
    expect(await kept(env.DB)).toEqual(await recounted(env.DB));
    expect(await emptyCounterRows(env.DB)).toBe(0);
  });

  it("are read exactly by /v1/stats, for the admin and limited tokens, while the retention's purges wait", async () => {
    const key = uniqueKey();
    const p = pipeline();
    const [org, loc] = [`org-${key}-0`, `loc-${key}-0`];
    const now = Date.now();
    // 80 events over the last eight hours, a tenth at the tokens' place; the retention then purges
    // the older half (as at RETENTION_DAYS=1, in the last day and the series), a chunk at a time.
    const msgs = Array.from({ length: 80 }, (_, i) => {
      const [o, l] = i % 10 === 0 ? [org, loc] : [`org-${key}-x${i % 7}`, `loc-${key}-x${i % 13}`];
      return ingestMessage({ dedupeKey: `${key}-${i}`, organizationUid: o, locationUid: l, receivedAt: now - i * 6 * 60_000 });
    });
    await p.runIngest(msgs.slice(0, 60));
    await foldEventCountDeltas(env.DB);
    await p.runIngest(msgs.slice(60)); // (some of ingest's counts pending too)
    const orgToken = await makeToken(p, [...STATS_SCOPES], { organizationUids: [org] });
    const locToken = await makeToken(p, [...STATS_SCOPES], { locationUids: [loc] });
    const limited = [
      { token: orgToken.token, where: OF_ORG, binds: [org] },
      { token: locToken.token, where: OF_LOC, binds: [loc] },
    ];
    let from = RETENTION_START;
    for (;;) {
      const step = await retentionStep(env.DB, { cutoff: now - 4 * HOUR_MS, graceCutoff: now + 1, from, limit: 9, now });
      if (!step.next) break;
      from = step.next;
    }
    expect(await env.DB.prepare("SELECT COUNT(*) AS n FROM events WHERE organization = (SELECT id FROM names WHERE name = ?)").bind(org).first<number>("n")).toBe(5);
    expect(await env.DB.prepare("SELECT COUNT(*) AS n FROM event_count_purges").first<number>("n")).toBeGreaterThan(0);
    await expectStatsExact(p, limited);
    expect(await kept(env.DB)).toEqual(await recounted(env.DB));
    // And once they are taken off.
    await applyRetentionPurges(env.DB);
    await expectStatsExact(p, limited);
    expect(await kept(env.DB)).toEqual(await recounted(env.DB));
  });

  it(`wait ${PENDING_PURGES} purges or ${PENDING_PURGE_CELLS} cells at most: the maintenance run then takes them all off, reading a few rows until then`, async () => {
    const p = pipeline();
    const meter = meteredD1(env.DB);
    await applyRetentionPurges(env.DB);
    const waiting = () => env.DB.prepare("SELECT COUNT(*) AS n FROM event_count_purges").first<number>("n");
    // Purges of an hour the retention is not past (far ahead), of no cell.
    const wait = (n: number, cells = 0) =>
      env.DB.prepare(`WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < ${n})
        INSERT INTO event_count_purges (last_hour, cell_count, cells) SELECT 1000000000, ?1, '[]' FROM k`).bind(cells).run();
    const start = await waiting();
    meter.reset();
    await stats(meter.db, null);
    const statsRead = meter.usage.rowsRead;
    await wait(PENDING_PURGES - 1 - start!);
    // /v1/stats reads each waiting purge once.
    meter.reset();
    await stats(meter.db, null);
    expect(meter.usage.rowsRead).toBe(statsRead + PENDING_PURGES - 1 - start!);
    meter.reset();
    expect(await applyRetentionPurges(meter.db)).toBe(0);
    expect(meter.usage.rowsWritten).toBe(0);
    // (One statement decides, reading the purges waiting, the retention's mark and an event.)
    expect(meter.usage.statements).toBe(1);
    expect(meter.usage.rowsRead).toBeLessThanOrEqual(3 * PENDING_PURGES);
    await wait(1);
    expect((await runMaintenance(p.env, Date.now())).failed).toEqual([]);
    expect(await waiting()).toBe(0);
    // Cells: one purge of as many.
    await wait(1, PENDING_PURGE_CELLS - 1);
    expect(await applyRetentionPurges(env.DB)).toBe(0);
    await wait(1, 1);
    expect(await applyRetentionPurges(env.DB)).toBe(2);
    expect(await kept(env.DB)).toEqual(await recounted(env.DB));
  });

  it(`stay under ${PENDING_DELTAS} rows and ${PENDING_DELTA_CELLS} cells pending: an ingest that reaches either folds them`, async () => {
    const p = pipeline();
    const key = uniqueKey();
    const pending = () => env.DB.prepare("SELECT COUNT(*) AS n FROM event_count_deltas").first<number>("n");
    let i = 0;
    const ingest = () =>
      p.runIngest([ingestMessage({ dedupeKey: `${key}-${i++}`, organizationUid: `org-${key}-${i % 3}`, locationUid: `loc-${key}-${i % 7}` })]);
    // Rows waiting without cells (as many batches' as the bound less two), then real batches. (Each
    // an empty array as long as a full row, which a batch does not join.)
    const waitingRows = async (n: number) => {
      await foldEventCountDeltas(env.DB);
      await env.DB.prepare(`WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < ${n})
        INSERT INTO event_count_deltas (at, first_hour, cells) SELECT ?1, 0, '[' || printf('%${DELTA_JOIN_CHARS}s', '') || ']' FROM k`).bind(Date.now()).run();
    };
    await waitingRows(PENDING_DELTAS - 2);
    await ingest();
    expect(await pending()).toBe(PENDING_DELTAS - 1);
    await waitingRows(PENDING_DELTAS - 1);
    await ingest();
    expect(await pending()).toBe(0);
    // A batch's cells counted on from the last row's: one that brings them to the bound folds.
    await ingest();
    const [cellsOfOne] = (await env.DB.prepare("SELECT cells_through FROM event_count_deltas").all<{ cells_through: number }>()).results.map((r) => r.cells_through);
    expect(cellsOfOne).toBeGreaterThan(0);
    await ingest();
    expect(await env.DB.prepare("SELECT max(cells_through) AS n FROM event_count_deltas").first<number>("n")).toBe(2 * cellsOfOne!);
    await env.DB.prepare("UPDATE event_count_deltas SET cells_through = cells_through + ?1").bind(PENDING_DELTA_CELLS - 3 * cellsOfOne! + 1).run();
    await ingest();
    expect(await pending()).toBe(0);
    expect(await kept(env.DB)).toEqual(await recounted(env.DB));
    expect((await p.api("GET", "/v1/stats")).json.events.total).toBe(await env.DB.prepare("SELECT COUNT(*) AS n FROM events").first<number>("n"));
  });

  it(`join the newest pending row while it holds under ${DELTA_JOIN_CHARS} characters: light traffic's batches are a row to delete at the fold for many`, async () => {
    const meter = meteredD1(env.DB);
    const p = pipeline({ DB: meter.db });
    const key = uniqueKey();
    const rows = () => env.DB.prepare("SELECT COUNT(*) AS n, max(length(cells)) AS chars FROM event_count_deltas").first<{ n: number; chars: number }>();
    await foldEventCountDeltas(env.DB);
    // 150 batches of 3 events (quiet traffic), at 20 locations in 4 organizations.
    let i = 0;
    for (let b = 0; b < 150; b++) {
      meter.reset();
      await p.runIngest([0, 1, 2].map(() => ingestMessage({ dedupeKey: `${key}-${i++}`, organizationUid: `org-${key}-${i % 4}`, locationUid: `loc-${key}-${i % 20}` })));
      // Each batch's counts are one row written, joined or not.
      const counting = Object.entries(meter.usage.bySql).filter(([sql]) => sql.startsWith("WITH r AS MATERIALIZED"));
      expect(counting.map(([, st]) => st.rowsWritten)).toEqual([1]);
    }
    const pending = (await rows())!;
    // A row holds what was joined until it reached the bound, and one batch's more at most.
    expect(pending.n).toBeGreaterThan(1);
    expect(pending.n).toBeLessThan(20);
    expect(pending.chars).toBeLessThan(DELTA_JOIN_CHARS + 1_000);
    const { results } = await env.DB.prepare("SELECT id, cells, cells_through FROM event_count_deltas ORDER BY id").all<{ id: number; cells: string; cells_through: number }>();
    // Every row valid JSON, ids 1…n (their number), and the newest's cells_through the cells of all.
    expect(results.map((r) => r.id)).toEqual(results.map((_, k) => k + 1));
    const cells = results.flatMap((r) => JSON.parse(r.cells) as unknown[]);
    expect(results[results.length - 1]!.cells_through).toBe(cells.length);
    // Read exactly while they wait, and once folded (the fold deletes each row: a few, not 150).
    expect((await p.api("GET", "/v1/stats")).json.events.total).toBe(await env.DB.prepare("SELECT COUNT(*) AS n FROM events").first<number>("n"));
    expect(await kept(env.DB)).toEqual(await recounted(env.DB));
    await foldEventCountDeltas(env.DB);
    expect((await rows())!.n).toBe(0);
    expect(await kept(env.DB)).toEqual(await recounted(env.DB));
  });

  it(`are added up by the stats as a row per hour, not per cell: ${PENDING_DELTA_CELLS} pending cells are what /v1/stats works through`, () => {
    // Cells over two hours, every column, some scopes (the stats' CPU goes by the rows this gives).
    const cells = Array.from({ length: PENDING_DELTA_CELLS }, (_, i) => ({ scope: i % 160, hour: 1000 + (i % 2), owner: 0, col: i % 30, n: 1 + (i % 3) }));
    const rows = pendingByHour(cells);
    expect(rows.map((r) => r.hour).sort()).toEqual([1000, 1001]);
    for (const row of rows) {
      const mine = cells.filter((c) => c.hour === row.hour);
      for (let col = 0; col < 30; col++) expect(row[`n${col}`] ?? 0).toBe(mine.filter((c) => c.col === col).reduce((s, c) => s + c.n, 0));
    }
  });

  it("decide whether to fold without reading what is pending: an ingest reads as many rows with 1,500 batches waiting as with none", async () => {
    const meter = meteredD1(env.DB);
    const p = pipeline({ DB: meter.db });
    const key = uniqueKey();
    let i = 0;
    const readByIngest = async () => {
      meter.reset();
      await p.runIngest([0, 1, 2].map(() => ingestMessage({ dedupeKey: `${key}-${i++}`, organizationUid: `org-${key}`, locationUid: `loc-${key}-${i % 5}` })));
      return meter.usage.rowsRead;
    };
    await foldEventCountDeltas(env.DB);
    await readByIngest(); // (the names and places learnt once)
    await foldEventCountDeltas(env.DB);
    const none = await readByIngest();
    await env.DB.prepare(`WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < 1500)
      INSERT INTO event_count_deltas (at, first_hour, cells) SELECT ?1, 0, '[]' FROM k`).bind(Date.now()).run();
    const waiting = await readByIngest();
    expect(waiting).toBeLessThanOrEqual(none + 10);
    await foldEventCountDeltas(env.DB);
  });

  it(`are folded by the maintenance run once the oldest pending is ${DELTA_FOLD_AGE_MS / 60_000} minutes old`, async () => {
    const p = pipeline();
    const key = uniqueKey();
    const pending = () => env.DB.prepare("SELECT COUNT(*) AS n FROM event_count_deltas").first<number>("n");
    await p.runIngest([ingestMessage({ dedupeKey: `${key}-0`, organizationUid: `org-${key}`, locationUid: `loc-${key}` })]);
    const written = Date.now();
    expect(await pending()).toBeGreaterThan(0);
    expect((await runMaintenance(p.env, written)).failed).toEqual([]);
    expect(await pending()).toBeGreaterThan(0);
    expect((await runMaintenance(p.env, written + DELTA_FOLD_AGE_MS + 1)).failed).toEqual([]);
    expect(await pending()).toBe(0);
    expect(await kept(env.DB)).toEqual(await recounted(env.DB));
  });
});
