// The line a person reads in Slack and on the dashboard ends each sentence once, whatever the
// quoted error ends with (workerd's connection errors end with their own full stop).
import { describe, expect, it } from "vitest";
import { alertMessage } from "../../src/domain/alerts";

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
