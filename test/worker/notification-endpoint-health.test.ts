// A notification endpoint whose alerts keep failing says so where an operator looks: its GET, the
// list, the dashboard's Alerts page and the CLI (docs/alerts.md "Notification endpoints"), read
// from its health row and counts, not from the alerts it is owed.
import { env } from "cloudflare:workers";
import { describe, expect, it, onTestFinished } from "vitest";
import { meteredD1 } from "../../bench/d1-meter";
import { clockFrom, midHour } from "./clock";
import { call, dashboardCookie, meteredApiCall, podiumBody } from "./helpers";
import { pipeline, received, uniqueKey } from "./pipeline";

type P = ReturnType<typeof pipeline>;

/** Runs the schedulers until nothing new was woken: alerts raised by one run go out in the next. */
async function settle(p: P) {
  for (let i = 0; i < 6; i++) {
    await p.deliver();
    if (p.woken.length === 0) return;
  }
}

describe("a notification endpoint's health", () => {
  it("shows its failing alerts (state, last failure, alerts waiting) in its GET, the list and the Alerts page, reading no more for a longer queue", async () => {
    // Three attempts an alert (the endpoint is failing after three failed attempts in a row), its
    // retries a while apart: the clock moves on, within one clock hour, to the next.
    const p = pipeline({ MAX_ATTEMPTS: "3" });
    const start = midHour();
    let restore = clockFrom(start);
    onTestFinished(() => restore());
    const at = (minutes: number) => {
      restore();
      restore = clockFrom(start + minutes * 60_000);
    };
    const key = uniqueKey();
    const org = `org-${key}`;
    const made = await p.api("POST", "/v1/notification-endpoints", {
      url: `https://downstream.test/fail/${key}-alerts`,
      alertTypes: ["webhook.failing", "delivery.dead_lettered"],
    });
    expect(made.status).toBe(201);
    const uid: string = made.json.uid;
    // Neither its create nor its PATCH answer reads its health.
    expect(made.json.health).toBeUndefined();

    const meter = meteredD1(env.DB);
    const fresh = await meteredApiCall(meter, "GET", `/v1/notification-endpoints/${uid}`);
    const freshList = await meteredApiCall(meter, "GET", "/v1/notification-endpoints?limit=100");
    expect(fresh.json.health).toMatchObject({ state: "healthy", consecutiveFailures: 0, lastFailure: null, backlog: { held: 0, pending: 0 } });

    // Ten webhooks fail for good at once: two alerts each (failing, dead-lettered), twenty owed to the endpoint, which answers 500.
    for (let i = 0; i < 10; i++) {
      await p.createWebhook({ url: `https://downstream.test/fail/${key}-${i}`, eventTypes: ["*"], organizationUid: org, maxAttempts: 1, failingAfterAttempts: 1 });
    }
    await p.ingest(podiumBody({ organizationUid: org }));
    await settle(p);
    // The first alert's retries, the third its last; then the next alert's first attempt, which fails too.
    for (const minutes of [5, 10, 15]) {
      at(minutes);
      await settle(p);
    }
    const tried = await received(`${key}-alerts`);
    expect(tried.length).toBeGreaterThanOrEqual(4);
    expect(tried.every((r) => r.status === 500)).toBe(true);

    const got = await meteredApiCall(meter, "GET", `/v1/notification-endpoints/${uid}`);
    expect(got.status).toBe(200);
    const health = got.json.health!;
    expect(health).toMatchObject({ state: "failing", lastFailure: { error: "HTTP 500" }, lastSuccessAt: null, backlog: { held: 0 } });
    expect(health.consecutiveFailures).toBe(tried.length);
    expect(health.failingSince).not.toBeNull();
    // The alerts behind the one being retried (FIFO), and those not yet tried: all but the ones failed for good.
    expect(health.backlog.pending).toBe(20 - Math.floor(tried.length / 3));
    // Its row, its health row, its name, 25 hourly counts looked up and its counts row: the rows found
    // since it was made (its name, health, an hour's counts and its counts) add a few, not the alerts owed.
    expect(got.rows).toBeLessThanOrEqual(70);
    expect(got.rows - fresh.rows).toBeLessThanOrEqual(8);

    const listed = await meteredApiCall(meter, "GET", "/v1/notification-endpoints?limit=100");
    const row = listed.json.data.find((e) => e.uid === uid);
    expect(row?.health).toEqual(health);
    // The same endpoints as before the alerts: this one's few rows more, not the alerts owed.
    expect(listed.json.data.length).toBe(freshList.json.data.length);
    expect(listed.rows - freshList.rows).toBeLessThanOrEqual(8);

    // The dashboard's Alerts page shows the same beside the endpoint's URL.
    const cookie = await dashboardCookie();
    const page = await (await call(new Request("https://edgehook.test/dashboard/alerts", { headers: { cookie } }))).text();
    const endpointRow = page.slice(page.indexOf(`${key}-alerts`));
    expect(endpointRow.slice(0, endpointRow.indexOf("</tr>"))).toMatch(
      new RegExp(`<b>failing</b> · ${tried.length} failed in a row · ${health.backlog.pending} alerts waiting.*Last failure <time[^>]*>[^<]*</time> HTTP 500`, "s"),
    );
  });
});
