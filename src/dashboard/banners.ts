import { signedForSession, signForSession } from "./session-signature";

/**
 * The banner a page shows after an action (a notice, or the API's error text) travels in the
 * redirect's query signed for the session (session-signature.ts). A page shows it only in the
 * session it was made for, so a crafted link (`?error=Token expired, paste it at …`) shows
 * nothing in anyone's session. The sign-in page, which has no session, shows only its own
 * fixed messages, named by code (SIGN_IN_MESSAGES).
 */
export type Banners = { notice?: string; error?: string };
type Kind = keyof Banners;
const KINDS: readonly Kind[] = ["notice", "error"];

const label = (kind: Kind) => `banner\n${kind}`;

/** The query parameters that carry `text` as this session's banner of `kind`. */
export async function bannerParams(secret: string, kind: Kind, text: string): Promise<[string, string][]> {
  return [[kind, text], ["sig", await signForSession(secret, label(kind), text)]];
}

/** The banners of a request's query that this session's secret signed; anything else is dropped. */
export async function bannersIn(secret: string, query: (name: string) => string | undefined): Promise<Banners> {
  const sig = query("sig") ?? "";
  const out: Banners = {};
  for (const kind of KINDS) {
    const text = query(kind);
    if (text !== undefined && (await signedForSession(secret, label(kind), text, sig))) out[kind] = text;
  }
  return out;
}

/** What the sign-in page may say, by the code its URL carries. */
export const SIGN_IN_MESSAGES = {
  error: new Map([["invalid-token", "That token is not valid."]]),
  notice: new Map([
    ["signed-out", "Signed out."],
    ["unsaved", "Your session ended before that was saved: nothing was saved. Sign in, and you are taken back to do it again."],
  ]),
};
