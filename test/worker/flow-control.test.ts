// Flow control per webhook: the rules (domain/flow.ts), the webhook's fields in the
// API and the dashboard, its backlog view, and the scheduler's flow run in this isolate
// (pipeline.ts's deliver()). The real schedulers, racing, are in flow/scheduler.test.ts.
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, onTestFinished, vi } from "vitest";
import { meteredD1 } from "../../bench/d1-meter";
import { backlogView } from "../../src/api/views";
import { concurrencyOf, drainEstimate, Pacer, paceOf, pauseAfter, RateMeter, Silence } from "../../src/domain/flow";
import { retryJitter } from "../../src/domain/retry-jitter";
import { settings } from "../../src/domain/settings";
import { getWebhook } from "../../src/store/webhooks";
import { deliveryColumn } from "../../src/store/counters";
import { nameIdSql } from "../../src/store/names";
import { call, dashboardCookie, ingestMessage, podiumBody, retriesWaitNearTheirCeiling } from "./helpers";
import { pipeline, received, receivedCount, RUN, uniqueKey, webhookSetup } from "./pipeline";
import { WebhookFlow } from "../../src/pipeline/flow";
import { outbound } from "../../src/pipeline/outbound";
import { disableFailing } from "../../src/pipeline/commands";
import { setWebhookDeliveries, webhookDeliveryCount, webhookDeliveryRows } from "./rows";
import { at, keysAt } from "../support/json-at";

const limits = { rateLimit: null, maxConcurrency: 8, ordering: "unordered" as const };

describe("the flow rules", () => {
  it("spaces starts 1000/rateLimit ms apart, so no second ever holds more than rateLimit, and saves nothing up", () => {
    for (const rate of [1, 7, 1000]) {
      const pacer = new Pacer();
      const starts: number[] = [];
      let now = 1_000_000;
      for (let i = 0; i < 3 * rate; i++) {
        now = Math.max(now, pacer.next(rate));
        pacer.take(now);
        starts.push(now);
        now += i % 5 === 0 ? 0 : 0.3; // a start as soon as allowed, or a little late
      }
      for (let i = 0; i < starts.length; i++) {
        expect(starts.filter((t) => t >= starts[i]! && t < starts[i]! + 1000).length).toBeLessThanOrEqual(rate);
      }
      // A quiet spell earns no burst: after it, the second start still waits its spacing.
      now = starts.at(-1)! + 60_000;
      expect(pacer.next(rate)).toBeLessThanOrEqual(now);
      pacer.take(now);
      expect(pacer.next(rate)).toBe(now + 1000 / rate);
    }
    // A start made without a limit counts too: a limit set afterwards spaces the next one from it.
    const free = new Pacer();
    free.take(5);
    expect(free.next(1000)).toBe(6);
    // A limit lowered (1/s) spaces it by the new spacing.
    expect(free.next(1)).toBe(1005);
    // A sender restarted at 1,000,000 cannot tell when its predecessor last started: its first start waits a spacing.
    const restarted = new Pacer(1_000_000);
    expect(restarted.next(4)).toBe(1_000_250);
    restarted.take(1_000_250);
    expect(restarted.next(4)).toBe(1_000_500);
  });

  it("pauses a webhook after a 429/503 with Retry-After (up to the cap), and unordered after no answer when another delivery got none either", () => {
    const answer = (statusCode: number | null, retryAfterSeconds: number | null, retryInSeconds: number | null = 5, othersUnanswered = true) => ({
      statusCode,
      retryAfterSeconds,
      retryInSeconds,
      othersUnanswered,
    });
    expect(pauseAfter(answer(429, 30), "unordered", 3600)).toBe(30_000);
    expect(pauseAfter(answer(503, 30), "fifo", 3600)).toBe(30_000);
    expect(pauseAfter(answer(429, 99_999), "unordered", 3600)).toBe(3_600_000);
    expect(pauseAfter(answer(500, 30), "unordered", 3600)).toBe(0); // Retry-After on another status: only that delivery waits
    expect(pauseAfter(answer(429, null), "unordered", 3600)).toBe(0);
    expect(pauseAfter(answer(null, null, 7), "unordered", 3600)).toBe(7_000);
    expect(pauseAfter(answer(null, null, 0), "unordered", 3600)).toBe(1_000);
    expect(pauseAfter(answer(null, null, 7), "fifo", 3600)).toBe(0); // its head waits for its own retry anyway
    expect(pauseAfter(answer(null, null, null), "unordered", 3600)).toBe(0); // failed for good: nothing to wait for
    // No other delivery is unanswered: only this one is slow (or the downstream's silence is not shown yet), and only it waits.
    expect(pauseAfter(answer(null, null, 7, false), "unordered", 3600)).toBe(0);
    expect(pauseAfter(answer(429, 30, 5, false), "unordered", 3600)).toBe(30_000);
  });

  it("tells a downstream that is down (two deliveries unanswered in a row) from one delivery it never answers in time", () => {
    const silence = new Silence();
    // One delivery, however often unanswered, is alone.
    expect(silence.ended("a", false)).toBe(false);
    expect(silence.ended("a", false)).toBe(false);
    // Another unanswered with no answer since: the downstream looks down, from then on.
    expect(silence.ended("b", false)).toBe(true);
    expect(silence.ended("a", false)).toBe(true);
    expect(silence.ended("c", false)).toBe(true);
    // Any answer (any status) shows it up: counting starts again.
    expect(silence.ended("d", true)).toBe(false);
    expect(silence.ended("c", false)).toBe(false);
    expect(silence.ended("c", false)).toBe(false);
    expect(silence.ended("e", false)).toBe(true);
    // Someone asked for the deliveries (a new URL, an enable, a retry): counting starts again too.
    silence.forget();
    expect(silence.ended("f", false)).toBe(false);
  });

  it("reports what went unanswered only when it changes (never per answer), and picks up from what it was given", () => {
    const kept: string[][] = [];
    const silence = new Silence([], (ids) => kept.push(ids));
    for (let i = 0; i < 50; i++) silence.ended(`ok-${i}`, true);
    expect(kept).toEqual([]);
    // A downstream down for many deliveries: the first two are written, then nothing more until it answers.
    for (let i = 0; i < 50; i++) silence.ended(`down-${i}`, false);
    silence.ended("up", true);
    silence.ended("up-again", true);
    expect(kept).toEqual([["down-0"], ["down-0", "down-1"], []]);
    // A silence kept across a restart: the next unanswered delivery is the second in a row.
    expect(new Silence(["a"]).ended("b", false)).toBe(true);
    expect(new Silence(["a"]).ended("a", false)).toBe(false);
  });

  it("measures attempts and settled deliveries per second over a sliding window", () => {
    const meter = new RateMeter(10_000);
    expect(meter.rates(0)).toEqual({ attemptsPerSecond: 0, settledPerSecond: 0 });
    for (let t = 0; t < 5000; t += 100) meter.record(1_000_000 + t, t % 200 === 0);
    expect(meter.rates(1_005_000)).toEqual({ attemptsPerSecond: 10, settledPerSecond: 5 });
    expect(meter.rates(1_020_000)).toEqual({ attemptsPerSecond: 0, settledPerSecond: 0 });
  });

  it("never reads a pace above the rate limit, which the window's edge alone would show", () => {
    // 4 attempts a second apart (a webhook limited to 1/s), counted over the 3 s from the first to the last.
    const meter = new RateMeter(10_000);
    for (let t = 0; t < 4; t++) meter.record(1_000_000 + t * 1000, true);
    const measured = meter.rates(1_003_000);
    expect(measured.attemptsPerSecond).toBeGreaterThan(1);
    expect(paceOf(measured, 1)).toEqual({ attemptsPerSecond: 1, settledPerSecond: 1 });
    expect(paceOf(measured, 5)).toEqual(measured); // under its limit: as measured
    expect(paceOf(measured, null)).toEqual(measured);
  });

  it("estimates the time to drain from the settling pace, else the rate limit", () => {
    expect(drainEstimate(0, 0, { ...limits, disabled: false })).toBe(0);
    expect(drainEstimate(100, 4, { ...limits, disabled: false })).toBe(25);
    expect(drainEstimate(100, 0, { ...limits, rateLimit: 10, disabled: false })).toBe(10);
    expect(drainEstimate(100, 0, { ...limits, disabled: false })).toBeNull();
    // Paused (a Retry-After): nothing goes before the pause ends.
    expect(drainEstimate(100, 4, { ...limits, disabled: false }, 3000)).toBe(3025);
    expect(drainEstimate(100, 4, { ...limits, disabled: true })).toBeNull();
  });

  it("sends FIFO one at a time, whatever maxConcurrency says", () => {
    expect(concurrencyOf({ ...limits, maxConcurrency: 20, ordering: "fifo" })).toBe(1);
    expect(concurrencyOf({ ...limits, maxConcurrency: 5 })).toBe(5);
  });

  it("has at most 6 requests in flight, the connections Cloudflare opens at once for a scheduler's run, whatever maxConcurrency says", () => {
    // A seventh would wait in the runtime's queue, its timeout running, and go out off its pace.
    expect(concurrencyOf({ ...limits, maxConcurrency: 6 })).toBe(6);
    expect(concurrencyOf({ ...limits, maxConcurrency: 20 })).toBe(6);
    expect(concurrencyOf({ ...limits, maxConcurrency: 100 })).toBe(6);
  });
});

describe("the webhook's flow limits in the API", () => {
  it("defaults to no rate limit, 6 at once, unordered; takes and validates rateLimit, maxConcurrency and ordering", async () => {
    const p = pipeline();
    const base = { url: "https://downstream.test/ok/limits", eventTypes: ["*"], organizationUid: `org-${uniqueKey()}` };
    const plain = await p.createWebhook(base);
    expect(plain).toMatchObject({ rateLimit: null, maxConcurrency: 6, ordering: "unordered" });
    const set = await p.createWebhook({ ...base, rateLimit: 25, maxConcurrency: 3, ordering: "fifo" });
    expect(set).toMatchObject({ rateLimit: 25, maxConcurrency: 3, ordering: "fifo" });
    expect((await p.api("GET", `/v1/webhooks/${set.uid}`)).json).toMatchObject({ rateLimit: 25, maxConcurrency: 3, ordering: "fifo" });

    for (const bad of [{ rateLimit: 0 }, { rateLimit: 1001 }, { rateLimit: 2.5 }, { rateLimit: "10" }, { maxConcurrency: 0 }, { maxConcurrency: 101 }, { ordering: "lifo" }]) {
      const res = await p.api("POST", "/v1/webhooks", { ...base, ...bad });
      expect(res.status, JSON.stringify(bad)).toBe(400);
      expect(res.json.error.code).toBe("invalid_request");
      expect(JSON.stringify(res.json.error.details.issues)).toContain(Object.keys(bad)[0]);
      expect((await p.api("PATCH", `/v1/webhooks/${set.uid}`, bad)).status).toBe(400);
    }
    // Refused changes left it as it was.
    expect((await p.api("GET", `/v1/webhooks/${set.uid}`)).json).toMatchObject({ rateLimit: 25, maxConcurrency: 3, ordering: "fifo" });

    const patched = await p.api("PATCH", `/v1/webhooks/${set.uid}`, { rateLimit: null, ordering: "unordered" });
    expect(patched.json).toMatchObject({ rateLimit: null, maxConcurrency: 3, ordering: "unordered" });
    const put = await p.api("PUT", `/v1/webhooks/${set.uid}`, { url: base.url, eventTypes: ["*"] });
    expect(put.json).toMatchObject({ rateLimit: null, maxConcurrency: 6, ordering: "unordered" });
  });

  it("refuses a rate limit of 0 saying how to ask for none (null in the API, an empty box in the form)", async () => {
    const p = pipeline();
    const { key, webhook: hook } = await p.webhookOn("ok", { rateLimit: 5 });
    const message = (res: { json: unknown }) => {
      const issues = at(res.json, "error", "details", "issues");
      return Array.isArray(issues) ? at(issues.find((i) => at(i, "path") === "rateLimit"), "message") : undefined;
    };
    const created = await p.api("POST", "/v1/webhooks", { url: `https://downstream.test/ok/${key}`, eventTypes: ["*"], organizationUid: `org-${key}`, rateLimit: 0 });
    expect(created.status).toBe(400);
    expect(message(created)).toBe("0 is no rate: give 1..1000 attempts a second, or null for no limit");
    const patched = await p.api("PATCH", `/v1/webhooks/${hook.uid}`, { rateLimit: 0 });
    expect(message(patched)).toBe("0 is no rate: give 1..1000 attempts a second, or null for no limit");
    // Other numbers out of range keep the bound's own words.
    expect(message(await p.api("PATCH", `/v1/webhooks/${hook.uid}`, { rateLimit: -1 }))).not.toContain("0 is no rate");

    const cookie = await dashboardCookie();
    const form = await call(
      new Request(`https://edgehook.test/dashboard/webhooks/${hook.uid}`, {
        method: "POST",
        headers: { cookie, origin: "https://edgehook.test", "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ url: `https://downstream.test/ok/${key}`, eventTypes: "*", rateLimit: "0" }),
      }),
    );
    expect(form.status).toBe(400);
    expect(await form.text()).toContain("Rate limit: 0 is no rate: give 1..1000 attempts a second, or leave it empty for no limit");
    expect((await p.api("GET", `/v1/webhooks/${hook.uid}`)).json.rateLimit).toBe(5);
  });

  it("wakes the webhook's scheduler on every change, so new limits apply without a restart", async () => {
    const p = pipeline();
    const hook = await p.createWebhook({ url: "https://downstream.test/ok/wake", eventTypes: ["*"], organizationUid: `org-${uniqueKey()}` });
    expect(p.woken).toEqual([]);
    await p.api("PATCH", `/v1/webhooks/${hook.uid}`, { rateLimit: 5 });
    await p.api("PATCH", `/v1/webhooks/${hook.uid}`, { disabled: true });
    await p.api("PATCH", `/v1/webhooks/${hook.uid}`, { disabled: false });
    expect(p.woken).toEqual([hook.uid, hook.uid, hook.uid]);
  });

  it("documents the fields and the backlog in /openapi.json", async () => {
    const doc: unknown = await (await call(new Request("https://edgehook.test/openapi.json"))).json();
    const schema = (name: string, ...path: string[]) => at(doc, "components", "schemas", name, ...path);
    expect(keysAt(schema("Webhook", "properties"))).toEqual(expect.arrayContaining(["rateLimit", "maxConcurrency", "ordering", "backlog"]));
    expect(schema("WebhookCreate", "properties", "ordering", "enum")).toEqual(["unordered", "fifo"]);
    expect(schema("WebhookBacklog", "required")).toEqual(
      expect.arrayContaining(["held", "pending", "deliveriesPerSecond", "estimatedSeconds", "estimatedDoneAt"]),
    );
    // The counts are exact (the cap is gone): no description still promises "up to a cap".
    expect(at(doc, "paths", "/v1/webhooks/{uid}", "get", "description")).not.toMatch(/\bcap\b/);
    expect(JSON.stringify(schema("WebhookBacklog"))).not.toMatch(/\bcap(ped)?\b/);
  });
});

describe("the backlog view", () => {
  it("counts held and pending deliveries and estimates the drain", async () => {
    const p = pipeline();
    const { org, webhook: hook } = await p.webhookOn("ok", { disabled: true, rateLimit: 2 });
    for (let i = 0; i < 5; i++) await p.ingest(podiumBody({ organizationUid: org }));
    const held = (await p.api("GET", `/v1/webhooks/${hook.uid}`)).json;
    expect(held.heldDeliveries).toBe(5);
    expect(held.backlog).toMatchObject({ held: 5, pending: 0, inFlight: 0, estimatedSeconds: null, estimatedDoneAt: null });

    await p.api("PATCH", `/v1/webhooks/${hook.uid}`, { disabled: false });
    const pending = (await p.api("GET", `/v1/webhooks/${hook.uid}`)).json.backlog;
    // Nothing has gone out yet: the estimate is at the rate limit, 5 at 2 a second.
    expect(pending).toMatchObject({ held: 0, pending: 5, estimatedSeconds: 3 });
    expect(Date.parse(pending.estimatedDoneAt)).toBeGreaterThan(Date.now());

    // (This isolate's flow does not wait out the pacing: with no limit it sends all at once.)
    await p.api("PATCH", `/v1/webhooks/${hook.uid}`, { rateLimit: null });
    await p.deliver();
    expect((await p.api("GET", `/v1/webhooks/${hook.uid}`)).json.backlog).toMatchObject({ held: 0, pending: 0, estimatedSeconds: 0 });
  });

  it("reports all it owes exactly, however many (its counts row), and estimates the drain of them all", async () => {
    const p = pipeline();
    const { org, webhook: hook } = await p.webhookOn("ok", { disabled: true, rateLimit: 100 });
    await p.ingest(podiumBody({ organizationUid: org }));
    await p.api("PATCH", `/v1/webhooks/${hook.uid}`, { disabled: false });
    // 30,000 pending, as its counter row says (a 10-day backlog released): they were shown as 10,000, "capped".
    const pending = deliveryColumn("pending", 0);
    await env.DB.prepare(`UPDATE delivery_counts SET ${pending} = ${pending} + 29999 WHERE webhook = ${nameIdSql("?")}`).bind(hook.uid).run();
    const answer = (await p.api("GET", `/v1/webhooks/${hook.uid}`)).json;
    expect(answer.backlog).toMatchObject({ held: 0, pending: 30_000 });
    expect(answer.backlog).not.toHaveProperty("capped");
    expect(answer.health.backlog).toEqual({ held: 0, pending: 30_000 });
    // Nothing settled yet: at the rate limit, 30,000 at 100 a second.
    expect(answer.backlog.estimatedSeconds).toBe(300);
  });

  it("shows a webhook's pace at most at its rate limit, and estimates the drain from that", async () => {
    const p = pipeline();
    const { webhook } = await p.webhookOn("ok", { rateLimit: 1 });
    const hook = await getWebhook(env.DB, webhook.uid);
    if (!hook) throw new Error("the webhook was not stored");
    const status = { inFlight: 1, pausedUntil: null, attemptsPerSecond: 1.33, settledPerSecond: 1.33, nextRunAt: null };
    const view = backlogView(hook, { held: 0, pending: 10 }, status, 1_000_000);
    expect(view).toMatchObject({ deliveriesPerSecond: 1, estimatedSeconds: 10 });
  });

  it("counts the drain from an idle scheduler's next run (a FIFO head's retry holds everything behind it), as from a pause's end", async () => {
    const p = pipeline();
    const { webhook } = await p.webhookOn("ok", { rateLimit: 5, ordering: "fifo" });
    const hook = await getWebhook(env.DB, webhook.uid);
    if (!hook) throw new Error("the webhook was not stored");
    const now = 1_000_000;
    const idle = { inFlight: 0, pausedUntil: null, attemptsPerSecond: 3, settledPerSecond: 3 };
    // 51 owed at 3 a second is 17 s, but nothing starts for an hour.
    const waiting = backlogView(hook, { held: 0, pending: 51 }, { ...idle, nextRunAt: now + 3_600_000 }, now);
    expect(waiting).toMatchObject({ pausedUntil: null, estimatedSeconds: 3_600 + 17, estimatedDoneAt: new Date(now + 3_617_000).toISOString() });
    // The later of a pause and the next run; a next run already due adds nothing.
    expect(backlogView(hook, { held: 0, pending: 51 }, { ...idle, pausedUntil: now + 60_000, nextRunAt: now + 120_000 }, now).estimatedSeconds).toBe(137);
    expect(backlogView(hook, { held: 0, pending: 51 }, { ...idle, pausedUntil: now + 60_000, nextRunAt: now - 1 }, now).estimatedSeconds).toBe(77);

    // The scheduler says when its alarm will run it, once idle: the alarm is durable, so an evicted one still knows.
    const scheduler = env.SCHEDULERS.getByName(webhook.uid);
    const at = Date.now() + 3_600_000;
    await runInDurableObject(scheduler, (_instance, state) => state.storage.setAlarm(at));
    onTestFinished(() => runInDurableObject(scheduler, (_instance, state) => state.storage.deleteAlarm()));
    expect((await scheduler.status()).nextRunAt).toBe(at);
    await evictDurableObject(scheduler);
    expect(await scheduler.status()).toMatchObject({ inFlight: 0, nextRunAt: at });
  });

  it("never shows a pause already over, though its status was read while it lasted, nor one of a webhook disabled (auto-disabled while paused)", async () => {
    const random = vi.spyOn(retryJitter, "draw").mockReturnValue(0.5);
    onTestFinished(() => random.mockRestore());
    // Down: two deliveries unanswered in a row pause the webhook for half an hour's backoff; failing, it is auto-disabled.
    const { p, org, webhook } = await webhookSetup(
      "slow?ms=3000",
      { timeoutMs: 300, maxConcurrency: 1, failingAfterAttempts: 1, autoDisableAfterMinutes: 1 },
      { RETRY_BASE_SECONDS: "3600" },
    );
    const flow = new WebhookFlow(p.env, webhook.uid);
    for (let i = 0; i < 2; i++) await p.ingest(podiumBody({ organizationUid: org }));
    await flow.run(RUN);
    expect((await disableFailing(p.env, Date.now() + 2 * 60_000)).map((d) => d.webhook.uid)).toEqual([webhook.uid]);
    flow.wake();
    await flow.run(RUN);
    const hook = await getWebhook(env.DB, webhook.uid);
    if (!hook?.disabled) throw new Error("the webhook was not auto-disabled");
    // Its scheduler's status, read while the pause lasts (as the API reads it, on the scheduler's clock).
    const status = { ...flow.status(), nextRunAt: null };
    const until = status.pausedUntil;
    if (until === null) throw new Error("the webhook was not paused");
    const owed = { held: 2, pending: 0 };
    // Disabled, no pause is shown, even while it lasts: nothing starts anyway, and enabling ends it.
    for (const now of [until - 1000, until, until + 60_000]) expect(backlogView(hook, owed, status, now).pausedUntil, String(now - until)).toBeNull();
    const enabled = { ...hook, disabled: false };
    expect(backlogView(enabled, owed, status, until - 1000).pausedUntil).toBe(new Date(until).toISOString());
    // Shown at or after its end (the answer's clock past it: another machine's, or later), it is over.
    for (const now of [until, until + 1, until + 60_000]) expect(backlogView(enabled, owed, status, now).pausedUntil, String(now - until)).toBeNull();
  });

  it("shows the backlog, the pace and the limits on the dashboard, whose form sets them", async () => {
    const cookie = await dashboardCookie();
    const p = pipeline();
    const { key, org, webhook: hook } = await p.webhookOn("ok", { disabled: true, rateLimit: 10 });
    for (let i = 0; i < 3; i++) await p.ingest(podiumBody({ organizationUid: org }));
    const page = await (await call(new Request(`https://edgehook.test/dashboard/webhooks/${hook.uid}`, { headers: { cookie } }))).text();
    const backlog = page.slice(page.indexOf('aria-label="Backlog"'), page.indexOf("</dl>", page.indexOf('aria-label="Backlog"')));
    expect(backlog).toContain("3 (3 held, 0 pending)");
    expect(backlog).toContain("when enabled");
    expect(backlog).toContain("10/s, 6 at once");
    expect(page).toMatch(/name="rateLimit"[^>]*value="10"/);

    const saved = await call(
      new Request(`https://edgehook.test/dashboard/webhooks/${hook.uid}`, {
        method: "POST",
        headers: { cookie, origin: "https://edgehook.test", "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ url: `https://downstream.test/ok/${key}`, eventTypes: "*", rateLimit: "", maxConcurrency: "4", ordering: "fifo", disabled: "on" }),
      }),
    );
    expect(saved.status).toBe(303);
    expect((await p.api("GET", `/v1/webhooks/${hook.uid}`)).json).toMatchObject({ rateLimit: null, maxConcurrency: 4, ordering: "fifo" });
    const after = await (await call(new Request(`https://edgehook.test/dashboard/webhooks/${hook.uid}`, { headers: { cookie } }))).text();
    expect(after).toContain("FIFO, no rate limit");
  });
});

describe("the scheduler's flow", () => {
  const attemptsOf = async (webhookUid: string) =>
    (await webhookDeliveryRows(webhookUid, "owed")).map((r) => r.attempt_count);

  it("wakes each webhook's scheduler once per hand-off, however many deliveries it got", async () => {
    const p = pipeline();
    const key = uniqueKey();
    const org = `org-${key}`;
    const a = await p.createWebhook({ url: `https://downstream.test/ok/${key}-a`, eventTypes: ["*"], organizationUid: org });
    const b = await p.createWebhook({ url: `https://downstream.test/ok/${key}-b`, eventTypes: ["*"], organizationUid: org });
    await p.runIngest(Array.from({ length: 10 }, () => ingestMessage({ organizationUid: org, body: podiumBody({ organizationUid: org }) })));
    expect([...p.woken].sort()).toEqual([a.uid, b.uid].sort());
    await p.deliver();
    expect(await received(`${key}-a`)).toHaveLength(10);
    expect(await received(`${key}-b`)).toHaveLength(10);
  });

  it("records a backlog's attempts many to a transaction, each once, while others are still in flight", async () => {
    const meter = meteredD1(env.DB);
    const p = pipeline({ DB: meter.db });
    const { key, org, webhook: hook } = await p.webhookOn("ok");
    const n = 120;
    await p.runIngest(Array.from({ length: n }, () => ingestMessage({ organizationUid: org, body: podiumBody({ organizationUid: org }) })));
    meter.reset();
    await p.deliver();
    expect(new Set((await received(key)).map((r) => r.headers["webhook-id"])).size).toBe(n);
    expect(await attemptsOf(hook.uid)).toEqual(Array(n).fill(1));
    // Each transaction costs a few counter rows however many attempts it records.
    const records = Object.entries(meter.usage.bySql).filter(([sql]) => sql.startsWith("UPDATE deliveries SET attempts")).map(([, v]) => v);
    const transactions = records.reduce((k, v) => k + v.runs, 0);
    expect(transactions).toBeGreaterThan(0);
    expect(transactions).toBeLessThanOrEqual(n / 10);
    // An attempt is kept in its delivery's row: one row written each (no index the status
    // change moves is counted: migration 0032), none of its own, and the rest a few per transaction.
    expect(records.reduce((k, v) => k + v.rowsWritten, 0)).toBe(n);
    expect(meter.usage.rowsWritten).toBeLessThanOrEqual(n + 10 * transactions);
  });

  it("unordered: a downstream that does not answer costs two timeouts, not one per queued delivery", async () => {
    const { p, key, org, webhook } = await webhookSetup("slow?ms=3000", { timeoutMs: 200, maxConcurrency: 1 });
    for (let i = 0; i < 4; i++) await p.ingest(podiumBody({ organizationUid: org }));
    await p.deliver();
    expect(await received(key)).toHaveLength(2);
    // The two that timed out wait for their retries; the others were not tried: the webhook is paused.
    expect(await attemptsOf(webhook.uid)).toEqual([1, 1, 0, 0]);
  });

  it("unordered, quiet: one event the receiver never answers in time holds back none that come later; a second unanswered one pauses the webhook", async () => {
    // The jitter draws the middle of each backoff (an hour's ceiling): a pause, were there one, would outlast the test.
    const random = vi.spyOn(retryJitter, "draw").mockReturnValue(0.5);
    onTestFinished(() => random.mockRestore());
    // The first request is never answered in time; the next three are answered at once; then it stops answering.
    const { p, key, org, webhook } = await webhookSetup("slow-except?ms=3000&from=2&to=4", { timeoutMs: 300 }, { RETRY_BASE_SECONDS: "3600" });
    await p.ingest(podiumBody({ organizationUid: org }));
    await p.deliver();
    expect(await attemptsOf(webhook.uid)).toEqual([1]);
    // Nothing else was out, nor answered lately: still, one slow event is not a downstream that is down.
    for (let i = 0; i < 3; i++) await p.ingest(podiumBody({ organizationUid: org }));
    await p.deliver();
    expect(await attemptsOf(webhook.uid)).toEqual([1, 1, 1, 1]);
    // Down now: the first unanswered event of the quiet spell is alone, the second pauses the webhook.
    await p.ingest(podiumBody({ organizationUid: org }));
    await p.deliver();
    await p.ingest(podiumBody({ organizationUid: org }));
    await p.deliver();
    for (let i = 0; i < 2; i++) await p.ingest(podiumBody({ organizationUid: org }));
    await p.deliver();
    expect(await attemptsOf(webhook.uid)).toEqual([1, 1, 1, 1, 1, 1, 0, 0]);
    expect(await received(key)).toHaveLength(6);
  });

  it("unordered: an answer ends a pause set because the downstream looked down", async () => {
    const random = vi.spyOn(retryJitter, "draw").mockReturnValue(0.5);
    onTestFinished(() => random.mockRestore());
    // Three started a second apart: the first two are never answered in time (the second's silence pauses the webhook),
    // the third, out meanwhile, is answered after that, within its own timeout.
    const { p, key, org, webhook } = await webhookSetup(
      "slow-except?ms=5000&from=3&to=10&then=2000",
      { timeoutMs: 2500, maxConcurrency: 3, rateLimit: 1 },
      { RETRY_BASE_SECONDS: "3600" },
    );
    for (let i = 0; i < 3; i++) await p.ingest(podiumBody({ organizationUid: org }));
    await p.deliver();
    expect(await attemptsOf(webhook.uid)).toEqual([1, 1, 1]);
    expect(await received(key)).toHaveLength(3);
    // It answered after the two silences paused it: it is up, and what comes next goes out.
    for (let i = 0; i < 2; i++) await p.ingest(podiumBody({ organizationUid: org }));
    await p.deliver();
    expect(await attemptsOf(webhook.uid)).toEqual([1, 1, 1, 1, 1]);
  });

  it("unordered: after the webhook is sent elsewhere (resume), one delivery the new downstream never answers in time pauses nothing", async () => {
    const random = vi.spyOn(retryJitter, "draw").mockReturnValue(0.5);
    onTestFinished(() => random.mockRestore());
    const { p, key, org, webhook } = await webhookSetup("slow?ms=3000", { timeoutMs: 300, maxConcurrency: 1 }, { RETRY_BASE_SECONDS: "3600" });
    const flow = new WebhookFlow(p.env, webhook.uid);
    // The old downstream is down: two unanswered in a row pause the webhook.
    for (let i = 0; i < 2; i++) await p.ingest(podiumBody({ organizationUid: org }));
    await flow.run(RUN);
    expect(flow.status().pausedUntil).not.toBeNull();
    // Sent to a downstream that is up, whose first request only is slow: the URL's change asks for the deliveries now.
    const next = uniqueKey();
    expect((await p.api("PATCH", `/v1/webhooks/${webhook.uid}`, { url: `https://downstream.test/slow-once/${next}?ms=3000` })).status).toBe(200);
    flow.resume();
    flow.wake();
    for (let i = 0; i < 3; i++) await p.ingest(podiumBody({ organizationUid: org }));
    await flow.run(RUN);
    // The old downstream's silence says nothing of the new one: its one slow delivery holds back none of the others.
    expect(await received(next)).toHaveLength(3);
    expect(await received(key)).toHaveLength(2);
  });

  it("unordered: an attempt to the URL a change replaced, unanswered after the change, does not count against the new downstream", async () => {
    const random = vi.spyOn(retryJitter, "draw").mockReturnValue(0.5);
    onTestFinished(() => random.mockRestore());
    const { p, key, org, webhook } = await webhookSetup("slow?ms=6000", { timeoutMs: 2000, maxConcurrency: 1 }, { RETRY_BASE_SECONDS: "3600" });
    for (let i = 0; i < 3; i++) await p.ingest(podiumBody({ organizationUid: org }));
    const flow = new WebhookFlow(p.env, webhook.uid);
    const run = flow.run(RUN);
    // The first is out to the old downstream (down) when the webhook is sent elsewhere; it times out after that.
    await vi.waitFor(async () => expect(await received(key)).toHaveLength(1), { timeout: 10_000, interval: 20 });
    const next = uniqueKey();
    expect((await p.api("PATCH", `/v1/webhooks/${webhook.uid}`, { url: `https://downstream.test/slow-once/${next}?ms=6000` })).status).toBe(200);
    flow.resume();
    flow.wake();
    await run;
    // The new downstream's one slow delivery is alone: the other goes out too.
    expect(await received(next)).toHaveLength(2);
    expect(await received(key)).toHaveLength(1);
  });

  it("FIFO: keeps no silence (it never pauses for one), so a head unanswered and then answered writes nothing to its scheduler's storage", async () => {
    const { p, key, org, webhook } = await webhookSetup("slow-once?ms=3000", { timeoutMs: 300, ordering: "fifo" }, { RETRY_BASE_SECONDS: "0" });
    const kept: string[][] = [];
    const flow = new WebhookFlow(p.env, webhook.uid, { silenced: (ids) => kept.push(ids) });
    await p.ingest(podiumBody({ organizationUid: org }));
    await flow.run(RUN);
    // Unanswered at its first attempt, answered at its second.
    expect(await received(key)).toHaveLength(2);
    expect((await webhookDeliveryRows(webhook.uid)).map((r) => r.attempt_count)).toEqual([2]);
    expect(kept).toEqual([]);
  });

  it.each([2, 1])("unordered: one delivery that gets no answer while the downstream answers the others pauses nothing: it waits for its own retry (maxConcurrency %i)", async (maxConcurrency) => {
    // The first request to the downstream never answers in time; every other is answered at once. The jitter draws the
    // middle of each backoff (an hour's ceiling): a pause, were there one, would outlast the test.
    const random = vi.spyOn(retryJitter, "draw").mockReturnValue(0.5);
    onTestFinished(() => random.mockRestore());
    // (One at a time, the second request is the slow one: the downstream answered the first just before it, within a
    // timeout, which is how a scheduler tells it is up when nothing else is out meanwhile.)
    const slow = maxConcurrency === 1 ? "slow-once?ms=3000&nth=2" : "slow-once?ms=3000";
    const { p, key, org, webhook } = await webhookSetup(slow, { timeoutMs: 500, maxConcurrency }, { RETRY_BASE_SECONDS: "3600" });
    for (let i = 0; i < 4; i++) await p.ingest(podiumBody({ organizationUid: org }));
    await p.deliver();
    expect(await attemptsOf(webhook.uid)).toEqual([1, 1, 1, 1]);
    // Events that come after its timeout go out too: the downstream is up, only that one delivery is slow.
    for (let i = 0; i < 3; i++) await p.ingest(podiumBody({ organizationUid: org }));
    await p.deliver();
    expect(await attemptsOf(webhook.uid)).toEqual([1, 1, 1, 1, 1, 1, 1]);
    expect((await webhookDeliveryRows(webhook.uid, "owed")).map((d) => d.status).sort()).toEqual(["pending", ...Array(6).fill("succeeded")]);
    expect(await received(key)).toHaveLength(7);
  });

  it("unordered: releases a held backlog 1,000 at a time as it drains, not all of it at once", async () => {
    const p = pipeline();
    const { key, org, webhook } = await p.webhookOn("slow?ms=5", { maxConcurrency: 20, disabled: true });
    const now = Date.now();
    const n = 2001;
    for (let b = 0; b * 100 < n; b++) {
      const events = Array.from({ length: Math.min(100, n - b * 100) }, (_, j) => b * 100 + j);
      await p.runIngest(events.map((i) => ingestMessage({ eventId: `evt_${key}_${i}`, dedupeKey: `${key}-${i}`, organizationUid: org, receivedAt: now + i, body: podiumBody({ organizationUid: org }) })));
    }
    await p.api("PATCH", `/v1/webhooks/${webhook.uid}`, { disabled: false });
    const held = async () => (await p.api("GET", `/v1/webhooks/${webhook.uid}`)).json.heldDeliveries;
    expect(await held()).toBe(n - 1000);
    const draining = p.deliver();
    // The second thousand is going out (the scheduler released it once the first was sent): the last one waits, held.
    await vi.waitFor(async () => expect(await receivedCount(key)).toBeGreaterThan(1005), { timeout: 60_000, interval: 10 });
    expect(await held()).toBe(1);
    await draining;
    expect(await held()).toBe(0);
    expect(new Set((await received(key)).map((r) => r.headers["edgehook-event-id"])).size).toBe(n);
  });

  it("unordered: a failing delivery does not hold back the others", async () => {
    const { p, key, org, webhook } = await webhookSetup("flaky?fails=1", { maxConcurrency: 1 });
    for (let i = 0; i < 3; i++) await p.ingest(podiumBody({ organizationUid: org }));
    await p.deliver();
    const got = await received(key);
    expect(new Set(got.map((r) => r.headers["edgehook-event-id"])).size).toBe(3);
    const statuses = await webhookDeliveryRows(webhook.uid, "owed");
    expect(statuses.slice(1).map((r) => r.status)).toEqual(["succeeded", "succeeded"]);
  });

  it("FIFO: a failing head holds back what comes after it, until it fails for good; then the next goes", async () => {
    // Retries nearly an hour away: none comes due within the test unless it says so.
    retriesWaitNearTheirCeiling();
    const { p, key, org, webhook } = await webhookSetup("fail", { ordering: "fifo", maxAttempts: 2 }, { RETRY_BASE_SECONDS: "3600" });
    for (let i = 0; i < 3; i++) await p.ingest(podiumBody({ organizationUid: org }));
    await p.deliver();
    const first = await attemptsOf(webhook.uid);
    expect(first[0]).toBeGreaterThanOrEqual(1);
    expect(first.slice(1)).toEqual([0, 0]);
    // Its last attempt comes due: it fails for good, and the next one is the head.
    await setWebhookDeliveries(webhook.uid, "pending", "next_attempt_at = CASE WHEN attempt_count = 1 THEN 0 ELSE next_attempt_at END");
    await p.deliver();
    const statuses = await webhookDeliveryRows(webhook.uid, "owed");
    expect(statuses[0]).toMatchObject({ status: "failed", attempt_count: 2 });
    expect(statuses[1]!.attempt_count).toBeGreaterThanOrEqual(1);
    expect(statuses[2]!.attempt_count).toBe(0);
    const order = (await received(key)).map((r) => r.headers["edgehook-event-id"]);
    expect(order.indexOf(order[order.length - 1]!)).toBeGreaterThan(order.lastIndexOf(order[0]!));
  });

  it.each(["retried by hand", "replayed"] as const)(
    "FIFO: a delivery %s, then a new one that fails: the flow waits for its backoff, whatever the earlier one left in memory (audit)",
    async (how) => {
      // Its retry at the ceiling: a draw near 0 (full jitter, by design) would make it due at once, which the audit took for this.
      retriesWaitNearTheirCeiling();
      const p = pipeline();
      const { key, org, webhook } = await p.webhookOn("ok-then-fail?ok=2", { ordering: "fifo" });
      // One flow across the steps, as its Durable Object keeps it, told each wake-up as the object is.
      const flow = new WebhookFlow(p.env, webhook.uid);
      const run = () => {
        p.woken.splice(0);
        for (const { why } of p.wakeReasons.splice(0)) flow.wake(why);
        return flow.run(RUN);
      };
      const first = await p.ingest(podiumBody({ organizationUid: org }));
      expect(await run()).toBeNull();
      const sent = (await received(key))[0]!.headers["edgehook-delivery-id"];
      const again =
        how === "replayed" ? await p.api("POST", `/v1/events/${first}/replay`, { webhookUid: webhook.uid }) : await p.api("POST", `/v1/deliveries/${sent}/retry`);
      expect(again.status).toBe(202);
      expect(await run()).toBeNull();
      await p.ingest(podiumBody({ organizationUid: org }));
      const wakeAt = await run();
      const got = await received(key);
      expect(got.map((r) => r.status)).toEqual([200, 200, 500]);
      const d = (await p.api("GET", `/v1/deliveries/${got[2]!.headers["edgehook-delivery-id"]}`)).json;
      const due = Date.parse(d.nextAttemptAt);
      expect(due - (Date.parse(d.attempts[0].startedAt) + d.attempts[0].durationMs)).toBe(settings(p.env).retrySchedule[0]! * 1000);
      expect(wakeAt).toBe(due);
    },
  );

  it("FIFO: disabling the webhook stops its failing head; enabled again, the head goes first, then the rest in order", async () => {
    // Retries nearly an hour away: the head is not tried again before it is disabled.
    retriesWaitNearTheirCeiling();
    const { p, key, org, webhook } = await webhookSetup("fail", { ordering: "fifo" }, { RETRY_BASE_SECONDS: "3600" });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push(await p.ingest(podiumBody({ organizationUid: org })));
    await p.deliver();
    expect(await attemptsOf(webhook.uid)).toEqual([1, 0, 0]);

    await p.api("PATCH", `/v1/webhooks/${webhook.uid}`, { disabled: true });
    await p.deliver();
    // Held, the head with its attempt, and nothing more was sent.
    const held = (await webhookDeliveryRows(webhook.uid, "owed")).map((d) => ({ status: d.status, attempt_count: d.attempt_count }));
    expect(held).toEqual([
      { status: "held", attempt_count: 1 },
      { status: "held", attempt_count: 0 },
      { status: "held", attempt_count: 0 },
    ]);
    expect(await received(key)).toHaveLength(1);

    // Enabled, and pointed at a downstream that answers: the head first, then the others, in order.
    await p.api("PATCH", `/v1/webhooks/${webhook.uid}`, { disabled: false, url: `https://downstream.test/ok/${key}` });
    await p.deliver();
    const got = await received(key);
    expect(got.map((r) => [r.headers["edgehook-event-id"], r.status])).toEqual([
      [ids[0], 500],
      [ids[0], 200],
      [ids[1], 200],
      [ids[2], 200],
    ]);
    expect(Math.max(...got.map((r) => r.inFlight))).toBe(1);
  });
});

/**
 * When the requests a downstream received were started, as their attempts record it (epoch ms,
 * in order): what a rate limit spaces (docs/flow-control.md). Their arrival times add the
 * runtime's and the network's jitter, which a loaded test machine makes hundreds of ms.
 */
async function startsOf(p: ReturnType<typeof pipeline>, requests: { headers: Record<string, string> }[]): Promise<number[]> {
  const starts = await Promise.all(
    requests.map(async (r) => {
      const d = await p.api("GET", `/v1/deliveries/${r.headers["edgehook-delivery-id"]}`);
      expect(d.status).toBe(200);
      expect(d.json.attempts).toHaveLength(1);
      return Date.parse(d.json.attempts[0].startedAt);
    }),
  );
  return starts.sort((a, b) => a - b);
}

describe("a rate limit set or lowered", () => {
  it.each([null, 1000])("from %s to 1/s: the next start waits the new spacing from the last one, as a change takes effect before the next start", async (from) => {
    const { p, key, org, webhook } = await webhookSetup("record", { rateLimit: from, maxConcurrency: 1 });
    for (let i = 0; i < 2; i++) await p.ingest(podiumBody({ organizationUid: org }));
    const flow = new WebhookFlow(p.env, webhook.uid);
    await flow.run({ deadline: Infinity, maxStarts: 1, maxTransformSteps: Infinity, maxWaitMs: 0 });
    expect((await p.api("PATCH", `/v1/webhooks/${webhook.uid}`, { rateLimit: 1 })).status).toBe(200);
    flow.wake();
    await flow.run({ deadline: Infinity, maxStarts: Infinity, maxTransformSteps: Infinity, maxWaitMs: 5_000 });
    const at = await startsOf(p, await received(key));
    expect(at).toHaveLength(2);
    // A second apart as started: the start made at the old pace counts against the new one.
    expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(1000);
  });
});

describe("a run's bound on transformation work", () => {
  it.each(["unordered", "fifo"] as const)(
    "%s: starts nothing once its transformations took maxTransformSteps, asks to run again at once, and the next run sends the rest, each once",
    async (ordering) => {
      const transform = '{"n": $sum([1..2000].($ * 2))}';
      // What one attempt costs (the expression reads nothing of the event), and so a budget three attempts reach.
      const { steps } = await outbound({ kind: "webhook", transform, transformHeaders: null }, "{}");
      expect(steps).toBeGreaterThan(100);
      const bound = { ...RUN, maxTransformSteps: 3 * steps };
      // Slow answers, four at once (unordered): attempts overlap, and none answered yet counts for what has started.
      const { p, key, org, webhook } = await webhookSetup("record?ms=200", { transform, ordering, maxConcurrency: 4 });
      const ids: string[] = [];
      for (let i = 0; i < 8; i++) ids.push(await p.ingest(podiumBody({ organizationUid: org })));
      const flow = new WebhookFlow(p.env, webhook.uid);

      const next = await flow.run(bound);
      // Stopped at its bound, as at maxStarts: again at once, what it started recorded.
      expect(next).not.toBeNull();
      expect(next!).toBeLessThanOrEqual(Date.now());
      expect(await received(key)).toHaveLength(3);
      expect(await webhookDeliveryCount(webhook.uid, "succeeded")).toBe(3);

      // The next runs, each within the same bound, send the rest.
      expect(await flow.run(bound)).not.toBeNull();
      expect(await flow.run(bound)).toBeNull();
      const got = (await received(key)).map((r) => r.headers["edgehook-event-id"]);
      if (ordering === "fifo") expect(got).toEqual(ids);
      else expect([...got].sort()).toEqual([...ids].sort());
      expect(await webhookDeliveryCount(webhook.uid, "succeeded")).toBe(8);
    },
  );
});

describe("a scheduler made anew", () => {
  it("keeps the rate limit across a restart: its first start waits a spacing, the one before it having perhaps just started one", async () => {
    const { p, key, org, webhook } = await webhookSetup("record", { rateLimit: 1 });
    for (let i = 0; i < 3; i++) await p.ingest(podiumBody({ organizationUid: org }));
    // The first instance starts one request, and is lost right after (a deploy, an eviction)...
    await new WebhookFlow(p.env, webhook.uid).run({ deadline: Infinity, maxStarts: 1, maxTransformSteps: Infinity, maxWaitMs: 0 });
    // ...and the next one, made at once (woken by new events, say), sends the rest.
    await new WebhookFlow(p.env, webhook.uid, { restarted: Date.now() }).run({ deadline: Infinity, maxStarts: Infinity, maxTransformSteps: Infinity, maxWaitMs: 5_000 });
    const at = await startsOf(p, await received(key));
    expect(at).toHaveLength(3);
    // A second apart as started, across the restart too.
    for (let k = 1; k < at.length; k++) expect(at[k]! - at[k - 1]!, `request ${k}`).toBeGreaterThanOrEqual(1000);
  });
});

describe("the scheduler's read-ahead", () => {
  it.each(["unordered", "fifo"] as const)(
    "%s: keeps the page it read ahead across wake-ups that change nothing of it, reading little more than a run not woken",
    async (ordering) => {
      const meter = meteredD1(env.DB);
      const p = pipeline({ DB: meter.db });
      const n = 40;
      /** Rows read sending a webhook's n deliveries, with a wake-up (new events, say) every few ms while it sends, or none. */
      const send = async (woken: boolean) => {
        const { key, org, webhook } = await p.webhookOn("slow?ms=20", { maxConcurrency: 1, ordering });
        await p.runIngest(Array.from({ length: n }, () => ingestMessage({ organizationUid: org, body: podiumBody({ organizationUid: org }) })));
        const flow = new WebhookFlow(p.env, webhook.uid);
        meter.reset();
        const run = flow.run(RUN);
        let done = false;
        void run.finally(() => (done = true));
        let wakes = 0;
        while (woken && !done) {
          await new Promise((r) => setTimeout(r, 15));
          flow.wake("added"); // as an ingest's wake-up: new deliveries only
          wakes++;
        }
        await run;
        expect(new Set((await received(key)).map((r) => r.headers["webhook-id"])).size).toBe(n);
        return { rows: meter.usage.rowsRead, wakes };
      };
      const quiet = await send(false);
      const woken = await send(true);
      expect(woken.wakes).toBeGreaterThan(n / 2);
      // A wake-up costs its webhook's row, and for FIFO a look at the head: not the page again, bodies and all.
      expect(woken.rows).toBeLessThanOrEqual(quiet.rows + 4 * woken.wakes);
    },
  );
});
