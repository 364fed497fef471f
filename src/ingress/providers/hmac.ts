import { base64ToBytes, concatBytes, hexToBytes, utf8, verifyHmacAny, withinTolerance } from "../../domain/crypto";
import type { HmacConfig } from "../../domain/types";
import { dedupeKeyOr, header, invalidSignature, missingSignature, staleTimestamp, type Provider } from "./provider";

const DIGEST_BYTES: Record<HmacConfig["algorithm"], number> = { "SHA-1": 20, "SHA-256": 32, "SHA-512": 64 };

/** Reads a dot path (`data.object.id`) out of parsed JSON, as a string. */
function at(value: unknown, path: string | null): string | null {
  if (!path) return null;
  let cur = value;
  for (const key of path.split(".")) {
    if (cur === null || typeof cur !== "object") return null;
    cur = (cur as Record<string, unknown>)[key];
  }
  return typeof cur === "string" && cur !== "" ? cur : typeof cur === "number" ? String(cur) : null;
}

/**
 * A generic HMAC source, configured per source: which header, algorithm,
 * encoding and prefix, and whether a timestamp header is signed with the body
 * (as `${timestamp}.${body}`). The body may be anything; JSON paths, when
 * configured, give the type and the dedupe key.
 */
export const hmac: Provider = {
  name: "hmac",

  async verify(req, source) {
    const config = source.hmac;
    if (!config) throw invalidSignature("This source has no HMAC configuration.");
    const value = header(req, config.header);
    if (!value) throw missingSignature(config.header);
    if (config.prefix && !value.startsWith(config.prefix)) throw invalidSignature(`${config.header} lacks the prefix "${config.prefix}".`);
    const encoded = value.slice(config.prefix.length);
    const size = DIGEST_BYTES[config.algorithm];
    const sig = config.encoding === "hex" ? hexToBytes(encoded, size) : base64ToBytes(encoded);
    if (!sig || sig.byteLength !== size) throw invalidSignature(`${config.header} is not a ${config.encoding} HMAC-${config.algorithm}.`);

    let signed = req.raw;
    let timestamp: string | null = null;
    if (config.timestampHeader) {
      timestamp = header(req, config.timestampHeader);
      if (!timestamp) throw missingSignature(config.timestampHeader);
      if (!/^\d{1,16}$/.test(timestamp)) throw invalidSignature(`${config.timestampHeader} is not an epoch time.`);
      signed = concatBytes(utf8(`${timestamp}.`), req.raw);
    }
    if (!(await verifyHmacAny(source.secrets, sig, signed, config.algorithm))) {
      throw invalidSignature(`${config.header} does not match under the source's secrets.`);
    }
    if (timestamp !== null) {
      const seconds = timestamp.length >= 13 ? Number(timestamp) / 1000 : Number(timestamp);
      if (!withinTolerance(seconds, req.now, source.toleranceSeconds)) throw staleTimestamp(source.toleranceSeconds);
    }
  },

  async facts(req, body, source) {
    let json: unknown = null;
    try {
      json = JSON.parse(body);
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
