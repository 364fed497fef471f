import { READ_SCOPES } from "./navigation";
import { signedForSession, signForSession } from "./session-signature";

/**
 * The banners a page shows after an action (a notice, the API's warnings about what it saved,
 * or the API's error text) travel in the redirect's query signed for the session
 * (session-signature.ts). A page shows them only in the session they were made for, so a crafted
 * link (`?error=Token expired, paste it at …`) shows nothing in anyone's session. The sign-in
 * page, which has no session, shows only its own fixed messages, named by code (SIGN_IN_MESSAGES).
 */
export type Banners = { notice?: string; warnings?: string[]; error?: string };

const LABEL = "banners";
/** What the signature covers: every banner with its kind, so none can be added, dropped or shown as another kind. */
const signedText = (b: Banners) => JSON.stringify([b.notice ?? null, b.warnings ?? [], b.error ?? null]);

/** A query parameter, or none when it has no value. */
const param = (name: string, value: string | undefined): [string, string][] => (value === undefined ? [] : [[name, value]]);

/** The query parameters that carry `banners` for this session: `notice`, `warning` (one each), `error`, and their `sig`. */
export async function bannerParams(secret: string, banners: Banners): Promise<[string, string][]> {
  return [
    ...param("notice", banners.notice),
    ...(banners.warnings ?? []).map((w): [string, string] => ["warning", w]),
    ...param("error", banners.error),
    ["sig", await signForSession(secret, LABEL, signedText(banners))],
  ];
}

/** The banners of a request's query (`query`: every value of a name), if this session's secret signed them all; else none. */
export async function bannersIn(secret: string, query: (name: string) => string[]): Promise<Banners> {
  const [notice, error, sig] = [query("notice"), query("error"), query("sig")];
  if (notice.length > 1 || error.length > 1 || sig.length !== 1) return {};
  const warnings = query("warning");
  const carried: Banners = {
    ...(notice[0] === undefined ? {} : { notice: notice[0] }),
    ...(warnings.length > 0 ? { warnings } : {}),
    ...(error[0] === undefined ? {} : { error: error[0] }),
  };
  return (await signedForSession(secret, LABEL, signedText(carried), sig[0]!)) ? carried : {};
}

/** What the sign-in page may say, by the code its URL carries. */
export const SIGN_IN_MESSAGES = {
  error: new Map([
    ["invalid-token", "That token is not valid. The admin token is the Worker's ADMIN_TOKEN (locally in .dev.vars); a scoped token is shown once when it is made and stops working when revoked."],
    [
      "nothing-to-read",
      `That token is valid, but may read none of the dashboard's pages: it holds none of ${READ_SCOPES} (a token for the API alone, such as one with write scopes only). Sign in with a token that holds one of them.`,
    ],
  ]),
  notice: new Map([
    ["signed-out", "Signed out."],
    ["unsaved", "Your session ended before that was saved: nothing was saved. Sign in, and you are taken back to do it again."],
  ]),
};
