import { env } from "cloudflare:workers";
import { describe, expect, it, onTestFinished } from "vitest";
import { REPLAY_PAGE_EVENTS } from "../../src/api/routes/replay";
import { SEARCH_BOUND } from "../../src/api/schemas/events";
import { filterBudget, matchesFilter, validateFilter, workSpent } from "../../src/routing/filter";
import { CALL_FILTER_WORK } from "../../src/routing/search";
import { storeEvents, type EventRow } from "../../src/store/events";
import { DAY_MS } from "../../src/domain/time";
import { createSource } from "./helpers";
import { pipeline, uniqueKey } from "./pipeline";
import { as, makeToken } from "./tokens";
import { webhookDeliveryRows } from "./rows";

type P = ReturnType<typeof pipeline>;

/** The timelines lie 150 to 350 days back (minutes no other test shares): the longest retention (365 days) keeps them owed (nothing past it is sent). */
const LONG_RETENTION = { RETENTION_DAYS: "365" };

// The database is wiped between files only: one random start for this file, then each timeline()
// an hour of its own (a timeline spans under 10 minutes, from 1 s before its base), so no two of its
// tests' timelines overlap.
const TIMELINES_FROM = Date.now() - 350 * DAY_MS + Math.floor(Math.random() * 190 * 24 * 60) * 60_000;
let timelines = 0;

/** Events of this test's own source, at minutes of their own (no other test shares them). */
function timeline() {
  const k = uniqueKey();
  const base = TIMELINES_FROM + 60_000 + timelines++ * 3600_000;
  const source = `src-${k}`;
  const row = (i: number, over: Partial<EventRow> = {}): EventRow => ({
    eventId: `evt_${k}_${i}`,
    sourceId: source,
    dedupeKey: `${k}-${i}`,
    eventType: "message.received",
    locationUid: `loc-${k}`,
    organizationUid: `org-${k}`,
    receivedAt: base + i * 1000,
    headers: {},
    body: JSON.stringify({ i }),
    ...over,
  });
  const at = (i: number) => new Date(base + i * 1000).toISOString();
  return { k, base, source, row, at, org: `org-${k}` };
}

async function replay(p: P, body: Record<string, unknown>) {
  return p.api("POST", "/v1/events/replay", body);
}

async function deliveryEvents(webhookUid: string) {
  return (await webhookDeliveryRows(webhookUid)).map((r) => ({ event_id: r.event_id, status: r.status }));
}

describe("POST /v1/events/replay (a time range)", () => {
  it("counts with dryRun, then replays the range oldest first, one bounded page per call", async () => {
    const p = pipeline(LONG_RETENTION);
    const t = timeline();
    const n = REPLAY_PAGE_EVENTS + 5;
    const hook = await p.createWebhook({ url: `https://downstream.test/ok/${t.k}`, eventTypes: ["message.*"], organizationUid: t.org });
    const rows = [
      t.row(-1), // before the range
      ...Array.from({ length: n }, (_, i) => t.row(i)),
      t.row(n, { eventType: "contact.updated" }), // in the range, not subscribed
      t.row(n + 1), // at `until`: outside
    ];
    await storeEvents(env.DB, rows);
    const range = { since: t.at(0), until: t.at(n + 1), webhookUid: hook.uid };

    const dry = await replay(p, { ...range, dryRun: true });
    expect(dry).toMatchObject({ status: 200, json: { dryRun: true, events: n, deliveries: n, nextCursor: null } });
    expect(await deliveryEvents(hook.uid)).toEqual([]);

    const first = await replay(p, range);
    expect(first.status).toBe(202);
    expect(first.json).toMatchObject({ dryRun: false, events: REPLAY_PAGE_EVENTS, deliveries: REPLAY_PAGE_EVENTS });
    expect(first.json.nextCursor).toEqual(expect.any(String));
    const firstPage = await deliveryEvents(hook.uid);
    expect(firstPage.map((d) => d.event_id)).toEqual(rows.slice(1, 1 + REPLAY_PAGE_EVENTS).map((r) => r.eventId));
    expect(p.woken).toEqual([hook.uid]); // one wake-up for the page, however many deliveries

    const second = await replay(p, { ...range, cursor: first.json.nextCursor });
    expect(second.json).toMatchObject({ events: 5, deliveries: 5, nextCursor: null });
    const all = await deliveryEvents(hook.uid);
    expect(all.map((d) => d.event_id)).toEqual(rows.slice(1, 1 + n).map((r) => r.eventId));
    expect(all.every((d) => d.status === "pending")).toBe(true);
  });

  it("replays only the caller's events, to matching webhooks in its grant, held for a disabled one; by type too", async () => {
    const p = pipeline(LONG_RETENTION);
    const t = timeline();
    const other = `org-${t.k}-other`;
    const mine = await p.createWebhook({ url: `https://downstream.test/ok/${t.k}`, eventTypes: ["*"], organizationUid: t.org });
    await createSource({ id: t.source, secrets: ["a-source-of-its-own"] });
    const global = await p.createWebhook({ url: `https://downstream.test/ok/${t.k}-g`, eventTypes: ["*"], sourceIds: [t.source] });
    const contacts = await p.createWebhook({ url: `https://downstream.test/ok/${t.k}-c`, eventTypes: ["contact.*"], organizationUid: t.org });
    await storeEvents(env.DB, [t.row(0), t.row(1, { organizationUid: other }), t.row(2, { eventType: "contact.updated" })]);
    await p.api("PATCH", `/v1/webhooks/${mine.uid}`, { disabled: true });
    const token = await makeToken(p, ["events:replay", "read_messages", "read_contacts"], { organizationUids: [t.org] });
    const range = { since: t.at(0), until: t.at(3) };

    const res = await as(p, token.token, "POST", "/v1/events/replay", range);
    expect(res.status).toBe(202);
    expect(res.json).toMatchObject({ events: 2, deliveries: 3, nextCursor: null });
    expect(await deliveryEvents(global.uid)).toEqual([]);
    expect(await deliveryEvents(mine.uid)).toEqual([
      { event_id: `evt_${t.k}_0`, status: "held" },
      { event_id: `evt_${t.k}_2`, status: "held" },
    ]);
    expect(await deliveryEvents(contacts.uid)).toEqual([{ event_id: `evt_${t.k}_2`, status: "pending" }]);
    expect(p.woken).toEqual([mine.uid, contacts.uid]); // the PATCH, then the one webhook with a pending delivery

    const byType = await replay(p, { ...range, eventType: "message.received", webhookUid: global.uid });
    expect(byType.json).toMatchObject({ events: 2, deliveries: 2 });
    expect((await deliveryEvents(global.uid)).map((d) => d.event_id)).toEqual([`evt_${t.k}_0`, `evt_${t.k}_1`]);
    expect((await as(p, token.token, "POST", "/v1/events/replay", { ...range, webhookUid: global.uid })).status).toBe(404);

    // One event is replayed the same way: a named webhook must be owed it.
    const single = await p.api("POST", `/v1/events/evt_${t.k}_0/replay`, { webhookUid: contacts.uid });
    expect(single.status).toBe(409);
    expect(single.json.error.message).toMatch(/not subscribed/);
    expect(single.json.error.details).toEqual({ reason: "not_subscribed" });
  });

  it("answers a type whose data scope the token lacks done at once, however many such events the range holds", async () => {
    const p = pipeline(LONG_RETENTION);
    const t = timeline();
    const n = REPLAY_PAGE_EVENTS + 5;
    await p.createWebhook({ url: `https://downstream.test/ok/${t.k}`, eventTypes: ["*"], organizationUid: t.org });
    await storeEvents(env.DB, Array.from({ length: n }, (_, i) => t.row(i)));
    const token = await makeToken(p, ["events:replay", "read_contacts"], { organizationUids: [t.org] });
    const range = { since: t.at(0), until: t.at(n) };
    for (const dryRun of [true, false]) {
      const res = await as(p, token.token, "POST", "/v1/events/replay", { ...range, eventType: "message.received", dryRun });
      expect(res.json).toMatchObject({ events: 0, deliveries: 0, nextCursor: null });
    }
    // A cursor it did not give is refused all the same.
    const forged = await as(p, token.token, "POST", "/v1/events/replay", { ...range, eventType: "message.received", cursor: "garbage" });
    expect(forged.status).toBe(400);
    // The admin, who may read them, walks the range a page at a time.
    expect((await replay(p, { ...range, eventType: "message.received", dryRun: true })).json).toMatchObject({ events: n, nextCursor: null });
    const first = await replay(p, { ...range, eventType: "message.received" });
    expect(first.json).toMatchObject({ events: REPLAY_PAGE_EVENTS, nextCursor: expect.any(String) });
  });

  it("reads fewer bodies a call when the targets' filters have costly $regex patterns, and replays as much", async () => {
    const p = pipeline(LONG_RETENTION);
    const t = timeline();
    // 900 characters an event, none a run of 300 letters: within a filter's own budget for one
    // event (its weight is ~1,500 a character), 60 of them over what one call may do.
    const miss = ("a".repeat(299) + "1").repeat(3);
    const hook = await p.createWebhook({
      url: `https://downstream.test/ok/${t.k}`,
      eventTypes: ["*"],
      organizationUid: t.org,
      filter: { body: { s: { $regex: "\\pL{300}" } } },
    });
    await storeEvents(env.DB, Array.from({ length: 60 }, (_, i) => t.row(i, { body: JSON.stringify({ s: i === 59 ? "b".repeat(300) : miss }) })));
    const range = { since: t.at(0), until: t.at(60), webhookUid: hook.uid };
    const first = await replay(p, range);
    expect(first).toMatchObject({ status: 202, json: { events: 0, deliveries: 0 } });
    expect(first.json.nextCursor).not.toBeNull();
    // Followed to the end, the range is replayed to what the filter admits.
    let calls = 1;
    for (let page = first; page.json.nextCursor !== null; calls++) page = await replay(p, { ...range, cursor: page.json.nextCursor });
    expect(calls).toBeGreaterThan(1);
    expect(await deliveryEvents(hook.uid)).toEqual([{ event_id: `evt_${t.k}_59`, status: "pending" }]);
  });

  it("reads the bodies only of the events of its type the caller may see: others neither cost a filtered page nor cut it short", async () => {
    const p = pipeline(LONG_RETENTION);
    const t = timeline();
    // As above, 59 bodies that would take a filtered page past its characters; these are of another type, or another organization's.
    const miss = ("a".repeat(299) + "1").repeat(3);
    const filter = { body: { s: { $regex: "\\pL{300}" } } };
    const hook = await p.createWebhook({ url: `https://downstream.test/ok/${t.k}`, eventTypes: ["*"], organizationUid: t.org, filter });
    const others = (row: typeof t.row, over: Partial<EventRow>) => Array.from({ length: 59 }, (_, i) => row(i, { body: JSON.stringify({ s: miss }), ...over }));
    await storeEvents(env.DB, [...others(t.row, { eventType: "message.sent" }), t.row(59, { eventType: "review.created", body: JSON.stringify({ s: "b".repeat(300) }) })]);
    const byType = await replay(p, { since: t.at(0), until: t.at(60), webhookUid: hook.uid, eventType: "review.created", dryRun: true });
    expect(byType).toMatchObject({ status: 200, json: { events: 1, deliveries: 1, nextCursor: null } });

    const u = timeline();
    const theirs = await p.createWebhook({ url: `https://downstream.test/ok/${u.k}`, eventTypes: ["*"], organizationUid: u.org, filter });
    await storeEvents(env.DB, [...others(u.row, { organizationUid: `${u.org}-other`, locationUid: `${u.k}-other` }), u.row(59, { body: JSON.stringify({ s: "b".repeat(300) }) })]);
    const { token } = await makeToken(p, ["events:replay", "webhooks:read", "read_messages"], { organizationUids: [u.org] });
    const limited = await as(p, token, "POST", "/v1/events/replay", { since: u.at(0), until: u.at(60), webhookUid: theirs.uid, dryRun: true });
    expect(limited).toMatchObject({ status: 200, json: { events: 1, deliveries: 1, nextCursor: null } });

    // More of them than a page examines (SEARCH_BOUND.events): the page answers a cursor past them, and the range goes on to the event.
    const v = timeline();
    const many = Array.from({ length: SEARCH_BOUND.events + 5 }, (_, i) => v.row(i, { eventType: "message.sent", receivedAt: v.base + i * 100 }));
    await storeEvents(env.DB, [...many, v.row(1100, { eventType: "review.created", receivedAt: v.base + 200_000, body: JSON.stringify({ s: "b".repeat(300) }) })]);
    const hookV = await p.createWebhook({ url: `https://downstream.test/ok/${v.k}`, eventTypes: ["*"], organizationUid: v.org, filter });
    const range = { since: v.at(0), until: v.at(300), webhookUid: hookV.uid, eventType: "review.created", dryRun: true };
    let page = await replay(p, range);
    let found = page.json.events;
    for (let calls = 1; page.json.nextCursor !== null && calls < 10; calls++) {
      page = await replay(p, { ...range, cursor: page.json.nextCursor });
      found += page.json.events;
    }
    expect([found, page.json.nextCursor]).toEqual([1, null]);
  });

  it("ends a page once the filters tested have done the call's work bound, each event with a budget of its own, and replays as much", async () => {
    const p = pipeline(LONG_RETENTION);
    const t = timeline();
    // $in of 1,000 numbers over an array of 500 that holds only the last: about 1 Mi units of work
    // each event (half its own budget, so each is owed), 20 Mi over the 20 (before: all in one call;
    // over a page of 1,000 such events, a thousand budgets).
    const filter = { body: { ids: { $in: Array.from({ length: 1000 }, (_, i) => 100_000 + i) } } };
    const hook = await p.createWebhook({ url: `https://downstream.test/ok/${t.k}`, eventTypes: ["*"], organizationUid: t.org, filter });
    const rows = Array.from({ length: 20 }, (_, i) => t.row(i, { body: JSON.stringify({ ids: [...Array.from({ length: 499 }, (_, j) => 200_000 + j), 100_999] }) }));
    await storeEvents(env.DB, rows);
    // What testing each event spends, as the replay spends it (counted, not timed).
    const v = validateFilter(filter);
    if (!v.ok) throw new Error("invalid filter");
    const spent = rows.map((r) => {
      const b = filterBudget();
      expect(matchesFilter(v.filter, { body: JSON.parse(r.body), headers: r.headers }, b)).toBe(true);
      return workSpent(b);
    });
    const range = { since: t.at(0), until: t.at(20), webhookUid: hook.uid };
    const walk = async (dryRun: boolean) => {
      const pages: { events: number; cursor: string | null }[] = [];
      let cursor: string | null = null;
      do {
        const res = await replay(p, { ...range, dryRun, ...(cursor ? { cursor } : {}) });
        expect(res.status).toBe(dryRun ? 200 : 202);
        expect(res.json.deliveries).toBe(res.json.events);
        cursor = res.json.nextCursor;
        pages.push({ events: res.json.events, cursor });
      } while (cursor && pages.length < 20);
      // Every event is owed (each a page's), so a page is the events its call examined: until their work reached the bound, no further.
      let at = 0;
      for (const page of pages) {
        const work = spent.slice(at, at + page.events);
        at += page.events;
        const before = work.slice(0, -1).reduce((a, b) => a + b, 0);
        expect(page.events).toBeGreaterThan(0);
        expect(before).toBeLessThan(CALL_FILTER_WORK);
        if (page.cursor !== null) expect(before + work[work.length - 1]!).toBeGreaterThanOrEqual(CALL_FILTER_WORK);
      }
      expect(at).toBe(rows.length);
      expect(pages.length).toBeGreaterThan(1);
    };
    await walk(true);
    expect(await deliveryEvents(hook.uid)).toEqual([]);
    await walk(false);
    // Followed to the end, each event is replayed once, oldest first, as one unbounded call would.
    expect((await deliveryEvents(hook.uid)).map((d) => d.event_id)).toEqual(rows.map((r) => r.eventId));
  });

  it("answers 400 for a range that does not move forward or a cursor it did not give", async () => {
    const p = pipeline(LONG_RETENTION);
    const t = timeline();
    for (const body of [
      { since: t.at(5), until: t.at(5) },
      { since: t.at(5), until: t.at(1) },
      { since: "yesterday", until: t.at(1) },
      { until: t.at(1) },
      { since: t.at(0), until: t.at(1), cursor: "bm9wZQ" },
    ]) {
      const res = await replay(p, body);
      expect(res.status).toBe(400);
      expect(res.json.error.code).toBe("invalid_request");
    }
  });

  it("refuses a misspelt Podium type, in a replay and a list, naming the closest, where it answered 0 events without a word", async () => {
    const p = pipeline(LONG_RETENTION);
    const t = timeline();
    await storeEvents(env.DB, [t.row(0)]);
    const typo = { path: "eventType", message: '"message.recieved" is not a Podium event type; did you mean "message.received"?', closest: "message.received" };
    for (const dryRun of [true, false]) {
      const res = await replay(p, { since: t.at(0), until: t.at(1), eventType: "message.recieved", dryRun });
      expect(res.status).toBe(400);
      expect(res.json.error).toMatchObject({ code: "invalid_request", details: { issues: [typo] } });
      expect(res.json.error.message).toBe(`Invalid body: eventType: ${typo.message} (GET /v1/event-types lists them.)`);
    }
    const token = await makeToken(p, ["events:read", "read_messages"], { organizationUids: [t.org] });
    for (const who of [null, token.token]) {
      const listed = who === null ? await p.api("GET", "/v1/events?eventType=message.recieved") : await as(p, who, "GET", "/v1/events?eventType=message.recieved");
      expect(listed.status).toBe(400);
      expect(listed.json.error.details.issues).toEqual([typo]);
    }
    // A Podium type some source has received though the catalog lacks it (a newer one), and another provider's type, are filters like any.
    const newer = `message.newer_${t.k}`;
    await storeEvents(env.DB, [t.row(1, { eventType: newer })]);
    await env.DB.prepare("INSERT INTO source_event_types (event_type, source_id, first_seen_at) VALUES (?, ?, 0)").bind(newer, t.source).run();
    onTestFinished(async () => void (await env.DB.prepare("DELETE FROM source_event_types WHERE event_type = ?").bind(newer).run()));
    expect((await replay(p, { since: t.at(0), until: t.at(2), eventType: newer, dryRun: true })).status).toBe(200);
    expect((await p.api("GET", `/v1/events?eventType=${newer}&organizationUid=${t.org}`)).json.data.map((e: { id: string }) => e.id)).toEqual([t.row(1).eventId]);
    expect((await replay(p, { since: t.at(0), until: t.at(2), eventType: "charge.succeeded", dryRun: true })).status).toBe(200);
    expect((await p.api("GET", "/v1/events?eventType=charge.succeeded&limit=1")).status).toBe(200);
  });

  it("refuses a type that differs only in case from one the catalog declares, naming its spelling: types match as written", async () => {
    const p = pipeline(LONG_RETENTION);
    const t = timeline();
    await storeEvents(env.DB, [t.row(0)]);
    const token = await makeToken(p, ["events:read", "events:replay", "read_messages"], { organizationUids: [t.org] });
    for (const [given, spelt] of [["Message.Received", "message.received"], ["Charge.Refunded", "charge.refunded"]]) {
      const issue = { path: "eventType", message: `"${given}" is not an event type as written (types match in their case); did you mean "${spelt}"?`, closest: spelt };
      for (const who of [null, token.token]) {
        const listed = who === null ? await p.api("GET", `/v1/events?eventType=${given}`) : await as(p, who, "GET", `/v1/events?eventType=${given}`);
        expect([listed.status, listed.json.error?.details.issues], `${given} ${who}`).toEqual([400, [issue]]);
      }
      const replayed = await replay(p, { since: t.at(0), until: t.at(1), eventType: given, dryRun: true });
      expect([replayed.status, replayed.json.error?.details.issues], given).toEqual([400, [issue]]);
    }
    // One a source has received in that case is a filter like any, to a token that sees what sources received.
    const received = `Message.Received`;
    await env.DB.prepare("INSERT INTO source_event_types (event_type, source_id, first_seen_at) VALUES (?, ?, 0)").bind(received, t.source).run();
    onTestFinished(async () => void (await env.DB.prepare("DELETE FROM source_event_types WHERE event_type = ? AND source_id = ?").bind(received, t.source).run()));
    expect((await p.api("GET", `/v1/events?eventType=${received}&limit=1`)).status).toBe(200);
    // A limited token is judged against the catalog alone, not told what any tenant's sources received (docs/api.md): a typo so received too.
    const typo = "message.recieved";
    await env.DB.prepare("INSERT INTO source_event_types (event_type, source_id, first_seen_at) VALUES (?, ?, 0)").bind(typo, t.source).run();
    onTestFinished(async () => void (await env.DB.prepare("DELETE FROM source_event_types WHERE event_type = ? AND source_id = ?").bind(typo, t.source).run()));
    expect((await p.api("GET", `/v1/events?eventType=${typo}&limit=1`)).status).toBe(200);
    for (const given of [received, typo]) expect((await as(p, token.token, "GET", `/v1/events?eventType=${given}&limit=1`)).status, given).toBe(400);
  });

  it("refuses a search's cursor: taken as its own, it skipped without a word the range before it", async () => {
    const p = pipeline(LONG_RETENTION);
    const t = timeline();
    const hook = await p.createWebhook({ url: `https://downstream.test/ok/${t.k}`, eventTypes: ["message.*"], organizationUid: t.org });
    await storeEvents(env.DB, [0, 1, 2, 3].map((i) => t.row(i)));
    const range = { since: t.at(0), until: t.at(4) };
    // A search newest first: its cursor is the position after event 3, which read oldest first is past the whole range.
    const search = await p.api("GET", `/v1/events?q=${encodeURIComponent('{"body": {"i": {"$gte": 0}}}')}&organizationUid=${t.org}&since=${range.since}&until=${range.until}&limit=1`);
    expect(search.status).toBe(200);
    expect(search.json.nextCursor).toEqual(expect.any(String));
    const mixed = await replay(p, { ...range, webhookUid: hook.uid, cursor: search.json.nextCursor });
    expect(mixed.status).toBe(400);
    expect(mixed.json.error).toMatchObject({ code: "invalid_request", details: { issues: [{ path: "cursor" }] } });
    expect(await deliveryEvents(hook.uid)).toEqual([]);

    expect((await replay(p, { ...range, webhookUid: hook.uid })).json).toMatchObject({ events: 4, deliveries: 4, nextCursor: null });
  });

  it("reads a bound finer than a millisecond as the first millisecond at or after it, in a replay, a list and a search", async () => {
    const p = pipeline(LONG_RETENTION);
    const t = timeline();
    const hook = await p.createWebhook({ url: `https://downstream.test/ok/${t.k}`, eventTypes: ["message.*"], organizationUid: t.org });
    await storeEvents(env.DB, [0, 1, 2].map((i) => t.row(i)));
    // Half a millisecond after event i was received (as Python's isoformat writes microseconds): event i is before it.
    const after = (i: number) => t.at(i).replace("Z", "5Z");
    expect((await replay(p, { since: after(1), until: t.at(3), webhookUid: hook.uid, dryRun: true })).json).toMatchObject({ events: 1, deliveries: 1 });
    const range = `organizationUid=${t.org}&since=${after(1)}&until=${after(2)}`;
    const listed = await p.api("GET", `/v1/events?${range}`);
    expect(listed.json.data.map((e: { id: string }) => e.id)).toEqual([t.row(2).eventId]);
    const searched = await p.api("GET", `/v1/events?${range}&q=${encodeURIComponent('{"body": {"i": {"$gte": 0}}}')}`);
    expect(searched.json.data.map((e: { id: string }) => e.id)).toEqual([t.row(2).eventId]);
  });

  it("continues with a cursor only the request that gave it: another webhook, type, range or a dry run answers 400", async () => {
    const p = pipeline(LONG_RETENTION);
    const t = timeline();
    const n = REPLAY_PAGE_EVENTS + 1;
    const hook = await p.createWebhook({ url: `https://downstream.test/ok/${t.k}`, eventTypes: ["message.*"], organizationUid: t.org });
    const other = await p.createWebhook({ url: `https://downstream.test/ok/${t.k}/other`, eventTypes: ["message.*"], organizationUid: t.org });
    await storeEvents(env.DB, Array.from({ length: n }, (_, i) => t.row(i)));
    const range = { since: t.at(0), until: t.at(n), webhookUid: hook.uid };
    const first = await replay(p, range);
    expect(first.json).toMatchObject({ events: REPLAY_PAGE_EVENTS, nextCursor: expect.any(String) });
    const cursor = first.json.nextCursor;
    // Each would have begun past the first page: the other webhook would never get it, the dry run would count one event.
    for (const body of [
      { ...range, cursor, dryRun: true },
      { ...range, cursor, webhookUid: other.uid },
      { ...range, cursor, eventType: "message.received" },
      { ...range, cursor, until: t.at(n + 1) },
    ]) {
      const res = await replay(p, body);
      expect(res.status).toBe(400);
      expect(res.json.error).toMatchObject({ code: "invalid_request", details: { issues: [{ path: "cursor" }] } });
    }
    expect(await deliveryEvents(other.uid)).toEqual([]);
    // The same instant spelt with an offset, and dryRun given as its default, is the same request.
    const since = t.at(0).replace("Z", "+00:00");
    expect((await replay(p, { ...range, since, cursor, dryRun: false })).json).toMatchObject({ events: 1, nextCursor: null });
    expect((await deliveryEvents(hook.uid)).length).toBe(n);
  });
});
