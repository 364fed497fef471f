import { base64ToBytes, concatBytes, standardWebhooksKey, utf8, verifyHmacAny, withinTolerance } from "../../domain/crypto";
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

/**
 * Standard Webhooks: `webhook-signature` holds space-separated `v1,<base64>` entries,
 * each an HMAC-SHA256 of `${webhook-id}.${webhook-timestamp}.${rawBody}`.
 */
export const standardWebhooks: Provider = {
  name: "standard-webhooks",

  async verify(req, source) {
    const id = req.headers.get("webhook-id")?.trim();
    const timestamp = req.headers.get("webhook-timestamp")?.trim();
    const header = req.headers.get("webhook-signature")?.trim();
    if (!id || !timestamp || !header) throw missingSignature("webhook-id, webhook-timestamp and webhook-signature");
    if (!/^\d{1,12}$/.test(timestamp)) throw invalidSignature("webhook-timestamp is not epoch seconds.");

    const signed = concatBytes(utf8(`${id}.${timestamp}.`), req.raw);
    const keys = source.secrets.map(standardWebhooksKey);
    let valid = false;
    for (const entry of header.split(" ")) {
      const [version, b64] = entry.split(",", 2);
      const sig = version === "v1" && b64 ? base64ToBytes(b64) : null;
      if (sig && sig.byteLength === 32 && (await verifyHmacAny(keys, sig, signed))) {
        valid = true;
        break;
      }
    }
    if (!valid) throw invalidSignature("No v1 entry of webhook-signature matches under the source's secrets.");
    if (!withinTolerance(Number(timestamp), req.now, source.toleranceSeconds)) {
      throw staleTimestamp(source.toleranceSeconds);
    }
  },

  async facts(req, body) {
    const event = jsonObject(body, "Standard Webhooks");
    return {
      // verify() already required the header, but a `verification: "none"` source may not have it.
      dedupeKey: await dedupeKeyOr(header(req, "webhook-id"), req.raw),
      eventType: stringAt(event, "type") ?? "unknown",
      locationUid: null,
      organizationUid: null,
    };
  },
};
