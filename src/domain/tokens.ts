import { bytesToBase64, hmac, utf8 } from "./crypto";
import { toHex } from "./ids";

/** 32 random bytes, base64url without padding (43 characters). */
export function randomSecret(): string {
  const b64 = bytesToBase64(crypto.getRandomValues(new Uint8Array(32)));
  return b64.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** A new API token: `ehk_` + a random secret. Shown once, never stored. */
export function newApiToken(): string {
  return `ehk_${randomSecret()}`;
}

/**
 * What the database keeps of a token: an HMAC keyed by a server-side pepper
 * (TOKEN_PEPPER), so a leaked table neither reveals nor verifies tokens offline.
 */
export async function hashApiToken(token: string, pepper: string | undefined): Promise<string> {
  return toHex(await hmac(pepper || "edgehook-token-hash", utf8(token)));
}
