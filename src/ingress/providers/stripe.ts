import { concatBytes, hexToBytes, macMatchesAny, utf8, withinTolerance } from "../../domain/crypto";
import { capCandidates, capSignatureHeader, dedupeKeyOr, header, invalidSignature, jsonObject, missingSignature, staleTimestamp, stringAt, type Provider } from "./provider";

/**
 * Stripe: `Stripe-Signature: t=<seconds>,v1=<hex>[,v1=<hex>…]`, each v1 the hex
 * HMAC-SHA256 of `${t}.${rawBody}` keyed by the whole `whsec_…` string.
 */
export const stripe: Provider = {
  name: "stripe",

  async verify(req, source) {
    const value = header(req, "stripe-signature");
    if (!value) throw missingSignature("Stripe-Signature");
    capSignatureHeader("Stripe-Signature", value);
    let timestamp: string | null = null;
    let count = 0;
    const signatures: Uint8Array[] = [];
    for (const part of value.split(",")) {
      const [k, v] = part.trim().split("=", 2);
      if (k === "t" && v) timestamp = v;
      if (k === "v1" && v) {
        count++;
        const bytes = hexToBytes(v, 32);
        if (bytes) signatures.push(bytes);
      }
    }
    capCandidates("Stripe-Signature", count);
    if (!timestamp || !/^\d{1,12}$/.test(timestamp)) throw invalidSignature("Stripe-Signature has no t= timestamp.");
    if (signatures.length === 0) throw invalidSignature("Stripe-Signature has no v1= signature.");
    const signed = concatBytes(utf8(`${timestamp}.`), req.raw);
    if (!(await macMatchesAny(source.secrets, signatures, signed))) {
      throw invalidSignature("No v1 signature of Stripe-Signature matches under the source's secrets.");
    }
    if (!withinTolerance(Number(timestamp), req.now, source.toleranceSeconds)) throw staleTimestamp(source.toleranceSeconds);
  },

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
