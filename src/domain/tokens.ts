import { bytesToBase64, hmac, utf8 } from "./crypto";
import { toHex } from "./ids";

/** A new API token: `ehk_` + 32 random bytes, base64url. Shown once, never stored. */
export function newApiToken(): string {
  const b64 = bytesToBase64(crypto.getRandomValues(new Uint8Array(32)));
  return `ehk_${b64.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "")}`;
}

/**
 * What the database keeps of a token: an HMAC keyed by a server-side pepper
 * (TOKEN_PEPPER), so a leaked table neither reveals nor verifies tokens offline.
 */
export async function hashApiToken(token: string, pepper: string | undefined): Promise<string> {
  return toHex(await hmac(pepper || "edgehook-token-hash", utf8(token)));
}
