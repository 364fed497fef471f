// The delivery schedulers as they run: real Durable Objects (one per webhook) woken by
// ingest consumer invocations running at once and by concurrent RPC calls, sending to a
// recording downstream that notes each request's arrival and how many were in flight.
// Retries are due at once here (RETRY_BASE_SECONDS=0, see vitest.config.ts). Limits
// are checked on recorded arrival times and concurrency, never on how long things took.
// The FIFO and backlog tests, the longest, are in scheduler-fifo.test.ts.
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { busiestWindow } from "../../support/arrivals";
import { received, uniqueKey } from "../pipeline";
import { webhookDeliveryRows } from "../rows";
import { as, makeToken } from "../tokens";
import { getWebhook, updateWebhook } from "../../../src/store/webhooks";
import { count, indexOf, JITTER, message, realSchedulers, succeeded } from "./scheduler-support";

// This block's tests, and the pauses', run at once: each has webhooks, keys and an organization
// of its own, and most of their time is waiting (for a rate limit, a Retry-After, a slow
// downstream). Limits are checked on recorded arrivals, and a few dozen light deliveries
// beside the PATCH test leave its new pace far above its old limit. The FIFO tests
// (scheduler-fifo.test.ts) stay one at a time: they keep the runtime busy, and at once the two
// large ones starved each other.
describe.concurrent("a webhook's limits hold however its scheduler is called", () => {
  it("never has more than maxConcurrency requests in flight, with ingest invocations and wake-ups racing", async () => {
    const p = realSchedulers();
    const { key, org, webhook: hook } = await p.webhookOn("record?ms=60", { maxConcurrency: 3 });
    const now = Date.now();
    const batches = Array.from({ length: 6 }, (_, b) => Array.from({ length: 10 }, (_, i) => message(key, org, b * 10 + i, now + b * 10 + i)));
    const stub = env.SCHEDULERS.getByName(hook.uid);
    // Six ingest consumer invocations at once, each waking the scheduler, and ten more wake-ups on top.
    await Promise.all([...batches.map((m) => p.runIngest(m)), ...Array.from({ length: 10 }, () => stub.wake(hook.uid))]);
    await succeeded(hook.uid, 60);
    const got = await received(key);
    expect(got).toHaveLength(60);
    expect(Math.max(...got.map((r) => r.inFlight))).toBe(3); // reached, never exceeded
  });

  it("never has more than 6 requests in flight, the connections Cloudflare opens at once for a run, with maxConcurrency 20", async () => {
    // The local runtime opens 20; on Cloudflare the seventh would wait for a connection, its timeout running.
    const p = realSchedulers();
    const { key, org, webhook: hook } = await p.webhookOn("record?ms=150", { maxConcurrency: 20 });
    const now = Date.now();
    await p.runIngest(Array.from({ length: 40 }, (_, i) => message(key, org, i, now + i)));
    await succeeded(hook.uid, 40);
    const got = await received(key);
    expect(got).toHaveLength(40);
    expect(Math.max(...got.map((r) => r.inFlight))).toBe(6); // reached, never exceeded
  });

  it("never starts more than rateLimit deliveries in any second", async () => {
    const p = realSchedulers();
    const { key, org, webhook: hook } = await p.webhookOn("record", { rateLimit: 8, maxConcurrency: 8 });
    const now = Date.now();
    const batches = Array.from({ length: 3 }, (_, b) => Array.from({ length: 10 }, (_, i) => message(key, org, b * 10 + i, now + b * 10 + i)));
    const stub = env.SCHEDULERS.getByName(hook.uid);
    await Promise.all([...batches.map((m) => p.runIngest(m)), ...Array.from({ length: 10 }, () => stub.wake(hook.uid))]);
    await succeeded(hook.uid, 30);
    const got = await received(key);
    expect(got).toHaveLength(30);
    expect(busiestWindow(got.map((r) => r.at))).toBeLessThanOrEqual(8 + JITTER);
  });

  it("applies new limits on PATCH, without a restart", async () => {
    const p = realSchedulers();
    const { key, org, webhook: hook } = await p.webhookOn("record?ms=150", { maxConcurrency: 1, rateLimit: 4 });
    const now = Date.now();
    await p.runIngest(Array.from({ length: 24 }, (_, i) => message(key, org, i, now + i)));
    await vi.waitFor(async () => expect((await received(key)).length).toBeGreaterThanOrEqual(4), { timeout: 30_000, interval: 50 });
    const changedAt = Date.now();
    const patched = await p.api("PATCH", `/v1/webhooks/${hook.uid}`, { maxConcurrency: 4, rateLimit: 20 });
    expect(patched.json).toMatchObject({ maxConcurrency: 4, rateLimit: 20 });
    await succeeded(hook.uid, 24);
    const got = await received(key);
    const before = got.filter((r) => r.at < changedAt);
    const after = got.filter((r) => r.at >= changedAt);
    expect(Math.max(...before.map((r) => r.inFlight))).toBe(1);
    expect(busiestWindow(before.map((r) => r.at))).toBeLessThanOrEqual(4 + JITTER);
    // The new limits took effect (more at once, and faster, than the old ones allowed) and held.
    expect(Math.max(...after.map((r) => r.inFlight))).toBeGreaterThan(1);
    expect(Math.max(...after.map((r) => r.inFlight))).toBeLessThanOrEqual(4);
    expect(busiestWindow(after.map((r) => r.at))).toBeGreaterThan(4 + JITTER);
    expect(busiestWindow(after.map((r) => r.at))).toBeLessThanOrEqual(20 + JITTER);
  });

  it("records an answered attempt while another is still in flight, not once they are all answered", async () => {
    // A steady flow under a rate limit always has a request in flight: its answers must not
    // wait for a lull (or the run's end, 30 s) to show as succeeded.
    const p = realSchedulers();
    const { key, org, webhook: hook } = await p.webhookOn("slow-once?ms=6000", { maxConcurrency: 2, timeoutMs: 20_000 });
    const now = Date.now();
    await p.runIngest(Array.from({ length: 3 }, (_, i) => message(key, org, i, now + i)));
    await vi.waitFor(async () => expect(await count(hook.uid, "succeeded")).toBeGreaterThanOrEqual(2), { timeout: 30_000, interval: 100 });
    const [slow] = await received(key);
    expect(slow!.answeredAt).toBe(0); // the first request, held by the downstream, is still being answered
    await succeeded(hook.uid, 3);
  });

  it.each([429, 503])("pauses only the webhook told %i with Retry-After, for that long", async (busyStatus) => {
    const p = realSchedulers();
    const key = uniqueKey();
    const org = `org-${key}`;
    const told = await p.createWebhook({
      url: `https://downstream.test/record/${key}-told?busy=1&busyStatus=${busyStatus}&s=2`,
      eventTypes: ["*"],
      organizationUid: org,
      maxConcurrency: 1,
    });
    const other = await p.createWebhook({ url: `https://downstream.test/record/${key}-other?ms=250`, eventTypes: ["*"], organizationUid: org, maxConcurrency: 1 });
    const now = Date.now();
    await p.runIngest(Array.from({ length: 8 }, (_, i) => message(key, org, i, now + i)));
    await succeeded(told.uid, 8);
    await succeeded(other.uid, 8);
    const got = await received(`${key}-told`);
    const [first, ...rest] = got;
    expect(first!.status).toBe(busyStatus);
    // Nothing went to it while it asked for air (100 ms for the two clocks)...
    expect(rest.filter((r) => r.at < first!.at + 1900)).toEqual([]);
    // ...while the other webhook went on.
    const others = await received(`${key}-other`);
    expect(others.filter((r) => r.at > first!.at && r.at < first!.at + 1900).length).toBeGreaterThan(0);
  });
});

/** A webhook's pause as its backlog shows it (null: none). */
async function pausedUntil(p: ReturnType<typeof realSchedulers>, webhookUid: string): Promise<string | null> {
  return (await p.api("GET", `/v1/webhooks/${webhookUid}`)).json.backlog.pausedUntil;
}

/** Waits until the webhook's downstream has paused it. */
async function untilPaused(p: ReturnType<typeof realSchedulers>, webhookUid: string): Promise<void> {
  await vi.waitFor(async () => expect(await pausedUntil(p, webhookUid)).not.toBeNull(), { timeout: 20_000, interval: 100 });
}

/**
 * An unordered webhook of one request at a time on the `record` downstream (`answers`: its query) whose first
 * request is held until the test lets it (a request under `${key}-go`), and events A then B (the newer) owed to
 * it: returned once A's request is out.
 */
async function firstHeld(p: ReturnType<typeof realSchedulers>, answers: string) {
  const key = uniqueKey();
  const org = `org-${key}`;
  const hook = await p.createWebhook({
    url: `https://downstream.test/record/${key}?${answers}&for=${key}-go&ms=25000`,
    eventTypes: ["*"],
    organizationUid: org,
    maxConcurrency: 1,
    timeoutMs: 30_000,
  });
  const now = Date.now();
  await p.runIngest([message(key, org, 0, now), message(key, org, 1, now + 1)]);
  await vi.waitFor(async () => expect(await received(key)).toHaveLength(1), { timeout: 20_000, interval: 20 });
  expect(indexOf((await received(key))[0]!)).toBe(0);
  return { key, hook };
}

describe.concurrent("a pause a downstream asked for", () => {
  it("ends when someone asks for its deliveries: a retry, an enable, a new URL", async () => {
    const p = realSchedulers();
    const key = uniqueKey();
    const org = `org-${key}`;
    // An hour of Retry-After on the first request of each key (the cap's default), then answers.
    const busy = (k: string) => `https://downstream.test/record/${key}-${k}?busy=1&s=3600`;
    const hook = await p.createWebhook({ url: busy("a"), eventTypes: ["*"], organizationUid: org, maxConcurrency: 1 });
    const now = Date.now();
    const paused = () => pausedUntil(p, hook.uid);
    await p.runIngest([message(key, org, 0, now)]);
    await untilPaused(p, hook.uid);
    const [delivery] = await webhookDeliveryRows(hook.uid);
    expect((await received(`${key}-a`)).map((r) => r.status)).toEqual([429]);
    // Retried by a token that may not change the webhook (it reads messages only): the pause stands.
    const { token } = await makeToken(p, ["events:read", "events:replay", "read_messages"]);
    expect((await as(p, token, "POST", `/v1/deliveries/${delivery!.id}/retry`)).status).toBe(202);
    expect(await paused()).not.toBeNull();
    // Retried by hand by one that may: it goes now, not in an hour.
    expect((await p.api("POST", `/v1/deliveries/${delivery!.id}/retry`)).status).toBe(202);
    await succeeded(hook.uid, 1, 20_000);
    expect(await paused()).toBeNull();

    // Paused again (a second event, a new key), then disabled and enabled: it goes on enabling.
    expect((await p.api("PATCH", `/v1/webhooks/${hook.uid}`, { url: busy("b") })).status).toBe(200);
    await p.runIngest([message(key, org, 1, now + 1)]);
    await untilPaused(p, hook.uid);
    expect((await p.api("PATCH", `/v1/webhooks/${hook.uid}`, { disabled: true })).status).toBe(200);
    expect((await p.api("PATCH", `/v1/webhooks/${hook.uid}`, { disabled: false })).status).toBe(200);
    await succeeded(hook.uid, 2, 20_000);

    // And when it is pointed at another URL: the next event goes there now (the one the old URL
    // refused keeps the due time its Retry-After gave it, until retried).
    expect((await p.api("PATCH", `/v1/webhooks/${hook.uid}`, { url: busy("c") })).status).toBe(200);
    await p.runIngest([message(key, org, 2, now + 2)]);
    await untilPaused(p, hook.uid);
    expect((await p.api("PATCH", `/v1/webhooks/${hook.uid}`, { url: `https://downstream.test/record/${key}-d` })).status).toBe(200);
    await p.runIngest([message(key, org, 3, now + 3)]);
    await succeeded(hook.uid, 3, 20_000);
    expect((await received(`${key}-d`)).map((r) => [indexOf(r), r.status])).toEqual([[3, 200]]);
  });

  it("is not set again by a late answer from the URL a change replaced", async () => {
    const p = realSchedulers();
    const key = uniqueKey();
    const org = `org-${key}`;
    // The old URL answers its first request, with an hour of Retry-After, once the test lets it
    // (a request under `${key}-go`): a fixed second was shorter than the PATCH on a busy machine.
    const hook = await p.createWebhook({
      url: `https://downstream.test/record/${key}-old?busy=1&s=3600&for=${key}-go&ms=25000`,
      eventTypes: ["*"],
      organizationUid: org,
      maxConcurrency: 1,
      timeoutMs: 30_000,
    });
    const paused = () => pausedUntil(p, hook.uid);
    const now = Date.now();
    await p.runIngest([message(key, org, 0, now)]);
    await vi.waitFor(async () => expect((await received(`${key}-old`)).length).toBe(1), { timeout: 20_000, interval: 20 });
    // Changed while the old URL still thinks: its answer lands after the change.
    expect((await p.api("PATCH", `/v1/webhooks/${hook.uid}`, { url: `https://downstream.test/record/${key}-new` })).status).toBe(200);
    const changedAt = Date.now();
    await (await fetch(`https://downstream.test/ok/${key}-go`)).text();
    await vi.waitFor(async () => expect((await received(`${key}-old`))[0]!.status).toBe(429), { timeout: 20_000, interval: 20 });
    // It did land after the change (else the change's own resume would have ended the pause). The
    // same millisecond counts: the answer waits for the go sent after the PATCH answered, and the
    // runtime's clock moves only at I/O, which that in-process fetch need not be (seen equal in CI).
    expect((await received(`${key}-old`))[0]!.answeredAt).toBeGreaterThanOrEqual(changedAt);
    await vi.waitFor(async () => expect((await webhookDeliveryRows(hook.uid))[0]!.attempt_count).toBe(1), { timeout: 20_000, interval: 50 });
    expect(await paused()).toBeNull();
    // The next event goes to the new URL now, not in an hour.
    await p.runIngest([message(key, org, 1, now + 1)]);
    await succeeded(hook.uid, 1, 20_000);
    expect((await received(`${key}-new`)).map((r) => [indexOf(r), r.status])).toEqual([[1, 200]]);
  });

  it("lets a delivery retried by hand while its attempt was out go next once that attempt ends: before a newer event's, whose Retry-After would hold it", async () => {
    const p = realSchedulers();
    // Every request answered 429 with a minute of Retry-After; A, then B (the newer event): A sent first.
    const { key, hook } = await firstHeld(p, "busy=99&s=60");
    const [a] = await webhookDeliveryRows(hook.uid, "owed");
    // Retried by hand while its attempt is out, then that attempt is answered (429): the retry stands, it pauses nothing.
    expect((await p.api("POST", `/v1/deliveries/${a!.id}/retry`)).status).toBe(202);
    await (await fetch(`https://downstream.test/ok/${key}-go`)).text();
    // The next request is A's again, not B's (whose 429 would have held A's retry for its minute).
    await vi.waitFor(async () => expect((await received(key)).length).toBeGreaterThanOrEqual(2), { timeout: 20_000, interval: 20 });
    expect((await received(key)).map((r) => [indexOf(r), r.status]).slice(0, 2)).toEqual([
      [0, 429],
      [0, expect.any(Number)],
    ]);
  });

  it("ends on a bulk retry by a token holding the data scopes of all that webhook's types", async () => {
    const p = realSchedulers();
    const { key, org, webhook: hook } = await p.webhookOn("record?busy=1&s=3600", { eventTypes: ["message.*", "review.*"], maxConcurrency: 1, rateLimit: 5 });
    const paused = () => pausedUntil(p, hook.uid);
    await p.runIngest([message(key, org, 0, Date.now())]);
    await untilPaused(p, hook.uid);
    // Its estimate counts the hour of the pause, not only the one delivery at 5 a second.
    const { backlog } = (await p.api("GET", `/v1/webhooks/${hook.uid}`)).json;
    expect(backlog.pending).toBe(1);
    expect(backlog.estimatedSeconds).toBeGreaterThan(3500);
    expect(Date.parse(backlog.estimatedDoneAt)).toBeGreaterThan(Date.parse(backlog.pausedUntil));
    const bulk = { webhookUid: hook.uid, status: "pending" };
    // A token reading messages only retries the message event, but may not change the webhook: the pause stands.
    const messages = await makeToken(p, ["events:read", "events:replay", "read_messages"]);
    expect((await as(p, messages.token, "POST", "/v1/deliveries/retry", bulk)).json.count).toBe(1);
    expect(await paused()).not.toBeNull();
    // One reading reviews too holds every data scope of its types, though not all four: its retry goes now.
    const both = await makeToken(p, ["events:read", "events:replay", "read_messages", "read_reviews"]);
    expect((await as(p, both.token, "POST", "/v1/deliveries/retry", bulk)).json.count).toBe(1);
    await succeeded(hook.uid, 1, 20_000);
    expect(await paused()).toBeNull();
  });
});

/** Has D1 refuse to record the webhook's attempts (its other writes, and other webhooks', go on) until the function it returns is called. */
async function refuseAttempts(webhookUid: string, key: string): Promise<() => Promise<unknown>> {
  const trigger = `refuse_attempts_${key}`;
  await env.DB.prepare(
    `CREATE TRIGGER ${trigger} BEFORE UPDATE OF attempts ON deliveries
       WHEN OLD.webhook = (SELECT id FROM names WHERE name = '${webhookUid}') BEGIN SELECT RAISE(ABORT, 'refused by the test'); END`,
  ).run();
  return () => env.DB.prepare(`DROP TRIGGER IF EXISTS ${trigger}`).run();
}

describe.concurrent("a wake that owes no delivery again", () => {
  type Pipeline = ReturnType<typeof realSchedulers>;
  it.each([
    { wake: "a change that keeps the webhook enabled", by: (p: Pipeline, uid: string) => p.api("PATCH", `/v1/webhooks/${uid}`, { rateLimit: 50 }), deliveries: 2 },
    // A new delivery of the newer event: owed as well as its first.
    { wake: "a replay", by: (p: Pipeline, uid: string, key: string) => p.api("POST", `/v1/events/evt_${key}_1/replay`, {}), deliveries: 3 },
  ])("($wake) holds no start until an attempt out when it came is recorded: the next goes while D1 refuses that recording", async ({ by, deliveries }) => {
    const p = realSchedulers();
    // The first request (A's) answered 500, the others 200 at once.
    const { key, hook } = await firstHeld(p, "busy=1&busyStatus=500");
    const allow = await refuseAttempts(hook.uid, key);
    try {
      // Woken while A's attempt is out, then A's answer (a failure) comes: its recording is refused.
      expect((await by(p, hook.uid, key)).status).toBeLessThan(300);
      await (await fetch(`https://downstream.test/ok/${key}-go`)).text();
      // The next request goes all the same (a retry's wake would hold it until A is recorded: A may be owed first).
      await vi.waitFor(async () => expect((await received(key)).length).toBeGreaterThanOrEqual(2), { timeout: 20_000, interval: 20 });
      expect((await received(key)).map((r) => [indexOf(r), r.status]).slice(0, 2)).toEqual([
        [0, 500],
        [1, expect.any(Number)],
      ]);
      expect((await webhookDeliveryRows(hook.uid, "owed")).map((d) => d.attempt_count)[0]).toBe(0);
    } finally {
      await allow();
    }
    // Recorded once D1 takes it (tried every 5 s): A is tried again, and every delivery goes.
    await succeeded(hook.uid, deliveries, 60_000);
  });
});

describe("a change whose wake-up was lost", () => {
  it("reaches the scheduler at its next run: a retry goes to the new URL, not the one the change replaced", async () => {
    const p = realSchedulers();
    const key = uniqueKey();
    const org = `org-${key}`;
    // The old URL answers its first request with 3 s of Retry-After: longer than a run waits, so the retry is the next run's.
    const hook = await p.createWebhook({ url: `https://downstream.test/record/${key}-old?busy=1&s=3`, eventTypes: ["*"], organizationUid: org });
    await p.runIngest([message(key, org, 0, Date.now())]);
    await untilPaused(p, hook.uid);
    // Changed in D1 with no wake-up, as when the call to the scheduler failed after the change committed.
    const before = await getWebhook(env.DB, hook.uid);
    if (!before) throw new Error("the webhook was not stored");
    await updateWebhook(env.DB, { ...before, url: `https://downstream.test/record/${key}-new`, updatedAt: before.updatedAt + 1 }, before);
    await succeeded(hook.uid, 1, 20_000);
    expect((await received(`${key}-new`)).map((r) => [indexOf(r), r.status])).toEqual([[0, 200]]);
    expect((await received(`${key}-old`)).map((r) => r.status)).toEqual([429]);
  });
});

describe("a scheduler made anew", () => {
  it("sends a webhook's first delivery at once; one restarted (evicted) waits a rate-limit spacing from when it came to be", async () => {
    const p = realSchedulers();
    const { key, org, webhook: hook } = await p.webhookOn("record", { rateLimit: 1 });
    const stub = env.SCHEDULERS.getByName(hook.uid);
    // Its first instance ever: no instance before it may have just started a request.
    const first = Date.now();
    await p.runIngest([message(key, org, 0, first)]);
    await succeeded(hook.uid, 1);
    const firstWait = (await received(key))[0]!.at - first;
    // Evicted, the next instance cannot tell when the one before it last started: its first start waits a spacing.
    await evictDurableObject(stub);
    const evicted = Date.now();
    await p.runIngest([message(key, org, 1, evicted)]);
    await succeeded(hook.uid, 2);
    const evictedWait = (await received(key))[1]!.at - evicted;
    expect(evictedWait).toBeGreaterThanOrEqual(1_000);
    // The same path but for the spacing (no absolute bound: both include the machine's own time).
    expect(evictedWait - firstWait).toBeGreaterThan(500);
  });
});

describe("a scheduler evicted between two silences", () => {
  it("remembers the delivery its downstream left unanswered: the next one unanswered pauses the unordered webhook", async () => {
    const p = realSchedulers();
    // Retries are due at once here: a pause for a downstream that looks down lasts its minimum, 1 s.
    const { key, org, webhook: hook } = await p.webhookOn("slow?ms=3000", { timeoutMs: 300, maxConcurrency: 1, maxAttempts: 2 });
    const stub = env.SCHEDULERS.getByName(hook.uid);
    const now = Date.now();
    // One delivery, unanswered at both its attempts: alone, it pauses nothing.
    await p.runIngest([message(key, org, 0, now)]);
    await vi.waitFor(async () => expect(await count(hook.uid, "failed")).toBe(1), { timeout: 30_000, interval: 50 });
    expect(await runInDurableObject(stub, (_, state) => state.storage.kv.get("pausedUntil"))).toBeUndefined();
    await evictDurableObject(stub);
    // The next delivery, unanswered after the eviction with no answer since the first: the downstream looks down.
    await p.runIngest([message(key, org, 1, now + 1)]);
    await vi.waitFor(async () => expect(await count(hook.uid, "failed")).toBe(2), { timeout: 30_000, interval: 50 });
    expect(await runInDurableObject(stub, (_, state) => state.storage.kv.get("pausedUntil"))).toBeGreaterThan(now);
  });
});

describe("a deleted webhook's scheduler", () => {
  it("keeps nothing in its storage once its run finds the webhook gone", async () => {
    const p = realSchedulers();
    const { key, org, webhook: hook } = await p.webhookOn("ok");
    const stub = env.SCHEDULERS.getByName(hook.uid);
    await p.runIngest([message(key, org, 0, Date.now())]);
    await succeeded(hook.uid, 1);
    const keys = () => runInDurableObject(stub, (_, state) => [...state.storage.kv.list()].map(([k]) => k));
    expect(await keys()).toContain("webhookUid");
    expect((await p.api("DELETE", `/v1/webhooks/${hook.uid}`)).status).toBe(204);
    await vi.waitFor(async () => expect(await keys()).toEqual([]), { timeout: 10_000, interval: 50 });
    expect(await runInDurableObject(stub, (_, state) => state.storage.getAlarm())).toBeNull();
  });
});

describe("a failed run", () => {
  it("tries again with its alarm, a few seconds later, instead of at once", async () => {
    const p = realSchedulers();
    const { webhook: hook } = await p.webhookOn("ok");
    // The webhook's row cannot be read: every run fails on it.
    await env.DB.prepare("UPDATE webhooks SET event_types = 'not json' WHERE uid = ?").bind(hook.uid).run();
    const stub = env.SCHEDULERS.getByName(hook.uid);
    const woken = Date.now();
    await stub.wake(hook.uid);
    // The run fails and stores its next try seconds ahead (a run retried at once would never store it).
    await vi.waitFor(
      async () => expect(await runInDurableObject(stub, (_, state) => state.storage.getAlarm())).toBeGreaterThan(woken + 3_000),
      { timeout: 10_000, interval: 50 },
    );
    await env.DB.prepare("DELETE FROM webhooks WHERE uid = ?").bind(hook.uid).run();
  });
});
