import { hmacScheme } from "../../schemes/hmac";
import { jsonText, valueAt } from "../../domain/documents";
import { dedupeKeyOr, invalidSignature, type Provider } from "./provider";

/**
 * Reads a dot path (`data.object.id`) out of parsed JSON, as a string. A number is
 * taken only as a safe integer: a larger one was rounded by the parse, and ids that
 * differ would read alike (so a dedupe key falls back to the body's hash).
 */
function at(value: unknown, path: string | null): string | null {
  if (!path) return null;
  const cur = valueAt(value, path.split("."));
  return typeof cur === "string" && cur !== "" ? cur : Number.isSafeInteger(cur) ? String(cur) : null;
}

/**
 * A generic HMAC source, its signature configured per source (src/schemes/hmac.ts).
 * The body may be anything; JSON paths, when configured, give the type and the dedupe key.
 */
export const hmac: Provider = {
  name: "hmac",

  scheme(source) {
    if (!source.hmac) throw invalidSignature("This source has no HMAC configuration.");
    return hmacScheme(source.hmac);
  },

  async facts(req, body, source) {
    let json: unknown = null;
    try {
      json = JSON.parse(jsonText(body));
    } catch {
      // Not JSON: still an event, with its type unknown and its body hash as dedupe key.
    }
    return {
      dedupeKey: await dedupeKeyOr(at(json, source.hmac?.dedupePath ?? null), req.raw),
      eventType: at(json, source.hmac?.typePath ?? null) ?? "unknown",
      locationUid: null,
      organizationUid: null,
    };
  },

  // The signed timestamp, when the source names one; the signature header never.
  storedHeaders: (source) => (source.hmac?.timestampHeader ? [source.hmac.timestampHeader] : []),
};
