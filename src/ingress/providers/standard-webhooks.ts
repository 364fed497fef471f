import { base64ToBytes, concatBytes, macMatchesAny, utf8, verificationKey, withinTolerance } from "../../domain/crypto";
import {
  capCandidates,
  capSignatureHeader,
  dedupeKeyOr,
  header,
  invalidSignature,
  jsonObject,
  missingSignature,
  staleTimestamp,
  stringAt,
  type Provider,
} from "./provider";

const STORED_HEADERS = ["webhook-id", "webhook-timestamp"] as const;

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
    capSignatureHeader("webhook-signature", header);
    const entries = header.split(" ").filter(Boolean);
    capCandidates("webhook-signature", entries.length);

    const candidates: Uint8Array[] = [];
    for (const entry of entries) {
      const [version, b64] = entry.split(",", 2);
      const sig = version === "v1" && b64 ? base64ToBytes(b64) : null;
      if (sig && sig.byteLength === 32) candidates.push(sig);
    }
    const keys = source.secrets.flatMap((s) => verificationKey(s) ?? []);
    const signed = concatBytes(utf8(`${id}.${timestamp}.`), req.raw);
    if (!(await macMatchesAny(keys, candidates, signed))) {
      throw invalidSignature("No v1 entry of webhook-signature matches under the source's secrets.");
    }
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

  storedHeaders: () => STORED_HEADERS,
};
