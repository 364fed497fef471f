import { defineScheme } from "./scheme";

/**
 * Podium: `podium-signature` is the hex HMAC-SHA256, keyed by the secret's UTF-8
 * bytes, of `${podium-timestamp}.${rawBody}`; upper or lower case hex, optionally
 * after `sha256=`. The timestamp is epoch ms (13 digits) or seconds; Podium, and
 * Edgehook's outbound deliveries, send ms.
 */
export const podium = defineScheme({
  header: "podium-signature",
  prefix: "sha256=",
  optionalPrefix: true,
  encoding: "hex",
  hexAnyCase: true,
  timestamp: { header: "podium-timestamp", unit: "ms" },
  content: "{timestamp}.",
});
