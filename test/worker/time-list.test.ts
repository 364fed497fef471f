// GET /v1/events?since=…&until=… (no q): the received_at range walked newest received first, with a
// cursor of its own, so a range in the past is found by its first call however many events are newer.
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { meteredD1 } from "../../bench/d1-meter";
import { random } from "../../scripts/seed/volume";
import { eventIdFor } from "../../src/domain/ids";
import { storeEvents, type EventRow } from "../../src/store/events";
import { ADMIN, call, dashboardCookie, ingestMessage, meteredApiCall, podiumBody } from "./helpers";
import { pipeline, uniqueKey } from "./pipeline";
import { makeToken } from "./tokens";

/** The most D1 rows a call may read (volume.test.ts). */
const MAX_ROWS = 10_000;
const DAY = 86_400_000;
/** More than one walk's rows (EVENT_SCAN_ROWS, 4,000) of events newer than the range, and as many older ones stored after them. */
const NEWER = 4_100;

const meter = meteredD1(env.DB);
const p = pipeline();
const k = uniqueKey();
// Minutes of its own, years ahead: no other test's events lie between or after them.
const B = Date.UTC(2090, 0, 1) + Math.floor(Math.random() * 1_000_000) * 60_000;
const iso = (ms: number) => new Date(ms).toISOString();
const orgs = [`org-a-${k}`, `org-b-${k}`];
const sources = [`src-a-${k}`, `src-b-${k}`];
const TYPES = ["message.received", "review.created", "contact.created"];

interface Stored {
  id: string;
  type: string;
  org: string;
  loc: string;
  source: string;
  at: number;
  held: boolean;
}
/** Every event this file stores, as the API should list it. */
const stored: Stored[] = [];
let token = "";
let heldOrg = "";

function row(e: Stored): EventRow {
  return {
    eventId: e.id,
    sourceId: e.source,
    dedupeKey: e.id,
    eventType: e.type,
    locationUid: e.loc,
    organizationUid: e.org,
    receivedAt: e.at,
    headers: {},
    body: JSON.stringify({ i: e.id }),
  };
}

beforeAll(async () => {
  const rand = random(17);
  // The range's events: 80 at distinct seconds of its hour, stored in another order than their times'.
  const seconds = Array.from({ length: 3600 }, (_, i) => i).sort(() => rand() - 0.5).slice(0, 80);
  const past: Stored[] = seconds.slice(0, 60).map((s, i) => {
    const org = orgs[i % 2]!;
    return { id: `evt_${k}_p${i}`, type: TYPES[Math.floor(rand() * 3)]!, org, loc: `${org}-loc${Math.floor(rand() * 2)}`, source: sources[Math.floor(rand() * 2)]!, at: B + s * 1000, held: false };
  });
  await storeEvents(env.DB, past.map(row));
  // 20 through the pipeline, owed to a disabled webhook of their organization: each has a held delivery.
  const hook = await p.webhookOn("ok");
  heldOrg = hook.org;
  expect((await p.api("PATCH", `/v1/webhooks/${hook.webhook.uid}`, { disabled: true })).status).toBe(200);
  const held: Stored[] = [];
  for (const s of seconds.slice(60)) {
    const id = await eventIdFor({ id: "podium", eventSalt: null }, { given: `${k}-${s}` });
    held.push({ id, type: "message.received", org: hook.org, loc: "", source: "podium", at: B + s * 1000, held: true });
  }
  await p.runIngest(held.map((e) => ingestMessage({ eventId: e.id, dedupeKey: `${k}-${(e.at - B) / 1000}`, organizationUid: e.org, receivedAt: e.at, body: podiumBody({ organizationUid: e.org }) })));
  // Newer events (the next day), then older ones (the day before) stored after them: the newest positions.
  const many = (tag: string, from: number): Stored[] =>
    Array.from({ length: NEWER }, (_, i) => ({ id: `evt_${k}_${tag}${i}`, type: "contact.updated", org: orgs[0]!, loc: `${orgs[0]}-loc0`, source: sources[0]!, at: from + i, held: false }));
  const newer = many("n", B + DAY);
  const older = many("o", B - DAY);
  for (const group of [newer, older]) for (let i = 0; i < group.length; i += 500) await storeEvents(env.DB, group.slice(i, i + 500).map(row));
  stored.push(...past, ...held.map((e) => ({ ...e, loc: null as unknown as string })), ...newer, ...older);
  token = (await makeToken(p, ["events:read", "read_messages", "read_reviews"], { organizationUids: [orgs[0]!] })).token;
}, 120_000);

const read = (path: string, headers: Record<string, string> = ADMIN) => meteredApiCall(meter, "GET", path, undefined, headers);

/** Newest received first (distinct times). */
const newestFirst = (events: Stored[]) => [...events].sort((a, b) => b.at - a.at).map((e) => e.id);

/** Every page of a list followed through its cursors, each call within MAX_ROWS. */
async function everyPage(path: string, headers?: Record<string, string>) {
  const ids: string[] = [];
  const rows: number[] = [];
  /** Each page's events. */
  const pages: number[] = [];
  let cursor: string | null = null;
  for (let calls = 0; calls < 1000; calls++) {
    const r = await read(`${path}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`, headers);
    expect(r.status, `${path} ${JSON.stringify(r.json)}`).toBe(200);
    expect(r.rows, path).toBeLessThanOrEqual(MAX_ROWS);
    rows.push(r.rows);
    ids.push(...r.json.data.map((e: { id: string }) => e.id));
    pages.push(r.json.data.length);
    cursor = r.json.nextCursor;
    if (!cursor) return { ids, rows, pages };
  }
  throw new Error(`${path}: more than 1,000 calls`);
}

describe("a list filtered by time", () => {
  it("answers a past range's events on its first call, however many newer or later-stored events there are", async () => {
    const inHour = stored.filter((e) => e.at >= B && e.at < B + 3600_000);
    expect(inHour).toHaveLength(80);
    const first = await read(`/v1/events?since=${iso(B)}&until=${iso(B + 3600_000)}&limit=100`);
    expect(first.status).toBe(200);
    console.log("rows read, a past hour's first call:", first.rows);
    expect(first.rows).toBeLessThanOrEqual(MAX_ROWS);
    expect(first.json.data.map((e: { id: string }) => e.id)).toEqual(newestFirst(inHour));
    expect(first.json.nextCursor).toBeNull();

    // Until alone: the newest received before it first (not the older events stored after them).
    const until = await read(`/v1/events?until=${iso(B + 3600_000)}&limit=50`);
    expect(until.status).toBe(200);
    expect(until.json.data.map((e: { id: string }) => e.id)).toEqual(newestFirst(inHour).slice(0, 50));
    expect(until.json.nextCursor).toEqual(expect.any(String));

    // Since alone: its events, and then the end, not empty pages on through the rest of the table.
    const tail = stored.filter((e) => e.at >= B + DAY + NEWER - 100);
    expect(tail).toHaveLength(100);
    const since = await read(`/v1/events?since=${iso(B + DAY + NEWER - 100)}&limit=100`);
    expect(since.json.data.map((e: { id: string }) => e.id)).toEqual(newestFirst(tail));
    expect(since.json.nextCursor).toBeNull();
  });

  it("yields, followed through its cursors, exactly the range's events the filters and the token admit, each once, newest received first", async () => {
    const [since, until] = [B, B + DAY + NEWER];
    const range = stored.filter((e) => e.at >= since && e.at < until);
    // The hour's 80, and a walk's worth and more of newer ones: a rare filter's first page is empty.
    expect(range.length).toBeGreaterThan(4_000);
    const seesToken = (e: Stored) => e.org === orgs[0] && !e.type.startsWith("contact.");
    const cases: [string, (e: Stored) => boolean, boolean?][] = [
      ["", () => true],
      ["eventType=review.created", (e) => e.type === "review.created"],
      [`organizationUid=${orgs[1]}&eventType=message.received`, (e) => e.org === orgs[1] && e.type === "message.received"],
      [`sourceId=${sources[1]}`, (e) => e.source === sources[1]],
      [`locationUid=${orgs[0]}-loc1`, (e) => e.loc === `${orgs[0]}-loc1`],
      ["status=held", (e) => e.held],
      [`status=held&organizationUid=${heldOrg}`, (e) => e.held],
      ["status=succeeded", () => false],
      ["", seesToken, true],
      ["eventType=message.received", (e) => seesToken(e) && e.type === "message.received", true],
      [`locationUid=${orgs[0]}-loc0`, (e) => seesToken(e) && e.loc === `${orgs[0]}-loc0`, true],
      ["status=held", () => false, true],
    ];
    for (const [filter, admits, limited] of cases) {
      for (const limit of [7, 100]) {
        const path = `/v1/events?since=${iso(since)}&until=${iso(until)}&limit=${limit}${filter ? `&${filter}` : ""}`;
        const got = await everyPage(path, limited ? { authorization: `Bearer ${token}` } : undefined);
        const what = `${path}${limited ? " (limited token)" : ""}`;
        expect(got.ids, what).toEqual(newestFirst(range.filter(admits)));
        // A filter none of the newer events pass: the first call's walk (4,000 rows) ends among them, its page empty.
        if (filter === "eventType=review.created") expect(got.pages[0], what).toBe(0);
      }
    }
  }, 120_000);

  it("refuses its cursor with other bounds, without them, or from a list without them", async () => {
    const [since, until] = [iso(B), iso(B + 3600_000)];
    const cursor = (await read(`/v1/events?since=${since}&until=${until}&limit=5`)).json.nextCursor as string;
    expect(cursor).toEqual(expect.any(String));
    // The same bounds spelt another way continue it.
    const same = await read(`/v1/events?since=${encodeURIComponent(new Date(B).toISOString().replace("Z", "+00:00"))}&until=${until}&limit=5&cursor=${encodeURIComponent(cursor)}`);
    expect(same.status).toBe(200);
    for (const other of [`since=${since}`, `until=${until}`, `since=${since}&until=${iso(B + 7200_000)}`, "eventType=message.received", `q=x&since=${since}&until=${until}`]) {
      const res = await read(`/v1/events?${other}&limit=5&cursor=${encodeURIComponent(cursor)}`);
      expect(res.status, other).toBe(400);
    }
    const plain = (await read("/v1/events?limit=1")).json.nextCursor as string;
    expect((await read(`/v1/events?since=${since}&limit=5&cursor=${encodeURIComponent(plain)}`)).status).toBe(400);
  });

  it("pages the dashboard's events by a past range newest received first, its link to older events continuing the range", async () => {
    const cookie = await dashboardCookie();
    // The form's datetime-local values: minutes, UTC.
    const minute = (ms: number) => iso(ms).slice(0, 16);
    let path: string | null = `/dashboard/events?since=${minute(B)}&until=${minute(B + 3600_000)}`;
    const ids: string[] = [];
    for (let pages = 0; path !== null; pages++) {
      expect(pages).toBeLessThan(3);
      const res = await call(new Request(`https://edgehook.test${path}`, { headers: { cookie } }));
      expect(res.status).toBe(200);
      const html = await res.text();
      ids.push(...[...html.matchAll(/<td class="mono">(evt_[^<]+)<\/td>/g)].map((m) => m[1]!));
      path = /<a href="(\/dashboard\/events\?[^"]*cursor=[^"]*)">Older events/.exec(html)?.[1]?.replaceAll("&amp;", "&") ?? null;
    }
    expect(ids).toEqual(newestFirst(stored.filter((e) => e.at >= B && e.at < B + 3600_000)));
  });
});
