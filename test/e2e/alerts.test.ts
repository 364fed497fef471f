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
  it("breaks a downstream and sees webhook.failing and delivery.dead_lettered arrive, signed, then webhook.recovered once it is fixed", async () => {
    const key = randomUUID().slice(0, 8);
    const org = `org-${key}`;
    const secret = stack.vars.PODIUM_WEBHOOK_SECRET!.split(" ")[0]!;
    const endpoint = await stack.api("POST", "/v1/notification-endpoints", {
      url: `${down.url}/ok/${key}-alerts`,
      alertTypes: ["webhook.failing", "webhook.recovered", "delivery.dead_lettered"],
    });
    expect(endpoint.status).toBe(201);
    const hook = await stack.api("POST", "/v1/webhooks", {
      url: `${down.url}/fail/${key}`,
      eventTypes: ["*"],
      organizationUid: org,
      maxAttempts: 3,
      failingAfterAttempts: 2,
    });
    expect(hook.status).toBe(201);
    const uid: string = hook.json.uid;

    const alerts = async () =>
      (await down.requests(`${key}-alerts`)).map((r) => ({ r, alert: JSON.parse(r.body) as Alert })).filter((a) => a.alert.data.subject === uid);

    expect((await sendPodium(`${stack.url}/webhooks/podium`, podiumEvent({ organizationUid: org }), secret)).status).toBe(202);
    const opened = await eventually(
      async () => {
        const got = await alerts();
        return got.some((a) => a.alert.type === "delivery.dead_lettered") && got.some((a) => a.alert.type === "webhook.failing") ? got : null;
      },
      60_000,
      "webhook.failing and delivery.dead_lettered",
    );
    expect(opened.map((a) => a.alert.type).sort()).toEqual(["delivery.dead_lettered", "webhook.failing"]);
    expect((await down.requests(key)).length).toBe(3);
    for (const { r } of opened) expect(new StandardWebhook(endpoint.json.secret).verify(r.body, r.headers)).toMatchObject({ type: expect.any(String) });
    expect((await stack.api("GET", `/v1/webhooks/${uid}`)).json.health).toMatchObject({ state: "failing", consecutiveFailures: 3 });

    // Fixed: the next event goes through, and the episodes close.
    expect((await stack.api("PATCH", `/v1/webhooks/${uid}`, { url: `${down.url}/ok/${key}` })).status).toBe(200);
    expect((await sendPodium(`${stack.url}/webhooks/podium`, podiumEvent({ organizationUid: org }), secret)).status).toBe(202);
    const closed = await eventually(
      async () => {
        const got = await alerts();
        return got.filter((a) => a.alert.data.state === "resolved").length === 2 ? got : null;
      },
      60_000,
      "webhook.recovered and the dead letters resolved",
    );
    expect(closed.map((a) => [a.alert.type, a.alert.data.state])).toEqual(
      expect.arrayContaining([
        ["webhook.recovered", "resolved"],
        ["delivery.dead_lettered", "resolved"],
      ]),
    );
    expect(closed).toHaveLength(4);
    expect(closed.find((a) => a.alert.type === "webhook.recovered")!.alert.data.count).toBe(3);
    expect((await stack.api("GET", `/v1/webhooks/${uid}`)).json.health).toMatchObject({ consecutiveFailures: 0 });
    const episodes = (await stack.api("GET", "/v1/alerts")).json.data.filter((a: { subject: string }) => a.subject === uid);
    expect(episodes.map((a: { type: string; state: string }) => [a.type, a.state]).sort()).toEqual([
      ["delivery.dead_lettered", "closed"],
      ["webhook.failing", "closed"],
    ]);
  });
});
