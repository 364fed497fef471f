// Query plans under Node's SQLite (3.51, older than the runtime's), on the real schema: the
// plan a statement gets can change with SQLite's version and with the schema (a column added
// to deliveries once made the planner walk a webhook's deliveries). The workers tests' rows-read
// checks see the runtime's planner, which must be the one `wrangler dev` runs (checked last);
// these see a second version's. The statements that write each event, delivery and
// attempt, and purge them, must never walk a stored table or a whole index.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { describe, expect, it } from "vitest";
import { newDelivery } from "../../src/domain/delivery";
import { attemptAlertContextStatement, closeEpisodeStatement, closeEpisodeStatements, closeEpisodesOfStatement, closeSourceEpisodeStatement, countIn, deliveringAgainEpisodes, openDisabledEpisodeStatements, openEpisodeOf, openLastingFailureStatement, quietEpisodes } from "../../src/store/alerts";
import { unannouncedFailures } from "../../src/store/health";
import { attemptsOfSql } from "../../src/store/attempts";
import { eventCountDeltaStatements, foldEventCountDeltas } from "../../src/store/counters";
import { deletedWithOwed, disabledWithPending, expireHeld, expireWebhookStatements, holdWebhookStatements, insertDeliveriesStatements, recordAttempts, releaseHeld } from "../../src/store/deliveries";
import { EVENT_RANGE_DELIVERIES, eventDeliveries, getDeliveryWithAttempts, listDeliveries } from "../../src/store/delivery-reads";
import { deliverySeqsOf } from "../../src/store/event-deliveries";
import { RETRY_COUNT_ROWS, retryDeliveries } from "../../src/store/delivery-retry";
import { duePastRetention, duePending, firstOwed, heldFrom, owedInOrder, pendingOutlook, webhooksOverdue } from "../../src/store/scheduler-reads";
import { INSERT_PLACES, placesDriver } from "../../src/store/event-places";
import { claimIngestLetter, getDeadLetter, listDeadLetters, markMessagesReplayed, releaseIngestClaim, reopenStaleClaims } from "../../src/store/dead-letters";
import { listEvents, listEventsInTime } from "../../src/store/events";
import { retentionStep } from "../../src/store/retention";
import { boundedScan } from "../../src/store/scan";
import { deleteSource, listStoredSources } from "../../src/store/sources";
import { listTokens } from "../../src/store/tokens";
import { stats } from "../../src/store/stats";
import { webhookStatesOf } from "../../src/store/webhook-state";
import { clearExpiredPreviousSecrets, disableApplies, listWebhooks } from "../../src/store/webhooks";

const dir = join(import.meta.dirname, "../../migrations");
const db = new DatabaseSync(":memory:");
for (const f of readdirSync(dir).sort()) db.exec(readFileSync(join(dir, f), "utf8"));

/** An event's deliveries, found without an index by event (migration 0034): their id range, and the strays. */
const BY_ID_RANGE = "SEARCH d USING INDEX sqlite_autoindex_deliveries_1 (id>? AND id<?)";
const STRAYS = "SEARCH s USING PRIMARY KEY (event=?)";

/** Each step of a statement's plan (its parameters left unbound). */
const plan = (sql: string) => db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all().map((r) => String(r.detail));

/**
 * The sorts of a statement's plan that sort rows walked along an index of deliveries: a step
 * beside them (the same parent) walks one. (A sort of a subquery's rows, a LIMIT of a range, or of
 * rows found by their keys, is not one.)
 */
function sortsOfWalks(sql: string): string[] {
  const steps = db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all().map((r) => ({ id: Number(r.id), parent: Number(r.parent), detail: String(r.detail) }));
  const walksDeliveries = (s: string) => /^(SEARCH|SCAN) (d|deliveries)\b/.test(s) && !/PRIMARY KEY/.test(s);
  return steps
    .filter((s) => s.detail.includes("TEMP B-TREE") && steps.some((o) => o.parent === s.parent && walksDeliveries(o.detail)))
    .map((s) => s.detail);
}

/**
 * Tables a statement may read whole: of one row, one per AUTOINCREMENT table (sqlite_sequence),
 * or at most PENDING_DELTAS rows (event_count_deltas, folded at that bound).
 */
const SINGLE_ROW = new Set(["event_count_marks", "sqlite_sequence", "event_count_deltas"]);

/** The steps of a statement's plan that walk a stored table or index whole (not a JSON array, a CTE's or a subquery's rows). */
function walks(sql: string): string[] {
  const steps = plan(sql);
  const ctes = new Set([
    ...[...sql.matchAll(/(?:WITH|,)\s*(\w+)\s+AS\s*(?:MATERIALIZED\s*)?\(/gi)].map((m) => m[1]),
    // A subquery in FROM run as a co-routine, under its alias.
    ...steps.flatMap((s) => /^CO-ROUTINE (\w+)$/.exec(s)?.[1] ?? []),
  ]);
  return steps.filter((s) => {
    const scanned = /^SCAN (\S+)/.exec(s)?.[1];
    return scanned !== undefined && !/VIRTUAL TABLE|^SCAN (\(subquery|CONSTANT ROW)/.test(s) && !ctes.has(scanned) && !SINGLE_ROW.has(scanned);
  });
}

/** The SQL a store function prepares, run against a stand-in that answers one row to reads and nothing to writes. */
async function preparedBy(run: (d1: D1Database) => Promise<unknown> | unknown, row: Record<string, unknown> = {}): Promise<string[]> {
  const sqls: string[] = [];
  const statement = { bind: () => statement, all: async () => ({ results: [row], meta: { rows_read: 0 } }), first: async () => row, run: async () => ({ meta: {} }) };
  const d1 = { prepare: (sql: string) => (sqls.push(sql), statement), batch: async () => [] };
  await run(d1 as unknown as D1Database);
  return sqls;
}

describe("query plans", () => {
  it("reads an event's attempts by its deliveries' keys, from both places they are kept", () => {
    const ofEvent = attemptsOfSql(`SELECT seq, attempts FROM deliveries WHERE seq IN (${deliverySeqsOf("5", "1")})`, ["seq"]);
    expect(plan(ofEvent)).toContain("SEARCH a USING PRIMARY KEY (delivery=?)");
    expect(walks(ofEvent)).toEqual([]);
  });

  it("reads one delivery and its attempts (GET /v1/deliveries/{id}) by its id, from both places they are kept", async () => {
    const sqls = await preparedBy((d1) => getDeliveryWithAttempts(d1, `dlv_${"0".repeat(32)}`));
    expect(sqls).toHaveLength(2);
    for (const sql of sqls) {
      expect(plan(sql), sql).toContain("SEARCH d USING INDEX sqlite_autoindex_deliveries_1 (id=?)");
      expect(walks(sql), sql).toEqual([]);
    }
    expect(plan(sqls[1]!)).toContain("SEARCH a USING PRIMARY KEY (delivery=?)");
  });

  it("closes re-queued parked letters by their message ids, not along every open letter", async () => {
    const [sql] = await preparedBy((d1) => markMessagesReplayed(d1, ["m-1"], 1));
    expect(plan(sql!)).toContain("SEARCH dead_letters USING INDEX sqlite_autoindex_dead_letters_1 (message_id=?)");
  });

  it("reads each listed letter's event receipt by the event's key, not along the events", async () => {
    for (const read of [(d1: D1Database) => listDeadLetters(d1, { limit: 100, open: true, withMessage: false }), (d1: D1Database) => getDeadLetter(d1, 1)]) {
      const [sql] = await preparedBy(read);
      expect(plan(sql!), sql).toContain("SEARCH events USING INDEX sqlite_autoindex_events_1 (id=?)");
      expect(walks(sql!), sql).toEqual([]);
    }
  });

  it("claims and lets go of an ingest letter by its seq, and reopens stale claims along their range of dead_letters_open", async () => {
    for (const write of [(d1: D1Database) => claimIngestLetter(d1, 1, 1), (d1: D1Database) => releaseIngestClaim(d1, 1, 1)]) {
      const [sql] = await preparedBy(write);
      expect(plan(sql!)).toEqual(["SEARCH dead_letters USING INTEGER PRIMARY KEY (rowid=?)"]);
    }
    const [stale] = await preparedBy((d1) => reopenStaleClaims(d1, 1));
    expect(plan(stale!)).toEqual(["SEARCH dead_letters USING COVERING INDEX dead_letters_open (replayed_at>? AND replayed_at<?)"]);
  });

  it("deletes a source's received event types by their source, not by reading every source's", async () => {
    const types = (await preparedBy((d1) => deleteSource(d1, "s"))).find((s) => s.includes("source_event_types"))!;
    // And whether the source is gone (a delete at a version may delete nothing): by its key.
    expect(plan(types)).toEqual([
      "SEARCH source_event_types USING INDEX source_event_types_source (source_id=?)",
      "SCALAR SUBQUERY 1",
      "SEARCH sources USING COVERING INDEX sqlite_autoindex_sources_1 (id=?)",
    ]);
  });

  it("finds a new delivery's event by its id, and walks nothing storing deliveries", async () => {
    const delivery = await newDelivery("routed", { id: `evt_${"0".repeat(32)}`, receivedAt: 1 }, { uid: "w" }, 1);
    const sqls = await preparedBy((d1) => insertDeliveriesStatements(d1, [delivery]));
    const insert = sqls.find((s) => s.startsWith("INSERT INTO deliveries"))!;
    expect(plan(insert)).toContain("SEARCH e USING INDEX sqlite_autoindex_events_1 (id=?)");
    // The group's packed row by webhook (migration 0038): its deliveries read by their range of seq.
    const packed = sqls.find((s) => s.includes("INSERT INTO delivery_webhooks"))!;
    expect(plan(packed).filter((s) => /^SEARCH (deliveries|e|x)\b/.test(s) && !s.includes("delivery_webhooks"))).toEqual(
      expect.arrayContaining(["SEARCH deliveries USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)"]),
    );
    for (const sql of sqls) expect(walks(sql), sql).toEqual([]);
  });

  it("finds a FIFO webhook's next owed delivery at the heads of its owed index's two ranges, sorting nothing walked", async () => {
    const [sql] = await preparedBy((d1) => firstOwed(d1, "w"), { id: "dlv_x", status: 1, next_attempt_at: null });
    const steps = plan(sql!);
    // Fresh ones, and the rest (migration 0033): each range read from its head, in index order.
    expect(steps.filter((s) => s.includes("INDEX deliveries_owed_in_order")), steps.join("\n")).toEqual(Array(2).fill("SEARCH d USING INDEX deliveries_owed_in_order (webhook=? AND <expr>=?)"));
    expect(sortsOfWalks(sql!)).toEqual([]);
    expect(walks(sql!)).toEqual([]);
  });

  it("walks nothing recording attempts", async () => {
    const attempt = { deliveryId: `dlv_${"0".repeat(32)}`, number: 1, startedAt: 1, durationMs: 1, statusCode: 200, error: null, responseSnippet: "ok" };
    const sqls = await preparedBy((d1) => recordAttempts(d1, "w", [{ attempt, status: "succeeded", nextAttemptAt: null, deadLetter: null }]));
    expect(sqls.some((s) => s.startsWith("UPDATE deliveries SET attempts"))).toBe(true);
    for (const sql of sqls) expect(walks(sql), sql).toEqual([]);
  });

  it("counts an ingest's events in one row, and folds pending counts by the counter rows' keys", async () => {
    const sqls = await preparedBy(async (d1) => {
      eventCountDeltaStatements(d1, "SELECT organization AS org, location AS loc, received_at, object, 0 AS alert FROM events WHERE seq > ?1", [5], 1);
      await foldEventCountDeltas(d1, 1);
    });
    expect(sqls.filter((s) => s.includes("INSERT INTO event_count_deltas"))).toHaveLength(1);
    expect(sqls.filter((s) => s.includes("DELETE FROM event_count_deltas"))).toHaveLength(2);
    for (const sql of sqls) expect(walks(sql), sql).toEqual([]);
  });

  it("walks nothing purging", async () => {
    const sqls = await preparedBy(
      (d1) => retentionStep(d1, { cutoff: 2, graceCutoff: 1, from: { receivedAt: 0, seq: 0 }, limit: 10, now: 3 }),
      { seq: 1, received_at: 1, owed: 0, graced: 0 },
    );
    expect(sqls.some((s) => s.startsWith("DELETE FROM events"))).toBe(true);
    for (const sql of sqls) expect(walks(sql), sql).toEqual([]);
  });

  it("lists events by location and organization along the places rows, newest first, without sorting what they walk", async () => {
    const sqls = await preparedBy(
      (d1) =>
        boundedScan(d1, {
          table: "events",
          columns: "seq, type",
          drivers: placesDriver({ locations: [5], organizations: [6] }),
          filter: "walked.type = 3",
          before: 9_000_000,
          limit: 50,
          scanRows: 4000,
        }),
      { seq: 100, last: 110, locations: "[[null,[0,2]]]", organizations: null, hit: 1 },
    );
    const [places, events] = [sqls.find((s) => s.includes("FROM event_places"))!, sqls.find((s) => s.includes("FROM events"))!];
    // The places rows below the cursor, newest first along their key; then their events by seq.
    expect(plan(places)).toEqual(["SEARCH event_places USING INTEGER PRIMARY KEY (rowid<?)"]);
    expect(plan(events)).toContain("SEARCH events USING INTEGER PRIMARY KEY (rowid=?)");
    for (const sql of sqls) {
      expect(plan(sql).filter((s) => s.includes("TEMP B-TREE")), sql).toEqual([]);
      expect(walks(sql), sql).toEqual([]);
    }
  });

  it("lists events by time along the received_at index from the range's newest end, for every filter: nothing walked, nothing sorted", async () => {
    const limited = { hiddenObjects: ["conversation"], organizationUids: ["o"], locationUids: null };
    const lists: [string, (d1: D1Database) => Promise<unknown>][] = [
      ["a range", (d1) => listEventsInTime(d1, { since: 1, until: 9, after: null, limit: 50 })],
      ["since alone, from a cursor, by type and location", (d1) => listEventsInTime(d1, { since: 1, after: { receivedAt: 5, seq: 7 }, limit: 50, filter: { eventType: "o", locationUid: "o" } })],
      ["until alone, by status, a limited token", (d1) => listEventsInTime(d1, { until: 9, after: null, limit: 50, filter: { status: "failed" }, access: limited })],
    ];
    for (const [what, run] of lists) {
      const sqls = await preparedBy(run, { seq: 5, received_at: 3, hit: 1, id: 7, name: "o", verdict: 1 });
      const walk = sqls.find((s) => s.includes("ORDER BY e.received_at DESC"))!;
      // (Covering without a filter: the index alone.)
      expect(plan(walk).filter((s) => /^SEARCH e USING (COVERING )?INDEX events_received_at \(received_at>\? AND received_at<\?\)$/.test(s)), what).toHaveLength(1);
      for (const sql of sqls) {
        expect(plan(sql).filter((s) => s.includes("TEMP B-TREE")), `${what}\n${sql}`).toEqual([]);
        expect(walks(sql), `${what}\n${sql}`).toEqual([]);
      }
    }
  });

  it("writes an insert group's places row from its events' range, walking nothing", () => {
    const steps = plan(INSERT_PLACES);
    expect(steps.filter((s) => s.startsWith("SEARCH events"))).toEqual(Array(2).fill("SEARCH events USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)"));
    expect(walks(INSERT_PLACES)).toEqual([]);
  });
});

describe("bulk retry", () => {
  it("takes a page webhook by webhook, each one's deliveries in order from the cursor (failed ones along their index, others along its packed rows), for every filter: nothing sorted, nothing walked", async () => {
    const limited = { hiddenObjects: ["conversation"], organizationUids: ["o"], locationUids: null };
    const token = { hiddenObjects: ["conversation"], organizationUids: null, locationUids: null };
    const filters = [
      { status: "failed" as const },
      { status: "pending" as const, webhookUid: "w" },
      { status: "failed" as const, since: 1 },
      { status: "pending" as const, webhookUid: "w", since: 1 },
      { status: "expired" as const, access: limited },
      { status: "succeeded" as const, access: limited, since: 1, webhookUid: "w" },
      { status: "failed" as const, access: token },
    ];
    for (const filter of filters) {
      // (The webhooks with deliveries in the status, read first: the stand-in answers one; and a packed row of it.)
      const sqls = await preparedBy((d1) => retryDeliveries(d1, filter, { limit: 1000, after: { webhook: 3, seq: 9 } }, 0), {
        webhook: 7,
        walk: 1,
        seq: 5,
        last: 9,
        webhooks: "[[null,[0,2]]]",
      });
      // The webhooks to walk, read first: the one named by its key, a listed grant's by theirs, else from the cursor's on,
      // at most RETRY_COUNT_ROWS counts rows.
      const toWalk = sqls.find((s) => s.startsWith("SELECT c.webhook, CASE WHEN"))!;
      expect(toWalk, JSON.stringify(filter)).toMatch(new RegExp(` LIMIT ${RETRY_COUNT_ROWS}$`));
      const key = "webhookUid" in filter ? "rowid=?" : filter.access === limited ? "rowid=?" : "rowid>?";
      expect(plan(toWalk), JSON.stringify(filter)).toContainEqual(`SEARCH c USING INTEGER PRIMARY KEY (${key})`);
      const update = sqls.find((s) => s.startsWith("UPDATE deliveries SET status"))!;
      const steps = plan(update);
      if (filter.status === "failed") {
        // Failed ones, few among a webhook's deliveries, along their own partial index: index entries
        // alone (a LIMIT of them), what the index does not say checked on the rows it took.
        const walk = steps.filter((s) => s.includes("deliveries_failed"));
        expect(walk, `${JSON.stringify(filter)}\n${steps.join("\n")}`).toEqual([expect.stringMatching(/USING COVERING INDEX deliveries_failed \(webhook=\? AND seq>\?\)/)]);
        expect(update).toMatch(/ORDER BY walk\.wh, d\.seq LIMIT 1000\)/);
      } else {
        // Any other status: the webhook's packed rows oldest first from the cursor's, read before the
        // batch; the deliveries they name read by key, the status checked on each.
        const packed = sqls.find((s) => s.includes("FROM delivery_webhooks"))!;
        expect(plan(packed), JSON.stringify(filter)).toEqual(["SEARCH delivery_webhooks USING INTEGER PRIMARY KEY (rowid>?)", "SCALAR SUBQUERY 1", "SEARCH q USING INTEGER PRIMARY KEY (rowid<?)"]);
        expect(steps, JSON.stringify(filter)).toContain("SEARCH deliveries USING INTEGER PRIMARY KEY (rowid=?)");
        expect(update).toContain("seq IN (5, 7) AND status = ");
      }
      for (const sql of sqls) {
        // (The counts group the page's own rows, at most `limit`.)
        expect(plan(sql).filter((s) => s.includes("TEMP B-TREE FOR ORDER BY")), sql).toEqual([]);
        expect(walks(sql), sql).toEqual([]);
      }
    }
  });
});

describe("a webhook's deliveries, by status", () => {
  // A webhook's deliveries are found along its packed rows (migration 0038), which hold no status (a
  // status change then writes nothing there): a read by status checks it on the rows within a
  // budget, or goes by a partial index or the counts.
  const limited = { hiddenObjects: [], organizationUids: ["o"], locationUids: null };
  const stand = { id: 7, name: "w", webhook: 7, has: 1, seq: 5, oldest: 1, newest: 10, last: 9, webhooks: "[[null,[0,2]]]", hit: 1 };

  it("are listed along the webhooks' packed rows newest first, the status checked on each delivery named; failed ones along their partial index", async () => {
    const filters = [{ webhookUid: "w", status: "failed" as const }, { status: "failed" as const }, { status: "failed" as const, access: limited }, { status: "succeeded" as const, access: limited }, { access: limited }, { webhookUid: "w" }];
    for (const filter of filters) {
      const sqls = await preparedBy((d1) => listDeliveries(d1, filter, { limit: 50 }), { ...stand, status: 2, name: "access" in filter ? "o" : "w" });
      if ("status" in filter && filter.status === "failed") {
        const walk = sqls.find((s) => s.startsWith("SELECT driver"))!;
        const steps = plan(walk);
        expect(steps, `${JSON.stringify(filter)}\n${steps.join("\n")}`).toContainEqual(expect.stringMatching(/^SEARCH deliveries USING (COVERING )?INDEX deliveries_failed \(webhook=\? AND seq<\?\)$/));
        expect(steps.filter((s) => s.includes("TEMP B-TREE")), JSON.stringify(filter)).toEqual([]);
      } else {
        const packed = sqls.find((s) => s.includes("FROM delivery_webhooks"))!;
        expect(plan(packed), JSON.stringify(filter)).toEqual(["SEARCH delivery_webhooks USING INTEGER PRIMARY KEY (rowid<?)"]);
        const named = sqls.find((s) => s.includes("FROM deliveries WHERE seq IN"))!;
        expect(plan(named), JSON.stringify(filter)).toContain("SEARCH deliveries USING INTEGER PRIMARY KEY (rowid=?)");
      }
      for (const sql of sqls) expect(plan(sql).filter((s) => s.includes("TEMP B-TREE FOR ORDER BY")), sql).toEqual([]);
      // (The webhooks with deliveries in the status are read from their counts, a row each.)
      for (const sql of sqls) expect(walks(sql).filter((s) => s !== "SCAN delivery_counts"), sql).toEqual([]);
    }
  });

  it("are held and expired through the scheduler's partial indexes, never the webhook's whole range", async () => {
    const sqls = await preparedBy((d1) => [...holdWebhookStatements(d1, "w", 1, 1), ...expireWebhookStatements(d1, "w", 1)]);
    expect(sqls).toHaveLength(4);
    for (const sql of sqls) {
      const steps = plan(sql).filter((s) => /^(SCAN|SEARCH) deliveries\b/.test(s));
      expect(steps, sql).toContainEqual(expect.stringMatching(/USING (COVERING )?INDEX deliveries_(pending_due|owed_in_order) \(webhook=\?\)/));
      expect(steps.filter((s) => s.includes("deliveries_webhook ")), sql).toEqual([]);
      expect(walks(sql), sql).toEqual([]);
      // A delete's chunk (expireWebhookStatements' LIMIT) is taken in the index's order, never sorted.
      expect(plan(sql).filter((s) => s.includes("TEMP B-TREE FOR ORDER BY")), sql).toEqual([]);
    }
  });

  it("finds the deleted webhooks still owed something, and the disabled ones still with pending deliveries, from their counts, a row per webhook", async () => {
    for (const read of [(d1: D1Database) => deletedWithOwed(d1, 10), (d1: D1Database) => disabledWithPending(d1, 10)]) {
      const [sql] = await preparedBy(read);
      expect(plan(sql!).filter((s) => /deliveries\b/.test(s)), sql).toEqual([]);
    }
  });

  it("reads a page of webhooks' (notification endpoints') counts and health by their keys: nothing walked, no delivery read", async () => {
    const sqls = await preparedBy((d1) => webhookStatesOf(d1, ["a", "b"], Date.now()));
    expect(sqls).toHaveLength(3);
    for (const sql of sqls) {
      expect(walks(sql), sql).toEqual([]);
      expect(plan(sql).filter((s) => /\bdeliveries\b/.test(s)), sql).toEqual([]);
    }
    expect(plan(sqls[0]!)).toContain("SEARCH c USING INTEGER PRIMARY KEY (rowid=?)");
  });

  it("says whether a webhook holds deliveries from its counts, and finds an event's in a status by the event", async () => {
    const [outlook] = await preparedBy((d1) => pendingOutlook(d1, "w", []));
    // (When its next delivery is due: the head of its fresh ones and its soonest retry, never its whole range.)
    expect(plan(outlook!).filter((s) => /^(SEARCH|SCAN) d\b/.test(s))).toEqual([
      "SEARCH d USING INDEX deliveries_owed_in_order (webhook=? AND <expr>=?)",
      "SEARCH d USING INDEX deliveries_pending_due (webhook=?)",
    ]);
    expect(plan(outlook!)).toContain("SEARCH delivery_counts USING INTEGER PRIMARY KEY (rowid=?)");
    // A token whose grant holds one webhook: its whole range per event would be the planner's choice.
    const sqls = await preparedBy((d1) => listEvents(d1, { limit: 50, filter: { status: "failed" }, access: limited }), {
      ...stand,
      name: "o",
      last: 5,
      locations: null,
      organizations: "[[null,[0]]]",
    });
    const walk = sqls.find((s) => s.includes("FROM events WHERE seq IN"))!;
    expect(plan(walk).filter((s) => /deliveries|^SEARCH s\b/.test(s))).toEqual([BY_ID_RANGE, STRAYS]);
  });
});

describe("an event's deliveries", () => {
  // Since migration 0034 no index by event: each delivery's id starts with its event's receipt time,
  // so they are one range of the id index (with those of events received in the same millisecond),
  // and the few stored before outside it are listed by event in stray_deliveries.
  // (Counting them first, to choose how to read them, reads the index alone: COVERING.)
  const byRange = (steps: string[]) =>
    steps.filter((s) => /sqlite_autoindex_deliveries_1/.test(s)).map((s) => s.replace(/^SEARCH \w+ /, "SEARCH d ").replace("USING COVERING INDEX", "USING INDEX"));
  const strays = (steps: string[]) => steps.filter((s) => /^SEARCH s USING/.test(s));

  it("are read by the event page and the list by event along their id range and the strays, nothing walked", async () => {
    const reads: [string, (d1: D1Database) => unknown][] = [
      ["event page", (d1) => eventDeliveries(d1, "evt_x", null, { limit: 100 })],
      // (Its organization a name the stand knows: one no event names is answered at once, nothing read.)
      ["event page, limited token", (d1) => eventDeliveries(d1, "evt_x", { hiddenObjects: [], organizationUids: ["w"], locationUids: null }, { limit: 100 })],
      ["list by event", (d1) => listDeliveries(d1, { eventId: "evt_x", status: "failed", webhookUid: "w" }, { limit: 50 })],
    ];
    for (const [name, run] of reads) {
      const sqls = await preparedBy(run, { seq: 5, received_at: 1, within: 1, id: 7, name: "w", oldest: 1, newest: 10 });
      const ofEvent = sqls.filter((s) => s.includes("stray_deliveries"));
      expect(ofEvent.length, name).toBeGreaterThan(0);
      for (const sql of ofEvent) {
        const steps = plan(sql);
        expect(byRange(steps), `${name}\n${steps.join("\n")}`).toEqual([BY_ID_RANGE]);
        expect(strays(steps), name).toEqual([STRAYS]);
      }
      for (const sql of sqls) expect(walks(sql), sql).toEqual([]);
    }
  });

  it("are walked newest first along the deliveries' key, past EVENT_RANGE_DELIVERIES of them, by the event page and the list by event", async () => {
    const reads: [string, (d1: D1Database) => unknown][] = [
      ["event page", (d1) => eventDeliveries(d1, "evt_x", null, { limit: 100 })],
      ["list by event", (d1) => listDeliveries(d1, { eventId: "evt_x" }, { limit: 50 })],
    ];
    for (const [name, run] of reads) {
      const sqls = await preparedBy(run, { seq: 5, received_at: 1, within: EVENT_RANGE_DELIVERIES + 1, oldest: 1, newest: 10 });
      const walk = sqls.find((s) => s.startsWith("SELECT driver"))!;
      expect(plan(walk), name).toContain("SEARCH deliveries USING INTEGER PRIMARY KEY (rowid<?)");
      expect(byRange(plan(walk)), name).toEqual([]);
      for (const sql of sqls) expect(walks(sql), sql).toEqual([]);
    }
  });

  it("are checked, expired and purged by the retention a chunk at a time, along the id range of the times the chunk spans", async () => {
    const sqls = await preparedBy(
      (d1) => retentionStep(d1, { cutoff: 2, graceCutoff: 1, from: { receivedAt: 0, seq: 0 }, limit: 10, now: 3 }),
      { seq: 1, received_at: 1, owed: 0, graced: 0 },
    );
    const ofEvents = sqls.filter((s) => s.includes("stray_deliveries"));
    // The chunk's read (its deliveries read once per question), the expiry (and its counts), and the purge's statements each find them so.
    expect(ofEvents.length).toBeGreaterThanOrEqual(8);
    for (const sql of ofEvents) {
      const steps = plan(sql);
      expect(byRange(steps).length, `${sql}\n${steps.join("\n")}`).toBeGreaterThan(0);
      expect(new Set(byRange(steps)), sql).toEqual(new Set([BY_ID_RANGE]));
      expect(strays(steps).length, sql).toBeGreaterThan(0);
      expect(walks(sql), sql).toEqual([]);
    }
  });
});

describe("a webhook's scheduler", () => {
  // Since migration 0033 a fresh delivery (pending, never attempted) is in the owed index's fresh
  // range alone, one pending a retry in the due-time index and the owed index's other range (with
  // held ones): a read takes one range (`<expr>=?`) or a LIMIT of each, never both walked as one.
  const owedRange = "SEARCH d USING INDEX deliveries_owed_in_order (webhook=? AND <expr>=?)";
  const reads: [string, (d1: D1Database) => unknown, string[]][] = [
    ["due deliveries", (d1) => duePending(d1, "w", { now: 1, limit: 50, exclude: [] }), [owedRange, "SEARCH d USING INDEX deliveries_pending_due (webhook=? AND next_attempt_at<?)"]],
    ["owed ones in order", (d1) => owedInOrder(d1, "w", 20), [owedRange, owedRange]],
    [
      "due ones past the retention",
      (d1) => duePastRetention(d1, "w", { now: 1, horizon: 1, limit: 50, exclude: [] }),
      Array(2).fill("SEARCH d USING INDEX deliveries_owed_in_order (webhook=? AND <expr>=? AND event_received_at<?)"),
    ],
    ["overdue webhooks", (d1) => webhooksOverdue(d1, 1, 10), ["SEARCH d USING INDEX deliveries_pending_due (webhook=? AND next_attempt_at<?)", owedRange]],
    ["held ones released", (d1) => releaseHeld(d1, "w", 1000, 1), [owedRange, owedRange]],
    ["held ones released from where they start", (d1) => releaseHeld(d1, "w", 1000, 1, { heldFrom: 0, version: 0 }), Array(2).fill("SEARCH d USING INDEX deliveries_owed_in_order (webhook=? AND <expr>=? AND event_received_at>?)")],
    ["the oldest held one", (d1) => heldFrom(d1, "w", 50), [owedRange]],
    ["held ones expired", (d1) => expireHeld(d1, 1, 1), Array(2).fill("SEARCH d USING INDEX deliveries_owed_in_order (webhook=? AND <expr>=? AND event_received_at<?)")],
  ];

  it.each(reads)("reads %s along a range or two of its partial indexes, sorting nothing walked", async (_, run, searches) => {
    // (The stand-in's row: a pending delivery, for the jobs' contents read after.)
    const sqls = await preparedBy(run, { seq: 1, status: 1 });
    const deliveries = sqls.filter((s) => /\bdeliveries d\b/.test(s));
    expect(deliveries.flatMap((sql) => plan(sql).filter((s) => /^(SEARCH|SCAN) d\b/.test(s) && !s.includes("PRIMARY KEY")))).toEqual(searches);
    for (const sql of sqls) {
      expect(sortsOfWalks(sql), sql).toEqual([]);
      expect(walks(sql).filter((s) => s !== "SCAN w" && s !== "SCAN c"), sql).toEqual([]);
    }
  });
});

describe("alert episodes", () => {
  it("are found, counted in and closed through their keys or the partial index of open ones, never by walking the table", async () => {
    const sqls = await preparedBy(async (d1) => {
      await openEpisodeOf(d1, "source.rejecting", "s");
      await countIn(d1, { type: "source.rejecting", subject: "s", count: 1, now: 1 });
      await quietEpisodes(d1, ["ingest.dead_lettered", "source.rejecting"], 1, 100);
      await deliveringAgainEpisodes(d1, 1, 100);
      closeEpisodeStatement(d1, { seq: 1, id: "alr_1", type: "source.rejecting", subject: "s", openedAt: 1, lastAt: 1, closedAt: null, count: 1, data: {} }, 2);
      closeEpisodesOfStatement(d1, "w", 2);
      closeSourceEpisodeStatement(d1, "s", 2);
    }, { type: "source.rejecting", data: "{}" });
    expect(sqls).toHaveLength(7);
    for (const sql of sqls) expect(plan(sql).filter((s) => /^(SCAN|SEARCH) (alerts|a)\b/.test(s)), sql).toEqual([expect.stringMatching(/USING INDEX (alerts_open|sqlite_autoindex_alerts_1)\b/)]);
    // A dead-letter episode's webhook health: one row by its key.
    expect(plan(sqls[3]!).filter((s) => /webhook_health|\bh\b/.test(s))).toEqual([expect.stringMatching(/^SEARCH h USING PRIMARY KEY \(webhook_uid=\?\)/)]);
  });
});

describe("the re-open cool-down of webhook.failing", () => {
  it("walks only failing webhooks that recovered once, by when (webhook_health_refailing), each webhook and its open episode by their keys", async () => {
    const [sql] = await preparedBy((d1) => unannouncedFailures(d1, { closedFrom: 1, lastedFrom: 2 }, 100));
    const steps = plan(sql!);
    expect(walks(sql!), steps.join("\n")).toEqual([]);
    // (The open episode may be looked up before the webhook or after: sorted.)
    expect(steps.filter((s) => /^(SCAN|SEARCH) (h|w|a)\b/.test(s)).sort(), steps.join("\n")).toEqual([
      expect.stringMatching(/^SEARCH a USING (COVERING )?INDEX alerts_open \(subject=\? AND type=\?\)/),
      expect.stringMatching(/^SEARCH h USING INDEX webhook_health_refailing \(failing_alert_closed_at>\?\)/),
      expect.stringMatching(/^SEARCH w USING INDEX sqlite_autoindex_webhooks_1 \(uid=\?\)/),
    ]);
  });

  it("reads and writes when an episode closed, and opens a lasting streak's, by keys", async () => {
    const e = { seq: 1, id: "alr_1", type: "webhook.failing" as const, subject: "w", openedAt: 1, lastAt: 1, closedAt: null, count: 1, data: {} };
    const sqls = await preparedBy((d1) => [attemptAlertContextStatement(d1, "w", []), ...closeEpisodeStatements(d1, e, 2), openLastingFailureStatement(d1, e, 1)]);
    expect(sqls).toHaveLength(4);
    for (const sql of sqls) {
      expect(walks(sql), sql).toEqual([]);
      for (const s of plan(sql).filter((s) => /^(SCAN|SEARCH) (webhook_health|h|webhooks|w)\b/.test(s))) expect(s, sql).toMatch(/PRIMARY KEY|sqlite_autoindex_webhook(s|_health)_1|INDEX alerts_/);
    }
  });
});

describe("a webhook.disabled episode opened with its disable", () => {
  it("checks the webhook and its streak by their keys, and finds one left open by the partial index", async () => {
    const sqls = await preparedBy(async (d1) => {
      openDisabledEpisodeStatements(d1, { id: "alr_1", type: "webhook.disabled", subject: "w", openedAt: 1, lastAt: 1, count: 1, data: {} }, 1, 1);
      await disableApplies(d1, "w", 1, 1);
    });
    expect(sqls).toHaveLength(3);
    for (const sql of sqls) {
      expect(walks(sql), sql).toEqual([]);
      expect(plan(sql).filter((s) => /^(SCAN|SEARCH) (webhooks|webhook_health)\b/.test(s)), sql).toEqual([
        expect.stringMatching(/^SEARCH webhooks USING INDEX sqlite_autoindex_webhooks_1 \(uid=\?\)/),
        expect.stringMatching(/^SEARCH webhook_health USING (PRIMARY KEY|INDEX sqlite_autoindex_webhook_health_1) \(webhook_uid=\?\)/),
      ]);
    }
    expect(plan(sqls[0]!).filter((s) => /^(SCAN|SEARCH) alerts\b/.test(s))).toEqual([expect.stringMatching(/USING INDEX alerts_open\b/)]);
  });
});

describe("expired previous secrets", () => {
  it("are cleared along their partial index by the maintenance run, never by walking the webhooks", async () => {
    const [sql] = await preparedBy((d1) => clearExpiredPreviousSecrets(d1, 1, 1_000));
    const steps = plan(sql!);
    expect(steps.filter((s) => /^(SCAN|SEARCH) webhooks\b/.test(s)), steps.join("\n")).toEqual([
      expect.stringMatching(/^SEARCH webhooks USING INTEGER PRIMARY KEY \(rowid=\?\)/),
      expect.stringMatching(/^SEARCH webhooks USING (COVERING )?INDEX webhooks_previous_secret_expiry \(previous_secret_expires_at<\?\)/),
    ]);
    expect(walks(sql!)).toEqual([]);
  });
});

describe("the runtime the workers tests run", () => {
  it("is the one wrangler dev runs: the vitest plugin gets wrangler's miniflare (package.json overrides)", () => {
    const root = join(import.meta.dirname, "../..");
    const pkg = (path: string): { version: string; dependencies?: Record<string, string> } => JSON.parse(readFileSync(join(root, path), "utf8"));
    const nested = "node_modules/@cloudflare/vitest-plugin/node_modules/miniflare/package.json";
    const plugins = pkg(existsSync(join(root, nested)) ? nested : "node_modules/miniflare/package.json").version;
    const wranglers = pkg("node_modules/wrangler/package.json").dependencies?.miniflare;
    expect(plugins).toBe(wranglers);
  });
});

describe("a limited token's webhooks", () => {
  // Found by their owners (migration 0040), never by reading every webhook of the deployment and
  // checking the grant on each (~2 rows a webhook: tests/worker/many-webhooks.test.ts); the location
  // webhooks of its organizations by the organization kept on their rows (0057), never by a walk of
  // every location of its organizations.
  const limited = { hiddenObjects: [], organizationUids: ["o"], locationUids: ["l"] };
  const OWNERS = ["webhooks_organization (organization_uid=?", "webhooks_location (location_uid=?", "webhooks_grant_organization (grant_organization_uid=?", "webhooks_location_organization (location_organization_uid=?"];

  it("are found by their organizations, locations and the organization a location webhook is confined to, by the lists, the stats and the retry", async () => {
    const reads: [string, (d1: D1Database) => Promise<unknown>][] = [
      ["webhooks list", (d1) => listWebhooks(d1, { limit: 3, after: { createdAt: 5, uid: "w" }, access: limited })],
      ["stats", (d1) => stats(d1, limited)],
      ["deliveries list", (d1) => listDeliveries(d1, { status: "pending", access: limited }, { limit: 50 })],
      ["events by status", (d1) => listEvents(d1, { limit: 50, filter: { status: "pending" }, access: limited })],
      ["retry", (d1) => retryDeliveries(d1, { status: "pending", access: limited }, { limit: 10 }, 0)],
    ];
    for (const [what, run] of reads) {
      const sqls = (await preparedBy((d1) => run(d1).catch(() => null), { id: 7, name: "o" })).filter((s) => s.includes("INDEXED BY webhooks_organization"));
      expect(sqls.length, what).toBeGreaterThan(0);
      for (const sql of sqls) {
        const steps = plan(sql);
        // Along each owner's index, with its key (a list's page with the kind and its cursor too);
        // a webhook otherwise only by its uid.
        const owners = steps.flatMap((s) => /^SEARCH \w+ USING (?:COVERING )?INDEX (.*)$/.exec(s)?.[1] ?? []).filter((s) => /webhooks|locations/.test(s));
        expect(new Set(owners.map((s) => OWNERS.find((o) => s.startsWith(o)) ?? s)), `${what}\n${steps.join("\n")}`).toEqual(new Set([...OWNERS, ...(owners.some((s) => s.startsWith("sqlite_autoindex_webhooks_1")) ? ["sqlite_autoindex_webhooks_1 (uid=?)"] : [])]));
        expect(walks(sql), `${what}\n${steps.join("\n")}`).toEqual([]);
      }
    }
  });
});

describe("the organization kept on a location webhook's row (migration 0057)", () => {
  it("is written by its triggers along the webhooks of the location, or the webhook's own row, and its location's: nothing walked", () => {
    const triggers = db
      .prepare("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND sql LIKE '%location_organization_uid%' ORDER BY name")
      .all()
      .map((r) => ({ name: String(r.name), sql: String(r.sql) }));
    expect(triggers.map((t) => t.name)).toEqual([
      "webhook_location_organization_added",
      "webhook_location_organization_changed",
      "webhooks_location_forgotten",
      "webhooks_location_moved",
      "webhooks_location_placed",
    ]);
    for (const t of triggers) {
      // Each statement of the body, its NEW and OLD values as parameters.
      const body = /\bBEGIN\b([\s\S]*)\bEND\s*$/i.exec(t.sql)![1]!;
      const statements = body.split(";").map((q) => q.trim().replace(/\b(NEW|OLD)\.\w+/g, "?")).filter((q) => q !== "");
      expect(statements.length, t.name).toBeGreaterThan(0);
      for (const sql of statements) {
        const steps = plan(sql);
        const search = t.name.startsWith("webhooks_") ? /^SEARCH webhooks USING INDEX webhooks_location \(location_uid=\?\)/ : /^SEARCH webhooks USING INDEX sqlite_autoindex_webhooks_1 \(uid=\?\)/;
        expect(steps.some((s) => search.test(s)), `${t.name}\n${sql}\n${steps.join("\n")}`).toBe(true);
        expect(walks(sql), `${t.name}\n${steps.join("\n")}`).toEqual([]);
      }
    }
  });
});

describe("lists of tokens, webhooks and sources", () => {
  it("read a page from the cursor along their order's index: nothing walked, nothing sorted but a limited token's few a page", async () => {
    const pages: [string, (d1: D1Database) => Promise<unknown>, RegExp][] = [
      ["tokens", (d1) => listTokens(d1, { limit: 3, after: { createdAt: 5, id: "t" } }), /INDEX tokens_created \(\(created_at,id\)<\(\?,\?\)\)/],
      ["webhooks", (d1) => listWebhooks(d1, { limit: 3, after: { createdAt: 5, uid: "w" } }), /INDEX webhooks_created \(kind=\? AND \(created_at,uid\)<\(\?,\?\)\)/],
      ["sources", (d1) => listStoredSources(d1, { limit: 3, after: "s", except: ["podium"] }), /SEARCH sources USING INDEX sqlite_autoindex_sources_1 \(id>\?\)/],
      ["a limited token's sources", (d1) => listStoredSources(d1, { limit: 3, after: "s", owners: ["o"] }), /INDEX sources_organization \(organization_uid=\? AND id>\?\)/],
    ];
    for (const [what, run, search] of pages) {
      // (The stand-in's one row is no token, webhook or source: what was prepared is all that counts.)
      const [sql] = await preparedBy((d1) => run(d1).catch(() => null));
      const steps = plan(sql!);
      expect(steps.some((s) => search.test(s)), `${what}:\n${steps.join("\n")}`).toBe(true);
      expect(walks(sql!), what).toEqual([]);
      // A limited token's page sorts the next few of each of its organizations, no more.
      if (what !== "a limited token's sources") expect(steps.filter((s) => s.includes("TEMP B-TREE")), what).toEqual([]);
    }
  });
});
