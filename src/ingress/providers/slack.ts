import { slack as scheme } from "../../schemes/slack";
import { dedupeKeyOr, jsonObject, malformed, stringAt, type Provider } from "./provider";

const STORED_HEADERS = ["x-slack-request-timestamp", "x-slack-retry-num", "x-slack-retry-reason"] as const;

const FORM_HINT = "Slack sends slash commands and interactivity as forms, and a slack source receives the Events API's JSON only";

/** Slack (Events API): a signed `url_verification` is answered with its challenge and not queued. */
export const slack: Provider = {
  name: "slack",

  scheme: () => scheme,

  handshake(_req, body) {
    const event = jsonObject(body, "Slack", FORM_HINT);
    if (stringAt(event, "type") !== "url_verification") return null;
    // Slack always sends a string: answering "" to anything else would pass for a handshake done.
    const challenge = stringAt(event, "challenge");
    if (challenge === null) throw malformed("A Slack url_verification carries its challenge as a non-empty string; this one has none.");
    return Response.json({ challenge }, { status: 200 });
  },

  async facts(req, body) {
    const event = jsonObject(body, "Slack", FORM_HINT);
    return {
      dedupeKey: await dedupeKeyOr(stringAt(event, "event_id"), req.raw),
      eventType: stringAt(event, "event", "type") ?? stringAt(event, "type") ?? "unknown",
      locationUid: stringAt(event, "event", "channel"),
      organizationUid: stringAt(event, "team_id"),
    };
  },

  storedHeaders: () => STORED_HEADERS,
};
