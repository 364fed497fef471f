// The settings of wrangler.toml's [vars] that shape what the API and the ingress do, each read from
// the deployment's variables rather than a constant that happens to equal its default (the test
// configuration keeps wrangler.toml's defaults, so only a different value tells the two apart).
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { RETRY_WAIT_LIMIT_S } from "../../src/domain/delivery";
import { retentionHorizon, settings } from "../../src/domain/settings";
import { DAY_MS } from "../../src/domain/time";
import type { RejectionsMessage } from "../../src/domain/types";
import worker from "../../src/index";
import { attemptDelivery } from "../../src/pipeline/attempt";
import { owedInOrder } from "../../src/store/scheduler-reads";
import { getWebhook } from "../../src/store/webhooks";
import { call, clientAddress, podiumBody, podiumHeaders, post, recordingQueue, testEnv } from "./helpers";
import { pipeline, uniqueKey } from "./pipeline";

const HOUR_MS = 3_600_000;

describe("deployment settings", () => {
  it("DELIVERY_TIMEOUT_MS and MAX_ATTEMPTS are what a webhook created through the API without its own takes", async () => {
    const p = pipeline({ DELIVERY_TIMEOUT_MS: "2500", MAX_ATTEMPTS: "8" });
    const key = uniqueKey();
    const created = await p.api("POST", "/v1/webhooks", { url: `https://downstream.test/ok/${key}`, eventTypes: ["message.*"], organizationUid: `org-${key}` });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ timeoutMs: 2500, maxAttempts: 8 });
    // Its own values win over the deployment's.
    const own = await p.api("POST", "/v1/webhooks", { url: `https://downstream.test/ok/${key}`, eventTypes: ["message.*"], organizationUid: `org-${key}`, timeoutMs: 1000, maxAttempts: 3 });
    expect(own.json).toMatchObject({ timeoutMs: 1000, maxAttempts: 3 });
  });

  it("DELIVERY_TIMEOUT_MS and MAX_ATTEMPTS outside what a webhook may hold give the nearest bound, so the webhook made with them can be written back as read", async () => {
    for (const [vars, expected] of [
      [{ DELIVERY_TIMEOUT_MS: "60000", MAX_ATTEMPTS: "80" }, { timeoutMs: 30_000, maxAttempts: 50 }],
      [{ DELIVERY_TIMEOUT_MS: "50", MAX_ATTEMPTS: "0" }, { timeoutMs: 100, maxAttempts: 1 }],
      [{ DELIVERY_TIMEOUT_MS: "2500.5", MAX_ATTEMPTS: "7.6" }, { timeoutMs: 2501, maxAttempts: 8 }],
    ] as const) {
      const p = pipeline(vars);
      const key = uniqueKey();
      const created = await p.api("POST", "/v1/webhooks", { url: `https://downstream.test/ok/${key}`, eventTypes: ["message.*"], organizationUid: `org-${key}` });
      expect(created.json).toMatchObject(expected);
      const { url, eventTypes, sourceIds, disabled, timeoutMs, maxAttempts } = (await p.api("GET", `/v1/webhooks/${created.json.uid}`)).json;
      expect((await p.api("PUT", `/v1/webhooks/${created.json.uid}`, { url, eventTypes, sourceIds, disabled, timeoutMs, maxAttempts })).status).toBe(200);
    }
  });

  it("SIGNATURE_TOLERANCE_S is the tolerance of a source without its own, shown and enforced; 0 turns the check off", async () => {
    const twoMinutesAgo = String(Date.now() - 120_000);
    const aDayAgo = String(Date.now() - 86_400_000);
    const signedAt = async (timestamp: string, vars: Record<string, string>) => {
      const body = podiumBody();
      return call(post("/webhooks/podium", body, await podiumHeaders(body, "podium-current", timestamp)), vars);
    };

    // Under the default (300 s) a signature two minutes old passes; under 60 s it is stale.
    expect((await signedAt(twoMinutesAgo, {})).status).toBe(202);
    const stale = await signedAt(twoMinutesAgo, { SIGNATURE_TOLERANCE_S: "60" });
    expect(stale.status).toBe(401);
    expect(await stale.json()).toMatchObject({ error: { code: "timestamp_out_of_tolerance" } });
    expect((await pipeline({ SIGNATURE_TOLERANCE_S: "60" }).api("GET", "/v1/sources/podium")).json).toMatchObject({ toleranceSeconds: 60 });

    // Outside what a source may hold (0..86400 s, whole): the nearest bound, which a client can send back as read.
    for (const [value, shown] of [["100000", 86_400], ["300.4", 300]] as const) {
      const p = pipeline({ SIGNATURE_TOLERANCE_S: value });
      const name = `Tolerant ${uniqueKey()}`;
      const made = await p.api("POST", "/v1/sources", { name, provider: "podium", secrets: [`secret-${uniqueKey()}-long-enough`] });
      expect(made.json).toMatchObject({ toleranceSeconds: shown });
      expect((await p.api("GET", "/v1/sources/podium")).json).toMatchObject({ toleranceSeconds: shown });
      expect((await p.api("PATCH", `/v1/sources/${made.json.id}`, { name, toleranceSeconds: made.json.toleranceSeconds })).status).toBe(200);
    }

    // 0: no timestamp is too old.
    expect((await signedAt(aDayAgo, {})).status).toBe(401);
    expect((await signedAt(aDayAgo, { SIGNATURE_TOLERANCE_S: "0" })).status).toBe(202);
  });

  it("RETRY_BASE_SECONDS and RETRY_CAP_SECONDS above their bounds are read as them: a retry, one a far-future Retry-After asks for too, is due within 8 hours, and the deliveries read", async () => {
    const p = pipeline({ RETRY_BASE_SECONDS: "1e300", RETRY_CAP_SECONDS: "1e300" });
    for (const [behaviour, atLeast] of [["fail", 0], ["retry-after?s=99999999999", 8 * HOUR_MS]] as const) {
      const { webhook, event } = await p.webhookOn(behaviour);
      await p.ingest(event());
      const before = Date.now();
      await p.deliver();
      const listed = await p.api("GET", `/v1/deliveries?webhookUid=${webhook.uid}`);
      expect(listed.status).toBe(200);
      const [d] = listed.json.data;
      expect(d).toMatchObject({ status: "pending", attemptCount: 1 });
      // The first wait is at most the base's bound (8 hours); a Retry-After is honoured up to the cap's (8 hours).
      expect(Date.parse(d.nextAttemptAt)).toBeGreaterThanOrEqual(before + atLeast);
      expect(Date.parse(d.nextAttemptAt)).toBeLessThanOrEqual(Date.now() + 8 * HOUR_MS);
    }
  });

  it("a retry's time is held within 8 hours of its attempt whatever wait was decided, so the scheduler's alarm and a Date can hold it", async () => {
    const p = pipeline();
    // Beyond any setting's bound: the schedule and the Retry-After cap as settings() never makes them.
    const unbounded = { ...settings({}), retrySchedule: Array<number>(49).fill(1e300), retryCapSeconds: Infinity };
    for (const behaviour of ["fail", "retry-after?s=99999999999"]) {
      const { webhook, event } = await p.webhookOn(behaviour);
      await p.ingest(event());
      const [job] = await owedInOrder(env.DB, webhook.uid, 1);
      const now = Date.now();
      const a = await attemptDelivery(unbounded, job!, (await getWebhook(env.DB, webhook.uid))!, now);
      expect(a.retryIn).toBeLessThanOrEqual(RETRY_WAIT_LIMIT_S);
      expect(a.outcome.nextAttemptAt).toBeLessThanOrEqual(now + a.outcome.attempt.durationMs + RETRY_WAIT_LIMIT_S * 1000);
      expect(new Date(a.outcome.nextAttemptAt!).toISOString()).toEqual(expect.any(String));
    }
  });

  it("RETENTION_DAYS above its bound (365) is read as it, and a bulk retry of failed deliveries works under it", async () => {
    const p = pipeline({ RETENTION_DAYS: "1e308" });
    const { webhook, event } = await p.webhookOn("fail", { maxAttempts: 1 });
    await p.ingest(event());
    await p.deliver();
    const retried = await p.api("POST", "/v1/deliveries/retry", { status: "failed", webhookUid: webhook.uid });
    expect(retried).toMatchObject({ status: 202, json: { count: 1 } });
    expect(retentionHorizon(settings({ RETENTION_DAYS: "1e308" }), 0)).toBe(-365 * DAY_MS);
    expect(retentionHorizon(settings({ RETENTION_DAYS: "0" }), 0)).toBe(-DAY_MS);
  });

  it("REJECTIONS_FLUSH_MS is tallied for at most 20 s (a longer window outlives waitUntil in production), and an empty value is the default (5 s), not 0", async () => {
    // Only setTimeout is faked: the window is waited out without a real wait.
    vi.useFakeTimers({ toFake: ["setTimeout"] });
    try {
      for (const [value, window] of [["60000", 20_000], ["1e12", 20_000], ["", 5_000]] as const) {
        const rejections = recordingQueue<RejectionsMessage>();
        const e = { ...testEnv().env, REJECTIONS: rejections, REJECTIONS_FLUSH_MS: value };
        const ctx = createExecutionContext();
        for (let i = 0; i < 2; i++) {
          const res = await worker.fetch(new Request(`https://edgehook.test/webhooks/nowhere-${uniqueKey()}`, { method: "POST", body: "{}", headers: { "cf-connecting-ip": clientAddress() } }), e, ctx);
          expect(res.status).toBe(404);
        }
        await vi.advanceTimersByTimeAsync(window - 1);
        expect(rejections.sent, `REJECTIONS_FLUSH_MS="${value}": nothing sent before ${window} ms`).toEqual([]);
        await vi.advanceTimersByTimeAsync(1);
        expect(rejections.sent.map((m) => m.counts.reduce((n, c) => n + c.count, 0)), `REJECTIONS_FLUSH_MS="${value}": one tally at ${window} ms`).toEqual([2]);
        await waitOnExecutionContext(ctx);
      }
    } finally {
      vi.useRealTimers();
    }
  });

  it("ALLOW_PRIVATE_DESTINATIONS is true or false in any case; anything else is the default (false), said once in the log, naming the setting", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    try {
      const made = async (value: string) =>
        (await pipeline({ ALLOW_PRIVATE_DESTINATIONS: value }).api("POST", "/v1/webhooks", { url: "http://127.0.0.1:9/hook", eventTypes: ["*"], organizationUid: `org-${uniqueKey()}` })).status;
      expect(await made("TRUE")).toBe(201);
      expect(await made(" True ")).toBe(201);
      expect(await made("FALSE")).toBe(400);
      const said = () => warn.mock.calls.map((c) => c.join(" ")).filter((line) => line.includes("ALLOW_PRIVATE_DESTINATIONS"));
      expect(said()).toEqual([]);
      const other = `yes-${uniqueKey()}`;
      expect(await made(other)).toBe(400);
      expect(await made(other)).toBe(400);
      expect(said()).toEqual(["setting ALLOW_PRIVATE_DESTINATIONS is neither true nor false; using its default, false"]);
    } finally {
      warn.mockRestore();
    }
  });
});
