import { heldSecretProblem, secretProblem, signingSecretProblem, standardWebhooks as scheme } from "../../schemes/standard-webhooks";
import { header as asSent } from "../../schemes/scheme";
import { dedupeKeyOr, jsonObject, stringAt, type Provider } from "./provider";

const STORED_HEADERS = ["webhook-id", "webhook-timestamp"] as const;

/** Standard Webhooks: the type is the body's `type`, the dedupe key `webhook-id`. */
export const standardWebhooks: Provider = {
  name: "standard-webhooks",

  scheme: () => scheme,

  // Its key is the base64 after `whsec_`: a weak or undecodable one is refused when given; one a
  // source stored before the rule, or configuration declares, still verifies as it did while it
  // holds 16 bytes (the scheme's key).
  secretProblem,
  // One given through the API is base64 as a webhook's is, in the same words: its sender decodes it so.
  givenSecretProblem: signingSecretProblem,
  heldSecretProblem,

  async facts(req, body) {
    const event = jsonObject(body, "Standard Webhooks");
    return {
      // The scheme requires the header, but a `verification: "none"` source may not have it. Read as
      // sent, not as one value (provider.ts's header): an id may hold a comma of its own, which
      // cannot be told from a second copy; the signature covers it (a second copy is refused 401),
      // and a source that verifies nothing takes any id its sender names.
      dedupeKey: await dedupeKeyOr(asSent(req, "webhook-id"), req.raw),
      eventType: stringAt(event, "type") ?? "unknown",
      locationUid: null,
      organizationUid: null,
    };
  },

  storedHeaders: () => STORED_HEADERS,
};
