import { hexToBytes, utf8 } from "../domain/crypto";
import { toHex } from "../domain/ids";

/**
 * The banner a page shows after an action (a notice, or the API's error text) travels in the
 * redirect's query with an HMAC of it keyed by the session's own cookie secret. A page shows it
 * only in the session it was made for, so a crafted link (`?error=Token expired, paste it at …`)
 * shows nothing in anyone's session. The sign-in page, which has no session, shows only its own
 * fixed messages, named by code (SIGN_IN_MESSAGES).
 */
export type Banners = { notice?: string; error?: string };
type Kind = keyof Banners;
const KINDS: readonly Kind[] = ["notice", "error"];

// Not the shared key cache of domain/crypto: a key per session would crowd out the signature schemes' keys.
const key = (secret: string, usage: "sign" | "verify") =>
  crypto.subtle.importKey("raw", utf8(secret), { name: "HMAC", hash: "SHA-256" }, false, [usage]);
const signed = (kind: Kind, text: string) => utf8(`edgehook dashboard banner\n${kind}\n${text}`);

/** The query parameters that carry `text` as this session's banner of `kind`. */
export async function bannerParams(secret: string, kind: Kind, text: string): Promise<[string, string][]> {
  const mac = await crypto.subtle.sign("HMAC", await key(secret, "sign"), signed(kind, text));
  return [[kind, text], ["sig", toHex(mac)]];
}

/** The banners of a request's query that this session's secret signed; anything else is dropped. */
export async function bannersIn(secret: string, query: (name: string) => string | undefined): Promise<Banners> {
  const sig = hexToBytes(query("sig") ?? "", 32);
  const out: Banners = {};
  if (!sig) return out;
  for (const kind of KINDS) {
    const text = query(kind);
    if (text !== undefined && (await crypto.subtle.verify("HMAC", await key(secret, "verify"), sig, signed(kind, text)))) out[kind] = text;
  }
  return out;
}

/** What the sign-in page may say, by the code its URL carries. */
export const SIGN_IN_MESSAGES = {
  error: new Map([["invalid-token", "That token is not valid."]]),
  notice: new Map([["signed-out", "Signed out."]]),
};
