// A disabled notification endpoint is owed the alerts raised meanwhile, as a disabled webhook is
// owed its events: held, and sent once it is enabled (docs/alerts.md).
import { describe, expect, it } from "vitest";
import { podiumBody } from "./helpers";
import { pipeline, received } from "./pipeline";

describe("a disabled notification endpoint", () => {
  it("holds the alerts raised while it is disabled and sends them once enabled", async () => {
    const p = pipeline({ RETRY_BASE_SECONDS: "0" });
    const { key, org, webhook } = await p.webhookOn("fail", { maxAttempts: 1, failingAfterAttempts: 1 });
    const alertKey = `${key}-alerts`;
    const made = await p.api("POST", "/v1/notification-endpoints", { url: `https://downstream.test/ok/${alertKey}`, alertTypes: ["webhook.failing"], disabled: true });
    expect(made.status).toBe(201);
    const settle = async () => {
      for (let i = 0; i < 6 && (await p.deliver(), p.woken.length > 0); i++);
    };

    await p.ingest(podiumBody({ organizationUid: org }));
    await settle();
    const owed = await p.api("GET", `/v1/deliveries?webhookUid=${made.json.uid}`);
    expect(owed.json.data.map((d: { status: string }) => d.status)).toEqual(["held"]);
    expect(await received(alertKey)).toEqual([]);

    expect((await p.api("PATCH", `/v1/notification-endpoints/${made.json.uid}`, { disabled: false })).status).toBe(200);
    await settle();
    const sent = (await received(alertKey)).map((r) => JSON.parse(r.body) as { type: string; data: { subject: string } });
    expect(sent.map((a) => [a.type, a.data.subject])).toEqual([["webhook.failing", webhook.uid]]);
  });
});
