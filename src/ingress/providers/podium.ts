import { concatBytes, hexToBytes, utf8, verifyHmacAny, withinTolerance } from "../../domain/crypto";
import {
  dedupeKeyOr,
  invalidSignature,
  jsonObject,
  missingSignature,
  staleTimestamp,
  stringAt,
  type Provider,
} from "./provider";

const STORED_HEADERS = ["podium-timestamp"] as const;

/**
 * Podium: `podium-signature` is the hex HMAC-SHA256 of `${podium-timestamp}.${rawBody}`,
 * keyed by the secret's UTF-8 bytes. The timestamp is epoch ms (13 digits) or seconds.
 */
export const podium: Provider = {
  name: "podium",

  async verify(req, source) {
    const timestamp = req.headers.get("podium-timestamp")?.trim();
    const signature = req.headers.get("podium-signature")?.trim();
    if (!timestamp || !signature) throw missingSignature("podium-timestamp and podium-signature");
    if (!/^\d{1,16}$/.test(timestamp)) throw invalidSignature("podium-timestamp is not an epoch time.");

    const sig = hexToBytes(signature.replace(/^sha256=/i, ""), 32);
    if (!sig) throw invalidSignature("podium-signature is not a hex HMAC-SHA256.");
    const signed = concatBytes(utf8(`${timestamp}.`), req.raw);
    if (!(await verifyHmacAny(source.secrets, sig, signed))) {
      throw invalidSignature("podium-signature does not match the body under any of the source's secrets.");
    }

    const seconds = timestamp.length >= 13 ? Number(timestamp) / 1000 : Number(timestamp);
    if (!withinTolerance(seconds, req.now, source.toleranceSeconds)) throw staleTimestamp(source.toleranceSeconds);
  },

  async facts(req, body) {
    const event = jsonObject(body, "Podium");
    return {
      dedupeKey: await dedupeKeyOr(stringAt(event, "metadata", "eventUid"), req.raw),
      eventType: stringAt(event, "metadata", "eventType") ?? stringAt(event, "metadata", "event_type") ?? "unknown",
      locationUid: stringAt(event, "data", "location", "uid") ?? stringAt(event, "metadata", "locationUid"),
      organizationUid:
        stringAt(event, "data", "location", "organizationUid") ?? stringAt(event, "metadata", "organizationUid"),
    };
  },

  storedHeaders: () => STORED_HEADERS,
};
