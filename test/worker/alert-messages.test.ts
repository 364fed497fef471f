// The line a person reads in Slack and on the dashboard ends each sentence once, whatever the
// quoted error ends with (workerd's connection errors end with their own full stop).
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { alertMessage } from "../../src/domain/alerts";
import { call, dashboardCookie } from "./helpers";
import { pipeline } from "./pipeline";

const url = "https://api.example.com/hook";
const refused = "request failed: Error: Network connection lost.";

describe("alert messages", () => {
  it("end a quoted error with one full stop, not two", () => {
    const failing = alertMessage("webhook.failing", "wh-1", { url, consecutiveFailures: 10, lastError: refused }, 10, false);
    const dead = alertMessage("delivery.dead_lettered", "wh-1", { url, lastError: refused }, 1, false);
    const disabled = alertMessage("webhook.disabled", "wh-1", { url, reason: `every attempt failed for 60 minutes, the last with: ${refused}` }, 1, false);
    expect(failing).toBe(`Webhook wh-1 (${url}) is failing: 10 attempts in a row failed, the last with: ${refused}`);
    expect(dead).toBe(`A delivery to webhook wh-1 (${url}) failed for good: ${refused}`);
    expect(disabled).toBe(`Webhook wh-1 (${url}) was disabled: every attempt failed for 60 minutes, the last with: ${refused} Its events are held until it is enabled again.`);
  });

  it("still ends an error without punctuation with a full stop", () => {
    expect(alertMessage("delivery.dead_lettered", "wh-1", { url, lastError: "HTTP 503" }, 1, false)).toBe(`A delivery to webhook wh-1 (${url}) failed for good: HTTP 503.`);
    expect(alertMessage("webhook.disabled", "wh-1", { url, reason: "every attempt failed for 1 minute, the last with: HTTP 503" }, 1, false)).toBe(
      `Webhook wh-1 (${url}) was disabled: every attempt failed for 1 minute, the last with: HTTP 503. Its events are held until it is enabled again.`,
    );
  });
});

describe("closed episodes", () => {
  it("say a webhook.disabled episode closed by the enable that ended it, not a bare 'resolved'", () => {
    expect(alertMessage("webhook.disabled", "wh-1", { url, reason: "every attempt failed for 1 minute" }, 1, true)).toBe(`Webhook wh-1 (${url}) was enabled again.`);
  });

  it("say the webhook was deleted when its deletion closed them (data.webhookDeleted)", () => {
    const data = { url, webhookDeleted: true };
    expect(alertMessage("webhook.recovered", "wh-1", data, 12, true)).toBe(`Webhook wh-1 (${url}) was deleted while failing, after 12 failed attempts.`);
    expect(alertMessage("delivery.dead_lettered", "wh-1", data, 3, true)).toBe(`Webhook wh-1 (${url}) was deleted; 3 of its deliveries were dead-lettered.`);
    expect(alertMessage("webhook.disabled", "wh-1", data, 1, true)).toBe(`Webhook wh-1 (${url}) was deleted while disabled.`);
  });

  it("count one thing in the singular", () => {
    expect(alertMessage("webhook.recovered", "wh-1", { url }, 1, true)).toBe(`Webhook wh-1 (${url}) recovered after 1 failed attempt.`);
    expect(alertMessage("webhook.recovered", "wh-1", { url, webhookDeleted: true }, 1, true)).toBe(`Webhook wh-1 (${url}) was deleted while failing, after 1 failed attempt.`);
    expect(alertMessage("delivery.dead_lettered", "wh-1", { url, webhookDeleted: true }, 1, true)).toBe(`Webhook wh-1 (${url}) was deleted; 1 of its deliveries was dead-lettered.`);
    expect(alertMessage("ingest.dead_lettered", "ingest", {}, 1, true)).toBe("No event failed to be stored for an hour; 1 was dead-lettered.");
    expect(alertMessage("source.rejecting", "src-1", {}, 1, true)).toBe("Source src-1 has not had a spike of refused requests for an hour; 1 was refused.");
    expect(alertMessage("webhook.failing", "wh-1", { url, consecutiveFailures: 1, lastError: "HTTP 500" }, 1, false)).toBe(`Webhook wh-1 (${url}) is failing: 1 attempt in a row failed, the last with: HTTP 500.`);
    expect(alertMessage("source.rejecting", "src-1", { thisHour: 1, reasons: { invalid_signature: 1 } }, 1, false)).toBe("Source src-1 refused 1 request this hour: invalid_signature ×1.");
  });
});

describe("the dashboard's page of a webhook disabled automatically", () => {
  it("ends its reason with one full stop when the last error had its own", async () => {
    const p = pipeline();
    const { webhook } = await p.webhookOn("fail");
    const reason = `every attempt failed for 60 minutes (since 2026-11-28T17:59:31.123Z), the last with: ${refused}`;
    await env.DB.prepare("UPDATE webhooks SET disabled = 1, disabled_reason = ?, disabled_at = ? WHERE uid = ?").bind(reason, Date.now(), webhook.uid).run();
    const page = await (await call(new Request(`https://edgehook.test/dashboard/webhooks/${webhook.uid}`, { headers: { cookie: await dashboardCookie() } }))).text();
    expect(page).toContain(`the last with: ${refused} Its events are held`);
  });
});
