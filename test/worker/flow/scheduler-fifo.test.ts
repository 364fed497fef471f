// The delivery schedulers as they run (see scheduler.test.ts), on long backlogs: FIFO order
// with a downstream failing at random, across an eviction, and a held backlog drained at its
// limits. One at a time: they keep the runtime busy, and at once the two large ones starved
// each other. Retries are due at once here (RETRY_BASE_SECONDS=0, see vitest.config.ts).
import { evictDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { busiestWindow } from "../../support/arrivals";
import { call, dashboardCookie } from "../helpers";
import { received, uniqueKey } from "../pipeline";
import { webhookAttemptStarts, webhookDeliveryRows } from "../rows";
import { count, indexOf, JITTER, message, realSchedulers, succeeded } from "./scheduler-support";

describe("FIFO", () => {
  it("delivers 1,200 held events strictly in the order they were received, one at a time, with a downstream failing at random", async () => {
    const p = realSchedulers();
    const { key, org, webhook: hook } = await p.webhookOn("record?fail=0.3", { ordering: "fifo", maxAttempts: 50, disabled: true });
    const now = Date.now();
    const n = 1200;
    // Stored in an order unlike their receipt: batch b holds the events received b-th,
    // (b+12)-th, …, and the last batch is stored first.
    for (let b = 11; b >= 0; b--) {
      await p.runIngest(Array.from({ length: n / 12 }, (_, j) => message(key, org, b + 12 * j, now + b + 12 * j)));
    }
    expect(await count(hook.uid, "held")).toBe(n);
    // Enabling releases the oldest 1,000; the scheduler releases the rest when its head is one of them.
    await p.api("PATCH", `/v1/webhooks/${hook.uid}`, { disabled: false });
    const stub = env.SCHEDULERS.getByName(hook.uid);
    await Promise.all(Array.from({ length: 10 }, () => stub.wake(hook.uid)));
    await succeeded(hook.uid, n, 170_000);

    const got = await received(key);
    const order = got.map(indexOf);
    // Never back: each request is for the event it was at or the next one...
    for (let k = 1; k < order.length; k++) expect(order[k]! - order[k - 1]!, `request ${k}`).toBeGreaterThanOrEqual(0);
    // ...and it moved on only after a success.
    for (let k = 1; k < order.length; k++) if (order[k] !== order[k - 1]) expect(got[k - 1]!.status, `request ${k - 1}`).toBe(200);
    expect(got.filter((r) => r.status === 200).map(indexOf)).toEqual(Array.from({ length: n }, (_, i) => i));
    expect(got.filter((r) => r.status === 503).length).toBeGreaterThan(0);
    expect(Math.max(...got.map((r) => r.inFlight))).toBe(1);
  });

  it("holds back only its own webhook: a failing head does not delay another webhook", async () => {
    const p = realSchedulers();
    const key = uniqueKey();
    const org = `org-${key}`;
    // Its head gets 429 with Retry-After 60: it waits a minute, and everything behind it with it.
    const blocked = await p.createWebhook({ url: `https://downstream.test/record/${key}-b?busy=1000&s=60`, eventTypes: ["*"], organizationUid: org, ordering: "fifo" });
    const free = await p.createWebhook({ url: `https://downstream.test/record/${key}-f`, eventTypes: ["*"], organizationUid: org, ordering: "fifo" });
    const now = Date.now();
    for (let i = 0; i < 5; i++) await p.runIngest([message(key, org, i, now + i)]);
    await succeeded(free.uid, 5);
    expect((await received(`${key}-f`)).map(indexOf)).toEqual([0, 1, 2, 3, 4]);
    await vi.waitFor(async () => expect((await received(`${key}-b`)).length).toBeGreaterThan(0), { timeout: 10_000 });
    expect((await received(`${key}-b`)).map(indexOf)).toEqual([0]);
    const states = await webhookDeliveryRows(blocked.uid, "owed");
    expect(states.map((d) => [d.status, d.attempt_count])).toEqual([["pending", 1], ...Array(4).fill(["pending", 0])]);
  });

  it("drains a re-enabled webhook's 5,000 held deliveries oldest first, at its limits, and says how it is going", async () => {
    const p = realSchedulers();
    const { key, org, webhook: hook } = await p.webhookOn("record", { rateLimit: 1000, maxConcurrency: 16, disabled: true });
    const now = Date.now();
    const n = 5000;
    for (let b = 0; b < n / 100; b++) await p.runIngest(Array.from({ length: 100 }, (_, j) => message(key, org, b * 100 + j, now + b * 100 + j)));
    expect(await count(hook.uid, "held")).toBe(n);
    expect((await p.api("GET", `/v1/webhooks/${hook.uid}`)).json.backlog).toMatchObject({ held: n, pending: 0, estimatedSeconds: null });

    const cookie = await dashboardCookie();
    await p.api("PATCH", `/v1/webhooks/${hook.uid}`, { disabled: false });
    // While it drains, the webhook's view says how fast it goes and when it expects to be done,
    // and so does its dashboard page.
    const { view, readFrom, readBy, page } = await vi.waitFor(
      async () => {
        const readFrom = Date.now();
        const b = (await p.api("GET", `/v1/webhooks/${hook.uid}`)).json.backlog;
        const readBy = Date.now();
        expect(b.held + b.pending).toBeGreaterThan(0);
        expect(b.deliveriesPerSecond).toBeGreaterThan(0);
        const html = await (await call(new Request(`https://edgehook.test/dashboard/webhooks/${hook.uid}`, { headers: { cookie } }), { SCHEDULERS: env.SCHEDULERS })).text();
        const section = html.slice(html.indexOf('aria-label="Backlog"'), html.indexOf("</dl>", html.indexOf('aria-label="Backlog"')));
        expect(section).toContain("in about");
        return { view: b, readFrom, readBy, page: section };
      },
      { timeout: 60_000, interval: 100 },
    );
    expect(view.estimatedSeconds).toEqual(expect.any(Number));
    // Done at the time the view was read plus the estimate: bounded by the clock around that read
    // alone, however long the dashboard's render after it took.
    const doneFrom = Date.parse(view.estimatedDoneAt) - view.estimatedSeconds * 1000;
    expect(doneFrom).toBeGreaterThanOrEqual(readFrom);
    expect(doneFrom).toBeLessThanOrEqual(readBy);
    const pace = /([\d.]+)\/s · (\d+) in flight/.exec(page);
    expect(pace, page).not.toBeNull();
    expect(Number(pace![1])).toBeGreaterThan(0);
    expect(page).toContain("1000/s, 16 at once");
    await succeeded(hook.uid, n, 170_000);

    const got = await received(key);
    expect(new Set(got.map(indexOf)).size).toBe(n);
    expect(Math.max(...got.map((r) => r.inFlight))).toBeLessThanOrEqual(16);
    expect(busiestWindow(got.map((r) => r.at))).toBeLessThanOrEqual(1000 + JITTER);
    // Oldest first: in the order their events were received, each started no earlier than the one before.
    const at = await webhookAttemptStarts(hook.uid);
    expect(at).toHaveLength(n);
    for (let k = 1; k < n; k++) expect(at[k]! - at[k - 1]!, `delivery ${k}`).toBeGreaterThanOrEqual(0);
    expect((await p.api("GET", `/v1/webhooks/${hook.uid}`)).json.backlog).toMatchObject({ held: 0, pending: 0, estimatedSeconds: 0 });
  });

  it("keeps its order across an eviction: the scheduler rebuilds what it needs from D1", async () => {
    const p = realSchedulers();
    const { key, org, webhook: hook } = await p.webhookOn("record?fail=0.2", { ordering: "fifo", rateLimit: 10, maxAttempts: 50 });
    const now = Date.now();
    await p.runIngest(Array.from({ length: 30 }, (_, i) => message(key, org, i, now + i)));
    await vi.waitFor(async () => expect(await count(hook.uid, "succeeded")).toBeGreaterThanOrEqual(5), { timeout: 30_000, interval: 50 });
    const stub = env.SCHEDULERS.getByName(hook.uid);
    await evictDurableObject(stub);
    await succeeded(hook.uid, 30); // its alarm brings it back, as a new instance
    const order = (await received(key)).map(indexOf);
    for (let k = 1; k < order.length; k++) expect(order[k]! - order[k - 1]!, `request ${k}`).toBeGreaterThanOrEqual(0);
    expect([...new Set(order)]).toEqual(Array.from({ length: 30 }, (_, i) => i));
  });
});
