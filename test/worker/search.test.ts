// GET /v1/events?q=…: by a field's value or text in the body, bounded, newest first, paginated, access-limited.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { SEARCH_BOUND } from "../../src/api/schemas/events";
import { FILTER_LIMITS, filterBudget, workSpent } from "../../src/routing/filter";
import { CALL_FILTER_WORK, matchesSearch, parseSearch } from "../../src/routing/search";
import { meteredD1 } from "../../bench/d1-meter";
import { eventsInRange, eventsWithBodies, storeEvents, type EventRow } from "../../src/store/events";
import { meteredApiCall, type Answered } from "./helpers";
import { pipeline, uniqueKey } from "./pipeline";
import { as, DATA_SCOPES, makeToken } from "./tokens";
import filtersDoc from "../../docs/filters-and-transforms.md?raw";

// The database is wiped between files only: one random start for this file, then each window()
// an hour of its own, 2 h after the last, so no two of its tests' windows overlap.
const WINDOWS_FROM = Date.UTC(2021, 0, 1) + Math.floor(Math.random() * 1e6) * 60_000;
let windows = 0;

/** A window of time of its own, far in the past, so each test searches only its events. */
function window() {
  const since = WINDOWS_FROM + windows++ * 2 * 3600_000;
  return { since, until: since + 3600_000, iso: (ms: number) => new Date(ms).toISOString() };
}

/** A pipeline, a tag for event ids and a window of time, all this test's own. */
const fresh = () => ({ p: pipeline(), tag: uniqueKey(), w: window() });

function row(tag: string, i: number, receivedAt: number, data: Record<string, unknown>, over: Partial<EventRow> = {}): EventRow {
  return {
    eventId: `evt_${tag}_${i}`,
    sourceId: "podium",
    dedupeKey: `${tag}-${i}`,
    eventType: "message.received",
    locationUid: `loc-${tag}`,
    organizationUid: `org-${tag}`,
    receivedAt,
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ data, metadata: { eventType: "message.received" } }),
    ...over,
  };
}

async function search(p: ReturnType<typeof pipeline>, q: string, w: { since: number; until: number }, extra = "") {
  const params = new URLSearchParams({ q, since: new Date(w.since).toISOString(), until: new Date(w.until).toISOString() });
  return p.api("GET", `/v1/events?${params}${extra}`);
}

const ids = (res: { json: { data: { id: string }[] } }) => res.json.data.map((e) => e.id);

describe("event search", () => {
  it("finds events by a field's value at a dotted path, newest first; numbers, strings and array elements alike", async () => {
    const { p, tag, w } = fresh();
    await storeEvents(env.DB, [
      row(tag, 1, w.since + 1000, { conversation: { uid: "conv-a" }, amount: 500, tags: ["new"] }),
      row(tag, 2, w.since + 2000, { conversation: { uid: "conv-b" }, amount: "500", tags: ["vip", "new"] }),
      row(tag, 3, w.since + 3000, { conversation: { uid: "conv-a" }, amount: 501 }),
    ]);
    expect(ids(await search(p, "data.conversation.uid=conv-a", w))).toEqual([`evt_${tag}_3`, `evt_${tag}_1`]);
    expect(ids(await search(p, "data.amount=500", w))).toEqual([`evt_${tag}_2`, `evt_${tag}_1`]);
    expect(ids(await search(p, "data.tags=vip", w))).toEqual([`evt_${tag}_2`]);
    expect(ids(await search(p, "data.conversation.uid=conv-z", w))).toEqual([]);
    // A filter document, in the language of webhook filters.
    expect(ids(await search(p, '{"body": {"data.amount": {"$gt": 500}}}', w))).toEqual([`evt_${tag}_3`]);
  });

  it("finds text anywhere in the raw body, case-insensitively", async () => {
    const { p, tag, w } = fresh();
    await storeEvents(env.DB, [
      row(tag, 1, w.since + 1000, { body: "Is the 2pm Appointment still open?" }),
      row(tag, 2, w.since + 2000, { body: "Thanks!" }),
    ]);
    expect(ids(await search(p, "appointment STILL", w))).toEqual([`evt_${tag}_1`]);
    expect(ids(await search(p, "thanks", w))).toEqual([`evt_${tag}_2`]);
  });

  it("finds text as the message has it, though its raw body escapes quotes, line breaks and (from an ASCII-only writer) other letters", async () => {
    const { p, tag, w } = fresh();
    const ascii = JSON.stringify({ data: { body: "Crème brûlée?" }, metadata: { eventType: "message.received" } }).replace(
      /[^\x00-\x7f]/g,
      (c) => `\\u${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, "0")}`,
    );
    await storeEvents(env.DB, [
      row(tag, 1, w.since + 1000, { body: 'She said "see you at 2"\nand a C:\\path' }),
      row(tag, 2, w.since + 2000, {}, { body: ascii }),
    ]);
    expect(ids(await search(p, 'said "see you', w))).toEqual([`evt_${tag}_1`]);
    expect(ids(await search(p, "C:\\path", w))).toEqual([`evt_${tag}_1`]);
    expect(ids(await search(p, "crème BRÛLÉE", w))).toEqual([`evt_${tag}_2`]);
    // The raw body's own text is still found as it is written.
    expect(ids(await search(p, '\\"see you', w))).toEqual([`evt_${tag}_1`]);
    expect(ids(await search(p, "cr\\u00e8me", w))).toEqual([`evt_${tag}_2`]);
  });

  it("finds text whose raw body escapes capitals (Python), slashes (PHP) or <, > and & (Go), in any case", async () => {
    const { p, tag, w } = fresh();
    await storeEvents(env.DB, [
      row(tag, 1, w.since + 1000, {}, { body: '{"w": "\\u00c9COLE"}' }),
      row(tag, 2, w.since + 2000, {}, { body: '{"u": "https:\\/\\/ex.com\\/zqpath"}' }),
      row(tag, 3, w.since + 3000, {}, { body: '{"h": "\\u003cb\\u003e \\u0026 co"}' }),
      // PHP's default: non-ASCII escaped and / as \/ together.
      row(tag, 4, w.since + 4000, {}, { body: '{"p": "caf\\u00e9\\/zqmenu"}' }),
    ]);
    expect(ids(await search(p, "café/zqmenu", w))).toEqual([`evt_${tag}_4`]);
    for (const q of ["ÉCOLE", "école", "École"]) expect(ids(await search(p, q, w)), q).toEqual([`evt_${tag}_1`]);
    for (const q of ["ex.com/zqpath", "https://ex.com"]) expect(ids(await search(p, q, w)), q).toEqual([`evt_${tag}_2`]);
    for (const q of ["<b>", "& co", "<B> & CO"]) expect(ids(await search(p, q, w)), q).toEqual([`evt_${tag}_3`]);
  });

  it("pages with a cursor, skipping and repeating nothing", async () => {
    const { p, tag, w } = fresh();
    await storeEvents(env.DB, [1, 2, 3, 4, 5].map((i) => row(tag, i, w.since + i * 1000, { needle: "yes", i })));
    const seen: string[][] = [];
    let cursor: string | null = null;
    do {
      const res = await search(p, "data.needle=yes", w, `&limit=2${cursor ? `&cursor=${cursor}` : ""}`);
      expect(res.status).toBe(200);
      seen.push(ids(res));
      cursor = res.json.nextCursor;
    } while (cursor && seen.length < 10);
    expect(seen).toEqual([[5, 4], [3, 2], [1]].map((page) => page.map((i) => `evt_${tag}_${i}`)));
  });

  it(`examines at most ${SEARCH_BOUND.events} events per call, and answers a cursor to search further back`, async () => {
    const { p, tag, w } = fresh();
    const older = row(tag, 0, w.since + 1, { needle: "the-one" });
    const newer = Array.from({ length: SEARCH_BOUND.events }, (_, i) => row(tag, i + 1, w.since + 1000 + i, { needle: "other" }));
    await storeEvents(env.DB, [older, ...newer]);
    const first = await search(p, "data.needle=the-one", w);
    expect(first.status).toBe(200);
    expect(first.json.data).toEqual([]); // the bound was reached before the match
    expect(first.json.nextCursor).not.toBeNull();
    const second = await search(p, "data.needle=the-one", w, `&cursor=${first.json.nextCursor}`);
    expect(ids(second)).toEqual([older.eventId]);
    expect(second.json.nextCursor).toBeNull();
  });

  it("reads no more rows on a later page than on the first: the cursor's time bounds the range walked, newest first and oldest first", async () => {
    const { tag, w } = fresh();
    const n = 3 * SEARCH_BOUND.events + 1;
    await storeEvents(env.DB, Array.from({ length: n }, (_, i) => row(tag, i, w.since + 1000 + i, { needle: "other" })));
    const meter = meteredD1(env.DB);
    const params = new URLSearchParams({ q: "data.needle=none", since: w.iso(w.since), until: w.iso(w.until) });
    const rows: number[] = [];
    let cursor: string | null = null;
    do {
      const r: Answered<"GET", "/v1/events"> & { rows: number } = await meteredApiCall(meter, "GET", `/v1/events?${params}${cursor ? `&cursor=${cursor}` : ""}`);
      expect(r.json.data).toEqual([]);
      rows.push(r.rows);
      cursor = r.json.nextCursor;
    } while (cursor && rows.length < 10);
    expect(rows).toHaveLength(4);
    // (Walking the earlier pages again: 1,000 rows more each page.)
    for (const later of rows.slice(1)) expect(later).toBeLessThanOrEqual(rows[0]! + 100);
    // Oldest first (a replay's read), from a cursor past most of the range: only what lies beyond it.
    const at = { receivedAt: w.since + 1000 + n - 11, seq: Number.MAX_SAFE_INTEGER };
    const read = await eventsWithBodies(meter.db, { since: w.since, until: w.until, after: { receivedAt: at.receivedAt - 1, seq: at.seq }, order: "oldest", limit: 100, maxChars: 1e9 });
    meter.reset();
    const again = await eventsWithBodies(meter.db, { since: w.since, until: w.until, after: { receivedAt: at.receivedAt - 1, seq: at.seq }, order: "oldest", limit: 100, maxChars: 1e9 });
    expect(again.events.map((e) => e.id)).toEqual(read.events.map((e) => e.id));
    expect(read.events).toHaveLength(11);
    expect(meter.usage.rowsRead).toBeLessThanOrEqual(100);
    // The same without bodies (a replay's pages): only what lies beyond the cursor, again.
    meter.reset();
    const metas = await eventsInRange(meter.db, { since: w.since, until: w.until, after: { receivedAt: at.receivedAt - 1, seq: at.seq }, limit: 100 });
    expect(metas.map((e) => e.id)).toEqual(read.events.map((e) => e.id));
    expect(meter.usage.rowsRead).toBeLessThanOrEqual(100);
  });

  it(`stops a call once the bodies examined reach ${SEARCH_BOUND.chars} characters`, async () => {
    const { p, tag, w } = fresh();
    const big = "x".repeat(1_000_000);
    await storeEvents(env.DB, [1, 2, 3, 4, 5, 6].map((i) => row(tag, i, w.since + i * 1000, { pad: big, needle: "yes" })));
    const first = await search(p, "data.needle=yes", w);
    expect(first.json.data.length).toBeGreaterThan(0);
    expect(first.json.data.length).toBeLessThan(6);
    expect(first.json.nextCursor).not.toBeNull();
    const second = await search(p, "data.needle=yes", w, `&cursor=${first.json.nextCursor}`);
    expect([...ids(first), ...ids(second)]).toEqual([6, 5, 4, 3, 2, 1].map((i) => `evt_${tag}_${i}`));
  });

  it("counts only the bodies the caller may see against a call's characters: other tenants' sizes do not cut a limited token's page", async () => {
    const { p, tag, w } = fresh();
    const big = "x".repeat(1_000_000);
    // Another organization's six big events, newer than this token's two small ones.
    const others = [1, 2, 3, 4, 5, 6].map((i) => row(tag, 10 + i, w.since + 10_000 + i * 1000, { pad: big, needle: "yes" }, { organizationUid: `other-${tag}`, locationUid: `other-loc-${tag}` }));
    await storeEvents(env.DB, [row(tag, 1, w.since + 1000, { needle: "yes" }), row(tag, 2, w.since + 2000, { needle: "yes" }), ...others]);
    const t = await makeToken(p, ["events:read", ...DATA_SCOPES], { organizationUids: [`org-${tag}`] });
    const params = new URLSearchParams({ q: "data.needle=yes", since: w.iso(w.since), until: w.iso(w.until) });
    const res = await as(p, t.token, "GET", `/v1/events?${params}`);
    expect(res.status).toBe(200);
    // Both in one call: the 6,000,000 characters it may not see were past the call's 4 Mi, which ended it before them.
    expect([ids(res), res.json.nextCursor]).toEqual([[`evt_${tag}_2`, `evt_${tag}_1`], null]);
    // The admin, who sees them all, pages as before.
    expect((await search(p, "data.needle=yes", w)).json.nextCursor).not.toBeNull();
  });

  it("examines fewer characters per call for a filter whose $regex costs more per character, and finds as much", async () => {
    const { p, tag, w } = fresh();
    // 900 characters an event, none a run of 300 letters: within the filter's own budget for one
    // event (its weight is ~1,500 a character), 60 of them over what one call may do.
    const miss = ("a".repeat(299) + "1").repeat(3);
    await storeEvents(env.DB, Array.from({ length: 60 }, (_, i) => row(tag, i, w.since + i * 1000, { s: i === 0 ? "b".repeat(300) : miss })));
    const q = '{"body": {"data.s": {"$regex": "\\\\pL{300}"}}}';
    const first = await search(p, q, w);
    expect(first.status).toBe(200);
    expect(first.json.data).toEqual([]);
    expect(first.json.nextCursor).not.toBeNull();
    // Followed to the end, the search finds what it matches, as a cheap one does in one call.
    const found: string[] = [];
    let calls = 1;
    for (let page = first; ; calls++) {
      found.push(...ids(page));
      if (page.json.nextCursor === null) break;
      page = await search(p, q, w, `&cursor=${page.json.nextCursor}`);
    }
    expect(found).toEqual([`evt_${tag}_0`]);
    expect(calls).toBeGreaterThan(1);
    const cheap = await search(p, '{"body": {"data.s": {"$regex": "^b+$"}}}', w);
    expect([ids(cheap), cheap.json.nextCursor]).toEqual([[`evt_${tag}_0`], null]);
  });

  it("stops a call once its events' $regex work reaches the call's bound, header strings too (no body counts them), and finds as much", async () => {
    const { p, tag, w } = fresh();
    // A header of 1,300 characters, no run of 300 letters but in one event: ~1,500 a character, so
    // each event spends nearly its whole $regex budget, and 40 of them over what one call may do
    // (the bodies, a few dozen characters each, are far under the characters bound).
    const miss = ("a".repeat(299) + "1").repeat(5).slice(0, 1300);
    const rows = Array.from({ length: 40 }, (_, i) => row(tag, i, w.since + i * 1000, {}, { headers: { "x-note": i === 3 ? "b".repeat(1300) : miss } }));
    await storeEvents(env.DB, rows);
    const q = '{"headers": {"x-note": {"$regex": "\\\\pL{300}"}}}';
    const parsed = parseSearch(q);
    if (!parsed.ok) throw new Error(parsed.message);
    const b = filterBudget();
    expect(matchesSearch(parsed.query, { body: rows[3]!.body, headers: rows[3]!.headers }, b)).toBe(true);
    expect(FILTER_LIMITS.regexWork - b.left).toBeGreaterThan(FILTER_LIMITS.regexWork * 0.9);
    const found: string[] = [];
    let calls = 0;
    for (let cursor: string | null = ""; cursor !== null && calls < 10; calls++) {
      const res = await search(p, q, w, cursor ? `&cursor=${cursor}` : "");
      expect(res.status).toBe(200);
      found.push(...ids(res));
      cursor = res.json.nextCursor;
    }
    expect(found).toEqual([`evt_${tag}_3`]);
    expect(calls).toBe(2);
  });

  it("stops a call once a filter's other conditions have done its work bound, each event matched with a budget of its own, and finds as much", async () => {
    const { p, tag, w } = fresh();
    // $in of 330 numbers (a q of 1,700 characters) over an array of 1,600 that holds only the last:
    // about 1 Mi units of work each event (half its own budget, so each matches), 20 Mi over the 20
    // (before: all in one call; over 1,000 such events, a thousand budgets).
    const values = Array.from({ length: 330 }, (_, i) => 1000 + i);
    const q = JSON.stringify({ body: { "data.ids": { $in: values } } });
    const rows = Array.from({ length: 20 }, (_, i) => row(tag, i, w.since + i * 1000, { ids: [...Array.from({ length: 1599 }, (_, j) => 2000 + j), 1329] }));
    await storeEvents(env.DB, rows);
    // What matching each event spends, as the search spends it (counted, not timed).
    const parsed = parseSearch(q);
    if (!parsed.ok) throw new Error(parsed.message);
    const spent = new Map(
      rows.map((r) => {
        const b = filterBudget();
        expect(matchesSearch(parsed.query, { body: r.body, headers: r.headers }, b)).toBe(true);
        return [r.eventId, workSpent(b)];
      }),
    );
    for (const n of spent.values()) expect(n).toBeLessThan(FILTER_LIMITS.work);
    const pages: string[][] = [];
    const cursors: (string | null)[] = [];
    let cursor: string | null = null;
    do {
      const res = await search(p, q, w, `&limit=100${cursor ? `&cursor=${cursor}` : ""}`);
      expect(res.status).toBe(200);
      pages.push(ids(res));
      cursor = res.json.nextCursor;
      cursors.push(cursor);
    } while (cursor && pages.length < 20);
    // Walked to the end: every event, newest first, each once, as one unbounded call would find them.
    expect(pages.flat()).toEqual(rows.map((r) => r.eventId).reverse());
    expect(pages.length).toBeGreaterThan(1);
    // Each call examined events (all match: those of its page) until their work reached the bound, no further.
    pages.forEach((page, i) => {
      const work = page.map((id) => spent.get(id)!);
      const before = work.slice(0, -1).reduce((a, b) => a + b, 0);
      expect(page.length).toBeGreaterThan(0);
      expect(before).toBeLessThan(CALL_FILTER_WORK);
      if (cursors[i] !== null) expect(before + work[work.length - 1]!).toBeGreaterThanOrEqual(CALL_FILTER_WORK);
    });
  });

  it("shows a limited token only the events it may see", async () => {
    const { p, tag, w } = fresh();
    await storeEvents(env.DB, [
      row(tag, 1, w.since + 1000, { text: "shared words" }),
      row(tag, 2, w.since + 2000, { text: "shared words" }, { organizationUid: `org-${tag}-other`, locationUid: `loc-${tag}-other` }),
      row(tag, 3, w.since + 3000, { text: "shared words" }, { eventType: "contact.updated" }),
    ]);
    expect(ids(await search(p, "shared words", w)).sort()).toEqual([1, 2, 3].map((i) => `evt_${tag}_${i}`));
    const params = `q=shared+words&since=${w.iso(w.since)}&until=${w.iso(w.until)}`;
    const own = await makeToken(p, ["events:read", ...DATA_SCOPES], { organizationUids: [`org-${tag}`] });
    expect(ids(await as(p, own.token, "GET", `/v1/events?${params}`))).toEqual([`evt_${tag}_3`, `evt_${tag}_1`]);
    // Without read_contacts, contact events stay hidden.
    const messagesOnly = await makeToken(p, ["events:read", "read_messages"], { organizationUids: [`org-${tag}`] });
    expect(ids(await as(p, messagesOnly.token, "GET", `/v1/events?${params}`))).toEqual([`evt_${tag}_1`]);
  });

  it("answers a limited token cursors that say nothing of where another's events lie, and that only this API opens", async () => {
    const { p, tag, w } = fresh();
    // Another organization's events fill the first call's bound: its cursor stops at one of them.
    const others = Array.from({ length: SEARCH_BOUND.events }, (_, i) =>
      row(tag, i + 1, w.since + 1000 + i, { text: "words" }, { organizationUid: `org-${tag}-other`, locationUid: `loc-${tag}-other` }),
    );
    await storeEvents(env.DB, [row(tag, 0, w.since + 1, { text: "words" }), ...others]);
    const own = await makeToken(p, ["events:read", ...DATA_SCOPES], { organizationUids: [`org-${tag}`] });
    const params = `q=words&since=${w.iso(w.since)}&until=${w.iso(w.until)}`;
    const first = await as(p, own.token, "GET", `/v1/events?${params}`);
    expect(first.json.data).toEqual([]);
    const cursor: string = first.json.nextCursor;
    // Sealed: neither the time nor the position of the event it stopped at is in it.
    const opened = new TextDecoder().decode(Uint8Array.from(atob(cursor.replace(/-/g, "+").replace(/_/g, "/")), (ch) => ch.charCodeAt(0)));
    const stoppedAt = String(w.since + 1000);
    expect(opened).not.toContain(stoppedAt);
    expect(cursor).not.toContain(btoa(`t${stoppedAt}`).slice(0, 12));
    // It still goes on where it stopped; one altered, or spelled as a plain position, is refused.
    expect(ids(await as(p, own.token, "GET", `/v1/events?${params}&cursor=${cursor}`))).toEqual([`evt_${tag}_0`]);
    const altered = `${cursor.slice(0, -2)}${cursor.endsWith("AA") ? "BB" : "AA"}`;
    expect((await as(p, own.token, "GET", `/v1/events?${params}&cursor=${altered}`)).json.error.code).toBe("invalid_request");
    const plain = btoa(`t${w.since + 500}s1`).replace(/=+$/, "");
    expect((await as(p, own.token, "GET", `/v1/events?${params}&cursor=${plain}`)).status).toBe(400);
  });

  it("searches the last 24 hours unless told otherwise, and combines with the other filters", async () => {
    const p = pipeline();
    const key = uniqueKey();
    const conversation = `conv-${key}`;
    const body = JSON.stringify({
      data: { conversation: { uid: conversation }, location: { uid: `loc-${key}`, organizationUid: `org-${key}` } },
      metadata: { eventType: "message.received", eventUid: crypto.randomUUID() },
    });
    const id = await p.ingest(body);
    expect(ids(await p.api("GET", `/v1/events?q=data.conversation.uid=${conversation}`))).toEqual([id]);
    expect(ids(await p.api("GET", `/v1/events?q=data.conversation.uid=${conversation}&eventType=message.sent`))).toEqual([]);
    expect(ids(await p.api("GET", `/v1/events?q=data.conversation.uid=${conversation}&organizationUid=org-${key}`))).toEqual([id]);
  });

  it("answers the admin at once, empty and without a cursor, for a location or organization never stored, as the lists do (a source: 404)", async () => {
    const { p, tag, w } = fresh();
    await storeEvents(env.DB, Array.from({ length: 30 }, (_, i) => row(tag, i, w.since + i * 1000, { n: i })));
    const meter = meteredD1(env.DB);
    // A source never stored is refused by name (404), the names read by key: no walk either.
    const params = new URLSearchParams({ q: "n", since: new Date(w.since).toISOString(), until: new Date(w.until).toISOString() });
    const source = await meteredApiCall(meter, "GET", `/v1/events?${params}&sourceId=nope-${tag}`);
    expect([source.status, source.json.error?.code]).toEqual([404, "not_found"]);
    expect(source.rows).toBeLessThanOrEqual(5);
    for (const filter of [`locationUid=loc-none-${tag}`, `organizationUid=org-none-${tag}`]) {
      const params = new URLSearchParams({ q: "n", since: new Date(w.since).toISOString(), until: new Date(w.until).toISOString() });
      const r = await meteredApiCall(meter, "GET", `/v1/events?${params}&${filter}`);
      expect(r.status, filter).toBe(200);
      expect(r.json, filter).toEqual({ data: [], nextCursor: null });
      // The names looked up, no walk of the range (it read the 30 events' rows, and answered a cursor, before).
      expect(r.rows, filter).toBeLessThanOrEqual(5);
    }
    // Named as stored, the same search finds them.
    const found = await search(p, "n", w, `&locationUid=loc-${tag}`);
    expect(ids(found)).toHaveLength(30);
  });

  it("answers 400 invalid_request for a bad filter document, an empty range or a list cursor", async () => {
    const p = pipeline();
    const w = window();
    const bad = await search(p, '{"body": {"a": {"$ne": 1}}}', w);
    expect(bad.status).toBe(400);
    expect(bad.json.error.details.issues[0]).toMatchObject({ path: "q.body.a.$ne" });
    // A pattern over the program bound, refused before it is compiled (7 of 26,000 instructions took about a second a call).
    const L = "abcdefghijklmnopqrstuvwxyz";
    const costly = await search(p, JSON.stringify({ body: { s: { $regex: `(?:${[...L].map((c) => `${c}{1000}`).join("|")})` } } }), w);
    expect(costly.status).toBe(400);
    expect(costly.json.error.details.issues).toEqual([
      {
        path: "q.body.s.$regex",
        message: `the pattern compiles to up to 26027 RE2 instructions, a repetition counting what it repeats that many times (x{100} is 100 x's), a class the Unicode tables it is built of (\\pL 14 more); the limit is ${FILTER_LIMITS.regexProgram}`,
      },
    ]);
    const empty = await search(p, "x", { since: w.until, until: w.since });
    expect(empty.status).toBe(400);
    const list = await p.api("GET", "/v1/events?limit=1");
    const cursor = list.json.nextCursor ?? "czE";
    const mixed = await search(p, "x", w, `&cursor=${cursor}`);
    expect(mixed.status).toBe(400);
    expect(mixed.json.error.code).toBe("invalid_request");
  });

  it("compares a field's number as filters do (beyond 2^53, with its neighbours), and finds the digits as written by text, as the docs say", () => {
    const body = '{"data": {"big": 9007199254740992}}';
    const found = (q: string) => {
      const parsed = parseSearch(q);
      if (!parsed.ok) throw new Error(parsed.message);
      return matchesSearch(parsed.query, { body, headers: {} });
    };
    expect(found("data.big=9007199254740993")).toBe(true);
    expect(found("9007199254740993")).toBe(false);
    expect(found("9007199254740992")).toBe(true);
    // A number written with an exponent is that number, as JSON reads it.
    expect(found("data.big=9.007199254740992e15")).toBe(true);
    expect(found("data.big=9.007199254740992E+15")).toBe(true);
    // One past JSON's numbers (Infinity) is the text as written, not a refused search.
    expect(parseSearch("data.big=1e400")).toMatchObject({ ok: true });
    expect(found("data.big=1e400")).toBe(false);
    expect(filtersDoc).toContain("`data.id=9007199254740993` finds `9007199254740992` too, where the text search `9007199254740993` finds only those digits");
  });

  it("finds by a field's value the number it reads as and the string as written: `=5e4` the number 50000 or the string \"5e4\", not \"50000\", as the docs say", () => {
    const found = (q: string, amount: unknown) => {
      const parsed = parseSearch(q);
      if (!parsed.ok) throw new Error(parsed.message);
      return matchesSearch(parsed.query, { body: JSON.stringify({ data: { object: { amount_due: amount } } }), headers: {} });
    };
    const q = "data.object.amount_due";
    expect([50000, "50000", "5e4"].map((v) => found(`${q}=50000`, v))).toEqual([true, true, false]);
    expect([50000, "50000", "5e4"].map((v) => found(`${q}=5e4`, v))).toEqual([true, false, true]);
    expect(filtersDoc.replace(/\s+/g, " ")).toContain(
      '`data.object.amount_due=50000` matches the number 50000 or the string `"50000"`; `=5e4` matches the number 50000 too, but of strings only `"5e4"`, as written;',
    );
  });

  it("takes a q of at most 2,000 characters, as the docs say", async () => {
    const p = pipeline();
    const w = window();
    expect((await search(p, "x".repeat(2000), w)).status).toBe(200);
    const long = await search(p, "x".repeat(2001), w);
    expect(long.status).toBe(400);
    expect(long.json.error.details.issues[0]).toMatchObject({ path: "q" });
    expect(filtersDoc).toContain("`q` is at most 2,000 characters");
  });
});
