// A list's cursor continues the request that gave it alone (docs/api.md#lists): given with other
// filters it answers 400, where it answered a page of those filters from its position, passing
// over without a word what they would have listed before it (a cursor of eventType=message.sent
// with eventType=review.created answered `{"data":[],"nextCursor":null}` though there were some).
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { BULK_RETRY_LIMIT } from "../../src/api/routes/deliveries";
import { DRY_RUN_PAGE_EVENTS } from "../../src/api/routes/replay";
import { DAY_MS } from "../../src/domain/time";
import { deadLetterOf } from "../../src/pipeline/dead-letters";
import { recordDeadLetters } from "../../src/store/dead-letters";
import { storeEvents, type EventRow } from "../../src/store/events";
import { call, dashboardCookie, podiumBody, type ApiAnswer } from "./helpers";
import { pipeline, uniqueKey } from "./pipeline";
import { failedDeliveries } from "./rows";

type P = ReturnType<typeof pipeline>;

const withCursor = (path: string, cursor: string) => `${path}${path.includes("?") ? "&" : "?"}cursor=${encodeURIComponent(cursor)}`;

/** The 400 of a cursor given with other filters than its own: the bad-cursor code, and a message that says so. */
function expectOtherFilters(res: ApiAnswer, what: string) {
  expect(res.status, what).toBe(400);
  expect(res.json.error.code, what).toBe("invalid_request");
  expect(res.json.error.message, what).toMatch(/^The cursor belongs to other filters: .*leave cursor out to start again from the first page\.$/);
  expect(res.json.error.details.issues, what).toEqual([{ path: "cursor", message: "a cursor of other filters" }]);
}

/** Every item of a list under the same filters, its pages' sizes taken in turn from `limits` (a page size may change between pages). */
async function walkItems<T>(p: P, path: string, limits: number[]): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 200; page++) {
    const limit = limits[page % limits.length]!;
    const at = `${path}${path.includes("?") ? "&" : "?"}limit=${limit}`;
    const res: ApiAnswer = await p.api("GET", cursor === null ? at : withCursor(at, cursor));
    expect(res.status, JSON.stringify(res.json)).toBe(200);
    items.push(...res.json.data);
    cursor = res.json.nextCursor;
    if (cursor === null) return items;
  }
  throw new Error(`${path}: no end after 200 pages`);
}

const walk = async (p: P, path: string, limits: number[]) => (await walkItems<{ id: string }>(p, path, limits)).map((i) => i.id);

/** A first page's cursor (of a list with more than `limit` items under `path`'s filters). */
async function cursorOf(p: P, path: string, limit = 1): Promise<string> {
  const res = await p.api("GET", `${path}${path.includes("?") ? "&" : "?"}limit=${limit}`);
  expect(res.status, JSON.stringify(res.json)).toBe(200);
  expect(res.json.nextCursor, path).toEqual(expect.any(String));
  return res.json.nextCursor;
}

/** An organization of its own with `sent` message.sent and `reviews` review.created events, oldest first. */
async function eventsOf(p: P, sent: number, reviews: number) {
  const org = `org-${uniqueKey()}`;
  const ids = { sent: [] as string[], reviews: [] as string[] };
  for (let i = 0; i < Math.max(sent, reviews); i++) {
    if (i < reviews) ids.reviews.push(await p.ingest(podiumBody({ type: "review.created", organizationUid: org })));
    if (i < sent) ids.sent.push(await p.ingest(podiumBody({ type: "message.sent", organizationUid: org })));
  }
  return { org, ...ids };
}

describe("GET /v1/events: a cursor goes on with the filters that gave it alone", () => {
  it("refuses a cursor of one event type on another, or without it; the same filters page through every event, whatever the page sizes", async () => {
    const p = pipeline();
    const { org, sent, reviews } = await eventsOf(p, 3, 3);
    const [sentList, reviewList] = [`/v1/events?organizationUid=${org}&eventType=message.sent`, `/v1/events?organizationUid=${org}&eventType=review.created`];
    const c = await cursorOf(p, sentList, 2);
    // The audit's case: it answered {"data":[],"nextCursor":null} though review.created events were there.
    expectOtherFilters(await p.api("GET", withCursor(`${reviewList}&limit=2`, c)), "another eventType");
    expectOtherFilters(await p.api("GET", withCursor(`/v1/events?organizationUid=${org}&limit=2`, c)), "without eventType");
    expectOtherFilters(await p.api("GET", withCursor(`/v1/events?eventType=message.sent&limit=2`, c)), "without organizationUid");
    expectOtherFilters(await p.api("GET", withCursor(`${sentList}&status=failed&limit=2`, c)), "with status besides");
    // The same filters, in another order and with another limit, go on.
    const same = await p.api("GET", withCursor(`/v1/events?eventType=message.sent&limit=5&organizationUid=${org}`, c));
    expect(same.status).toBe(200);
    expect(same.json.data.map((e: { id: string }) => e.id)).toEqual([sent[0]]);
    expect(await walk(p, sentList, [2, 1])).toEqual([...sent].reverse());
    expect(await walk(p, reviewList, [1, 3])).toEqual([...reviews].reverse());
  });

  it("ties a time list's cursor to its other filters too, not only to since and until", async () => {
    const p = pipeline();
    const since = new Date(Date.now() - 3600_000).toISOString();
    const { org, sent, reviews } = await eventsOf(p, 3, 2);
    const list = (type: string) => `/v1/events?since=${since}&organizationUid=${org}&eventType=${type}`;
    const c = await cursorOf(p, list("message.sent"));
    expectOtherFilters(await p.api("GET", withCursor(`${list("review.created")}&limit=1`, c)), "another eventType");
    expectOtherFilters(await p.api("GET", withCursor(`/v1/events?since=${since}&organizationUid=${org}&limit=1`, c)), "without eventType");
    expect(await walk(p, list("message.sent"), [1, 2])).toEqual([...sent].reverse());
    expect(await walk(p, list("review.created"), [1])).toEqual([...reviews].reverse());
  });

  it("takes a time with a lower-case t and z, as RFC 3339 (the document's date-time) allows: the same list, its cursor going on with either spelling", async () => {
    const p = pipeline();
    const since = new Date(Date.now() - 3600_000).toISOString();
    const { org, sent } = await eventsOf(p, 3, 2);
    const list = (at: string) => `/v1/events?since=${at}&organizationUid=${org}&eventType=message.sent`;
    const lower = since.replace("T", "t").replace("Z", "z");
    const [upperPage, lowerPage] = [await p.api("GET", list(since)), await p.api("GET", list(lower))];
    expect(lowerPage.status).toBe(200);
    expect(lowerPage.json).toEqual(upperPage.json);
    expect(await walk(p, list(lower), [1, 2])).toEqual([...sent].reverse());
    const c = await cursorOf(p, list(since));
    expect((await p.api("GET", withCursor(`${list(lower)}&limit=1`, c))).status).toBe(200);
    const replay = await p.api("POST", "/v1/events/replay", { since: lower, until: new Date(Date.now() + 60_000).toISOString().toLowerCase(), eventType: "message.sent", dryRun: true });
    expect(replay.status).toBe(200);
  });

  it("ties a search's cursor to its q and filters", async () => {
    const p = pipeline();
    const { org, sent } = await eventsOf(p, 3, 2);
    const search = (q: string, type = "message.sent") => `/v1/events?q=${q}&organizationUid=${org}&eventType=${type}`;
    const c = await cursorOf(p, search("hello"));
    expectOtherFilters(await p.api("GET", withCursor(`${search("hell")}&limit=1`, c)), "another q");
    expectOtherFilters(await p.api("GET", withCursor(`${search("hello", "review.created")}&limit=1`, c)), "another eventType");
    expect(await walk(p, search("hello"), [1, 2])).toEqual([...sent].reverse());
  });
});

describe("GET /v1/events: its plain list, time list and search are one list", () => {
  it("says of a cursor given with q, since or until added or dropped that it belongs to other filters, not that it is unknown", async () => {
    const p = pipeline();
    const { org } = await eventsOf(p, 3, 0);
    const [since, until] = [new Date(Date.now() - 3600_000).toISOString(), new Date(Date.now() + 3600_000).toISOString()];
    const base = `/v1/events?organizationUid=${org}`;
    // Each way between the plain list, a time list (since, until, both) and a search (alone, with since or until).
    const lists = [base, `${base}&since=${since}`, `${base}&until=${until}`, `${base}&since=${since}&until=${until}`, `${base}&q=hello`, `${base}&q=hello&since=${since}`, `${base}&q=hello&until=${until}`];
    const cursors = await Promise.all(lists.map((list) => cursorOf(p, list)));
    for (const [i, from] of lists.entries()) {
      for (const to of lists.filter((l) => l !== from)) expectOtherFilters(await p.api("GET", withCursor(`${to}&limit=1`, cursors[i]!)), `${from} -> ${to}`);
    }
  });
});

describe("GET /v1/deliveries: a cursor goes on with the filters that gave it alone", () => {
  it("refuses a cursor of one status, webhook or event on another; the same filters page through every delivery", async () => {
    const p = pipeline();
    const [a, b] = [await p.webhookOn("ok"), await p.webhookOn("ok")];
    const made: string[] = [];
    for (let i = 0; i < 3; i++) made.push(await p.ingest(a.event()));
    await p.ingest(b.event());
    // Not delivered: each of a's deliveries is pending.
    const list = `/v1/deliveries?webhookUid=${a.webhook.uid}&status=pending`;
    const c = await cursorOf(p, list);
    expectOtherFilters(await p.api("GET", withCursor(`/v1/deliveries?webhookUid=${a.webhook.uid}&status=failed&limit=1`, c)), "another status");
    expectOtherFilters(await p.api("GET", withCursor(`/v1/deliveries?webhookUid=${b.webhook.uid}&status=pending&limit=1`, c)), "another webhook");
    expectOtherFilters(await p.api("GET", withCursor(`/v1/deliveries?webhookUid=${a.webhook.uid}&limit=1`, c)), "without status");
    expectOtherFilters(await p.api("GET", withCursor(`/v1/deliveries?limit=1`, c)), "without filters");
    const ofEvent = await cursorOf(p, `/v1/deliveries?webhookUid=${a.webhook.uid}`);
    expectOtherFilters(await p.api("GET", withCursor(`/v1/deliveries?eventId=${made[0]}&limit=1`, ofEvent)), "another eventId");
    const walked = await walk(p, list, [1, 2]);
    expect(walked).toHaveLength(3);
    const events = await Promise.all(walked.map(async (id) => (await p.api("GET", `/v1/deliveries/${id}`)).json.eventId));
    expect(events).toEqual([...made].reverse());
  });
});

describe("GET /v1/dead-letters: a cursor goes on with the filter that gave it alone", () => {
  it("refuses a cursor of every letter on the open ones, and the other way; withMessage and limit may change", async () => {
    const p = pipeline();
    const mine: string[] = [];
    for (let i = 0; i < 3; i++) {
      const eventId = `evt_${uniqueKey()}`;
      mine.push(eventId);
      const body = { deliveryId: `dlv_${uniqueKey()}`, eventId, webhookUid: "wh_x", attempts: 15, lastError: "HTTP 500" };
      await recordDeadLetters(env.DB, [deadLetterOf({ queue: "edgehook-deliveries-dlq", messageId: `dlq-${uniqueKey()}`, attempts: 1, body }, Date.now())]);
    }
    const all = await cursorOf(p, "/v1/dead-letters");
    expectOtherFilters(await p.api("GET", withCursor("/v1/dead-letters?open=true&limit=1", all)), "open=true");
    const open = await cursorOf(p, "/v1/dead-letters?open=true");
    expectOtherFilters(await p.api("GET", withCursor("/v1/dead-letters?limit=1", open)), "without open");
    // open=false is the default, every letter: the same filter, as is what a page shows of each.
    expect((await p.api("GET", withCursor("/v1/dead-letters?open=false&withMessage=false&limit=2", all))).status).toBe(200);
    const openOnes = await walkItems<{ eventId: string }>(p, "/v1/dead-letters?open=true", [1, 2, 100]);
    expect(openOnes.map((d) => d.eventId).filter((id) => mine.includes(id))).toEqual([...mine].reverse());
  });
});

describe("bulk retries and range replays", () => {
  it("say of a bulk retry's cursor given with another filter that it belongs to other filters; with its own it goes on", async () => {
    const p = pipeline();
    const { webhook, event } = await p.webhookOn("ok");
    // A page of failed deliveries and one more (the one ingested, made failed with them): the first call answers a cursor.
    await failedDeliveries(await p.ingest(event()), webhook.uid, BULK_RETRY_LIMIT);
    const first = await p.api("POST", "/v1/deliveries/retry", { status: "failed", webhookUid: webhook.uid });
    expect(first.status, JSON.stringify(first.json)).toBe(202);
    expect(first.json.nextCursor).toEqual(expect.any(String));
    const retry = (body: Record<string, unknown>) => p.api("POST", "/v1/deliveries/retry", { status: "failed", webhookUid: webhook.uid, cursor: first.json.nextCursor, ...body });
    expectOtherFilters(await retry({ status: "expired" }), "another status");
    expectOtherFilters(await retry({ webhookUid: undefined }), "without webhookUid");
    expectOtherFilters(await retry({ since: new Date(Date.now() - 3600_000).toISOString() }), "with since");
    expect((await retry({})).json).toMatchObject({ count: 1, nextCursor: null });
  });

  it("say of a range replay's cursor given with other filters, or not dry, that it belongs to other filters; with its own it goes on", async () => {
    const p = pipeline({ RETENTION_DAYS: "365" });
    const { org, webhook } = await p.webhookOn("ok");
    // More events than a dry run's page, at milliseconds far back no other test's events share (within the retention).
    const k = uniqueKey();
    const base = Date.now() - 350 * DAY_MS + Math.floor(Math.random() * 200 * 24 * 60) * 60_000;
    const n = DRY_RUN_PAGE_EVENTS + 1;
    const row = (i: number): EventRow => ({
      eventId: `evt_${k}_${i}`,
      sourceId: `src-${k}`,
      dedupeKey: `${k}-${i}`,
      eventType: "message.received",
      locationUid: `loc-${k}`,
      organizationUid: org,
      receivedAt: base + i,
      headers: {},
      body: "{}",
    });
    await storeEvents(env.DB, Array.from({ length: n }, (_, i) => row(i)));
    const range = { since: new Date(base).toISOString(), until: new Date(base + n).toISOString(), webhookUid: webhook.uid, dryRun: true };
    const first = await p.api("POST", "/v1/events/replay", range);
    expect(first.status, JSON.stringify(first.json)).toBe(200);
    expect(first.json.nextCursor).toEqual(expect.any(String));
    const replay = (body: Record<string, unknown>) => p.api("POST", "/v1/events/replay", { ...range, cursor: first.json.nextCursor, ...body });
    expectOtherFilters(await replay({ dryRun: false }), "not dry");
    expectOtherFilters(await replay({ eventType: "message.received" }), "with eventType");
    expectOtherFilters(await replay({ webhookUid: undefined }), "without webhookUid");
    expectOtherFilters(await replay({ until: new Date(base + n + 1).toISOString() }), "another until");
    expect((await replay({})).json).toMatchObject({ dryRun: true, events: 1, nextCursor: null });
  });
});

describe("the dashboard's dead letters", () => {
  it("go on to older open letters with the cursor of the open ones", async () => {
    const p = pipeline();
    for (let i = 0; i < 101; i++) {
      const body = { deliveryId: `dlv_${uniqueKey()}`, eventId: `evt_${uniqueKey()}`, webhookUid: "wh_x", attempts: 15, lastError: "HTTP 500" };
      await recordDeadLetters(env.DB, [deadLetterOf({ queue: "edgehook-deliveries-dlq", messageId: `dlq-${uniqueKey()}`, attempts: 1, body }, Date.now())]);
    }
    expect((await p.api("GET", "/v1/dead-letters?open=true&limit=100")).json.nextCursor).toEqual(expect.any(String));
    const cookie = await dashboardCookie();
    const first = await (await call(new Request("https://edgehook.test/dashboard/dead-letters?open=true", { headers: { cookie } }))).text();
    const next = /<a href="(\/dashboard\/dead-letters\?[^"]*cursor=[^"]+)">Older dead letters →<\/a>/.exec(first)?.[1]?.replaceAll("&amp;", "&");
    expect(next).toContain("open=true");
    const res = await call(new Request(`https://edgehook.test${next}`, { headers: { cookie } }));
    expect(res.status).toBe(200);
    // The API's 400 would be the dashboard's refusal, which names the cursor.
    expect(await res.text()).not.toMatch(/The cursor/);
  });
});
