import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EVENT_TYPES } from "../../src/domain/event-types";
import { eventIdFor } from "../../src/domain/ids";
import type { IngestMessage } from "../../src/domain/types";
import { meteredD1 } from "../../bench/d1-meter";
import { DELTA_FOLD_AGE_MS, runMaintenance } from "../../src/maintenance/cron";
import { foldEventCountDeltas, PENDING_DELTA_CELLS, PENDING_DELTAS } from "../../src/store/counters";
import { pendingByHour, SERIES_BUCKET_MS } from "../../src/store/stats";
import { expireHeld } from "../../src/store/deliveries";
import { RETENTION_START, retentionStep } from "../../src/store/retention";
import { ingestMessage, podiumBody } from "./helpers";
import { pipeline, uniqueKey } from "./pipeline";
import { emptyCounterRows, kept, recounted } from "./recount";
import { as, makeToken } from "./tokens";

const DAY = 86_400_000;
const TYPES = EVENT_TYPES.filter((t) => t.provider === "podium").map((t) => t.type).concat(["unknown"]);

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
    const stored: IngestMessage[] = [];
    let made = 0;

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
                  eventId: await eventIdFor("podium", eventUid),
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
              break;
            }
            case "replay":
              if (stored.length > 0) await p.api("POST", `/v1/events/${stored[stored.length - 1]!.eventId}/replay`, {});
              break;
            case "delete-webhook":
              await p.api("DELETE", `/v1/webhooks/${located}`);
              located = (await p.createWebhook({ url: `https://downstream.test/ok/${key}-l`, eventTypes: ["message.*"], locationUid: locs[1] })).uid;
              break;
          }
        }
        const [have, want] = [await kept(env.DB), await recounted(env.DB)];
        expect(have).toEqual(want);
        // Nor does a purge leave rows of zeros behind (hours past the retention would pile up).
        expect(await emptyCounterRows(env.DB)).toBe(0);
      }),
      { numRuns: 12 },
    );

    // What /v1/stats answers comes from those counters: the same as a recount of what is stored.
    const stats = (await p.api("GET", "/v1/stats")).json;
    const events = await env.DB.prepare("SELECT COUNT(*) AS n FROM events").first<{ n: number }>();
    expect(stats.events.total).toBe(events?.n);
    const byStatus = await env.DB.prepare("SELECT status, COUNT(*) AS n FROM deliveries GROUP BY status").all<{ status: number; n: number }>();
    const statuses = ["held", "pending", "succeeded", "failed", "expired"];
    expect(stats.deliveries).toEqual(Object.fromEntries(statuses.map((s, i) => [s, byStatus.results.find((r) => r.status === i)?.n ?? 0])));
  }, 60_000); // a dozen random histories of D1 transactions: a busy machine takes longer than 5 s (nothing here is timed)

  it("go with the last event they count: the retention leaves no row of zeros for an hour, a scope or a webhook", async () => {
    const p = pipeline();
    const { key, org, webhook: hook } = await p.webhookOn("ok");
    const loc = `loc-${key}`;
    await env.DB.prepare("UPDATE webhooks SET created_at = 0 WHERE uid = ?").bind(hook.uid).run(); // it was there when they arrived
    const now = Date.now();
    const msgs: IngestMessage[] = await Promise.all(
      [0, 1, 2].map(async (i) => ({
        v: 1 as const,
        eventId: await eventIdFor("podium", `${key}-${i}`),
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
    let from = RETENTION_START;
    for (let step = await retentionStep(env.DB, { cutoff: now - 10 * DAY, graceCutoff: now + 1, from, limit: 2, now }); step.next; ) {
      from = step.next;
      step = await retentionStep(env.DB, { cutoff: now - 10 * DAY, graceCutoff: now + 1, from, limit: 2, now });
    }
    expect(await env.DB.prepare("SELECT COUNT(*) AS n FROM events WHERE organization = (SELECT id FROM names WHERE name = ?)").bind(org).first("n")).toBe(0);
    expect(await rows()).toBe(0);
    expect(await kept(env.DB)).toEqual(await recounted(env.DB));
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
          eventId: await eventIdFor("podium", `${key}-${i}`),
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
    const orgToken = await makeToken(p, ["events:read", "read_messages", "read_contacts", "read_payments", "read_reviews"], { organizationUids: [org] });
    const locToken = await makeToken(p, ["events:read", "read_messages", "read_contacts", "read_payments", "read_reviews"], { locationUids: [loc] });
    const count = (where: string, ...binds: unknown[]) => env.DB.prepare(`SELECT COUNT(*) AS n FROM events WHERE ${where}`).bind(...binds).first<number>("n");
    const ofOrg = "organization = (SELECT id FROM names WHERE name = ?)";
    const ofLoc = "location = (SELECT id FROM names WHERE name = ?)";
    const expectExact = async () => {
      for (;;) {
        const bucket = Math.floor(Date.now() / SERIES_BUCKET_MS);
        const answers = [
          { stats: (await p.api("GET", "/v1/stats")).json, where: "true", binds: [] as string[] },
          { stats: (await as(p, orgToken.token, "GET", "/v1/stats")).json, where: ofOrg, binds: [org] },
          { stats: (await as(p, locToken.token, "GET", "/v1/stats")).json, where: ofLoc, binds: [loc] },
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
    };
    expect(await count(ofLoc, loc)).toBe(10);
    await expectExact();
    // And the same once they are folded.
    await foldEventCountDeltas(env.DB);
    expect(await pending()).toBe(0);
    expect(await counterRows()).not.toEqual(before);
    await expectExact();
    expect(await kept(env.DB)).toEqual(await recounted(env.DB));
  });

  it(`stay under ${PENDING_DELTAS} rows and ${PENDING_DELTA_CELLS} cells pending: an ingest that reaches either folds them`, async () => {
    const p = pipeline();
    const key = uniqueKey();
    const pending = () => env.DB.prepare("SELECT COUNT(*) AS n FROM event_count_deltas").first<number>("n");
    let i = 0;
    const ingest = () =>
      p.runIngest([ingestMessage({ dedupeKey: `${key}-${i++}`, organizationUid: `org-${key}-${i % 3}`, locationUid: `loc-${key}-${i % 7}` })]);
    // Rows waiting without cells (as many batches' as the bound less two), then real batches.
    const waitingRows = async (n: number) => {
      await foldEventCountDeltas(env.DB);
      await env.DB.prepare(`WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < ${n})
        INSERT INTO event_count_deltas (at, first_hour, cells) SELECT ?1, 0, '[]' FROM k`).bind(Date.now()).run();
    };
    await waitingRows(PENDING_DELTAS - 2);
    await ingest();
    expect(await pending()).toBe(PENDING_DELTAS - 1);
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
