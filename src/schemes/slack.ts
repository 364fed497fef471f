import { defineScheme } from "./scheme";

/**
 * Slack: `X-Slack-Signature: v0=<hex HMAC-SHA256 of "v0:${ts}:${body}">`, with
 * `X-Slack-Request-Timestamp` in seconds.
 */
export const slack = defineScheme({
  header: "x-slack-signature",
  prefix: "v0=",
  encoding: "hex",
  timestamp: { header: "x-slack-request-timestamp", unit: "s" },
  content: "v0:{timestamp}:",
});
