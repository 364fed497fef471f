import { hexToBytes, utf8 } from "../domain/crypto";
import { toHex } from "../domain/crypto";

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
