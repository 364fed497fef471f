/**
 * Credential headers among a webhook's `transformHeaders`: their values are write-only. Reads show
 * `REDACTED` in their place, and a write that gives `REDACTED` keeps the stored value, so a client
 * can read a webhook, change one field and write the whole object back.
 */
import { base64ToBytes, bytesToBase64, bytesToBase64url, fromUtf8, utf8 } from "./crypto";
import { AppError } from "./errors";
import { JSON_WRITERS } from "./json-writers";

/** What reads show instead of a credential header's value. Not a valid JSONata expression, so no stored value is ever equal to it. */
export const REDACTED = "<redacted>";

/** Names that are credentials whatever else they say. */
export const CREDENTIAL_NAMES: readonly string[] = ["authorization", "proxy-authorization", "cookie", "set-cookie"];

/** A name containing any of these (in any case) is taken for a credential's. */
export const CREDENTIAL_PARTS: readonly string[] = ["token", "secret", "key", "auth", "pass", "sig", "jwt", "bearer", "private", "credential", "session", "hmac", "pwd"];

/** These only as a whole word of the name (between `-`, `_` or `.`): inside words they are common (`shipping`, `footprint`). */
export const CREDENTIAL_WORDS: readonly string[] = ["otp", "pin"];

/** Two words that together are a credential's name (`x-access-code`), though `code` alone is not (`x-country-code`). */
const CREDENTIAL_PHRASES: readonly (readonly [string, string])[] = [["access", "code"]];

export function isCredentialHeader(name: string): boolean {
  const lower = name.toLowerCase();
  if (CREDENTIAL_NAMES.includes(lower) || CREDENTIAL_PARTS.some((part) => lower.includes(part))) return true;
  const words = lower.split(/[-_.]+/);
  return words.some((word, i) => CREDENTIAL_WORDS.includes(word) || CREDENTIAL_PHRASES.some(([a, b]) => word === a && words[i + 1] === b));
}

/** The headers as a read may show them: each credential header's value replaced by `REDACTED`. */
export function redactHeaders(headers: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, isCredentialHeader(name) ? REDACTED : value]));
}

/** A credential shorter than this is not looked for in text: it would match by chance. */
const MIN_SCRUBBED = 4;

/** HTML escapings seen in error pages: named, as Python's html.escape, as Go's html.EscapeString, and numeric (Go's html/template writes `+` so too). */
const HTML_STYLES: readonly Readonly<Record<string, string>>[] = [
  { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" },
  { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;" },
  { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&#34;", "'": "&#39;" },
  // PHP's htmlspecialchars (ENT_QUOTES, its default since 8.1).
  { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#039;" },
  Object.fromEntries([..."&<>\"'+"].map((c) => [c, `&#${c.charCodeAt(0)};`])),
];

/**
 * How text escapes a value it quotes: JSON as its writers do (JSON_WRITERS; any case of an escape's
 * hex matches: scrubbing ignores case), a URL's query (either case of hex), HTML.
 */
const ESCAPES: readonly ((form: string) => string)[] = [
  ...JSON_WRITERS,
  (f) => encodeURIComponent(f),
  (f) => encodeURIComponent(f).replace(/%[0-9A-F]{2}/g, (e) => e.toLowerCase()),
  ...HTML_STYLES.map((style) => (f: string) => f.replace(/[&<>"'+]/g, (c) => style[c] ?? c)),
];

/**
 * A word shorter than this is not looked for alone: a scheme (`Bearer`) or a common word would
 * match by chance, and a secret is longer. A word's copy cut off by the text's end counts from
 * this many characters too: a part's first few (`acct`) are as common.
 */
const MIN_WORD = 8;

/** What parts a value's words: spaces and tabs, and the `,` and `;` between parameters (SigV4's, a cookie's). */
const WORD_BREAK = /[ \t,;]+/;

/** A `name=value` word: its value (not a base64 pad's `=`: `YWJj==` is no parameter). */
const PARAM = /^[A-Za-z][\w.-]*=([^=][^]*)$/;

/**
 * A protocol's name, not a secret: parts joined by `-`, each letters maybe ending in digits
 * (`x-amz-date`, `hmac-sha256`, `AWS4-HMAC-SHA256`). A part that starts with a digit or mixes
 * them in (`acct-9F3K2`, a UUID) is no name.
 */
const NAME = /^[A-Za-z]+\d*(?:-[A-Za-z]+\d*)+$/;

/** A form to look for, and how many of its first characters ending the text count as a cut-off copy. */
interface Echo {
  form: string;
  cutFrom: number;
}

/**
 * What a word may be echoed as alone: its value (after `name=`, without quotes or parentheses
 * round it), and that value's part before its first `/` (SigV4's access key id before its scope;
 * `/` parts no more, as base64 carries it and a scope's parts are public: `us-east-1`), each of
 * MIN_WORD characters or more and not a name.
 */
function valuesOf(word: string): string[] {
  const value = (PARAM.exec(word)?.[1] ?? word).replace(/^["'(]+|["')]+$/g, "");
  return [value, value.split("/")[0] ?? ""].filter((v) => v.length >= MIN_WORD && !NAME.test(v));
}

/** Base64 of a form's UTF-8, standard and URL-safe, with and without its padding. */
function base64Of(form: string): string[] {
  const padded = bytesToBase64(utf8(form));
  const url = bytesToBase64url(utf8(form));
  return [padded, padded.replace(/=+$/, ""), url, url.padEnd(padded.length, "=")];
}

/** What a Basic value's base64 (`user:password`) decodes to, when it is that: the pair, and each side. */
function basicPair(scheme: string, token: string): string[] {
  if (scheme.toLowerCase() !== "basic") return [];
  const bytes = base64ToBytes(token);
  // Not UTF-8 text: nothing a receiver would echo as text.
  const pair = bytes === null ? "" : fromUtf8(bytes);
  const colon = pair.indexOf(":");
  return colon < 0 || pair.includes("\uFFFD") ? [] : [pair, pair.slice(0, colon), pair.slice(colon + 1)];
}

/**
 * The forms a credential value may be echoed in: as sent; without its scheme (`Bearer`, `Basic`,
 * `AWS4-HMAC-SHA256`: all that follows it, spaces included); each of its words' values alone (a
 * receiver may echo one part: an account id, a key, a cookie's value); a Basic value's
 * `user:password` as decoded, and each side of it alone; the value as sent and without its scheme
 * in base64 (a receiver logging the header it got as bytes); and each escaped as JSON, a URL or HTML
 * writes it, longest first. A copy cut off at the text's end counts from MIN_SCRUBBED characters
 * past the scheme of the value as sent, and of a single token after its scheme (as `Bearer sk_…`),
 * from MIN_WORD of a part of a value of several words, or of a base64 form past what spells the
 * scheme, and from a Basic pair's first character past its colon. Forms are matched in any case of letters
 * (a receiver may upper-case what it echoes).
 */
function echoesOf(value: string): Echo[] {
  // Sent trimmed (fetch trims a header's value), its scheme apart by spaces or tabs.
  const sent = value.trim();
  const [first = "", ...others] = sent.split(/[ \t]+/);
  // A scheme is a name (letters alone, `Negotiate`, or hyphenated, `AWS4-HMAC-SHA256`): a value with no scheme may start with a secret.
  const scheme = others.length > 0 && (/^[A-Za-z]+$/.test(first) || NAME.test(first));
  const rest = scheme ? sent.slice(first.length).replace(/^[ \t]+/, "") : sent;
  const words = rest.split(WORD_BREAK).filter((w) => w !== "");
  const cutFrom = new Map<string, number>();
  const add = (form: string, from: number) => cutFrom.set(form, Math.min(from, cutFrom.get(form) ?? from));
  // A copy cut off counts only once it reaches past what is public: the scheme (`basic`, `Bearer`
  // end many a sentence), a Basic pair's user name, the base64 that spells no more than the scheme.
  // (A whole user name of MIN_WORD characters or more is still scrubbed, as each side of the pair.)
  const schemeLength = sent.length - rest.length;
  add(sent, schemeLength + MIN_SCRUBBED);
  if (scheme) add(rest, words.length === 1 ? MIN_SCRUBBED : MIN_WORD);
  for (const v of words.flatMap(valuesOf)) add(v, MIN_WORD);
  const [pair, ...sides] = scheme && words.length === 1 ? basicPair(first, rest) : [];
  if (pair !== undefined) add(pair, Math.max(MIN_SCRUBBED, pair.indexOf(":") + 2));
  for (const v of sides.flatMap(valuesOf)) add(v, MIN_WORD);
  for (const b64 of base64Of(sent)) add(b64, Math.ceil((schemeLength * 4) / 3) + MIN_WORD);
  if (scheme) for (const b64 of base64Of(rest)) add(b64, MIN_WORD);
  for (const [form, from] of [...cutFrom]) for (const escape of ESCAPES) add(escape(form), from);
  return [...cutFrom]
    .filter(([form]) => form.length >= MIN_SCRUBBED)
    .sort(([a], [b]) => b.length - a.length)
    .map(([form, from]) => ({ form, cutFrom: from }));
}

/**
 * `text` (what a downstream answered) with each credential header value of `sent` in it shown as
 * `REDACTED`, in the forms a downstream echoes it (`echoesOf`), one cut off at the end of the text
 * (a snippet's limit) included.
 */
export function scrubCredentials(text: string | null, sent: Readonly<Record<string, string>>): string | null {
  if (text === null) return null;
  const echoes = Object.entries(sent).flatMap(([name, value]) => (isCredentialHeader(name) ? echoesOf(value) : []));
  // The cut-off copy is sought in the text as answered: a whole form replaced first (a value's part
  // before its `/`) would leave a tail that no longer begins any form.
  const cut = Math.max(0, ...echoes.map((echo) => tailCut(text, echo)));
  let out = text.slice(0, text.length - cut);
  for (const { form } of echoes.sort((a, b) => b.form.length - a.form.length)) out = out.replace(new RegExp(literally(form), "gi"), REDACTED);
  return cut > 0 ? out + REDACTED : out;
}

/** A RegExp source matching `text` as written. */
const literally = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");

/** How many characters at the end of `text` begin `form` (a cut-off copy), in any case, 0 when fewer than its `cutFrom`. */
function tailCut(text: string, { form, cutFrom }: Echo): number {
  const end = text.slice(-form.length).toLowerCase();
  const lower = form.toLowerCase();
  for (let cut = Math.min(form.length - 1, text.length); cut >= cutFrom; cut--) if (end.endsWith(lower.slice(0, cut))) return cut;
  return 0;
}

/**
 * The headers to store from a write: a header given as `REDACTED` keeps its stored value (names
 * compared in lower case, as they are stored); one not stored is refused (`invalid_request`),
 * since there is nothing to keep. A header left out of `given` is dropped.
 */
export function keepRedacted(
  given: Readonly<Record<string, string>>,
  stored: Readonly<Record<string, string>> | null,
): Record<string, string> {
  const kept: [string, string][] = [];
  const issues: { path: string; message: string }[] = [];
  for (const [name, value] of Object.entries(given)) {
    const lower = name.toLowerCase();
    const previous = stored !== null && Object.hasOwn(stored, lower) ? stored[lower] : undefined;
    if (value !== REDACTED) kept.push([name, value]);
    else if (previous !== undefined) kept.push([name, previous]);
    else {
      issues.push({
        path: `transformHeaders.${name}`,
        message: `"${REDACTED}" keeps a stored value, and this webhook stores none for ${name}: give its expression`,
      });
    }
  }
  const first = issues[0];
  if (first) throw new AppError("invalid_request", `Invalid body: ${first.path}: ${first.message}.`, { issues });
  return Object.fromEntries(kept);
}

/**
 * Refuses a change of a webhook's URL that would carry stored credential headers to it
 * without their values being given again (as real values, not `REDACTED`, or by leaving them
 * out): a token that may change the URL cannot read them, so it must not be able to have them
 * sent to an address of its choosing. Any change counts, not only of origin: one host often
 * serves many receivers by path (a catch-all webhook inbox).
 */
export function assertCredentialsStay(
  before: { url: string; transformHeaders: Readonly<Record<string, string>> | null },
  after: { url: string; transformHeaders: Readonly<Record<string, string>> | null },
  given: Readonly<Record<string, string>> | undefined,
): void {
  if (after.url === before.url) return;
  const carried = Object.keys(before.transformHeaders ?? {}).filter(
    (name) => isCredentialHeader(name) && after.transformHeaders?.[name] !== undefined && (given?.[name] ?? REDACTED) === REDACTED,
  );
  if (carried.length === 0) return;
  throw new AppError(
    "invalid_request",
    `A new URL would receive the stored credential header${carried.length > 1 ? "s" : ""} ${carried.join(", ")}: give ${carried.length > 1 ? "their values" : "its value"} again in transformHeaders, or leave ${carried.length > 1 ? "them" : "it"} out.`,
    { issues: carried.map((name) => ({ path: `transformHeaders.${name}`, message: "give the value again to send it to a new URL" })) },
  );
}

