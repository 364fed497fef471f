// Webhook health, auto-disable and alerts, driven through the pipeline and the
// maintenance run with an explicit `now`.
import { env } from "cloudflare:workers";
import { Webhook as StandardWebhook } from "standardwebhooks";
import { describe, expect, it, onTestFinished } from "vitest";
import type { ErrorCode } from "../../src/domain/errors";
import type { RejectionsMessage } from "../../src/domain/types";
import migration0018 from "../../migrations/0018_alert_webhooks.sql?raw";
import { ALERT_SOURCE, alertUrl, FAILING_LASTED_MS, REFAILING_COOLDOWN_MS } from "../../src/domain/alerts";
import { PURGE_LIMITS, runMaintenance } from "../../src/maintenance/cron";
import { disableFailing, MAINTENANCE_DISABLES, recordAttempts as recordBatch, REDRIVE_GRACE_MS } from "../../src/pipeline/commands";
import { alertAfterAttempts, alertIngestDeadLetters, openLastingFailures } from "../../src/pipeline/alerts";
import { purgeClosedAlerts } from "../../src/store/alerts";
import { recordAttempts } from "../../src/store/deliveries";
import { markHoursAlertedStatement } from "../../src/store/rejections";
import { healthState, NO_ATTEMPTS, successRates } from "../../src/domain/health";
import { HOUR_MS } from "../../src/domain/time";
import { healthOf, unannouncedFailures, webhooksToAutoDisable } from "../../src/store/health";
import { getWebhook } from "../../src/store/webhooks";
import { meteredD1 } from "../../bench/d1-meter";
import { d1Double, type SeenStatement } from "./d1-double";
import { clockFrom, midHour } from "./clock";
import { call, dashboardCookie, dashboardForm, dashboardShown, ingestMessage, podiumBody } from "./helpers";
import { pipeline, received, uniqueKey } from "./pipeline";
import { racing } from "./racing";
import { copyWebhook, deliveryRows } from "./rows";
import { as, DATA_SCOPES, makeToken } from "./tokens";

type P = ReturnType<typeof pipeline>;
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** Runs the schedulers until nothing new was woken: alerts raised by one run go out in the next. */
async function settle(p: P) {
  for (let i = 0; i < 6; i++) {
    await p.deliver();
    if (p.woken.length === 0) return;
  }
}

interface Alert {
  type: string;
  timestamp: string;
  data: Record<string, unknown> & { subject: string; state: string; count: number; message: string };
}

/** The alerts a notification endpoint received about one subject, in order. */
async function alertsAt(key: string, subject: string): Promise<Alert[]> {
  return (await received(key)).map((r) => JSON.parse(r.body) as Alert).filter((a) => a.data.subject === subject);
}

/** Each request a notification endpoint received, in order: its alert's type and the status answered. */
async function arrivalsAt(key: string): Promise<[string, number][]> {
  return (await received(key)).map((r) => [(JSON.parse(r.body) as Alert).type, r.status]);
}

/**
 * Expects each alert stamped with its episode's time, as one instant: its `timestamp`, its data's
 * `openedAt` (`closedAt`, of a closing) and the episode's row.
 */
async function expectStampedAsEpisodes(alerts: Alert[]) {
  expect(alerts.length).toBeGreaterThan(0);
  for (const a of alerts) {
    const row = await env.DB.prepare("SELECT opened_at, closed_at FROM alerts WHERE id = ?").bind(a.data.alertId).first<{ opened_at: number; closed_at: number | null }>();
    const closing = a.data.state === "resolved";
    const at = new Date((closing ? row?.closed_at : row?.opened_at) ?? NaN).toISOString();
    expect([a.type, a.data.state, a.timestamp, closing ? a.data.closedAt : a.data.openedAt]).toEqual([a.type, a.data.state, at, at]);
  }
}

async function endpoint(p: P, key: string, extra: Record<string, unknown> = {}) {
  const res = await p.api("POST", "/v1/notification-endpoints", {
    url: `https://downstream.test/ok/${key}`,
    alertTypes: ["webhook.failing", "webhook.disabled", "webhook.recovered", "delivery.dead_lettered", "ingest.dead_lettered", "source.rejecting"],
    ...extra,
  });
  expect(res.status).toBe(201);
  const uid = (res.json as { uid: string }).uid;
  // Every alert goes to every endpoint subscribed to its type: one left enabled would be sent each later
  // test's alerts too, a flow run and a request each (the file's last tests sent theirs to ~50). Disabled,
  // not deleted: a test below counts the alerts of every endpoint ever deleted.
  onTestFinished(async () => {
    const off = (await pipeline().api("PATCH", `/v1/notification-endpoints/${uid}`, { disabled: true })).status;
    if (off !== 200 && off !== 404) throw new Error(`disabling notification endpoint ${uid}: ${off}`);
  });
  return res.json as { uid: string; secret: string };
}

async function health(p: P, uid: string) {
  const res = await p.api("GET", `/v1/webhooks/${uid}`);
  expect(res.status).toBe(200);
  return res.json;
}

describe("webhook health, auto-disable and alerts", () => {
  it("goes healthy → degraded → failing → disabled → re-enabled → recovered, alerting once at each change that deserves it", async () => {
    const p = pipeline({ RETRY_BASE_SECONDS: "0" });
    const { key, org, webhook: hook } = await p.webhookOn("ok", { eventTypes: ["message.*"], maxAttempts: 2, failingAfterAttempts: 3, autoDisableAfterMinutes: 60 });
    const alertKey = `${key}-alerts`;
    const notify = await endpoint(p, alertKey);
    expect(hook).toMatchObject({ failingAfterAttempts: 3, autoDisableAfterMinutes: 60, disabledReason: null, disabledAt: null });
    const send = async () => {
      await p.ingest(podiumBody({ organizationUid: org }));
      await settle(p);
    };

    // Healthy: one success.
    await send();
    let w = await health(p, hook.uid);
    expect(w.health).toMatchObject({ state: "healthy", consecutiveFailures: 0, successRate: { lastHour: 1, lastDay: 1 }, lastFailure: null });
    expect(w.health.lastSuccessAt).not.toBeNull();

    // Degraded: the downstream breaks; one event fails twice and is dead-lettered.
    expect((await p.api("PATCH", `/v1/webhooks/${hook.uid}`, { url: `https://downstream.test/fail/${key}` })).status).toBe(200);
    await send();
    w = await health(p, hook.uid);
    expect(w.health).toMatchObject({ state: "degraded", consecutiveFailures: 2, lastFailure: { error: "HTTP 500" } });
    expect(w.health.successRate.lastDay).toBeCloseTo(1 / 3, 2);
    let alerts = await alertsAt(alertKey, hook.uid);
    expect(alerts.map((a) => [a.type, a.data.state])).toEqual([["delivery.dead_lettered", "open"]]);

    // Failing: two more failures (4 in a row, threshold 3). The dead-letter episode only counts.
    await send();
    w = await health(p, hook.uid);
    expect(w.health).toMatchObject({ state: "failing", consecutiveFailures: 4 });
    const list = await p.api("GET", "/v1/webhooks?limit=100");
    expect(list.json.data.find((x: { uid: string }) => x.uid === hook.uid).health).toEqual({ state: "failing" });
    alerts = await alertsAt(alertKey, hook.uid);
    expect(alerts.map((a) => [a.type, a.data.state])).toEqual([
      ["delivery.dead_lettered", "open"],
      ["webhook.failing", "open"],
    ]);
    // It opened at the third failure in a row; the fourth only counted.
    expect(alerts[1]!.data).toMatchObject({ webhookUid: hook.uid, consecutiveFailures: 3, lastError: "HTTP 500" });

    // Not yet an hour of failures: the maintenance run leaves it alone.
    expect((await runMaintenance(p.env, Date.now() + 30 * MINUTE)).disabled).toBe(0);
    // Disabled by the maintenance run once every attempt has failed for 60 minutes.
    const report = await runMaintenance(p.env, Date.now() + 61 * MINUTE);
    expect(report.disabled).toBe(1);
    await settle(p);
    w = await health(p, hook.uid);
    expect(w).toMatchObject({ disabled: true, health: { state: "disabled" } });
    expect(w.disabledReason).toMatch(/every attempt failed for 60 minutes.*HTTP 500/);
    expect(w.disabledAt).not.toBeNull();
    alerts = await alertsAt(alertKey, hook.uid);
    expect(alerts.map((a) => a.type)).toEqual(["delivery.dead_lettered", "webhook.failing", "webhook.disabled"]);
    expect(alerts[2]!.data.reason).toBe(w.disabledReason);
    // Its events are held meanwhile, as when disabled by hand.
    await p.ingest(podiumBody({ organizationUid: org }));
    await settle(p);
    w = await health(p, hook.uid);
    expect(w.heldDeliveries).toBe(1);
    expect(w.health.backlog).toEqual({ held: 1, pending: 0 });

    // Re-enabled (the downstream fixed): the reason is cleared, the held event goes out, it recovers.
    const enabled = await p.api("PATCH", `/v1/webhooks/${hook.uid}`, { disabled: false, url: `https://downstream.test/ok/${key}` });
    expect(enabled.json).toMatchObject({ disabled: false, disabledReason: null, disabledAt: null });
    await settle(p);
    w = await health(p, hook.uid);
    // No longer failing; still degraded while the last hour's success rate is under 90% (3 of 7).
    expect(w.health).toMatchObject({ state: "degraded", consecutiveFailures: 0, failingSince: null });
    expect(w.health.successRate.lastHour).toBeLessThan(0.9);
    expect(w.heldDeliveries).toBe(0);
    alerts = await alertsAt(alertKey, hook.uid);
    expect(alerts.map((a) => [a.type, a.data.state])).toEqual([
      ["delivery.dead_lettered", "open"],
      ["webhook.failing", "open"],
      ["webhook.disabled", "open"],
      ["webhook.recovered", "resolved"],
    ]);
    expect(alerts[3]!.data).toMatchObject({ count: 4 });
    // Its dead letters resolve at the maintenance run once an hour has passed without another.
    await runMaintenance(p.env, Date.now() + 61 * MINUTE);
    await settle(p);
    alerts = await alertsAt(alertKey, hook.uid);
    expect(alerts.slice(4).map((a) => [a.type, a.data.state, a.data.count])).toEqual([["delivery.dead_lettered", "resolved", 2]]);
    // The episodes in /v1/alerts: all closed, with their counts.
    const episodes = (await p.api("GET", "/v1/alerts?limit=100")).json.data.filter((a: { subject: string }) => a.subject === hook.uid);
    expect(episodes.map((a: { type: string; state: string; count: number }) => [a.type, a.state, a.count])).toEqual([
      ["webhook.disabled", "closed", 1],
      ["webhook.failing", "closed", 4],
      ["delivery.dead_lettered", "closed", 2],
    ]);
    // Each alert, opening or closing, stamped with its episode's time.
    await expectStampedAsEpisodes(await alertsAt(alertKey, hook.uid));

    // Signed as the Standard Webhooks spec says, with the endpoint's secret.
    const last = (await received(alertKey)).at(-1)!;
    expect(new StandardWebhook(notify.secret).verify(last.body, last.headers)).toMatchObject({ type: expect.any(String) });
    expect(() => new StandardWebhook(`whsec_${btoa("another secret of enough length")}`).verify(last.body, last.headers)).toThrow();
  });

  it("alerts once per episode: 20 failed attempts make one webhook.failing with count 20", async () => {
    const p = pipeline({ RETRY_BASE_SECONDS: "0" });
    const { key, org, webhook: hook } = await p.webhookOn("fail", { maxAttempts: 20, failingAfterAttempts: 5 });
    const alertKey = `${key}-alerts`;
    await endpoint(p, alertKey, { alertTypes: ["webhook.failing", "webhook.recovered"] });
    await p.ingest(podiumBody({ organizationUid: org }));
    await settle(p);
    expect(await received(key)).toHaveLength(20);
    const alerts = await alertsAt(alertKey, hook.uid);
    expect(alerts.map((a) => a.type)).toEqual(["webhook.failing"]);
    const episode = (await p.api("GET", "/v1/alerts?limit=100")).json.data.find(
      (a: { subject: string; type: string }) => a.subject === hook.uid && a.type === "webhook.failing",
    );
    expect(episode).toMatchObject({ type: "webhook.failing", state: "open", count: 20, closedAt: null });
    // Not subscribed to delivery.dead_lettered: the episode is recorded, nothing is sent.
    expect((await p.api("GET", "/v1/alerts?limit=100")).json.data.some((a: { subject: string; type: string }) => a.subject === hook.uid && a.type === "delivery.dead_lettered")).toBe(true);

    // A success closes it: one webhook.recovered with the count.
    await p.api("PATCH", `/v1/webhooks/${hook.uid}`, { url: `https://downstream.test/ok/${key}` });
    await p.ingest(podiumBody({ organizationUid: org }));
    await settle(p);
    const after = await alertsAt(alertKey, hook.uid);
    expect(after.map((a) => [a.type, a.data.count])).toEqual([
      ["webhook.failing", 5],
      ["webhook.recovered", 20],
    ]);
    expect(after[1]!.data.message).toMatch(/recovered after 20 failed attempts/);
  });

  it("counts in webhook.recovered the failures recorded in the batch that ends the streak", async () => {
    const p = pipeline({ RETRY_BASE_SECONDS: "0" });
    // The first request fails (the episode opens at once); then two at once: the first fails, the other succeeds 300 ms later, one batch.
    const { key, org, webhook: hook } = await p.webhookOn("flaky?fails=2&ms=300", { maxAttempts: 1, maxConcurrency: 2, failingAfterAttempts: 1 });
    const alertKey = `${key}-alerts`;
    await endpoint(p, alertKey, { alertTypes: ["webhook.failing", "webhook.recovered"] });
    await p.ingest(podiumBody({ organizationUid: org }));
    await settle(p);
    expect((await alertsAt(alertKey, hook.uid)).map((a) => [a.type, a.data.count])).toEqual([["webhook.failing", 1]]);
    await p.ingest(podiumBody({ organizationUid: org }));
    await p.ingest(podiumBody({ organizationUid: org }));
    await settle(p);
    expect((await received(key)).map((r) => r.status)).toEqual([503, 503, 200]);
    const after = await alertsAt(alertKey, hook.uid);
    expect(after.map((a) => [a.type, a.data.count])).toEqual([
      ["webhook.failing", 1],
      ["webhook.recovered", 2],
    ]);
    expect(after[1]!.data.message).toMatch(/recovered after 2 failed attempts/);
    expect((await episodesOf(p, hook.uid)).filter(([type]) => type === "webhook.failing")).toEqual([["webhook.failing", "closed", 2]]);
  });

  it("delivers a notification endpoint's alerts in order: webhook.failing, whose first attempt failed, before webhook.recovered", async () => {
    const p = pipeline({ RETRY_BASE_SECONDS: "0" });
    // The webhook's first attempt fails (failing opens), its retry succeeds (recovered); the endpoint's first request fails.
    const { key, org } = await p.webhookOn("flaky?fails=1", { maxAttempts: 3, failingAfterAttempts: 1 });
    const alertKey = `${key}-alerts`;
    const notify = await endpoint(p, alertKey, { url: `https://downstream.test/flaky/${alertKey}?fails=1`, alertTypes: ["webhook.failing", "webhook.recovered"] });
    await p.ingest(podiumBody({ organizationUid: org }));
    await settle(p);
    expect((await received(key)).map((r) => r.status)).toEqual([503, 200]);
    const arrivals = await arrivalsAt(alertKey);
    // The failing alert is retried before the recovered one goes: a receiver keeping state ends up with "recovered".
    expect(arrivals).toEqual([
      ["webhook.failing", 503],
      ["webhook.failing", 200],
      ["webhook.recovered", 200],
    ]);
    expect((await getWebhook(p.env.DB, notify.uid))?.ordering).toBe("fifo");
    // Neither of its PATCHes makes it unordered: the endpoint's knows no `ordering`, the webhook's does not find it.
    expect((await p.api("PATCH", `/v1/notification-endpoints/${notify.uid}`, { ordering: "unordered" })).json).toMatchObject({ error: { code: "invalid_request", details: { issues: [{ path: "ordering" }] } } });
    expect((await p.api("PATCH", `/v1/webhooks/${notify.uid}`, { ordering: "unordered" })).status).toBe(404);
    expect((await getWebhook(p.env.DB, notify.uid))?.ordering).toBe("fifo");
  });

  it("delivers a notification endpoint's alerts in order even where its row says 'unordered' (an older Worker's write)", async () => {
    const p = pipeline({ RETRY_BASE_SECONDS: "0" });
    const { key, org } = await p.webhookOn("flaky?fails=1", { maxAttempts: 3, failingAfterAttempts: 1 });
    const alertKey = `${key}-alerts`;
    const notify = await endpoint(p, alertKey, { url: `https://downstream.test/flaky/${alertKey}?fails=1`, alertTypes: ["webhook.failing", "webhook.recovered"] });
    // As a Worker from before migration 0052, running beside this one during a deploy, writes it.
    await p.env.DB.prepare("UPDATE webhooks SET ordering = 'unordered' WHERE uid = ?").bind(notify.uid).run();
    expect((await getWebhook(p.env.DB, notify.uid))?.ordering).toBe("fifo");
    await p.ingest(podiumBody({ organizationUid: org }));
    await settle(p);
    expect((await received(key)).map((r) => r.status)).toEqual([503, 200]);
    expect(await arrivalsAt(alertKey)).toEqual([
      ["webhook.failing", 503],
      ["webhook.failing", 200],
      ["webhook.recovered", 200],
    ]);
  });

  it("moves past an alert that failed for good: the alerts behind it then go out", async () => {
    // Endpoints take the installation's maxAttempts: 2 here.
    const p = pipeline({ RETRY_BASE_SECONDS: "0", MAX_ATTEMPTS: "2" });
    const { key, org } = await p.webhookOn("flaky?fails=1", { maxAttempts: 3, failingAfterAttempts: 1 });
    const alertKey = `${key}-alerts`;
    await endpoint(p, alertKey, { url: `https://downstream.test/flaky/${alertKey}?fails=2`, alertTypes: ["webhook.failing", "webhook.recovered"] });
    await p.ingest(podiumBody({ organizationUid: org }));
    await settle(p);
    expect((await received(key)).map((r) => r.status)).toEqual([503, 200]);
    expect(await arrivalsAt(alertKey)).toEqual([
      ["webhook.failing", 503],
      ["webhook.failing", 503],
      ["webhook.recovered", 200],
    ]);
  });

  it("a bulk retry leaves alerts alone unless it names their endpoint, as a range replay sends old alerts to nobody", async () => {
    const p = pipeline({ RETRY_BASE_SECONDS: "0" });
    const { key, org, webhook: hook } = await p.webhookOn("fail", { maxAttempts: 1, failingAfterAttempts: 1, autoDisableAfterMinutes: 60 });
    const alertKey = `${key}-alerts`;
    const notify = await endpoint(p, alertKey, { alertTypes: ["webhook.failing", "webhook.disabled", "webhook.recovered"] });
    await p.ingest(podiumBody({ organizationUid: org }));
    await settle(p);
    expect((await runMaintenance(p.env, Date.now() + 61 * MINUTE)).disabled).toBe(1);
    await settle(p);
    expect((await p.api("PATCH", `/v1/webhooks/${hook.uid}`, { disabled: false, url: `https://downstream.test/ok/${key}` })).status).toBe(200);
    await p.ingest(podiumBody({ organizationUid: org }));
    await settle(p);
    const raised = [["webhook.failing", 200], ["webhook.disabled", 200], ["webhook.recovered", 200]];
    expect(await arrivalsAt(alertKey)).toEqual(raised);
    const sent = (await received(key)).length;
    /** Every page of a bulk retry, as the CLI follows it (the dashboard names its webhook): the deliveries retried. */
    const retryAll = async (filter: Record<string, unknown>) => {
      let count = 0;
      let cursor: string | null = null;
      do {
        const res: Awaited<ReturnType<P["api"]>> = await p.api("POST", "/v1/deliveries/retry", { ...filter, ...(cursor ? { cursor } : {}) });
        expect(res.status).toBe(202);
        count += res.json.count;
        cursor = res.json.nextCursor;
      } while (cursor !== null);
      await settle(p);
      return count;
    };
    // Unnamed: the webhooks' deliveries go again (the one that succeeded), the endpoint's alerts do not.
    expect(await retryAll({ status: "succeeded" })).toBeGreaterThan(0);
    expect((await received(key)).length).toBeGreaterThan(sent);
    expect(await arrivalsAt(alertKey)).toEqual(raised);
    // Named: its alerts go again, in the order they were raised.
    expect(await retryAll({ status: "succeeded", webhookUid: notify.uid })).toBe(3);
    expect(await arrivalsAt(alertKey)).toEqual([...raised, ...raised]);
  });

  it("a flaky downstream's dead letters make one episode: a success between them closes nothing; it resolves an hour after the last, once the webhook delivers again", async () => {
    const p = pipeline({ RETRY_BASE_SECONDS: "0" });
    const { key, org, webhook: hook } = await p.webhookOn("fail", { maxAttempts: 1 });
    const alertKey = `${key}-alerts`;
    await endpoint(p, alertKey, { alertTypes: ["delivery.dead_lettered"] });
    const sendTo = async (outcome: "ok" | "fail") => {
      expect((await p.api("PATCH", `/v1/webhooks/${hook.uid}`, { url: `https://downstream.test/${outcome}/${key}` })).status).toBe(200);
      await p.ingest(podiumBody({ organizationUid: org }));
      await settle(p);
    };
    const sent = async () => (await alertsAt(alertKey, hook.uid)).map((a) => [a.type, a.data.state, a.data.count]);
    const episode = async () =>
      (await p.api("GET", "/v1/alerts?limit=100")).json.data.filter((a: { subject: string }) => a.subject === hook.uid).map((a: { state: string; count: number }) => [a.state, a.count]);

    await sendTo("fail");
    expect(await sent()).toEqual([["delivery.dead_lettered", "open", 1]]);
    await sendTo("ok");
    expect((await received(key)).map((r) => r.status)).toEqual([500, 200]);
    await sendTo("fail");
    expect((await received(key)).map((r) => r.status)).toEqual([500, 200, 500]);
    // One episode counting both; nothing more sent.
    expect(await episode()).toEqual([["open", 2]]);
    expect(await sent()).toEqual([["delivery.dead_lettered", "open", 1]]);

    // An hour later, but the last attempt failed: still open.
    await runMaintenance(p.env, Date.now() + 30 * MINUTE);
    await runMaintenance(p.env, Date.now() + 61 * MINUTE);
    expect(await episode()).toEqual([["open", 2]]);
    // It delivers again: not yet an hour since the last dead letter, then an hour.
    await sendTo("ok");
    await runMaintenance(p.env, Date.now() + 30 * MINUTE);
    expect(await episode()).toEqual([["open", 2]]);
    await runMaintenance(p.env, Date.now() + 61 * MINUTE);
    await settle(p);
    expect(await episode()).toEqual([["closed", 2]]);
    const all = await alertsAt(alertKey, hook.uid);
    expect(all.map((a) => [a.type, a.data.state, a.data.count])).toEqual([
      ["delivery.dead_lettered", "open", 1],
      ["delivery.dead_lettered", "resolved", 2],
    ]);
    expect(all[1]!.data.message).toMatch(/delivers again and no delivery to it has failed for good for an hour; 2 were dead-lettered/);
  });

  it("closes a dead-letter episode whose webhook delivered after it in the same batch of attempts", async () => {
    const p = pipeline({ RETRY_BASE_SECONDS: "0" });
    // Two at once: the first to arrive fails for good at once, the other succeeds 300 ms later; one batch records both.
    const { key, org, webhook: hook } = await p.webhookOn("flaky?fails=1&ms=300", { maxAttempts: 1, maxConcurrency: 2 });
    await endpoint(p, `${key}-alerts`, { alertTypes: ["delivery.dead_lettered"] });
    await p.ingest(podiumBody({ organizationUid: org }));
    await p.ingest(podiumBody({ organizationUid: org }));
    await settle(p);
    expect((await received(key)).map((r) => r.status)).toEqual([503, 200]);
    const episode = async () =>
      (await p.api("GET", "/v1/alerts?limit=100")).json.data.filter((a: { subject: string }) => a.subject === hook.uid).map((a: { state: string }) => a.state);
    expect(await episode()).toEqual(["open"]);
    await runMaintenance(p.env, Date.now() + 61 * MINUTE);
    expect(await episode()).toEqual(["closed"]);
  });

  it("sends a Slack-format endpoint {text}, and never alerts to regular webhooks, even catch-alls for every type", async () => {
    const p = pipeline({ RETRY_BASE_SECONDS: "0" });
    const key = uniqueKey();
    const org = `org-${key}`;
    const slackEndpoint = await endpoint(p, `${key}-slack`, { format: "slack", alertTypes: ["delivery.dead_lettered"] });
    const everything = await p.createWebhook({ url: `https://downstream.test/ok/${key}-all`, eventTypes: ["*"] });
    // Owed every event of the tests after this one, else.
    onTestFinished(async () => expect((await pipeline().api("DELETE", `/v1/webhooks/${everything.uid}`)).status).toBe(204));
    const hook = await p.createWebhook({ url: `https://downstream.test/fail/${key}`, eventTypes: ["*"], organizationUid: org, maxAttempts: 1 });
    await p.ingest(podiumBody({ organizationUid: org }));
    await settle(p);
    const slack = (await received(`${key}-slack`)).map((r) => JSON.parse(r.body) as { text: string });
    const mine = slack.filter((s) => s.text.includes(hook.uid));
    expect(mine).toEqual([{ text: expect.stringMatching(/^A delivery to webhook .* failed for good: HTTP 500\.$/) }]);
    // The catch-all got the event (a positive signal) and nothing of Edgehook's own.
    const got = await received(`${key}-all`);
    expect(got.length).toBeGreaterThan(0);
    expect(got.every((r) => r.headers["edgehook-event-type"] === "message.received")).toBe(true);
    expect((await p.api("GET", `/v1/webhooks/${everything.uid}`)).json.health.state).toBe("healthy");

    // A replay of the range (as after an outage) sends the alerts in it to no endpoint again.
    const range = { since: new Date(Date.now() - 60_000).toISOString(), until: new Date(Date.now() + 1_000).toISOString(), eventType: "delivery.dead_lettered" };
    const again = await p.api("POST", "/v1/events/replay", range);
    expect(again.status).toBe(202);
    expect(again.json.deliveries).toBe(0);
    // One alert replayed by its id goes again to the endpoint subscribed to it, and to no webhook.
    const alerts = (await p.api("GET", "/v1/events?sourceId=edgehook&limit=100")).json.data;
    const alert = (await Promise.all(alerts.map(async (a) => (await p.api("GET", `/v1/events/${a.id}`)).json))).find((e) => JSON.stringify(e.body ?? e).includes(hook.uid));
    expect(alert).toBeDefined();
    const one = await p.api("POST", `/v1/events/${alert!.id}/replay`, {});
    expect(one.status).toBe(202);
    // Every endpoint subscribed to the type (this file's other tests made some too), no webhook.
    const subscribed = ((await p.api("GET", "/v1/notification-endpoints?limit=100")).json.data as { alertTypes: string[] }[]).filter((e) =>
      e.alertTypes.includes("delivery.dead_lettered"),
    );
    expect(one.json.deliveries).toBe(subscribed.length);
    await settle(p);
    expect((await received(`${key}-slack`)).filter((r) => r.body.includes(hook.uid))).toHaveLength(2);
    // Or, named by the admin, to that endpoint alone (it answered 404, no such webhook); to no token else.
    const named = await p.api("POST", `/v1/events/${alert!.id}/replay`, { webhookUid: slackEndpoint.uid });
    expect(named).toMatchObject({ status: 202, json: { deliveries: 1 } });
    await settle(p);
    expect((await received(`${key}-slack`)).filter((r) => r.body.includes(hook.uid))).toHaveLength(3);
    const replayer = await makeToken(p, [...DATA_SCOPES, "events:replay", "events:read"]);
    expect(await as(p, replayer.token, "POST", `/v1/events/${alert!.id}/replay`, { webhookUid: slackEndpoint.uid })).toMatchObject({ status: 404 });
    // Nor is an endpoint subscribed to other alerts, nor an ordinary webhook.
    const other = await endpoint(p, `${key}-other`, { alertTypes: ["webhook.recovered"] });
    expect(await p.api("POST", `/v1/events/${alert!.id}/replay`, { webhookUid: other.uid })).toMatchObject({
      status: 409,
      json: { error: { message: `The notification endpoint "${other.uid}" is not subscribed to this alert (its alertTypes).`, details: { reason: "not_subscribed" } } },
    });
    expect(await p.api("POST", `/v1/events/${alert!.id}/replay`, { webhookUid: everything.uid })).toMatchObject({
      status: 409,
      json: { error: { message: `The webhook "${everything.uid}" is never owed alerts: they go to notification endpoints.`, details: { reason: "not_subscribed" } } },
    });
    // An event named to an endpoint, by id or by range: there, and never owed it (409, not 404 saying no such uid); 404 to a token that cannot see endpoints.
    const event = got[0]!.headers["edgehook-event-id"];
    const toEndpoint = { status: 409, json: { error: { message: `"${slackEndpoint.uid}" is a notification endpoint: it is owed alerts (events of the source edgehook), one replayed by its id, never other events.`, details: { reason: "not_subscribed" } } } };
    expect(await p.api("POST", `/v1/events/${event}/replay`, { webhookUid: slackEndpoint.uid })).toMatchObject(toEndpoint);
    const window = { since: range.since, until: range.until };
    expect(await p.api("POST", "/v1/events/replay", { ...window, webhookUid: slackEndpoint.uid })).toMatchObject(toEndpoint);
    expect(await as(p, replayer.token, "POST", "/v1/events/replay", { ...window, webhookUid: slackEndpoint.uid })).toMatchObject({ status: 404 });
    expect((await received(`${key}-all`)).every((r) => r.headers["edgehook-event-type"] === "message.received")).toBe(true);
  });

  it("sends Slack no control sequence a webhook's URL carries (<!channel>, <@U…>, <url|label>): its path and query are left out", async () => {
    const p = pipeline({ RETRY_BASE_SECONDS: "0" });
    const key = uniqueKey();
    const org = `org-${key}`;
    await endpoint(p, `${key}-slack`, { format: "slack" });
    const path = "<!channel>/<@U123>/<https://evil.example|Click here>";
    const hook = await p.createWebhook({ url: `https://downstream.test/fail/${key}/${path}?<!here>`, eventTypes: ["*"], organizationUid: org, maxAttempts: 1, failingAfterAttempts: 1 });
    await p.ingest(podiumBody({ organizationUid: org }));
    await settle(p);
    const texts = (await received(`${key}-slack`)).map((r) => (JSON.parse(r.body) as { text: string }).text).filter((t) => t.includes(hook.uid));
    expect(texts.length).toBeGreaterThan(0);
    // Slack reads only a raw < … > as a mention or a link: none reaches it (nor from the error, which Edgehook writes).
    for (const t of texts) {
      expect(t).not.toMatch(/[<>]/);
      expect(t).toContain("(https://downstream.test/…)");
      expect(t).not.toMatch(/channel|U123|evil/);
    }
  });

  it("escapes &, < and > of a downstream's error for a Slack endpoint (<!channel>, <url|label>), and sends other endpoints the alert as stored", async () => {
    const p = pipeline({ RETRY_BASE_SECONDS: "0" });
    const { key, webhook, event } = await p.webhookOn("fail", { failingAfterAttempts: 1, autoDisableAfterMinutes: 1 });
    await endpoint(p, `${key}-slack`, { format: "slack", alertTypes: ["webhook.disabled"] });
    await endpoint(p, `${key}-std`, { alertTypes: ["webhook.disabled"] });
    const id = (await deliveryRows(await p.ingest(event()))).find((d) => d.webhook_uid === webhook.uid)!.id;
    // What a downstream's failure may carry (a network error's words): an hour of it disables the webhook.
    const error = "request failed: <!channel> <https://evil.example|click> & more";
    const since = Date.now() - 60 * MINUTE;
    await recordAttempts(env.DB, webhook.uid, [
      { attempt: { deliveryId: id, number: 1, startedAt: since, durationMs: 5, statusCode: null, error, responseSnippet: null }, status: "pending", nextAttemptAt: since + MINUTE, deadLetter: null },
    ]);
    expect((await disableFailing(p.env)).map((d) => d.webhook.uid)).toContain(webhook.uid);
    await settle(p);

    const [slack] = (await received(`${key}-slack`)).map((r) => (JSON.parse(r.body) as { text: string }).text);
    expect(slack).toContain("request failed: &lt;!channel&gt; &lt;https://evil.example|click&gt; &amp; more");
    expect(slack).not.toMatch(/[<>]/);
    // The standard endpoint gets the stored alert byte for byte, its message as written.
    const [std] = await received(`${key}-std`);
    const stored = (await p.api("GET", `/v1/events/${std!.headers["edgehook-event-id"]}`)).json;
    expect(std!.body).toBe(stored.body);
    expect((JSON.parse(std!.body) as Alert).data.message).toContain(error);
  });

  it("shows a webhook's URL in alerts without its path, query or fragment: a token there reaches no notification endpoint", async () => {
    const p = pipeline({ RETRY_BASE_SECONDS: "0" });
    const key = uniqueKey();
    const org = `org-${key}`;
    const token = `tok${key.replace(/[^a-z0-9]/gi, "")}`;
    await endpoint(p, `${key}-alerts`);
    await endpoint(p, `${key}-slack`, { format: "slack" });
    // A capability URL's token rides in its path too (Zapier's, Make's, Slack's own).
    const bare = "https://downstream.test/…";
    const hook = await p.createWebhook({ url: `https://downstream.test/fail/${key}/${token}?code=${token}#${token}`, eventTypes: ["*"], organizationUid: org, maxAttempts: 1, failingAfterAttempts: 1 });
    await p.ingest(podiumBody({ organizationUid: org }));
    await settle(p);
    // Recovered: the closing alert is made from the episode's stored data.
    expect((await p.api("PATCH", `/v1/webhooks/${hook.uid}`, { url: `https://downstream.test/ok/${key}/${token}?code=${token}` })).status).toBe(200);
    await p.ingest(podiumBody({ organizationUid: org }));
    await settle(p);

    const alerts = await alertsAt(`${key}-alerts`, hook.uid);
    expect(alerts.map((a) => a.type).sort()).toEqual(["delivery.dead_lettered", "webhook.failing", "webhook.recovered"]);
    for (const a of alerts) {
      expect(a.data.url).toBe(bare);
      expect(a.data.message).toContain(`(${bare})`);
    }
    const slack = (await received(`${key}-slack`)).filter((r) => r.body.includes(hook.uid));
    expect(slack).toHaveLength(3);
    // Nor where the admin reads them: the episodes, the alert events.
    const episodes = (await p.api("GET", "/v1/alerts?limit=100")).json.data.filter((a: { subject: string }) => a.subject === hook.uid);
    expect(episodes.map((a) => a.data.url)).toEqual([bare, bare]);
    const arrived = (await received(`${key}-alerts`)).filter((r) => r.body.includes(hook.uid));
    const events = await Promise.all(arrived.map(async (r) => (await p.api("GET", `/v1/events/${r.headers["webhook-id"]}`)).json));
    expect(events.map((e) => e.sourceId)).toEqual(["edgehook", "edgehook", "edgehook"]);
    const seen = JSON.stringify([alerts, slack.map((r) => r.body), episodes, events]);
    expect(seen).toContain(hook.uid);
    expect(seen).not.toContain(token);
    // The webhook's own view still shows the URL whole, to those who may read it.
    expect((await p.api("GET", `/v1/webhooks/${hook.uid}`)).json.url).toBe(`https://downstream.test/ok/${key}/${token}?code=${token}`);
    // Userinfo, which no write accepts, is dropped too from a row that holds it, parsed or not.
    expect(alertUrl("https://user:pass@api.example.com/hook?t=1#f")).toBe("https://api.example.com/…");
    expect(alertUrl("https://user:pass@[bad/hook?t=1")).toBe("https://[bad/…");
    expect(alertUrl("https://api.example.com/?t=1")).toBe("https://api.example.com");
    expect(alertUrl("https://api.example.com")).toBe("https://api.example.com");
  });

  it("an endpoint's own failures raise no alert and do not hold back event delivery", async () => {
    const p = pipeline({ RETRY_BASE_SECONDS: "0" });
    const key = uniqueKey();
    const org = `org-${key}`;
    const broken = await endpoint(p, `${key}-x`, { url: `https://downstream.test/fail/${key}-alerts`, alertTypes: ["delivery.dead_lettered"] });
    const ok = await p.createWebhook({ url: `https://downstream.test/ok/${key}-ok`, eventTypes: ["*"], organizationUid: org });
    const hook = await p.createWebhook({ url: `https://downstream.test/fail/${key}`, eventTypes: ["*"], organizationUid: org, maxAttempts: 1 });
    await p.ingest(podiumBody({ organizationUid: org }));
    await settle(p);
    // The alert was tried (and failed) at the broken endpoint; the event went to the working webhook.
    expect((await received(`${key}-alerts`)).length).toBeGreaterThan(0);
    expect(await received(`${key}-ok`)).toHaveLength(1);
    const episodes = (await p.api("GET", "/v1/alerts?limit=100")).json.data;
    expect(episodes.filter((a: { subject: string }) => a.subject === broken.uid)).toEqual([]);
    expect(episodes.filter((a: { subject: string }) => a.subject === hook.uid).map((a: { type: string }) => a.type)).toEqual(["delivery.dead_lettered"]);
    expect((await p.api("GET", `/v1/webhooks/${ok.uid}`)).json.health.state).toBe("healthy");
  });

  it("closes a deleted webhook's episodes without a word, and pages /v1/alerts newest first", async () => {
    const p = pipeline({ RETRY_BASE_SECONDS: "0" });
    const { key, org, webhook: hook } = await p.webhookOn("fail", { maxAttempts: 1, failingAfterAttempts: 1 });
    const alertKey = `${key}-alerts`;
    await endpoint(p, alertKey);
    await p.ingest(podiumBody({ organizationUid: org }));
    await settle(p);
    expect((await alertsAt(alertKey, hook.uid)).map((a) => a.type).sort()).toEqual(["delivery.dead_lettered", "webhook.failing"]);
    const mine = async () => (await p.api("GET", "/v1/alerts?limit=100")).json.data.filter((a: { subject: string }) => a.subject === hook.uid);
    expect((await mine()).map((a: { state: string }) => a.state)).toEqual(["open", "open"]);

    expect((await p.api("DELETE", `/v1/webhooks/${hook.uid}`)).status).toBe(204);
    expect((await mine()).map((a: { state: string }) => a.state)).toEqual(["closed", "closed"]);
    // They say the webhook was deleted, not that it recovered or delivers again.
    const said = Object.fromEntries((await mine()).map((a: { type: string; message: string; data: object }) => [a.type, [a.message, a.data]]));
    const url = "https://downstream.test/…";
    expect(said).toEqual({
      "webhook.failing": [`Webhook ${hook.uid} (${url}) was deleted while failing, after 1 failed attempt.`, expect.objectContaining({ webhookDeleted: true })],
      "delivery.dead_lettered": [`Webhook ${hook.uid} (${url}) was deleted; 1 of its deliveries was dead-lettered.`, expect.objectContaining({ webhookDeleted: true })],
    });
    await settle(p);
    expect(await alertsAt(alertKey, hook.uid)).toHaveLength(2);

    const first = await p.api("GET", "/v1/alerts?limit=1");
    expect(first.json.data).toHaveLength(1);
    expect(first.json.nextCursor).not.toBeNull();
    const second = await p.api("GET", `/v1/alerts?limit=1&cursor=${first.json.nextCursor}`);
    expect(second.json.data).toHaveLength(1);
    expect(Date.parse(second.json.data[0].openedAt)).toBeLessThanOrEqual(Date.parse(first.json.data[0].openedAt));
    expect(second.json.data[0].id).not.toBe(first.json.data[0].id);
    expect((await p.api("GET", "/v1/alerts?cursor=abc")).json).toMatchObject({ error: { code: "invalid_request" } });
  });

  it("deletes a webhook whose open episode's stored data is not JSON, closing that episode as it is", async () => {
    const p = pipeline();
    const { webhook: hook } = await p.webhookOn("ok");
    const now = Date.now();
    await env.DB.prepare("INSERT INTO alerts (id, type, subject, opened_at, last_at, count, data) VALUES (?, 'webhook.failing', ?, ?, ?, 1, '{not json')")
      .bind(`alr_${uniqueKey()}`, hook.uid, now, now)
      .run();
    // Reading it is an error (storedJson): it goes before the other tests list alerts.
    onTestFinished(async () => void (await env.DB.prepare("DELETE FROM alerts WHERE subject = ?").bind(hook.uid).run()));
    expect((await p.api("DELETE", `/v1/webhooks/${hook.uid}`)).status).toBe(204);
    const row = await env.DB.prepare("SELECT closed_at, data FROM alerts WHERE subject = ?").bind(hook.uid).first<{ closed_at: number | null; data: string }>();
    expect(row).toEqual({ closed_at: expect.any(Number), data: "{not json" });
  });

  it("source.rejecting opens at a spike with the reasons, and closes after a quiet hour", async () => {
    const p = pipeline();
    const key = uniqueKey();
    const source = `src-${key}`;
    const alertKey = `${key}-alerts`;
    await endpoint(p, alertKey, { alertTypes: ["source.rejecting"] });
    const now = Date.now();
    const tally = (reason: ErrorCode, count: number): RejectionsMessage => ({ v: 1, counts: [{ sourceId: source, reason, count, lastAt: now }], samples: [] });
    await p.runQueue("edgehook-rejections", [tally("invalid_signature", 30)]);
    await settle(p);
    await p.runQueue("edgehook-rejections", [tally("invalid_signature", 12), tally("timestamp_out_of_tolerance", 8)]);
    await settle(p);
    await p.runQueue("edgehook-rejections", [tally("invalid_signature", 5)]);
    await settle(p);
    let alerts = await alertsAt(alertKey, source);
    expect(alerts.map((a) => a.type)).toEqual(["source.rejecting"]);
    expect(alerts[0]!.data).toMatchObject({ thisHour: 50, reasons: { invalid_signature: 42, timestamp_out_of_tolerance: 8 } });
    expect(alerts[0]!.data.message).toMatch(/invalid_signature ×42/);

    expect((await runMaintenance(p.env, now + 30 * MINUTE)).alertsClosed).toBe(0);
    expect((await runMaintenance(p.env, now + 61 * MINUTE)).alertsClosed).toBeGreaterThanOrEqual(1);
    await settle(p);
    alerts = await alertsAt(alertKey, source);
    expect(alerts.map((a) => [a.type, a.data.state, a.data.count])).toEqual([
      ["source.rejecting", "open", 50],
      ["source.rejecting", "resolved", 55],
    ]);
    await expectStampedAsEpisodes(alerts);
  });

  it("source.rejecting: deleting the source closes its episode without a word, and one made again under its id alerts on its own spike", async () => {
    // Counts are kept per clock hour: the whole test runs within one.
    onTestFinished(clockFrom(midHour()));
    const p = pipeline();
    const key = uniqueKey();
    const source = `rj-${key}`;
    const alertKey = `${key}-alerts`;
    await endpoint(p, alertKey, { alertTypes: ["source.rejecting"] });
    const make = async () => expect((await p.api("POST", "/v1/sources", { id: source, name: "rj", provider: "podium", secrets: [`s-${key}`] })).status).toBe(201);
    const refused = refusedBy(source);
    await make();
    await p.runQueue("edgehook-rejections", [refused(62, Date.now())]);
    await settle(p);
    expect(await episodesOf(p, source)).toEqual([["source.rejecting", "open", 62]]);

    expect((await p.api("DELETE", `/v1/sources/${source}`)).status).toBe(204);
    expect(await episodesOf(p, source)).toEqual([["source.rejecting", "closed", 62]]);
    const closed = (await p.api("GET", "/v1/alerts?limit=100")).json.data.find((a: { subject: string }) => a.subject === source);
    expect([closed.message, closed.data.sourceDeleted]).toEqual([`Source ${source} was deleted while rejecting requests; 62 were refused.`, true]);

    // Made again under its id: its own spike opens its own episode, with its alert, and counts none of the old one's.
    await make();
    await p.runQueue("edgehook-rejections", [refused(55, Date.now())]);
    await settle(p);
    expect(await episodesOf(p, source)).toEqual([
      ["source.rejecting", "open", 55],
      ["source.rejecting", "closed", 62],
    ]);
    // The delete sent nothing; each source's spike its own alert.
    expect((await alertsAt(alertKey, source)).map((a) => [a.data.state, a.data.count])).toEqual([
      ["open", 62],
      ["open", 55],
    ]);
  });

  it("deleting a webhook closes its own episodes, not a source's whose id spells its uid", async () => {
    onTestFinished(clockFrom(midHour()));
    const p = pipeline({ RETRY_BASE_SECONDS: "0" });
    const { key, org, webhook: hook } = await p.webhookOn("fail", { maxAttempts: 1, failingAfterAttempts: 1 });
    await endpoint(p, `${key}-alerts`);
    // A source id is any [a-z0-9-]{1,64}: a webhook's uid is one.
    expect((await p.api("POST", "/v1/sources", { id: hook.uid, name: "same id", provider: "podium", secrets: [`s-${key}`] })).status).toBe(201);
    await p.runQueue("edgehook-rejections", [refusedBy(hook.uid)(52, Date.now())]);
    await p.ingest(podiumBody({ organizationUid: org }));
    await settle(p);
    const open = (await episodesOf(p, hook.uid)).sort();
    expect(open).toEqual([
      ["delivery.dead_lettered", "open", 1],
      ["source.rejecting", "open", 52],
      ["webhook.failing", "open", 1],
    ]);

    expect((await p.api("DELETE", `/v1/webhooks/${hook.uid}`)).status).toBe(204);
    expect((await episodesOf(p, hook.uid)).sort()).toEqual([
      ["delivery.dead_lettered", "closed", 1],
      ["source.rejecting", "open", 52],
      ["webhook.failing", "closed", 1],
    ]);
    const rejecting = (await p.api("GET", "/v1/alerts?limit=100")).json.data.find((a: { subject: string; type: string }) => a.subject === hook.uid && a.type === "source.rejecting");
    expect(rejecting.data.webhookDeleted).toBeUndefined();
    // The source's own delete still closes it.
    expect((await p.api("DELETE", `/v1/sources/${hook.uid}`)).status).toBe(204);
    expect((await episodesOf(p, hook.uid)).filter(([type]) => type === "source.rejecting")).toEqual([["source.rejecting", "closed", 52]]);
  });

  it("source.rejecting counts a later hour's spike whole: the refusals before it reached 50 too", async () => {
    const p = pipeline();
    const key = uniqueKey();
    const source = `src-${key}`;
    await endpoint(p, `${key}-alerts`, { alertTypes: ["source.rejecting"] });
    const hour = midHour();
    const refused = refusedBy(source);
    const at = (t: number, tally: RejectionsMessage) => tallyAt(p, t, [tally]);
    await at(hour, refused(50, hour));
    expect(await episodesOf(p, source)).toEqual([["source.rejecting", "open", 50]]);
    // The next hour: 30 refusals (no spike yet), then 30 more (a spike of 60).
    await at(hour + HOUR, refused(30, hour + HOUR));
    await at(hour + HOUR + MINUTE, refused(30, hour + HOUR + MINUTE));
    expect(await episodesOf(p, source)).toEqual([["source.rejecting", "open", 110]]);
    // Past the spike, each batch counts itself.
    await at(hour + HOUR + 2 * MINUTE, refused(5, hour + HOUR + 2 * MINUTE));
    expect(await episodesOf(p, source)).toEqual([["source.rejecting", "open", 115]]);
  });

  it("source.rejecting counts refusals in the hour they were made, not the hour the tally is recorded", async () => {
    const { p, source, refused, hourEnd } = await fortyNineBeforeHourEnd();
    // The 50th refusal of that hour, made a second before its end, is recorded a few seconds into the next
    // (the ingress's flush window, the queue's batch wait): that hour reached 50.
    await tallyAt(p, hourEnd + 4_000, [refused(1, hourEnd - 1_000)]);
    expect(await episodesOf(p, source)).toEqual([["source.rejecting", "open", 50]]);
  });

  it("source.rejecting judges each hour a batch's refusals were made in: the last of one hour and the first of the next, recorded together", async () => {
    const { p, source, refused, hourEnd } = await fortyNineBeforeHourEnd();
    // The 50th refusal of that hour, a second before its end, and one a second into the next, in one batch
    // (two isolates' tallies, or one isolate's two windows): that hour reached 50 all the same.
    await tallyAt(p, hourEnd + 4_000, [refused(1, hourEnd - 1_000), refused(1, hourEnd + 1_000)]);
    expect(await episodesOf(p, source)).toEqual([["source.rejecting", "open", 50]]);
  });

  it("source.rejecting counts each refusal once when two batches are recorded and judged at once, and alerts once", async () => {
    // Both batches' tallies are written before either is judged: each batch's recording waits for the other's.
    let waiting: (() => void) | null = null;
    const { db } = d1Double({
      beforeBatch: async (stmts) => {
        if (!stmts.some((st) => st.sql.includes("INSERT INTO rejection_counts"))) return;
        if (waiting) return waiting();
        await new Promise<void>((resolve) => (waiting = resolve));
      },
    });
    const p = pipeline({ DB: db });
    const key = uniqueKey();
    const source = `src-${key}`;
    const hour = midHour() - HOUR; // an hour past, so its alert is due now
    await endpointAt(p, hour - MINUTE, `${key}-alerts`);
    const refused = refusedBy(source);
    // 20 refusals first (no spike), then two batches of 30 at once: the hour reaches 80.
    const first = pipeline();
    await tallyAt(first, hour, [refused(20, hour)]);
    const realClock = clockFrom(hour + MINUTE);
    try {
      await Promise.all([p.runQueue("edgehook-rejections", [refused(30, hour + MINUTE)]), p.runQueue("edgehook-rejections", [refused(30, hour + MINUTE)])]);
    } finally {
      realClock();
    }
    expect(await episodesOf(p, source)).toEqual([["source.rejecting", "open", 80]]);
    await settle(p);
    expect((await alertsAt(`${key}-alerts`, source)).map((a) => a.data.state)).toEqual(["open"]);
  });

  it("source.rejecting opens no second episode for an hour that already alerted: a late tally of it, once its episode closed", async () => {
    const p = pipeline();
    const key = uniqueKey();
    const source = `src-${key}`;
    const alertKey = `${key}-alerts`;
    const hour = midHour() - 3 * HOUR; // all of it past, so its alerts are due now
    await endpointAt(p, hour - MINUTE, alertKey);
    const refused = refusedBy(source);
    await tallyAt(p, hour, [refused(50, hour)]);
    expect((await runMaintenance(p.env, hour + 61 * MINUTE)).alertsClosed).toBeGreaterThanOrEqual(1);
    expect(await episodesOf(p, source)).toEqual([["source.rejecting", "closed", 50]]);
    await settle(p);
    // A tally of that hour recorded late (retried): nothing opens.
    await tallyAt(p, hour + 62 * MINUTE, [refused(5, hour + MINUTE)]);
    expect(await episodesOf(p, source)).toEqual([["source.rejecting", "closed", 50]]);
    // Then another late one, in a batch with a spike of a later hour: that hour opens one, counting only its own.
    await tallyAt(p, hour + 63 * MINUTE, [refused(3, hour + 2 * MINUTE), refused(50, hour + 63 * MINUTE)]);
    expect(await episodesOf(p, source)).toEqual([
      ["source.rejecting", "open", 50],
      ["source.rejecting", "closed", 50],
    ]);
    await settle(p);
    expect((await alertsAt(alertKey, source)).map((a) => [a.data.state, a.data.count])).toEqual([
      ["open", 50],
      ["resolved", 50],
      ["open", 50],
    ]);
  });

  it("source.rejecting counts none of a deleted source's refusals towards one made again under its id", async () => {
    const p = pipeline();
    const key = uniqueKey();
    const source = `src-${key}`;
    const make = async () => expect((await p.api("POST", "/v1/sources", { id: source, name: key, provider: "podium", secrets: [`s-${uniqueKey()}`] })).status).toBe(201);
    await make();
    await endpoint(p, `${key}-alerts`, { alertTypes: ["source.rejecting"] });
    const refused = refusedBy(source);
    // 49 refusals of the first source, a second before its deletion, their tally recorded once it is made again.
    const before = Date.now() - 1_000;
    expect((await p.api("DELETE", `/v1/sources/${source}`)).status).toBe(204);
    await make();
    await p.runQueue("edgehook-rejections", [refused(49, before)]);
    // The new source's own first refusal is no spike; its 50th is, counting its own 50 only.
    await p.runQueue("edgehook-rejections", [refused(1, Date.now())]);
    await p.runQueue("edgehook-rejections", [refused(49, Date.now())]);
    expect(await episodesOf(p, source)).toEqual([["source.rejecting", "open", 50]]);
  });

  it("source.rejecting gives an hour's claimed refusals back when their breakdown cannot be read, and the hour's next batch counts them in", async () => {
    let broken = true;
    const { db } = d1Double({ failStatement: (st) => broken && st.sql.includes("SELECT source_id, reason, hour, count, last_at FROM rejection_counts") });
    const p = pipeline({ DB: db });
    const key = uniqueKey();
    const source = `src-${key}`;
    await endpoint(p, `${key}-alerts`, { alertTypes: ["source.rejecting"] });
    const refused = refusedBy(source);
    const now = Date.now();
    await p.runQueue("edgehook-rejections", [refused(50, now)]);
    const recorded = await env.DB.prepare("SELECT total FROM rejection_hours WHERE source_id = ?").bind(source).first<{ total: number }>();
    expect(recorded?.total).toBe(50);
    broken = false;
    await p.runQueue("edgehook-rejections", [refused(1, now)]);
    expect(await episodesOf(p, source)).toEqual([["source.rejecting", "open", 51]]);
  });

  it("source.rejecting writes an hour's row as alerted once, not again for each batch counted in its open episode", async () => {
    const p = pipeline();
    const { source, now, refused } = await rejectingSource(p);
    const hour = Math.floor(now / HOUR) * HOUR;
    const row = () => env.DB.prepare("SELECT total, alerted FROM rejection_hours WHERE source_id = ? AND hour = ?").bind(source, hour).first();
    expect(await row()).toEqual({ total: 50, alerted: 1 });
    await p.runQueue("edgehook-rejections", [refused(5)]);
    expect(await episodesOf(p, source)).toEqual([["source.rejecting", "open", 55]]);
    expect(await row()).toEqual({ total: 55, alerted: 1 });
    // What the next batch's count-in writes with it: nothing.
    const marked = await markHoursAlertedStatement(env.DB, "source.rejecting", source, [hour]).run();
    expect(marked.meta.changes).toBe(0);
  });

  it("ingest.dead_lettered opens once for events that could not be stored, counts the rest, and closes after a quiet hour", async () => {
    const p = pipeline();
    const key = uniqueKey();
    const alertKey = `${key}-alerts`;
    // Whatever ingest episode an earlier test left open closes first (it is quiet by then).
    await runMaintenance(p.env, Date.now() + 2 * 60 * MINUTE);
    await endpoint(p, alertKey, { alertTypes: ["ingest.dead_lettered"] });
    await p.runQueue("edgehook-ingest-dlq", [ingestMessage(), ingestMessage()]);
    await p.runQueue("edgehook-ingest-dlq", [ingestMessage()]);
    await settle(p);
    let alerts = await alertsAt(alertKey, "ingest");
    expect(alerts.map((a) => [a.type, a.data.state, a.data.count])).toEqual([["ingest.dead_lettered", "open", 2]]);
    const episode = (await p.api("GET", "/v1/alerts?limit=100")).json.data.find((a: { subject: string; state: string }) => a.subject === "ingest" && a.state === "open");
    expect(episode).toMatchObject({ type: "ingest.dead_lettered", count: 3 });

    await runMaintenance(p.env, Date.now() + 61 * MINUTE);
    await settle(p);
    alerts = await alertsAt(alertKey, "ingest");
    expect(alerts.map((a) => [a.type, a.data.state, a.data.count])).toEqual([
      ["ingest.dead_lettered", "open", 2],
      ["ingest.dead_lettered", "resolved", 3],
    ]);
    await expectStampedAsEpisodes(alerts);
  });
});

/** Whether a batch would store an alert: an event of the alerts' source. */
const storesAlert = (stmts: SeenStatement[]) =>
  stmts.some((st) => /^INSERT INTO events/.test(st.sql) && st.values.some((v) => typeof v === "string" && v.includes(`"${ALERT_SOURCE}"`)));

/** The test D1 with the batch that would store an alert failing while `broken()` says so. */
const alertStoreFails = (broken: () => boolean) => d1Double({ failBatch: (stmts) => broken() && storesAlert(stmts) }).db;

/** The episodes of /v1/alerts about one subject, newest first, as [type, state, count]. */
/** A source's rejections tally: `count` refusals, the last at `lastAt`. */
const refusedBy =
  (sourceId: string) =>
  (count: number, lastAt: number): RejectionsMessage => ({ v: 1, counts: [{ sourceId, reason: "invalid_signature", count, lastAt }], samples: [] });

/** Runs the rejections consumer on `tallies` with the clock at `t`. */
async function tallyAt(p: P, t: number, tallies: RejectionsMessage[]) {
  const realClock = clockFrom(t);
  try {
    await p.runQueue("edgehook-rejections", tallies);
  } finally {
    realClock();
  }
}

/** A source with an endpoint subscribed to source.rejecting, and 49 refusals recorded ten seconds before the hour's end. */
async function fortyNineBeforeHourEnd() {
  const p = pipeline();
  const key = uniqueKey();
  const source = `src-${key}`;
  await endpoint(p, `${key}-alerts`, { alertTypes: ["source.rejecting"] });
  const hourEnd = Math.floor(Date.now() / HOUR) * HOUR + HOUR;
  const refused = refusedBy(source);
  await tallyAt(p, hourEnd - 10_000, [refused(49, hourEnd - 10_000)]);
  return { p, source, refused, hourEnd };
}

/** A notification endpoint subscribed to source.rejecting, made at `t` (an endpoint is owed the alerts raised after it was made). */
async function endpointAt(p: P, t: number, key: string) {
  const realClock = clockFrom(t);
  try {
    await endpoint(p, key, { alertTypes: ["source.rejecting"] });
  } finally {
    realClock();
  }
}

async function episodesOf(p: P, subject: string): Promise<[string, string, number][]> {
  const all: { subject: string; type: string; state: string; count: number }[] = (await p.api("GET", "/v1/alerts?limit=100")).json.data;
  return all.filter((a) => a.subject === subject).map((a) => [a.type, a.state, a.count]);
}

/** A new source with an open source.rejecting episode (50 refusals this hour), and an endpoint subscribed to it. */
async function rejectingSource(p: P) {
  const key = uniqueKey();
  const source = `src-${key}`;
  const alertKey = `${key}-alerts`;
  const now = Date.now();
  const refused = (count: number): RejectionsMessage => ({ v: 1, counts: [{ sourceId: source, reason: "invalid_signature", count, lastAt: now }], samples: [] });
  await endpoint(p, alertKey, { alertTypes: ["source.rejecting"] });
  await p.runQueue("edgehook-rejections", [refused(50)]);
  await settle(p);
  expect(await episodesOf(p, source)).toEqual([["source.rejecting", "open", 50]]);
  return { source, alertKey, now, refused };
}

/** Runs the maintenance at `at`: the source's episode closes with `count`, announced after its opening (50). */
async function closesAnnounced(p: P, s: { source: string; alertKey: string }, at: number, count: number) {
  await runMaintenance(p.env, at);
  await settle(p);
  expect(await episodesOf(p, s.source)).toEqual([["source.rejecting", "closed", count]]);
  expect((await alertsAt(s.alertKey, s.source)).map((a) => [a.data.state, a.data.count])).toEqual([
    ["open", 50],
    ["resolved", count],
  ]);
}

describe("an episode opens and closes only with its alert", () => {
  it("opens no episode when its alert cannot be stored, and the next failure raises it; a recovery likewise", async () => {
    let broken = true;
    const p = pipeline({ RETRY_BASE_SECONDS: "0", DB: alertStoreFails(() => broken) });
    const { key, org, webhook: hook } = await p.webhookOn("fail", { maxAttempts: 1, failingAfterAttempts: 1 });
    const alertKey = `${key}-alerts`;
    await endpoint(p, alertKey, { alertTypes: ["webhook.failing", "webhook.recovered"] });
    const send = async () => {
      await p.ingest(podiumBody({ organizationUid: org }));
      await settle(p);
    };
    const failing = async () => (await episodesOf(p, hook.uid)).filter(([type]) => type === "webhook.failing");

    // The attempt failed and is recorded (the webhook is failing); its alert could not be stored, so no episode opened.
    await send();
    expect(await received(key)).toHaveLength(1);
    expect((await health(p, hook.uid)).health).toMatchObject({ state: "failing", consecutiveFailures: 1 });
    expect(await failing()).toEqual([]);
    expect(await alertsAt(alertKey, hook.uid)).toEqual([]);

    // Alerts are stored again: the next failure raises it.
    broken = false;
    await send();
    expect(await received(key)).toHaveLength(2);
    expect((await alertsAt(alertKey, hook.uid)).map((a) => [a.type, a.data.state, a.data.count])).toEqual([["webhook.failing", "open", 2]]);
    expect(await failing()).toEqual([["webhook.failing", "open", 2]]);

    // A success whose recovery alert cannot be stored leaves the episode open...
    broken = true;
    expect((await p.api("PATCH", `/v1/webhooks/${hook.uid}`, { url: `https://downstream.test/ok/${key}` })).status).toBe(200);
    await send();
    expect(await received(key)).toHaveLength(3);
    expect((await health(p, hook.uid)).health).toMatchObject({ consecutiveFailures: 0 });
    expect(await failing()).toEqual([["webhook.failing", "open", 2]]);
    expect(await alertsAt(alertKey, hook.uid)).toHaveLength(1);

    // ...and the next success closes it, announced.
    broken = false;
    await send();
    expect(await received(key)).toHaveLength(4);
    expect((await alertsAt(alertKey, hook.uid)).map((a) => [a.type, a.data.state, a.data.count])).toEqual([
      ["webhook.failing", "open", 2],
      ["webhook.recovered", "resolved", 2],
    ]);
    expect(await failing()).toEqual([["webhook.failing", "closed", 2]]);
  });

  it("leaves a quiet episode open when its closing alert cannot be stored, and the next maintenance run closes it", async () => {
    let broken = false;
    const p = pipeline({ DB: alertStoreFails(() => broken) });
    const s = await rejectingSource(p);

    broken = true;
    await runMaintenance(p.env, s.now + 61 * MINUTE);
    await settle(p);
    expect(await episodesOf(p, s.source)).toEqual([["source.rejecting", "open", 50]]);
    expect((await alertsAt(s.alertKey, s.source)).map((a) => a.data.state)).toEqual(["open"]);

    broken = false;
    await closesAnnounced(p, s, s.now + 62 * MINUTE, 50);
  });

  it("does not close an episode counted in since it was read, nor send a resolution that misses that count", async () => {
    const real = pipeline();
    const s = await rejectingSource(real);

    // Just as the maintenance run (61 minutes later) writes the closing, a refusal counts in.
    let raced = false;
    const p = pipeline({
      DB: d1Double({
        beforeBatch: async (stmts) => {
          if (raced || !storesAlert(stmts)) return;
          raced = true;
          await real.runQueue("edgehook-rejections", [s.refused(5)]);
        },
      }).db,
    });
    await runMaintenance(p.env, s.now + 61 * MINUTE);
    expect(raced).toBe(true);
    await settle(p);
    expect(await episodesOf(real, s.source)).toEqual([["source.rejecting", "open", 55]]);
    expect((await alertsAt(s.alertKey, s.source)).map((a) => a.data.state)).toEqual(["open"]);

    // A later run closes it, with the whole count.
    await closesAnnounced(real, s, s.now + 122 * MINUTE, 55);
  });

  it("counts in when another run opened the same episode first, which alone announces it", async () => {
    const real = pipeline();
    // Whatever ingest episode an earlier test left open closes first (it is quiet by then).
    await runMaintenance(real.env, Date.now() + 2 * 60 * MINUTE);
    const alertKey = `${uniqueKey()}-alerts`;
    await endpoint(real, alertKey, { alertTypes: ["ingest.dead_lettered"] });
    let raced = false;
    const p = pipeline({
      DB: d1Double({
        beforeBatch: async (stmts) => {
          if (raced || !stmts.some((st) => /^INSERT INTO alerts/.test(st.sql))) return;
          raced = true;
          await alertIngestDeadLetters(real.env, 2, "the other run's");
        },
      }).db,
    });
    await alertIngestDeadLetters(p.env, 3, "this run's");
    expect(raced).toBe(true);
    await settle(real);
    await settle(p);
    expect((await episodesOf(real, "ingest")).filter(([, state]) => state === "open")).toEqual([["ingest.dead_lettered", "open", 5]]);
    expect((await alertsAt(alertKey, "ingest")).map((a) => [a.data.state, a.data.count, a.data.reason])).toEqual([["open", 2, "the other run's"]]);
  });
});

describe("notification endpoints and alerts in the API", () => {
  it("shows the secret once, hides endpoints from /v1/webhooks, and refuses limited tokens", async () => {
    const p = pipeline();
    const key = uniqueKey();
    const created = await endpoint(p, key, { format: "slack" });
    expect(created.secret).toMatch(/^whsec_/);
    const one = await p.api("GET", `/v1/notification-endpoints/${created.uid}`);
    expect(one.json).toMatchObject({ uid: created.uid, format: "slack", disabled: false });
    expect(JSON.stringify(one.json)).not.toContain(created.secret);
    const all = await p.api("GET", "/v1/notification-endpoints?limit=100");
    expect(all.json.data.some((e: { uid: string }) => e.uid === created.uid)).toBe(true);
    expect(JSON.stringify(all.json)).not.toContain(created.secret);
    const patched = await p.api("PATCH", `/v1/notification-endpoints/${created.uid}`, { format: "standard-webhooks", alertTypes: ["webhook.disabled"] });
    expect(patched.json).toMatchObject({ format: "standard-webhooks", alertTypes: ["webhook.disabled"] });
    expect(JSON.stringify(patched.json)).not.toContain(created.secret);
    // The secret cannot be changed: the refusal says how to rotate it.
    const rotate = await p.api("PATCH", `/v1/notification-endpoints/${created.uid}`, { secret: "whsec_another" });
    expect(rotate).toMatchObject({ status: 400, json: { error: { code: "invalid_request" } } });
    expect(rotate.json.error.message).toContain("create a new endpoint with the same settings");
    // Beside another unknown key, that one is not said to be the secret.
    const both = await p.api("PATCH", `/v1/notification-endpoints/${created.uid}`, { secret: "whsec_another", colour: "red" });
    expect(both.status).toBe(400);
    const colour = both.json.error.details.issues.find((i: { path: string }) => i.path === "colour");
    expect(colour.message).not.toContain("secret");
    // A webhook cannot subscribe to the alerts' source: the refusal says what receives alerts.
    const toAlerts = await p.api("POST", "/v1/webhooks", { url: "https://x.example.com/", eventTypes: ["*"], sourceIds: ["edgehook"] });
    expect(toAlerts).toMatchObject({ status: 400, json: { error: { code: "invalid_request" } } });
    expect(toAlerts.json.error.message).toContain("a notification endpoint does (POST /v1/notification-endpoints)");

    expect((await p.api("GET", `/v1/webhooks/${created.uid}`)).status).toBe(404);
    expect((await p.api("GET", "/v1/webhooks?limit=100")).json.data.some((w: { uid: string }) => w.uid === created.uid)).toBe(false);

    const bad = await p.api("POST", "/v1/notification-endpoints", { url: "https://x.example.com/", alertTypes: ["webhook.exploded"] });
    expect(bad).toMatchObject({ status: 400, json: { error: { code: "invalid_request" } } });
    const privateUrl = await p.api("POST", "/v1/notification-endpoints", { url: "http://10.0.0.1/", alertTypes: ["webhook.failing"] });
    expect(privateUrl).toMatchObject({ status: 400, json: { error: { code: "invalid_request" } } });

    const token = await makeToken(p, [...DATA_SCOPES, "webhooks:read", "webhooks:write", "events:read"]);
    for (const path of ["/v1/alerts", "/v1/notification-endpoints", `/v1/notification-endpoints/${created.uid}`]) {
      expect((await as(p, token.token, "GET", path)).status).toBe(403);
    }
    expect((await p.api("DELETE", `/v1/notification-endpoints/${created.uid}`)).status).toBe(204);
    expect((await p.api("GET", `/v1/notification-endpoints/${created.uid}`)).status).toBe(404);
  });

  it("keeps alert events from limited tokens, and the reserved source id from users", async () => {
    const p = pipeline({ RETRY_BASE_SECONDS: "0" });
    const { key, org, webhook: failing } = await p.webhookOn("fail", { maxAttempts: 1 });
    const alertsTo = await endpoint(p, `${key}-alerts`, { alertTypes: ["delivery.dead_lettered"] });
    await p.ingest(podiumBody({ organizationUid: org }));
    await settle(p);
    // The stats name the webhook's last failure (its health's).
    const listed = (await p.api("GET", `/v1/stats?webhookUids=${failing.uid}`)).json.webhooks.find((w: { uid: string }) => w.uid === failing.uid);
    expect(listed).toMatchObject({ failed: 1, lastFailureAt: expect.any(String), lastError: expect.stringMatching(/^HTTP 5\d\d/) });
    const [alert] = await received(`${key}-alerts`);
    const eventId = alert!.headers["webhook-id"]!;
    expect((await p.api("GET", `/v1/events/${eventId}`)).json).toMatchObject({ sourceId: "edgehook", eventType: "delivery.dead_lettered" });
    const limited = await makeToken(p, [...DATA_SCOPES, "events:read"], { organizationUids: [org] });
    const partial = await makeToken(p, ["read_messages", "events:read"]);
    for (const t of [limited, partial]) {
      expect((await as(p, t.token, "GET", `/v1/events/${eventId}`)).status).toBe(404);
      const listed = await as(p, t.token, "GET", "/v1/events?sourceId=edgehook&limit=100");
      expect(listed.json.data ?? []).toEqual([]);
    }
    // A token with every data scope and no grant sees every event but the alerts, in lists and in its stats.
    const unlimited = await makeToken(p, [...DATA_SCOPES, "events:read"]);
    expect((await as(p, unlimited.token, "GET", `/v1/events/${eventId}`)).status).toBe(404);
    expect((await as(p, unlimited.token, "GET", "/v1/events?sourceId=edgehook&limit=100")).json.data ?? []).toEqual([]);
    // Nor is an endpoint a webhook it may name in a bulk retry (404, as any webhook it cannot see); the admin retries its alerts.
    const replayer = await makeToken(p, [...DATA_SCOPES, "events:replay"]);
    const namingEndpoint = { status: "failed", webhookUid: alertsTo.uid };
    expect(await as(p, replayer.token, "POST", "/v1/deliveries/retry", namingEndpoint)).toMatchObject({ status: 404, json: { error: { code: "not_found" } } });
    expect((await p.api("POST", "/v1/deliveries/retry", namingEndpoint)).status).toBe(202);
    const alerts = (await p.api("GET", "/v1/events?sourceId=edgehook&limit=100")).json.data.length;
    expect(alerts).toBeGreaterThan(0);
    const all = (await p.api("GET", "/v1/stats")).json.events;
    expect((await as(p, unlimited.token, "GET", "/v1/stats")).json.events).toEqual({ total: all.total - alerts, last24h: all.last24h - alerts });
    // Nor the alerts' deliveries and attempts, however many, before or after their endpoint is deleted.
    const counted = async (token?: string) => {
      const { json } = token ? await as(p, token, "GET", "/v1/stats") : await p.api("GET", "/v1/stats");
      return { deliveries: json.deliveries, attempts: json.series.reduce((n: number, b: { attempts: number }) => n + b.attempts, 0) };
    };
    const [admin, notAdmin] = [await counted(), await counted(unlimited.token)];
    expect(admin.deliveries.succeeded).toBeGreaterThan(notAdmin.deliveries.succeeded);
    expect(admin.attempts).toBeGreaterThan(notAdmin.attempts);
    // An endpoint a release before alert_webhooks made (not recorded there) is left out while it exists...
    const backfill = migration0018.split(";").filter((q) => q.includes("INSERT INTO alert_webhooks"));
    await env.DB.prepare("DELETE FROM alert_webhooks").run();
    expect(await counted(unlimited.token)).toEqual(notAdmin);
    for (const sql of backfill) await env.DB.prepare(sql).run();
    // ...and once deleted, as it is recorded.
    expect((await p.api("DELETE", `/v1/notification-endpoints/${alertsTo.uid}`)).status).toBe(204);
    expect(await counted(unlimited.token)).toEqual(notAdmin);
    expect(await counted()).toEqual(admin);
    // An endpoint deleted before alert_webhooks existed: its migration finds it from its deliveries.
    await env.DB.prepare("DELETE FROM alert_webhooks").run();
    expect(await counted(unlimited.token)).not.toEqual(notAdmin);
    for (const sql of backfill) await env.DB.prepare(sql).run();
    expect(await counted(unlimited.token)).toEqual(notAdmin);
    const reserved = await p.api("POST", "/v1/sources", { id: "edgehook", name: "mine", provider: "podium", secrets: ["s3cret-value"] });
    expect(reserved).toMatchObject({ status: 400, json: { error: { code: "invalid_request" } } });
  });

  it("reads a webhook's health in one row and at most 25 hourly ones, however long its history", async () => {
    const uid = `wh-${uniqueKey()}`;
    const now = Date.now();
    const hour = Math.floor(now / 3_600_000) * 3_600_000;
    await env.DB.prepare("INSERT INTO webhook_health (webhook_uid, consecutive_failures) VALUES (?, 0)").bind(uid).run();
    await env.DB.prepare("INSERT INTO names (name) VALUES (?)").bind(uid).run();
    await env.DB.prepare(
      `INSERT INTO attempt_counts (hour, webhook, a0, ok0)
       SELECT ?2 / 3600000 - value, (SELECT id FROM names WHERE name = ?1), 10, 9 FROM json_each(?3)`,
    )
      .bind(uid, hour, JSON.stringify(Array.from({ length: 200 }, (_, i) => i)))
      .run();
    const meter = meteredD1(env.DB);
    const h = (await healthOf(meter.db, [uid], now)).get(uid)!;
    expect(h.hours).toHaveLength(25);
    expect(h.hours.every((x) => x.attempts === 10 && x.succeeded === 9)).toBe(true);
    // One health row, the webhook's name, 25 hours looked up (each a list entry and a counter row), not 200 hours.
    expect(meter.usage.rowsRead).toBeGreaterThan(0);
    expect(meter.usage.rowsRead).toBeLessThanOrEqual(60);
  });
});

describe("health counters", () => {
  it("count an attempt recorded twice (a duplicate) once, in the transaction that records it", async () => {
    const p = pipeline();
    const { webhook, event } = await p.webhookOn("fail");
    const delivery = (await deliveryRows(await p.ingest(event()))).find((d) => d.webhook_uid === webhook.uid);
    const uid = webhook.uid;
    const attempt = { deliveryId: delivery!.id, number: 1, startedAt: Date.now(), durationMs: 5, statusCode: 500, error: "HTTP 500", responseSnippet: null };
    const outcome = { attempt, status: "pending" as const, nextAttemptAt: Date.now() + 1000, deadLetter: null };
    await recordAttempts(env.DB, uid, [outcome]);
    await recordAttempts(env.DB, uid, [{ ...outcome, attempt: { ...attempt, startedAt: attempt.startedAt + 7 } }]);
    const h = (await healthOf(env.DB, [uid], Date.now())).get(uid)!;
    expect(h.record).toMatchObject({ consecutiveFailures: 1, failingSince: attempt.startedAt, lastError: "HTTP 500" });
    expect(h.hours.reduce((n, x) => n + x.attempts, 0)).toBe(1);
  });
});

describe("health's rules, as docs/alerts.md states them", () => {
  const enabled = { disabled: false, failingAfterAttempts: 10 };
  const succeeded = { ...NO_ATTEMPTS, lastSuccessAt: Date.now() };

  it("is degraded under 90% of the last hour's attempts succeeded, though the last one did", () => {
    expect(healthState(enabled, succeeded, { lastHour: 0.8, lastDay: 0.8 })).toBe("degraded");
    expect(healthState(enabled, succeeded, { lastHour: 0.9, lastDay: 0.9 })).toBe("healthy");
  });

  it("rates the last day over the last 24 clock hours, and the last hour with the share of the previous one still inside it", () => {
    const now = midHour() + 15 * 60_000; // three quarters of an hour into it
    const current = now - (now % HOUR_MS);
    const hour = (back: number, attempts: number, ok: number) => ({ hour: current - back * HOUR_MS, attempts, succeeded: ok });
    // 24 clock hours, this one included, all succeeded; the hour before them failed.
    const day = [...Array.from({ length: 24 }, (_, back) => hour(back, 1, 1)), hour(24, 1, 0)];
    expect(successRates(day, now).lastDay).toBe(1);
    // This hour's one success, and a quarter of the previous hour's four failures.
    expect(successRates([hour(0, 1, 1), hour(1, 4, 0)], now).lastHour).toBe(0.5);
  });
});

describe("health counters of a batch", () => {
  it("take the streak after the batch's last success, in the order the attempts were made", async () => {
    const p = pipeline();
    const { webhook, event } = await p.webhookOn("fail");
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push((await deliveryRows(await p.ingest(event()))).find((d) => d.webhook_uid === webhook.uid)!.id);
    const t = Date.now();
    const outcome = (i: number, ok: boolean) => ({
      attempt: { deliveryId: ids[i]!, number: 1, startedAt: t + i * 10, durationMs: 5, statusCode: ok ? 200 : 503, error: ok ? null : `HTTP 503 #${i}`, responseSnippet: null },
      status: ok ? ("succeeded" as const) : ("pending" as const),
      nextAttemptAt: ok ? null : t + 60_000,
      deadLetter: null,
    });
    await recordAttempts(env.DB, webhook.uid, [outcome(0, false), outcome(1, true), outcome(2, false), outcome(3, false)]);
    const h = (await healthOf(env.DB, [webhook.uid], Date.now())).get(webhook.uid)!;
    expect(h.record).toEqual({ consecutiveFailures: 2, failingSince: t + 20, lastSuccessAt: t + 15, lastFailureAt: t + 35, lastError: "HTTP 503 #3" });
    expect(h.hours.reduce((n, x) => n + x.attempts, 0)).toBe(4);
    expect(h.hours.reduce((n, x) => n + x.succeeded, 0)).toBe(1);
    // A batch of failures only adds to the streak and keeps when it began.
    const more = (await deliveryRows(await p.ingest(event()))).find((d) => d.webhook_uid === webhook.uid);
    await recordAttempts(env.DB, webhook.uid, [{ ...outcome(0, false), attempt: { ...outcome(0, false).attempt, deliveryId: more!.id, startedAt: t + 50 } }]);
    expect((await healthOf(env.DB, [webhook.uid], Date.now())).get(webhook.uid)!.record).toMatchObject({ consecutiveFailures: 3, failingSince: t + 20, lastSuccessAt: t + 15 });
  });
});

describe("health and alerts on the dashboard", () => {
  const url = (path: string) => `https://edgehook.test${path}`;
  const get = async (cookie: string, path: string) => (await call(new Request(url(path), { headers: { cookie } }))).text();

  it("does not disable a quiet webhook for a failure followed by silence: only one failing (failingAfterAttempts in a row)", async () => {
    const p = pipeline({ RETRY_BASE_SECONDS: "0" });
    const { org, webhook: hook } = await p.webhookOn("fail", { maxAttempts: 1, failingAfterAttempts: 3, autoDisableAfterMinutes: 5 });
    await p.ingest(podiumBody({ organizationUid: org }));
    await settle(p);
    expect((await health(p, hook.uid)).health).toMatchObject({ consecutiveFailures: 1 });
    await runMaintenance(p.env, Date.now() + 2 * 24 * 60 * MINUTE);
    expect((await health(p, hook.uid)).disabled).toBe(false);
    // Failing, it is.
    for (let i = 0; i < 2; i++) await p.ingest(podiumBody({ organizationUid: org }));
    await settle(p);
    await runMaintenance(p.env, Date.now() + 2 * 24 * 60 * MINUTE);
    expect((await health(p, hook.uid)).disabled).toBe(true);
    // Its runs two days ahead also purge what the file's earlier tests stored: more than the default 5 s on a busy machine.
  }, 30_000);

  it("shows a webhook's health and why it was disabled, the alerts, and manages notification endpoints", async () => {
    const p = pipeline({ RETRY_BASE_SECONDS: "0" });
    const { key, org, webhook: hook } = await p.webhookOn("fail", { maxAttempts: 3, failingAfterAttempts: 2, autoDisableAfterMinutes: 5 });
    await endpoint(p, `${key}-alerts`, { url: `https://downstream.test/ok/${key}-alerts` });
    await p.ingest(podiumBody({ organizationUid: org }));
    await settle(p);
    await runMaintenance(p.env, Date.now() + 6 * MINUTE);
    const cookie = await dashboardCookie();

    const page = await get(cookie, `/dashboard/webhooks/${hook.uid}`);
    expect(page).toContain('aria-label="Health"');
    expect(page).toContain("<b>disabled</b> · 3 failed in a row");
    expect(page).toMatch(/Disabled automatically .*every attempt failed for 5 minutes/);
    expect(page).toContain("HTTP 500");
    const list = await get(cookie, "/dashboard/webhooks");
    expect(list).toContain(`<b>disabled</b>`);

    const alerts = await get(cookie, "/dashboard/alerts");
    expect(alerts).toContain(`Webhook <a href="/dashboard/webhooks/${hook.uid}">${hook.uid}</a> (https://downstream.test/…) is failing`);
    expect(alerts).toContain(`Webhook <a href="/dashboard/webhooks/${hook.uid}">${hook.uid}</a> (https://downstream.test/…) was disabled`);
    expect(alerts).toContain(`https://downstream.test/ok/${key}-alerts`);

    const created = await dashboardForm("/dashboard/alerts/endpoints", cookie, [
      ["url", `https://downstream.test/ok/${key}-slack`],
      ["alertTypes", "webhook.failing"],
      ["alertTypes", "webhook.recovered"],
      ["format", "slack"],
    ]);
    const shown = await (await dashboardShown(created, cookie)).text();
    expect(shown).toMatch(/shown this once/);
    expect(shown).toMatch(/whsec_/);
    const made = (await p.api("GET", "/v1/notification-endpoints?limit=100")).json.data.find((e: { url: string }) => e.url.endsWith(`${key}-slack`));
    expect(made).toMatchObject({ format: "slack", alertTypes: ["webhook.failing", "webhook.recovered"] });
    const deleted = await dashboardForm(`/dashboard/alerts/endpoints/${made.uid}/delete`, cookie, {});
    expect(deleted.status).toBe(303);
    expect((await p.api("GET", `/v1/notification-endpoints/${made.uid}`)).status).toBe(404);
  });
});

describe("webhook.disabled is raised in the transaction that disables the webhook", () => {
  /** A webhook failing for good (one attempt each, disabled after a minute of it), an event of it pending, and an endpoint for its webhook.disabled alerts. */
  async function failingHook(p: P) {
    const alertKey = `${uniqueKey()}-alerts`;
    const notify = await endpoint(p, alertKey, { alertTypes: ["webhook.disabled"] });
    // It would hear of every later test's disables too: it stops listening.
    onTestFinished(async () => void (await pipeline().api("PATCH", `/v1/notification-endpoints/${notify.uid}`, { disabled: true })));
    const made = await p.webhookOn("fail", { maxAttempts: 1, failingAfterAttempts: 1, autoDisableAfterMinutes: 1 });
    await p.ingest(made.event());
    await settle(p);
    const pending = await p.ingest(made.event());
    p.woken.splice(0); // not delivered: it stays pending until the disable holds it
    return { ...made, alertKey, notify, pending, path: `/v1/webhooks/${made.webhook.uid}` };
  }

  /** The transaction that disables webhook `uid` (with its alert). */
  const disables = (uid: string) => (stmts: SeenStatement[]) =>
    stmts.some((st) => st.sql.includes("UPDATE webhooks SET disabled = 1") && st.values.includes(uid));

  /** Runs the maintenance five minutes on (the webhook is due), then the schedulers it woke. */
  const maintain = async (p: P) => {
    const report = await runMaintenance(p.env, Date.now() + 5 * MINUTE);
    await settle(p);
    return report;
  };

  /** The webhook, its pending event's deliveries, its webhook.disabled episodes and the alerts its endpoint received. */
  async function state(p: P, h: Awaited<ReturnType<typeof failingHook>>) {
    const w = (await p.api("GET", h.path)).json;
    return {
      disabled: w.disabled,
      heldDeliveries: w.heldDeliveries,
      pending: (await deliveryRows(h.pending)).filter((d) => d.webhook_uid === h.webhook.uid).map((d) => d.status),
      episodes: (await episodesOf(p, h.webhook.uid)).filter(([type]) => type === "webhook.disabled"),
      alerts: (await alertsAt(h.alertKey, h.webhook.uid)).map((a) => [a.type, a.data.state, a.data.reason === w.disabledReason]),
    };
  }

  const before = { disabled: false, heldDeliveries: 0, pending: ["pending"], episodes: [], alerts: [] };
  const after = { disabled: true, heldDeliveries: 1, pending: ["held"], episodes: [["webhook.disabled", "open", 1]], alerts: [["webhook.disabled", "open", true]] };

  it("writes neither the disable nor the alert when the alert cannot be stored; the next run disables and alerts once", async () => {
    let broken = false;
    const p = pipeline({ DB: alertStoreFails(() => broken) });
    const h = await failingHook(p);

    broken = true;
    const failed = await runMaintenance(p.env, Date.now() + 5 * MINUTE);
    expect(failed.failed).toContain("auto-disable");
    expect(await state(p, h)).toEqual(before);
    expect((await health(p, h.webhook.uid)).health).toMatchObject({ state: "failing", consecutiveFailures: 1 });

    broken = false;
    expect((await maintain(p)).failed).not.toContain("auto-disable");
    expect(await state(p, h)).toEqual(after);
    // Disabled once: later runs find nothing to do.
    await maintain(p);
    expect(await state(p, h)).toEqual(after);
  });

  for (const [race, meanwhile] of [
    ["the webhook changed meanwhile", (p: P, uid: string) => p.api("PATCH", `/v1/webhooks/${uid}`, { timeoutMs: 3000 })],
    [
      "a success ended its failing streak meanwhile",
      // What a recorded success does to the streak (store/health.ts).
      (_p: P, uid: string) =>
        env.DB.prepare("UPDATE webhook_health SET consecutive_failures = 0, failing_since = NULL, last_success_at = ? WHERE webhook_uid = ?").bind(Date.now(), uid).run(),
    ],
  ] as const) {
    it(`raises no alert for a disable that loses its check (${race}); the next run decides again`, async () => {
      let uid = "";
      const { p, other, before: first, ran } = racing((stmts) => disables(uid)(stmts));
      const h = await failingHook(p);
      uid = h.webhook.uid;
      first(() => meanwhile(other, uid));
      // Lost to another write: nothing written, and no failure.
      expect((await runMaintenance(p.env, Date.now() + 5 * MINUTE)).failed).not.toContain("auto-disable");
      expect(ran()).toBe(true);
      expect(await state(p, h)).toEqual(before);
      await settle(p); // still enabled, it sends its pending event, which fails: failing still (or again)
      expect((await state(p, h)).alerts).toEqual([]);

      // The next run finds it due, disables it and alerts, once.
      await maintain(p);
      const { disabled, episodes, alerts } = await state(p, h);
      expect({ disabled, episodes, alerts }).toEqual({ disabled: true, episodes: after.episodes, alerts: after.alerts });
    });
  }

  it("closes a webhook.disabled episode left open by an enable, and announces the next disable", async () => {
    const p = pipeline();
    const h = await failingHook(p);
    await maintain(p);
    expect(await state(p, h)).toEqual(after);
    expect((await p.api("PATCH", h.path, { disabled: false })).status).toBe(200);
    // As if the enable's closing of the episode had been lost.
    await env.DB.prepare("UPDATE alerts SET closed_at = NULL WHERE subject = ? AND type = 'webhook.disabled'").bind(h.webhook.uid).run();

    // Failing again for a minute: disabled again, a new episode opened and announced.
    await p.ingest(h.event());
    await settle(p);
    await maintain(p);
    const s = await state(p, h);
    expect(s.disabled).toBe(true);
    expect(s.episodes).toEqual([
      ["webhook.disabled", "open", 1],
      ["webhook.disabled", "closed", 1],
    ]);
    expect(s.alerts).toEqual([
      ["webhook.disabled", "open", false], // the first reason (its streak began earlier)
      ["webhook.disabled", "open", true],
    ]);
  });

  it("closes its webhook.disabled episode in the transaction that enables it: when the close cannot be written, nothing is", async () => {
    let uid = "";
    let broken = false;
    const closes = (st: SeenStatement) => broken && /UPDATE alerts SET closed_at/.test(st.sql) && st.values.includes(uid);
    const p = pipeline({ DB: d1Double({ failStatement: closes }).db });
    const h = await failingHook(p);
    uid = h.webhook.uid;
    await maintain(p);
    expect(await state(p, h)).toEqual(after);

    // The enable fails as a whole: still disabled, holding its delivery, its episode open.
    broken = true;
    expect((await p.api("PATCH", h.path, { disabled: false })).status).toBe(500);
    expect(await state(p, h)).toEqual(after);

    broken = false;
    expect((await p.api("PATCH", h.path, { disabled: false })).status).toBe(200);
    const s = await state(p, h);
    expect({ disabled: s.disabled, episodes: s.episodes }).toEqual({ disabled: false, episodes: [["webhook.disabled", "closed", 1]] });
  });

  it("counts a disable whose answer was lost as done, and the maintenance run wakes the endpoint its alert is owed to", async () => {
    let uid = "";
    // The first batch that disables it is written, and its answer lost.
    let answered = false;
    const p = pipeline({ DB: d1Double({ loseAnswer: (stmts) => !answered && disables(uid)(stmts) && (answered = true) }).db });
    const h = await failingHook(p);
    uid = h.webhook.uid;
    const report = await runMaintenance(p.env, Date.now() + 5 * MINUTE);
    expect(answered).toBe(true);
    expect(report.failed).not.toContain("auto-disable");
    expect(p.woken).toContain(h.webhook.uid); // its scheduler holds what it has
    expect(p.woken).not.toContain(h.notify.uid); // the alert's wake-up was lost with the answer
    await settle(p);
    expect(await state(p, h)).toEqual({ ...after, alerts: [] });

    // Its delivery overdue, the maintenance run wakes the endpoint, and the alert goes out once.
    await runMaintenance(p.env, Date.now() + REDRIVE_GRACE_MS + 60_000);
    expect(p.woken).toContain(h.notify.uid);
    await settle(p);
    expect(await state(p, h)).toEqual(after);
  });
});

describe("the auto-disable's walk", () => {
  it("reads the failing streaks of enabled webhooks only, however many were disabled while failing (through the API or by it)", async () => {
    const p = pipeline();
    const walked = async () => {
      const meter = meteredD1(env.DB);
      const due = await webhooksToAutoDisable(meter.db, Date.now(), 500);
      return { rows: meter.usage.rowsRead, due: due.map((d) => d.uid) };
    };
    const baseline = (await walked()).rows;
    const key = uniqueKey();
    const n = 80;
    const uids: string[] = [];
    for (let i = 0; i < n; i++) {
      // Of an organization of their own: else every later test's event is owed to (held for) all 80.
      const w = await p.createWebhook({ url: `https://downstream.test/fail/${key}-${i}`, eventTypes: ["*"], organizationUid: `org-${key}`, failingAfterAttempts: 1, autoDisableAfterMinutes: 1 });
      uids.push(w.uid);
    }
    // Each failing for an hour: what recorded attempts leave (store/health.ts).
    const since = Date.now() - 60 * MINUTE;
    await env.DB.prepare(
      "INSERT INTO webhook_health (webhook_uid, consecutive_failures, failing_since, last_failure_at, last_error) SELECT value, 5, ?2, ?2, 'HTTP 500' FROM json_each(?1)",
    )
      .bind(JSON.stringify(uids), since)
      .run();
    expect((await walked()).due).toEqual(expect.arrayContaining(uids));
    // Half disabled through the API, the rest by the auto-disable: each keeps its streak.
    for (const uid of uids.slice(0, n / 2)) expect((await p.api("PATCH", `/v1/webhooks/${uid}`, { disabled: true })).status).toBe(200);
    // MAINTENANCE_DISABLES a run: the runs after it disable the rest.
    const disabled: string[] = [];
    for (let more = await disableFailing(p.env); more.length > 0; more = await disableFailing(p.env)) {
      expect(more.length).toBeLessThanOrEqual(MAINTENANCE_DISABLES);
      disabled.push(...more.map((d) => d.webhook.uid));
    }
    expect(disabled).toEqual(expect.arrayContaining(uids.slice(n / 2)));
    expect((await health(p, uids[0]!)).health).toMatchObject({ consecutiveFailures: 5 });
    // The walk reads none of them (it read every one of them, each minute, 80 rows here).
    const after = await walked();
    expect(after.due.filter((uid) => uids.includes(uid))).toEqual([]);
    expect(after.rows).toBeLessThanOrEqual(baseline + 2);
    // Enabled again, a webhook that fails again is walked again (and found due).
    expect((await p.api("PATCH", `/v1/webhooks/${uids[0]}`, { disabled: false })).status).toBe(200);
    await env.DB.prepare("UPDATE webhook_health SET consecutive_failures = 5, failing_since = ?2 WHERE webhook_uid = ?1").bind(uids[0], since).run();
    expect((await walked()).due).toContain(uids[0]);
  });
});

describe("the auto-disable's walk, after attempts recorded", () => {
  const failedAttempt = (deliveryId: string, startedAt: number) => ({
    attempt: { deliveryId, number: 1, startedAt, durationMs: 5, statusCode: 500, error: "HTTP 500", responseSnippet: null },
    status: "pending" as const,
    nextAttemptAt: startedAt + 60_000,
    deadLetter: null,
  });
  const walked = async () => {
    const meter = meteredD1(env.DB);
    const due = await webhooksToAutoDisable(meter.db, Date.now(), 500);
    return { rows: meter.usage.rowsRead, due: due.map((d) => d.uid) };
  };

  it("leaves out webhooks disabled before their first attempt was recorded (it was out at the disable)", async () => {
    const p = pipeline();
    const baseline = (await walked()).rows;
    const since = Date.now() - 60 * MINUTE;
    for (let i = 0; i < 10; i++) {
      const { webhook, event } = await p.webhookOn("fail", { failingAfterAttempts: 1, autoDisableAfterMinutes: 1 });
      const id = (await deliveryRows(await p.ingest(event()))).find((d) => d.webhook_uid === webhook.uid)!.id;
      // No attempt recorded yet: the disable finds no health row to take out of the walk.
      expect((await p.api("PATCH", `/v1/webhooks/${webhook.uid}`, { disabled: true })).status).toBe(200);
      await recordAttempts(env.DB, webhook.uid, [failedAttempt(id, since)]);
      expect((await health(p, webhook.uid)).health).toMatchObject({ state: "disabled", consecutiveFailures: 1 });
    }
    // The walk reads none of them (10 rows and their webhooks', each minute, before).
    expect((await walked()).rows).toBeLessThanOrEqual(baseline + 2);
  });

  it("walks an enabled webhook failing again whatever its row said before (code older than migration 0043 enabling one it marked)", async () => {
    const p = pipeline();
    const { webhook, event } = await p.webhookOn("fail", { failingAfterAttempts: 1, autoDisableAfterMinutes: 1 });
    const owed = async () => (await deliveryRows(await p.ingest(event()))).find((d) => d.webhook_uid === webhook.uid)!.id;
    const [first, second] = [await owed(), await owed()];
    const since = Date.now() - 60 * MINUTE;
    await recordAttempts(env.DB, webhook.uid, [failedAttempt(first, since)]);
    // Marked disabled by the migration and enabled by the code before it, which did not clear the mark.
    await env.DB.prepare("UPDATE webhook_health SET disabled = 1 WHERE webhook_uid = ?").bind(webhook.uid).run();
    expect((await walked()).due).not.toContain(webhook.uid);
    // Its next failure recorded, the run finds it due (before: never, failing for good).
    await recordAttempts(env.DB, webhook.uid, [failedAttempt(second, since + MINUTE)]);
    expect((await walked()).due).toContain(webhook.uid);
  });
});

describe("the maintenance run's purge of closed alerts", () => {
  it("deletes alerts closed before the retention reading those, not every alert the retention keeps", async () => {
    const now = Date.now();
    const cutoff = now - 10 * 86_400_000;
    /** `n` episodes closed within the retention (a flapping webhook's, an hour each) and `old` closed before it. */
    const closed = async (n: number, old = 0) =>
      env.DB.prepare(
        `INSERT INTO alerts (id, type, subject, opened_at, last_at, closed_at, count, data)
         SELECT 'alt_' || ?1 || '_' || value, 'delivery.dead_lettered', 'wh_' || ?1, ?2, ?2, CASE WHEN value < ?4 THEN ?3 ELSE ?2 END, 1, '{}'
         FROM json_each(?5)`,
      )
        .bind(uniqueKey(), now - 3_600_000, cutoff - 1, old, JSON.stringify(Array.from({ length: n + old }, (_, i) => i)))
        .run();
    const purgeReads = async () => {
      const meter = meteredD1(env.DB);
      const deleted = await purgeClosedAlerts(meter.db, cutoff, PURGE_LIMITS.closedAlerts);
      return { deleted, rowsRead: meter.usage.rowsRead };
    };
    await closed(24, 2);
    expect((await purgeReads()).deleted).toBeGreaterThanOrEqual(2); // (and whatever other tests left past the retention)
    const before = await purgeReads();
    await closed(240); // ten days more of such episodes, all kept
    // Nothing is past the retention either time: the purge reads as much (was a walk of every alert: +240).
    expect(await purgeReads()).toEqual(before);
    expect(before).toEqual({ deleted: 0, rowsRead: expect.any(Number) });
    expect(before.rowsRead).toBeLessThan(10);
    // What is past it is still deleted, and only that.
    await closed(0, 3);
    expect((await purgeReads()).deleted).toBe(3);
  });
});

describe("a flapping downstream (the re-open cool-down)", () => {
  const DAY = 24 * HOUR;
  /** The episodes of a subject, oldest first, as stored. */
  const stored = async (subject: string) =>
    (await env.DB.prepare("SELECT type, closed_at IS NULL AS open, count FROM alerts WHERE subject = ? ORDER BY seq").bind(subject).all<{ type: string; open: number; count: number }>()).results.map(
      (r) => [r.type, r.open ? "open" : "closed", r.count],
    );

  /**
   * A webhook whose attempts are recorded, and alerted about, at the times given (as its scheduler
   * records them, `now` its clock then), and an endpoint subscribed to its failing and recovery.
   * `t0` is hours ahead, so no other test's streak is in the maintenance run's catch-up at these times.
   */
  async function recorded(hook: Record<string, unknown> = {}, alertTypes = ["webhook.failing", "webhook.recovered"]) {
    const p = pipeline({ RETRY_BASE_SECONDS: "0" });
    const { key, org, webhook } = await p.webhookOn("ok", { maxAttempts: 1, failingAfterAttempts: 1, ...hook });
    const alertKey = `${key}-alerts`;
    await endpoint(p, alertKey, { alertTypes });
    /** One batch of attempts, each [ok, started at], alerted on 5 ms after the last. */
    const batch = async (...attempts: [ok: boolean, at: number][]) => {
      const outcomes = [];
      for (const [ok, at] of attempts) {
        const id = (await deliveryRows(await p.ingest(podiumBody({ organizationUid: org })))).find((d) => d.webhook_uid === webhook.uid)!.id;
        outcomes.push({
          attempt: { deliveryId: id, number: 1, startedAt: at, durationMs: 5, statusCode: ok ? 200 : 500, error: ok ? null : "HTTP 500", responseSnippet: null },
          status: ok ? ("succeeded" as const) : ("pending" as const),
          // Not due again within the test: its scheduler, run to send the alerts, leaves it.
          nextAttemptAt: ok ? null : at + DAY,
          deadLetter: null,
        });
      }
      const context = await recordBatch(p.env, webhook.uid, outcomes);
      await alertAfterAttempts(p.env, (await getWebhook(p.env.DB, webhook.uid))!, outcomes, context, attempts.at(-1)![1] + 5);
      await settle(p);
    };
    const alerts = () => alertsAt(alertKey, webhook.uid);
    const sent = async () => (await alerts()).map((a) => [a.type, a.data.count]);
    return { p, uid: webhook.uid, org, alerts, sent, batch, fail: (at: number) => batch([false, at]), succeed: (at: number) => batch([true, at]) };
  }

  it("a downstream alternating 500/200 raises one webhook.failing and one webhook.recovered, not a pair per flip", async () => {
    const p = pipeline({ RETRY_BASE_SECONDS: "0" });
    const { key, org, webhook: hook } = await p.webhookOn("fail", { maxAttempts: 1, failingAfterAttempts: 1 });
    const alertKey = `${key}-alerts`;
    await endpoint(p, alertKey, { alertTypes: ["webhook.failing", "webhook.recovered"] });
    for (let i = 0; i < 10; i++) {
      expect((await p.api("PATCH", `/v1/webhooks/${hook.uid}`, { url: `https://downstream.test/${i % 2 === 0 ? "fail" : "ok"}/${key}` })).status).toBe(200);
      await p.ingest(podiumBody({ organizationUid: org }));
      await settle(p);
    }
    expect((await received(key)).map((r) => r.status)).toEqual([500, 200, 500, 200, 500, 200, 500, 200, 500, 200]);
    // (Was 10: a failing and a recovered alert a flip.)
    expect((await alertsAt(alertKey, hook.uid)).map((a) => [a.type, a.data.count])).toEqual([
      ["webhook.failing", 1],
      ["webhook.recovered", 1],
    ]);
    expect((await stored(hook.uid)).filter(([type]) => type === "webhook.failing")).toEqual([["webhook.failing", "closed", 1]]);
  });

  it("a re-failure after the cool-down alerts at once; flips within it raise nothing", async () => {
    const w = await recorded();
    const t0 = Date.now() + 3 * HOUR;
    await w.fail(t0);
    await w.succeed(t0 + 1_000);
    await w.fail(t0 + 2_000);
    await w.succeed(t0 + 3_000);
    await w.fail(t0 + 30 * MINUTE);
    await w.succeed(t0 + 31 * MINUTE);
    expect(await w.sent()).toEqual([
      ["webhook.failing", 1],
      ["webhook.recovered", 1],
    ]);
    // An hour after the recovery (the cool-down runs from it, not from the failures since).
    await w.fail(t0 + 1_000 + HOUR);
    expect(await w.sent()).toEqual([
      ["webhook.failing", 1],
      ["webhook.recovered", 1],
      ["webhook.failing", 1],
    ]);
  });

  it("a re-failure within the cool-down that lasts 10 minutes is announced by the maintenance run, once; one that recovers before never is", async () => {
    const w = await recorded();
    const t0 = Date.now() + 3 * HOUR + 10 * MINUTE;
    await w.fail(t0);
    await w.succeed(t0 + 1_000);
    // Fails again and recovers within 10 minutes: nothing, then or at the run after.
    await w.fail(t0 + 2_000);
    await w.succeed(t0 + 9 * MINUTE);
    await runMaintenance(w.p.env, t0 + 20 * MINUTE);
    await settle(w.p);
    expect(await w.sent()).toEqual([
      ["webhook.failing", 1],
      ["webhook.recovered", 1],
    ]);
    // Fails again and keeps failing: not yet 10 minutes, then 10.
    const since = t0 + 25 * MINUTE;
    await w.fail(since);
    await w.fail(since + MINUTE);
    expect((await runMaintenance(w.p.env, since + 9 * MINUTE)).alertsOpened).toBe(0);
    expect((await runMaintenance(w.p.env, since + 10 * MINUTE)).alertsOpened).toBe(1);
    await settle(w.p);
    const sent = await w.alerts();
    expect(sent.map((a) => [a.type, a.data.count])).toEqual([
      ["webhook.failing", 1],
      ["webhook.recovered", 1],
      ["webhook.failing", 2],
    ]);
    expect(sent[2]!.data).toMatchObject({ consecutiveFailures: 2, failingSince: new Date(since).toISOString(), lastError: "HTTP 500" });
    // Once: the next runs open nothing more; a failure counts in it; a success closes it at once.
    expect((await runMaintenance(w.p.env, since + 11 * MINUTE)).alertsOpened).toBe(0);
    await w.fail(since + 12 * MINUTE);
    expect((await runMaintenance(w.p.env, since + 13 * MINUTE)).alertsOpened).toBe(0);
    await w.succeed(since + 14 * MINUTE);
    expect(await w.sent()).toEqual([
      ["webhook.failing", 1],
      ["webhook.recovered", 1],
      ["webhook.failing", 2],
      ["webhook.recovered", 3],
    ]);
    expect(await stored(w.uid)).toEqual([
      ["webhook.failing", "closed", 1],
      ["webhook.failing", "closed", 3],
    ]);
  });

  it("a streak due in one run for its announcement and the auto-disable: webhook.failing, then webhook.disabled with a later timestamp", async () => {
    const w = await recorded({ autoDisableAfterMinutes: 10 }, ["webhook.failing", "webhook.recovered", "webhook.disabled"]);
    const t0 = Date.now() + 12 * HOUR;
    await w.fail(t0);
    await w.succeed(t0 + 1_000);
    await w.fail(t0 + 2_000);
    await runMaintenance(w.p.env, t0 + 2_000 + 10 * MINUTE + 1_000);
    await settle(w.p);
    const sent = await w.alerts();
    expect(sent.map((a) => a.type)).toEqual(["webhook.failing", "webhook.recovered", "webhook.failing", "webhook.disabled"]);
    // A receiver keeping the latest by timestamp ends on the disable, in whatever order they arrive.
    expect(Date.parse(sent[3]!.timestamp)).toBeGreaterThan(Date.parse(sent[2]!.timestamp));
  });

  it("the catch-up opens only enabled webhooks' streaks at their current failingAfterAttempts, none of an endpoint or a deleted webhook", async () => {
    const p = pipeline();
    const now = Date.now() + 6 * HOUR;
    const key = uniqueKey();
    const make = async (extra: Record<string, unknown> = {}) => // Of an organization of their own: no other test's event is owed to them.
      (await p.createWebhook({ url: `https://downstream.test/fail/${key}`, eventTypes: ["*"], organizationUid: `org-${key}`, failingAfterAttempts: 3, ...extra })).uid;
    const [due, raised, lowered, disabled, deleted] = [await make(), await make(), await make({ failingAfterAttempts: 10 }), await make(), await make()];
    const notify = await endpoint(p, `${key}-alerts`, { alertTypes: ["webhook.failing"] });
    const streak = async (uid: string, failures: number) =>
      // Failing again 10 minutes after their last episode recovered.
      env.DB.prepare("INSERT INTO webhook_health (webhook_uid, consecutive_failures, failing_since, last_failure_at, last_error, failing_alert_closed_at) VALUES (?1, ?2, ?3, ?3, 'HTTP 500', ?4)")
        .bind(uid, failures, now - 20 * MINUTE, now - 30 * MINUTE)
        .run();
    for (const uid of [due, raised, lowered, disabled, deleted, notify.uid]) await streak(uid, 5);
    expect((await p.api("PATCH", `/v1/webhooks/${raised}`, { failingAfterAttempts: 6 })).status).toBe(200);
    expect((await p.api("PATCH", `/v1/webhooks/${lowered}`, { failingAfterAttempts: 5 })).status).toBe(200);
    expect((await p.api("PATCH", `/v1/webhooks/${disabled}`, { disabled: true })).status).toBe(200);
    // Its health row left behind (a row the delete's transaction missed): no webhook, no episode.
    await env.DB.prepare("DELETE FROM webhooks WHERE uid = ?").bind(deleted).run();
    expect(await openLastingFailures(p.env, now)).toBe(2);
    for (const uid of [due, lowered]) expect(await stored(uid)).toEqual([["webhook.failing", "open", 5]]);
    for (const uid of [raised, disabled, deleted, notify.uid]) expect(await stored(uid)).toEqual([]);
    expect(await openLastingFailures(p.env, now + MINUTE)).toBe(0);
  });

  it("a success then a failure in one batch: the streak the cool-down passes over, begun before the close was stamped, is announced once it lasts", async () => {
    const w = await recorded();
    const t0 = Date.now() + 3 * HOUR + 40 * MINUTE;
    await w.fail(t0);
    // The recovery is stamped when the batch is alerted on, after the failure that follows it began.
    await w.batch([true, t0 + 1_000], [false, t0 + 2_000]);
    await w.fail(t0 + 3_000);
    expect(await w.sent()).toEqual([
      ["webhook.failing", 1],
      ["webhook.recovered", 1],
    ]);
    expect((await runMaintenance(w.p.env, t0 + 2_000 + 10 * MINUTE)).alertsOpened).toBe(1);
    await settle(w.p);
    expect(await w.sent()).toEqual([
      ["webhook.failing", 1],
      ["webhook.recovered", 1],
      ["webhook.failing", 2],
    ]);
  });

  it("the catch-up reads only webhooks failing again since a recovery within twice the cool-down, not those alerted at once, however many", async () => {
    const p = pipeline();
    const now = Date.now() + 9 * HOUR;
    const walked = async () => {
      const meter = meteredD1(env.DB);
      const opened = await openLastingFailures({ ...p.env, DB: meter.db }, now);
      return { rows: meter.usage.rowsRead, opened };
    };
    const baseline = await walked();
    expect(baseline.rows).toBeLessThan(10);
    const key = uniqueKey();
    const first = await p.createWebhook({ url: `https://downstream.test/fail/${key}`, eventTypes: ["*"], organizationUid: `org-${key}`, failingAfterAttempts: 1 });
    await copyWebhook(first.uid, 1_300);
    const uids = (await env.DB.prepare("SELECT uid FROM webhooks WHERE url = ?").bind(first.url).all<{ uid: string }>()).results.map((r) => r.uid);
    expect(uids).toHaveLength(1_300);
    const failing = async (some: string[], since: number, closedAt: number | null) =>
      env.DB.prepare(
        "INSERT INTO webhook_health (webhook_uid, consecutive_failures, failing_since, last_failure_at, last_error, failing_alert_closed_at) SELECT value, 5, ?2, ?2, 'HTTP 500', ?3 FROM json_each(?1)",
      )
        .bind(JSON.stringify(some), since, closedAt)
        .run();
    // 1,000 failing for 30 minutes, alerted at once (their episodes open), none recovered before: not read
    // (along the streaks begun within two hours, 2,000 rows were read for none found).
    const alerted = uids.slice(0, 1_000);
    await failing(alerted, now - 30 * MINUTE, null);
    await env.DB.prepare(
      "INSERT INTO alerts (id, type, subject, opened_at, last_at, count, data) SELECT 'alr_' || ?2 || '_' || key, 'webhook.failing', value, ?3, ?3, 5, '{}' FROM json_each(?1)",
    )
      .bind(JSON.stringify(alerted), key, now - 30 * MINUTE)
      .run();
    // 150 failing for a day since a recovery the day before (announced long since, or due to the auto-disable): not read.
    await failing(uids.slice(1_000, 1_150), now - DAY, now - DAY - HOUR);
    expect(await walked()).toEqual(baseline);
    // 150 failing again 20 minutes since a recovery 30 minutes ago, passed over: 100 read, the next runs read the rest.
    await failing(uids.slice(1_150), now - 20 * MINUTE, now - 30 * MINUTE);
    const meter = meteredD1(env.DB);
    const due = await unannouncedFailures(meter.db, { closedFrom: now - 2 * REFAILING_COOLDOWN_MS, lastedFrom: now - FAILING_LASTED_MS }, 100);
    expect(due).toHaveLength(100);
    expect(meter.usage.rowsRead).toBeLessThanOrEqual(baseline.rows + 100 * 5);
    expect((await walked()).opened).toBe(5);
  }, 60_000);

  it("the catch-up opens nothing for a streak changed between its read and the open: ended by a success (another begun or not), the webhook disabled, or failingAfterAttempts raised past it", async () => {
    const alertEvents = async () =>
      (await env.DB.prepare("SELECT count(*) AS n FROM events e JOIN names n ON n.id = e.source WHERE n.name = ?").bind(ALERT_SOURCE).first<number>("n")) ?? 0;
    const changes: [string, (w: Awaited<ReturnType<typeof recorded>>, at: number) => Promise<void>][] = [
      ["ended by a success", (w, at) => w.succeed(at)],
      // Not yet lasted: its own time comes.
      ["ended by a success, another begun", (w, at) => w.batch([true, at], [false, at + 1_000])],
      ["the webhook disabled", async (w) => expect((await w.p.api("PATCH", `/v1/webhooks/${w.uid}`, { disabled: true })).status).toBe(200)],
      ["failingAfterAttempts raised", async (w) => expect((await w.p.api("PATCH", `/v1/webhooks/${w.uid}`, { failingAfterAttempts: 3 })).status).toBe(200)],
    ];
    for (const [i, [what, change]] of changes.entries()) {
      const w = await recorded();
      const t0 = Date.now() + (12 + 3 * i) * HOUR;
      await w.fail(t0);
      await w.succeed(t0 + 1_000);
      await w.fail(t0 + 2_000);
      await w.fail(t0 + 3_000);
      const now = t0 + 15 * MINUTE;
      // The streak was due as read: the change lands right after the read, before the open.
      let changed = false;
      const { db } = d1Double({
        afterRun: async (st) => {
          if (changed || !st.sql.includes("INDEXED BY webhook_health_refailing")) return;
          changed = true;
          await change(w, now - MINUTE);
        },
      });
      const events = await alertEvents();
      expect(await openLastingFailures({ ...w.p.env, DB: db }, now), what).toBe(0);
      expect(changed, what).toBe(true);
      expect(await stored(w.uid), what).toEqual([["webhook.failing", "closed", 1]]);
      expect(await alertEvents(), what).toBe(events);
    }
  });

  it("stamps a dead letter's alert with its episode's opening, the attempt's end, not when alerting on the batch; after a recovery in its batch, a millisecond after that", async () => {
    const w = await recorded({ maxAttempts: 1 }, ["webhook.failing", "webhook.recovered", "delivery.dead_lettered"]);
    /** One batch of attempts, each [outcome, started at] and 5 ms long, alerted on 30 ms after the last ended. */
    const batch = async (...attempts: [outcome: "ok" | "retried" | "dead", at: number][]) => {
      const outcomes = [];
      for (const [outcome, at] of attempts) {
        const ok = outcome === "ok";
        const event = await w.p.ingest(podiumBody({ organizationUid: w.org }));
        const id = (await deliveryRows(event)).find((d) => d.webhook_uid === w.uid)!.id;
        const attempt = { deliveryId: id, number: 1, startedAt: at, durationMs: 5, statusCode: ok ? 200 : 500, error: ok ? null : "HTTP 500", responseSnippet: null };
        const deadLetter = { queue: "edgehook-deliveries", messageId: id, eventId: null, deliveryId: id, reason: "HTTP 500", body: "{}", attempts: 1, receivedAt: at + 5 };
        const dead = outcome === "dead";
        // One retried is not due again within the test.
        outcomes.push({ attempt, status: ok ? ("succeeded" as const) : dead ? ("failed" as const) : ("pending" as const), nextAttemptAt: outcome === "retried" ? at + DAY : null, deadLetter: dead ? deadLetter : null });
      }
      const context = await recordBatch(w.p.env, w.uid, outcomes);
      await alertAfterAttempts(w.p.env, (await getWebhook(w.p.env.DB, w.uid))!, outcomes, context, attempts.at(-1)![1] + 35);
      await settle(w.p);
    };
    const t0 = Date.now() + 15 * HOUR;
    await batch(["dead", t0]);
    await batch(["ok", t0 + 1_000]);
    await runMaintenance(w.p.env, t0 + 61 * MINUTE);
    await settle(w.p);
    await batch(["retried", t0 + 3 * HOUR]);
    await batch(["ok", t0 + 3 * HOUR + 1_000], ["dead", t0 + 3 * HOUR + 2_000]);
    const alerts = await w.alerts();
    expect(alerts.map((a) => [a.type, a.data.state])).toEqual([
      ["delivery.dead_lettered", "open"],
      ["webhook.failing", "open"],
      ["webhook.recovered", "resolved"],
      ["delivery.dead_lettered", "resolved"],
      ["webhook.failing", "open"],
      ["webhook.recovered", "resolved"],
      ["delivery.dead_lettered", "open"],
    ]);
    await expectStampedAsEpisodes(alerts);
    // When the attempt ended, before the batch was alerted on (and before the webhook.failing it raised).
    expect(alerts[0]!.timestamp).toBe(new Date(t0 + 5).toISOString());
    expect(alerts[1]!.timestamp).toBe(new Date(t0 + 35).toISOString());
    // After a recovery in its batch: a millisecond after it, in the order raised.
    expect(Date.parse(alerts[6]!.timestamp) - Date.parse(alerts[5]!.timestamp)).toBe(1);
    // Its episode, as /v1/alerts shows it, was last seen no earlier than it opened.
    const episodes: { id: string; openedAt: string; lastAt: string }[] = (await w.p.api("GET", "/v1/alerts?limit=100")).json.data;
    const last = episodes.find((e) => e.id === alerts[6]!.data.alertId);
    expect([last?.openedAt, last?.lastAt]).toEqual([alerts[6]!.timestamp, alerts[6]!.timestamp]);
  });

  it("gives the alerts one batch of attempts raises strictly increasing timestamps, in the order raised", async () => {
    const p = pipeline({ RETRY_BASE_SECONDS: "0" });
    const { key, org, webhook: hook } = await p.webhookOn("fail", { maxAttempts: 1, failingAfterAttempts: 1 });
    await endpoint(p, `${key}-alerts`, { alertTypes: ["delivery.dead_lettered", "webhook.failing"] });
    await p.ingest(podiumBody({ organizationUid: org }));
    await settle(p);
    const alerts = await alertsAt(`${key}-alerts`, hook.uid);
    expect(alerts.map((a) => a.type)).toEqual(["delivery.dead_lettered", "webhook.failing"]);
    const [a, b] = alerts.map((x) => Date.parse(x.timestamp));
    expect(b).toBeGreaterThan(a!);
  });
});
