// Alerts end to end: wrangler dev (schedulers as Durable Objects, D1, the queues) and one
// real HTTP server on 127.0.0.1 that is both the broken webhook's downstream and the
// operator's notification endpoint.
import { randomUUID } from "node:crypto";
import { Webhook as StandardWebhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import type { Downstream } from "./downstream";
import { podiumEvent, sendPodium } from "./podium";
import { eventually, useLocalStack, type Stack } from "./stack";

let stack: Stack;
let down: Downstream;
// Retries within a second or two, so a few failed attempts happen within the test.
useLocalStack({ RETRY_BASE_SECONDS: "1", RETRY_CAP_SECONDS: "2" }, (s, d) => ((stack = s), (down = d)));

interface Alert {
  type: string;
  data: { subject: string; state: string; count: number; message: string };
}

describe("alerts through the local stack", () => {
  it("breaks a downstream: webhook.failing and delivery.dead_lettered arrive signed, the cron disables it (webhook.disabled), and once fixed and enabled it recovers", async () => {
    const key = randomUUID().slice(0, 8);
    const org = `org-${key}`;
    const secret = stack.vars.PODIUM_WEBHOOK_SECRET!.split(" ")[0]!;
    const endpoint = await stack.api("POST", "/v1/notification-endpoints", {
      url: `${down.url}/ok/${key}-alerts`,
      alertTypes: ["webhook.failing", "webhook.disabled", "webhook.recovered", "delivery.dead_lettered"],
    });
    expect(endpoint.status).toBe(201);
    const hook = await stack.api("POST", "/v1/webhooks", {
      url: `${down.url}/fail/${key}`,
      eventTypes: ["*"],
      organizationUid: org,
      maxAttempts: 3,
      failingAfterAttempts: 2,
      autoDisableAfterMinutes: 1,
    });
    expect(hook.status).toBe(201);
    const uid: string = hook.json.uid;
    const send = async () => expect((await sendPodium(`${stack.url}/webhooks/podium`, podiumEvent({ organizationUid: org }), secret)).status).toBe(202);
    const alerts = async () =>
      (await down.requests(`${key}-alerts`)).map((r) => ({ r, alert: JSON.parse(r.body) as Alert })).filter((a) => a.alert.data.subject === uid);
    const types = async () => (await alerts()).map((a) => `${a.alert.type}:${a.alert.data.state}`);

    await send();
    const opened = await eventually(
      async () => {
        const got = await alerts();
        return got.length >= 2 ? got : null;
      },
      60_000,
      "webhook.failing and delivery.dead_lettered",
    );
    expect(opened.map((a) => a.alert.type).sort()).toEqual(["delivery.dead_lettered", "webhook.failing"]);
    expect((await down.requests(key)).length).toBe(3);
    for (const { r } of opened) expect(new StandardWebhook(endpoint.json.secret).verify(r.body, r.headers)).toMatchObject({ type: expect.any(String) });
    expect((await stack.api("GET", `/v1/webhooks/${uid}`)).json.health).toMatchObject({ state: "failing", consecutiveFailures: 3 });

    // The minute cron, run as if two minutes later: every attempt has failed for over a minute.
    const cron = await fetch(`${stack.url}/cdn-cgi/local/scheduled?cron=*+*+*+*+*&time=${Date.now() + 2 * 60_000}`);
    expect(cron.status).toBe(200);
    const disabled = await stack.api("GET", `/v1/webhooks/${uid}`);
    expect(disabled.json).toMatchObject({ disabled: true, health: { state: "disabled" } });
    expect(disabled.json.disabledReason).toMatch(/every attempt failed for 1 minute \(since/);
    await eventually(async () => (await types()).includes("webhook.disabled:open"), 30_000, "webhook.disabled");
    // Held meanwhile.
    await send();
    await eventually(async () => (await stack.api("GET", `/v1/webhooks/${uid}`)).json.heldDeliveries === 1, 30_000, "the new event held");

    // Fixed and enabled: the held event goes out, and it recovers.
    expect((await stack.api("PATCH", `/v1/webhooks/${uid}`, { url: `${down.url}/ok/${key}`, disabled: false })).json).toMatchObject({ disabledReason: null });
    await eventually(async () => (await types()).includes("webhook.recovered:resolved"), 60_000, "webhook.recovered");
    // Its dead letters resolve once it delivers again and an hour has passed without another: the cron, run as if then.
    expect((await fetch(`${stack.url}/cdn-cgi/local/scheduled?cron=*+*+*+*+*&time=${Date.now() + 62 * 60_000}`)).status).toBe(200);
    const closed = await eventually(
      async () => {
        const got = await alerts();
        return got.filter((a) => a.alert.data.state === "resolved").length === 2 ? got : null;
      },
      60_000,
      "the dead letters resolved",
    );
    expect(closed.map((a) => `${a.alert.type}:${a.alert.data.state}`).sort()).toEqual([
      "delivery.dead_lettered:open",
      "delivery.dead_lettered:resolved",
      "webhook.disabled:open",
      "webhook.failing:open",
      "webhook.recovered:resolved",
    ]);
    expect(closed.find((a) => a.alert.type === "webhook.recovered")!.alert.data.count).toBe(3);
    expect((await down.requests(key)).filter((r) => r.status === 200)).toHaveLength(1);
    const episodes = (await stack.api("GET", "/v1/alerts")).json.data.filter((a: { subject: string }) => a.subject === uid);
    expect(episodes.map((a: { type: string; state: string }) => `${a.type}:${a.state}`).sort()).toEqual([
      "delivery.dead_lettered:closed",
      "webhook.disabled:closed",
      "webhook.failing:closed",
    ]);
  });
});
