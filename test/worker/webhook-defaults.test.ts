// What a webhook, or a notification endpoint, is made with when the request leaves a field out,
// and what a replace (PUT) sets in place of a field it leaves out: one set of defaults
// (domain/webhook.ts), read back from the stored row.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ALERT_SOURCE } from "../../src/domain/alerts";
import { getWebhook } from "../../src/store/webhooks";
import { pipeline, uniqueKey } from "./pipeline";

const DEFAULTS = {
  sourceIds: null,
  disabled: false,
  timeoutMs: 5000,
  maxAttempts: 15,
  rateLimit: null,
  maxConcurrency: 6,
  ordering: "unordered",
  filter: null,
  transform: null,
  transformHeaders: null,
  autoDisableAfterMinutes: 1440,
  failingAfterAttempts: 10,
  disabledReason: null,
  disabledAt: null,
};

async function stored(uid: string) {
  const w = await getWebhook(env.DB, uid);
  if (!w) throw new Error(`no webhook ${uid}`);
  return w;
}

describe("webhook defaults", () => {
  it("a webhook created with its required fields only takes every default", async () => {
    const p = pipeline();
    const url = `https://downstream.test/ok/${uniqueKey()}`;
    const created = await p.api("POST", "/v1/webhooks", { url, eventTypes: ["message.*"] });
    expect(created.status).toBe(201);
    const w = await stored(created.json.uid);
    expect(w).toMatchObject({ ...DEFAULTS, url, eventTypes: ["message.*"], kind: "webhook", locationUid: null, organizationUid: null, grantOrganizationUid: null });
    expect(w.secret).toBe(created.json.secret);
    expect(w.updatedAt).toBe(w.createdAt);
  });

  it("a webhook created disabled records when", async () => {
    const p = pipeline();
    const created = await p.api("POST", "/v1/webhooks", { url: `https://downstream.test/ok/${uniqueKey()}`, eventTypes: ["*"], disabled: true });
    const w = await stored(created.json.uid);
    expect(w).toMatchObject({ disabled: true, disabledReason: null, disabledAt: w.createdAt });
  });

  it("a replace (PUT) sets every field it leaves out to its default, and keeps the secret", async () => {
    const p = pipeline();
    const url = `https://downstream.test/ok/${uniqueKey()}`;
    const created = await p.api("POST", "/v1/webhooks", {
      url,
      eventTypes: ["*"],
      disabled: true,
      timeoutMs: 1000,
      maxAttempts: 3,
      rateLimit: 5,
      maxConcurrency: 2,
      ordering: "fifo",
      filter: { body: { type: "x" } },
      transform: "data",
      transformHeaders: { "x-kind": "'a'" },
      autoDisableAfterMinutes: null,
      failingAfterAttempts: 4,
    });
    expect(created.status).toBe(201);
    const put = await p.api("PUT", `/v1/webhooks/${created.json.uid}`, { url, eventTypes: ["message.*"] });
    expect(put.status).toBe(200);
    const w = await stored(created.json.uid);
    expect(w).toMatchObject({ ...DEFAULTS, url, eventTypes: ["message.*"] });
    expect(w.secret).toBe(created.json.secret);
  });

  it("a notification endpoint is a webhook row of its own kind: alerts only, in order, never disabled automatically", async () => {
    const p = pipeline();
    const url = `https://alerts.test/${uniqueKey()}`;
    const created = await p.api("POST", "/v1/notification-endpoints", { url, alertTypes: ["webhook.failing"] });
    expect(created.status).toBe(201);
    const w = await stored(created.json.uid);
    expect(w).toMatchObject({
      ...DEFAULTS,
      url,
      eventTypes: ["webhook.failing"],
      sourceIds: [ALERT_SOURCE],
      kind: "notification",
      // Its alerts in the order they were raised (alerts.md).
      ordering: "fifo",
      autoDisableAfterMinutes: null,
      failingAfterAttempts: 15,
    });
    expect(w.secret).toBe(created.json.secret);
    const slack = await p.api("POST", "/v1/notification-endpoints", { url, alertTypes: ["webhook.failing"], format: "slack", disabled: true });
    const s = await stored(slack.json.uid);
    expect(s.transform).not.toBeNull();
    expect(s).toMatchObject({ disabled: true, disabledAt: s.createdAt });
  });
});
