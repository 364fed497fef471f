// How a generic `hmac` source is signed, defined once: the stored column is read back
// through this schema's guard, and the API's HmacConfigSchema (src/api/schemas/sources.ts)
// extends it with what a request must also satisfy (defaults, header and path syntax)
// and its OpenAPI description. Its z is the Worker's (./zod.ts), so a member the bundle lacks is a type error.
import { z } from "./zod";
import { parses } from "./guards";

export const HmacConfigShape = z.object({
  /** The header carrying the signature, e.g. `x-signature`. */
  header: z.string(),
  algorithm: z.enum(["SHA-256", "SHA-1", "SHA-512"]),
  encoding: z.enum(["hex", "base64"]),
  /** Stripped from the header value before decoding, e.g. `sha256=`. */
  prefix: z.string(),
  /** When set, the signed content is `${timestamp}.${body}` and the timestamp must be fresh. */
  timestampHeader: z.string().nullable(),
  /** Dot paths into the JSON body for the event type and the dedupe key. */
  typePath: z.string().nullable(),
  dedupePath: z.string().nullable(),
});

export type HmacConfig = z.infer<typeof HmacConfigShape>;

export const isHmacConfig = parses(HmacConfigShape);
