import { standardWebhooks as scheme } from "../../schemes/standard-webhooks";
import { dedupeKeyOr, header, jsonObject, stringAt, type Provider } from "./provider";

const STORED_HEADERS = ["webhook-id", "webhook-timestamp"] as const;

/** Standard Webhooks: the type is the body's `type`, the dedupe key `webhook-id`. */
export const standardWebhooks: Provider = {
  name: "standard-webhooks",

  scheme: () => scheme,

  async facts(req, body) {
    const event = jsonObject(body, "Standard Webhooks");
    return {
      // The scheme requires the header, but a `verification: "none"` source may not have it.
      dedupeKey: await dedupeKeyOr(header(req, "webhook-id"), req.raw),
      eventType: stringAt(event, "type") ?? "unknown",
      locationUid: null,
      organizationUid: null,
    };
  },

  storedHeaders: () => STORED_HEADERS,
};
