// Event totals folded by the hour (store/counters.ts): ingest and purge write hour rows
// only, the maintenance run moves closed hours into the totals and hours at the
// retention out of them, and every count reads the same at each step.
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { eventIdFor } from "../../src/domain/ids";
import { DAY_MS, HOUR_MS } from "../../src/domain/time";
import type { IngestMessage } from "../../src/domain/types";
import { runMaintenance } from "../../src/maintenance/cron";
import freeze from "../../scripts/freeze-event-counts.sql?raw";
import foldPending from "../../scripts/fold-event-count-deltas.sql?raw";
import applyPurges from "../../scripts/apply-event-count-purges.sql?raw";
import { FROZEN_THROUGH, foldEventCountDeltas, foldEventCounts } from "../../src/store/counters";
import { applyRetentionPurges, RETENTION_START, retentionStep } from "../../src/store/retention";
import { podiumBody } from "./helpers";
import { pipeline, uniqueKey } from "./pipeline";
import { emptyCounterRows, kept, recounted } from "./recount";
import { as, makeToken } from "./tokens";

const HOUR = Math.floor(Date.now() / HOUR_MS);

/** Events at `hour` (+ i minutes), spread over the given locations of two organizations. */
async function eventsAt(key: string, hour: number, n: number, locations = 3): Promise<IngestMessage[]> {
  return Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const eventUid = `${key}-${hour}-${i}`;
      const [org, loc] = [`org-${key}-${i % 2}`, `loc-${key}-${i % locations}`];
      return {
        v: 1 as const,
        eventId: await eventIdFor({ id: "podium", eventSalt: null }, { given: eventUid }),
        sourceId: "podium",
        dedupeKey: eventUid,
        eventType: "message.received",
        locationUid: loc,
        organizationUid: org,
        receivedAt: hour * HOUR_MS + i * 60_000,
        headers: { "content-type": "application/json" },
        body: podiumBody({ type: "message.received", eventUid, organizationUid: org, locationUid: loc }),
      };
    }),
  );
}

const totalRows = async () =>
  (await env.DB.prepare("SELECT * FROM event_counts WHERE hour = -1 ORDER BY scope, owner").all<Record<string, number>>()).results;
const marks = () => env.DB.prepare("SELECT after, through FROM event_count_marks").first<{ after: number; through: number }>();

async function purge(now: number) {
  let from = RETENTION_START;
  for (;;) {
    const step = await retentionStep(env.DB, { cutoff: now - 10 * DAY_MS, graceCutoff: now + 1, from, limit: 4, now });
    if (!step.next) break;
    from = step.next;
  }
}

const TENTH = HOUR_MS / 6;

/** Runs the ingest consumer, then folds its pending counts into event_counts, whose rows the tests look at. */
async function ingestFolded(p: ReturnType<typeof pipeline>, msgs: IngestMessage[]) {
  await p.runIngest(msgs);
  await foldEventCountDeltas(env.DB);
}

/**
 * Every counter equals a recount, none is left at zero, and the stats say so, for the
 * admin and for tokens limited to the organization and the location of `place`
 * (eventsAt's names for key, index 0).
 */
async function expectCountsRight(p: ReturnType<typeof pipeline>, key: string) {
  expect(await kept(env.DB)).toEqual(await recounted(env.DB));
  expect(await emptyCounterRows(env.DB)).toBe(0);
  const [org, loc] = [`org-${key}-0`, `loc-${key}-0`];
  const [orgToken, locToken] = [
    await makeToken(p, ["events:read", "read_messages"], { organizationUids: [org] }),
    await makeToken(p, ["events:read", "read_messages"], { locationUids: [loc] }),
  ];
  const count = (where: string, ...binds: unknown[]) =>
    env.DB.prepare(`SELECT COUNT(*) AS n FROM events WHERE ${where}`).bind(...binds).first<number>("n");
  const ofOrg = "organization = (SELECT id FROM names WHERE name = ?)";
  const ofLoc = "location = (SELECT id FROM names WHERE name = ?)";
  // The last day is the 144 ten-minute buckets up to now: asked again should a bucket end while asking.
  for (;;) {
    const bucket = Math.floor(Date.now() / TENTH);
    const dayAgo = (bucket - 143) * TENTH;
    const [all, ofOrgStats, ofLocStats] = [
      (await p.api("GET", "/v1/stats")).json.events,
      (await as(p, orgToken.token, "GET", "/v1/stats")).json.events,
      (await as(p, locToken.token, "GET", "/v1/stats")).json.events,
    ];
    if (Math.floor(Date.now() / TENTH) !== bucket) continue;
    expect(all).toEqual({ total: await count("true"), last24h: await count("received_at >= ?", dayAgo) });
    expect(ofOrgStats).toEqual({ total: await count(ofOrg, org), last24h: await count(`${ofOrg} AND received_at >= ?`, org, dayAgo) });
    expect(ofLocStats).toEqual({ total: await count(ofLoc, loc), last24h: await count(`${ofLoc} AND received_at >= ?`, loc, dayAgo) });
    return;
  }
}

/** Runs a script's `n` statements by hand, twice: each time nothing is `left` and the counts are right. */
async function runTwice(p: ReturnType<typeof pipeline>, key: string, script: string, n: number, left: () => Promise<number | null>) {
  const statements = script.split(/;\s*\n/).filter((q) => /^(WITH|DELETE)/m.test(q));
  expect(statements).toHaveLength(n);
  for (let run = 0; run < 2; run++) {
    await env.DB.batch(statements.map((q) => env.DB.prepare(q)));
    expect(await left()).toBe(0);
    await expectCountsRight(p, key);
  }
}

describe("event totals folded by the hour", () => {
  beforeAll(async () => {
    // This file's database starts empty, so the totals hold nothing and any marks are true of them.
    expect(await env.DB.prepare("SELECT COUNT(*) AS n FROM event_counts").first("n")).toBe(0);
    // Folded up to more than a day ago: the last day and the hours before it, both outside the totals, read apart.
    await env.DB.prepare("UPDATE event_count_marks SET after = -1, through = ?").bind(HOUR - 30).run();
  });

  it("ingest writes hour rows only past the folded hours; folding, taking out and purging keep every count", async () => {
    const p = pipeline();
    const key = uniqueKey();
    const now = HOUR * HOUR_MS + 30 * 60_000;
    // Hours past the folded ones (one more than a day ago), and two hours older than the retention
    // (folded: their totals are written too).
    await ingestFolded(p, [...(await eventsAt(key, HOUR - 27, 3)), ...(await eventsAt(key, HOUR - 2, 6)), ...(await eventsAt(key, HOUR - 1, 6))]);
    expect(await totalRows()).toEqual([]);
    await ingestFolded(p, [...(await eventsAt(key, HOUR - 250, 4)), ...(await eventsAt(key, HOUR - 249, 4))]);
    expect((await totalRows()).length).toBeGreaterThan(0);
    await expectCountsRight(p, key);

    // The closed hours go into the totals; the hours up to the retention's cutoff come out of them.
    await foldEventCounts(env.DB, HOUR, Math.floor((now - 10 * DAY_MS) / HOUR_MS));
    expect(await marks()).toEqual({ after: HOUR - 240, through: HOUR - 1 });
    await expectCountsRight(p, key);
    const folded = await totalRows();
    expect(folded.length).toBeGreaterThan(0);

    // The retention purges hours already out of the totals: it leaves them as they are.
    await purge(now);
    expect(await env.DB.prepare("SELECT COUNT(*) AS n FROM events WHERE received_at < ?").bind(now - 10 * DAY_MS).first("n")).toBe(0);
    expect(await totalRows()).toEqual(folded);
    await expectCountsRight(p, key);

    // Nor does an event of an hour out (the last one taken out), or of this hour, the first not folded yet;
    // an event of the last folded hour goes into both.
    await ingestFolded(p, [...(await eventsAt(`${key}-out`, HOUR - 240, 2)), ...(await eventsAt(key, HOUR, 3))]);
    expect(await totalRows()).toEqual(folded);
    await expectCountsRight(p, `${key}-out`);
    await ingestFolded(p, await eventsAt(`${key}-late`, HOUR - 1, 2));
    expect(await totalRows()).not.toEqual(folded);
    await expectCountsRight(p, `${key}-late`);

    // Running again moves nothing.
    const before = await totalRows();
    await foldEventCounts(env.DB, HOUR, Math.floor((now - 10 * DAY_MS) / HOUR_MS));
    expect(await totalRows()).toEqual(before);
    expect(await marks()).toEqual({ after: HOUR - 240, through: HOUR - 1 });
  });

  it("are folded by the maintenance run, and its retention purges hours already out of them", async () => {
    const p = pipeline();
    const key = uniqueKey();
    // An hour of the maintenance run's clock, and events just past its retention's cutoff (stored late: into both rows).
    const now = (HOUR + 8) * HOUR_MS + 30 * 60_000;
    const cutoff = now - 10 * DAY_MS;
    const due = (await eventsAt(key, Math.floor(cutoff / HOUR_MS), 4)).map((m, i) => ({ ...m, receivedAt: cutoff - 60_000 - i }));
    await ingestFolded(p, [...due, ...(await eventsAt(key, HOUR + 4, 3))]);
    await foldEventCounts(env.DB, HOUR + 8, Math.floor(cutoff / HOUR_MS));
    const out = await totalRows();
    const { after, through } = (await marks())!;
    expect(through).toBe(HOUR + 7);
    expect(after).toBe(Math.floor(cutoff / HOUR_MS));

    // The run folds first (nothing left to move), then purges those events (and any older left by
    // the tests before): the totals stay as they are.
    const older = await env.DB.prepare("SELECT COUNT(*) AS n FROM events WHERE received_at < ?").bind(cutoff).first<number>("n");
    expect(older).toBeGreaterThanOrEqual(due.length);
    const report = await runMaintenance(p.env, now);
    expect(report.failed).toEqual([]);
    expect(report.purged).toBe(older);
    expect(await totalRows()).toEqual(out);
    await expectCountsRight(p, key);
  });

  it("folds at most 48 hours a run, catching up after an outage", async () => {
    const p = pipeline();
    const key = uniqueKey();
    const { through } = (await marks())!;
    await p.runIngest([...(await eventsAt(key, through + 10, 2)), ...(await eventsAt(key, through + 70, 2))]);
    await foldEventCounts(env.DB, through + 100, through - 300);
    expect((await marks())!.through).toBe(through + 48);
    await expectCountsRight(p, key);
    await foldEventCounts(env.DB, through + 100, through - 300);
    expect((await marks())!.through).toBe(through + 96);
    await expectCountsRight(p, key);
  });

  it("follow a clock gone back: hours ahead of it come out of the totals, never those already out", async () => {
    const p = pipeline();
    const key = uniqueKey();
    const { after, through } = (await marks())!;
    expect(through - after).toBeGreaterThan(3);
    // A scope counted only in the last folded hour, and events out, folded and ahead.
    await p.runIngest([
      ...(await eventsAt(key, after, 2)),
      ...(await eventsAt(key, after + 1, 2)),
      ...(await eventsAt(`${key}-last`, through, 2)),
    ]);
    // The clock, hours before `after`: the folded hours come out, down to `after` and no further.
    await foldEventCounts(env.DB, after - 5, after - 300);
    expect(await marks()).toEqual({ after, through: after });
    await expectCountsRight(p, key);
    await expectCountsRight(p, `${key}-last`);
  });

  it("read the same as a recount after any mix of ingests, folds of ingest's pending counts, folds, purges and their taking off", async () => {
    const p = pipeline();
    const key = uniqueKey();
    let batch = 0;
    // Hours relative to the marks as they are: events on either side of `through`, pending counts
    // folded in between or not (then with the marks moved since they were written), folding runs
    // whose clock moves on, stands or goes back, and retentions that reach the folded hours or not.
    const action = fc.oneof(
      fc.constant({ kind: "fold-pending" as const }),
      fc.record({ kind: fc.constant("ingest" as const), hour: fc.integer({ min: -250, max: 3 }), n: fc.integer({ min: 1, max: 5 }) }),
      fc.record({
        kind: fc.constant("fold" as const),
        clock: fc.oneof(fc.integer({ min: -4, max: 0 }), fc.integer({ min: 1, max: 4 })),
        retention: fc.oneof(fc.integer({ min: -3, max: 3 }), fc.integer({ min: 4, max: 250 })),
      }),
      fc.record({ kind: fc.constant("purge" as const), clock: fc.integer({ min: 0, max: 250 }) }),
      // The purges' counts taken off once the retention is past their hours: meanwhile folds may
      // have moved those hours into or out of the totals.
      fc.constant({ kind: "take-off" as const }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 2, maxLength: 8 }), async (actions) => {
        for (const a of actions) {
          const { through } = (await marks())!;
          if (a.kind === "ingest") await p.runIngest(await eventsAt(`${key}-${batch++}`, through + a.hour, a.n, 4));
          else if (a.kind === "fold-pending") await foldEventCountDeltas(env.DB);
          else if (a.kind === "fold") await foldEventCounts(env.DB, through + a.clock, through + a.clock - a.retention);
          else if (a.kind === "take-off") await applyRetentionPurges(env.DB);
          else await purge((through + a.clock) * HOUR_MS);
          const now = (await marks())!;
          expect(now.after).toBeLessThanOrEqual(now.through);
          expect(await kept(env.DB)).toEqual(await recounted(env.DB));
          expect(await emptyCounterRows(env.DB)).toBe(0);
        }
        await expectCountsRight(p, `${key}-0`);
      }),
      {
        numRuns: 10,
        // (And at least: an hour's purges waiting while a fold takes that hour out of the totals, with
        // everyone's total row still holding other hours.)
        examples: [[[{ kind: "ingest", hour: -10, n: 2 }, { kind: "ingest", hour: -245, n: 3 }, { kind: "fold-pending" }, { kind: "purge", clock: 0 }, { kind: "fold", clock: 1, retention: 3 }, { kind: "take-off" }]]],
      },
    );
  }, 60_000); // histories of D1 transactions: a busy machine takes longer than 5 s (nothing here is timed)

  it("freeze with every hour back in the totals before going back to a release that reads those alone", async () => {
    const p = pipeline();
    const key = uniqueKey();
    const { after, through } = (await marks())!;
    // Events in an hour taken out, a folded one and one past the folded ones.
    await p.runIngest([...(await eventsAt(key, after, 2)), ...(await eventsAt(key, through - 3, 3)), ...(await eventsAt(key, through + 1, 3))]);
    const freezing = freeze.split(/;\s*\n/).filter((q) => /^(INSERT|DELETE|UPDATE)/m.test(q));
    expect(freezing).toHaveLength(3);
    for (let run = 0; run < 2; run++) {
      await env.DB.batch(freezing.map((q) => env.DB.prepare(q)));
      // Every hour is in the totals: they alone are the counts, as an older release reads them.
      expect(await marks()).toEqual({ after: -1, through: FROZEN_THROUGH });
      await expectCountsRight(p, key);
    }
    // This release's maintenance run, until the older one is deployed, moves nothing; what it
    // stores and purges counts alike.
    await foldEventCounts(env.DB, through + 5, through - 240);
    expect(await marks()).toEqual({ after: -1, through: FROZEN_THROUGH });
    await p.runIngest(await eventsAt(`${key}-more`, through + 2, 2));
    await purge((after + 1) * HOUR_MS + 10 * DAY_MS);
    expect(await env.DB.prepare("SELECT COUNT(*) AS n FROM events WHERE received_at < ?").bind((after + 1) * HOUR_MS).first("n")).toBe(0);
    await expectCountsRight(p, `${key}-more`);
    // Back on this release: unfrozen, its next run brings the marks to the clock again.
    await env.DB.prepare("UPDATE event_count_marks SET through = 1000000000 WHERE through >= ?").bind(FROZEN_THROUGH).run();
    await foldEventCounts(env.DB, through + 5, through - 240);
    expect(await marks()).toEqual({ after: -1, through: through + 6 });
    await expectCountsRight(p, `${key}-more`);
  });

  it("are folded by a script before going back to a release that neither folds nor reads ingest's pending counts", async () => {
    const p = pipeline();
    const key = uniqueKey();
    const { through } = (await marks())!;
    // Pending counts of a folded hour and one past the folded ones.
    await p.runIngest([...(await eventsAt(key, through - 3, 3)), ...(await eventsAt(key, through + 1, 3))]);
    const pending = () => env.DB.prepare("SELECT COUNT(*) AS n FROM event_count_deltas").first<number>("n");
    expect(await pending()).toBeGreaterThan(0);
    await runTwice(p, key, foldPending, 2, pending);
  });

  it("have the retention's waiting purges taken off by a script before going back to a release that neither takes them off nor reads them", async () => {
    const p = pipeline();
    const key = uniqueKey();
    const { through } = (await marks())!;
    const now = Date.now();
    // Purged (their hours' rows still counting them until their purges are taken off): a folded
    // hour's events, and half of an hour's past the folded ones.
    await ingestFolded(p, [...(await eventsAt(key, through - 3, 4)), ...(await eventsAt(key, through + 1, 4))]);
    const cutoff = (through + 1) * HOUR_MS + 2 * 60_000;
    for (let from = RETENTION_START, step; (step = await retentionStep(env.DB, { cutoff, graceCutoff: now + 1, from, limit: 3, now })).next; ) from = step.next;
    const purges = () => env.DB.prepare("SELECT COUNT(*) AS n FROM event_count_purges").first<number>("n");
    expect(await purges()).toBeGreaterThan(0);
    await expectCountsRight(p, key);
    await runTwice(p, key, applyPurges, 3, purges);
  });
});
