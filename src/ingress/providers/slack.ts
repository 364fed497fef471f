import { concatBytes, hexToBytes, utf8, verifyHmacAny, withinTolerance } from "../../domain/crypto";
import {
  dedupeKeyOr,
  header,
  invalidSignature,
  jsonObject,
  missingSignature,
  staleTimestamp,
  stringAt,
  type Provider,
} from "./provider";

const STORED_HEADERS = ["x-slack-request-timestamp", "x-slack-retry-num", "x-slack-retry-reason"] as const;

/**
 * Slack (Events API): `X-Slack-Signature: v0=<hex HMAC-SHA256 of "v0:${ts}:${body}">`
 * with `X-Slack-Request-Timestamp` in seconds. A signed `url_verification` is
 * answered with its challenge and not queued.
 */
export const slack: Provider = {
  name: "slack",

  async verify(req, source) {
    const value = header(req, "x-slack-signature");
    const timestamp = header(req, "x-slack-request-timestamp");
    if (!value || !timestamp) throw missingSignature("X-Slack-Signature and X-Slack-Request-Timestamp");
    if (!/^\d{1,12}$/.test(timestamp)) throw invalidSignature("X-Slack-Request-Timestamp is not epoch seconds.");
    const sig = value.startsWith("v0=") ? hexToBytes(value.slice(3), 32) : null;
    if (!sig) throw invalidSignature("X-Slack-Signature is not v0=<hex>.");
    const signed = concatBytes(utf8(`v0:${timestamp}:`), req.raw);
    if (!(await verifyHmacAny(source.secrets, sig, signed))) {
      throw invalidSignature("X-Slack-Signature does not match under the source's signing secrets.");
    }
    if (!withinTolerance(Number(timestamp), req.now, source.toleranceSeconds)) throw staleTimestamp(source.toleranceSeconds);
  },

  handshake(_req, body) {
    const event = jsonObject(body, "Slack");
    if (stringAt(event, "type") !== "url_verification") return null;
    return Response.json({ challenge: stringAt(event, "challenge") ?? "" }, { status: 200 });
  },

  async facts(req, body) {
    const event = jsonObject(body, "Slack");
    return {
      dedupeKey: await dedupeKeyOr(stringAt(event, "event_id"), req.raw),
      eventType: stringAt(event, "event", "type") ?? stringAt(event, "type") ?? "unknown",
      locationUid: stringAt(event, "event", "channel"),
      organizationUid: stringAt(event, "team_id"),
    };
  },

  storedHeaders: () => STORED_HEADERS,
};
