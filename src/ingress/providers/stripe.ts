import { stripe as scheme } from "../../schemes/stripe";
import { dedupeKeyOr, jsonObject, stringAt, type Provider } from "./provider";

/** Stripe: the type, id and (Connect) account come from the event object. */
export const stripe: Provider = {
  name: "stripe",

  scheme: () => scheme,

  async facts(req, body) {
    const event = jsonObject(body, "Stripe");
    return {
      dedupeKey: await dedupeKeyOr(stringAt(event, "id"), req.raw),
      eventType: stringAt(event, "type") ?? "unknown",
      locationUid: null,
      // A Connect event names the connected account.
      organizationUid: stringAt(event, "account"),
    };
  },

  // Stripe sends nothing beyond its signature worth keeping.
  storedHeaders: () => [],
};
