// The settings of wrangler.toml's [vars] that shape what the API and the ingress do, each read from
// the deployment's variables rather than a constant that happens to equal its default (the test
// configuration keeps wrangler.toml's defaults, so only a different value tells the two apart).
import { describe, expect, it } from "vitest";
import { call, podiumBody, podiumHeaders, post } from "./helpers";
import { pipeline, uniqueKey } from "./pipeline";

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
});
