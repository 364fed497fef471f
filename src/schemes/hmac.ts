import type { HmacConfig } from "../domain/hmac-config";
import { defineScheme, type HmacScheme } from "./scheme";

// One scheme per configuration object: a cached source keeps its object, so a warm
// isolate builds nothing per request.
const schemes = new WeakMap<HmacConfig, HmacScheme>();

/**
 * A generic HMAC, configured per source: the header, algorithm, encoding and prefix,
 * and optionally a timestamp header (epoch ms or seconds) signed with the body as
 * `${timestamp}.${body}`.
 */
export function hmacScheme(config: HmacConfig): HmacScheme {
  let scheme = schemes.get(config);
  if (!scheme) {
    scheme = defineScheme({
      header: config.header,
      prefix: config.prefix,
      // A label the source's owner types in by hand, not a secret: written in another case than the
      // sender's ("SHA256=" for "sha256="), it would refuse every event; the MAC is checked all the same.
      prefixAnyCase: true,
      encoding: config.encoding,
      // Base64 in any spelling (URL-safe, unpadded) likewise: the same bytes, whoever sends them.
      base64AnyForm: true,
      // Hex as the sender writes it: no library of its own to match, and the case carries no bits.
      hexAnyCase: true,
      hash: config.algorithm,
      timestamp: config.timestampHeader ? { header: config.timestampHeader, unit: "ms" } : undefined,
      content: config.timestampHeader ? "{timestamp}." : "",
    });
    schemes.set(config, scheme);
  }
  return scheme;
}
