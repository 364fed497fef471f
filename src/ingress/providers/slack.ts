import { slack as scheme } from "../../schemes/slack";
import { dedupeKeyOr, jsonObject, stringAt, type Provider } from "./provider";

const STORED_HEADERS = ["x-slack-request-timestamp", "x-slack-retry-num", "x-slack-retry-reason"] as const;

/** Slack (Events API): a signed `url_verification` is answered with its challenge and not queued. */
export const slack: Provider = {
  name: "slack",

  scheme: () => scheme,

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
