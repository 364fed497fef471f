import { hexToBytes, openWith, SEAL_IV_BYTES, sealWith, toHex, utf8 } from "../domain/crypto";

/**
 * What the dashboard carries in a redirect's query for the next page (a banner, where a
 * "retry failed" press ended) is signed with an HMAC keyed by the session's own cookie
 * secret, under a label naming what it is: a page takes it only in the session it was
 * made for, and only as what it was made as, so a crafted link makes nothing of it.
 */

// Not the shared key cache of domain/crypto: a key per session would crowd out the signature schemes' keys.
const key = (secret: string, usage: "sign" | "verify") =>
  crypto.subtle.importKey("raw", utf8(secret), { name: "HMAC", hash: "SHA-256" }, false, [usage]);
const signed = (label: string, text: string) => utf8(`edgehook dashboard ${label}\n${text}`);

/** The signature (hex) of `text` as a `label` for this session. */
export async function signForSession(secret: string, label: string, text: string): Promise<string> {
  return toHex(await crypto.subtle.sign("HMAC", await key(secret, "sign"), signed(label, text)));
}

/** Whether `sig` (hex, as the query carried it) is this session's signature of `text` as a `label`. */
export async function signedForSession(secret: string, label: string, text: string, sig: string): Promise<boolean> {
  const mac = hexToBytes(sig, 32);
  return mac !== null && crypto.subtle.verify("HMAC", await key(secret, "verify"), mac, signed(label, text));
}

/** The AES-GCM key for what is sealed as a `label` for this session: the HMAC of the label under its secret. */
async function sealKey(secret: string, label: string): Promise<CryptoKey> {
  const raw = await crypto.subtle.sign("HMAC", await key(secret, "sign"), utf8(`edgehook dashboard seal\n${label}`));
  return crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]);
}

/**
 * `text` encrypted (AES-GCM, a random IV) as a `label` for this session, as base64url: what waits
 * for the session on the server (a secret shown once) is then of no use without the cookie,
 * which the server keeps only as a hash.
 */
export async function sealForSession(secret: string, label: string, text: string): Promise<string> {
  return sealWith(await sealKey(secret, label), crypto.getRandomValues(new Uint8Array(SEAL_IV_BYTES)), text);
}

/** The text sealForSession sealed as a `label` for this session; null for anything else. */
export function unsealForSession(secret: string, label: string, sealed: string): Promise<string | null> {
  return openWith(sealKey(secret, label), sealed);
}
