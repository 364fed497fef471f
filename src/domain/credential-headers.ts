/**
 * Credential headers among a webhook's `transformHeaders`: their values are write-only. Reads show
 * `REDACTED` in their place, and a write that gives `REDACTED` keeps the stored value, so a client
 * can read a webhook, change one field and write the whole object back.
 */
import { AppError } from "./errors";

/** What reads show instead of a credential header's value. Not a valid JSONata expression, so no stored value is ever equal to it. */
export const REDACTED = "<redacted>";

/** Names that are credentials whatever else they say. */
export const CREDENTIAL_NAMES: readonly string[] = ["authorization", "proxy-authorization", "cookie", "set-cookie"];

/** A name containing any of these (in any case) is taken for a credential's. */
export const CREDENTIAL_PARTS: readonly string[] = ["token", "secret", "key", "auth", "pass", "sig", "jwt", "bearer", "private", "credential", "session"];

export function isCredentialHeader(name: string): boolean {
  const lower = name.toLowerCase();
  return CREDENTIAL_NAMES.includes(lower) || CREDENTIAL_PARTS.some((part) => lower.includes(part));
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
  Object.fromEntries([..."&<>\"'+"].map((c) => [c, `&#${c.charCodeAt(0)};`])),
];

/** How text escapes a value it quotes: JSON (with and without `\\/`), a URL's query (either case of hex), HTML. */
const ESCAPES: readonly ((form: string) => string)[] = [
  (f) => JSON.stringify(f).slice(1, -1),
  (f) => JSON.stringify(f).slice(1, -1).replaceAll("/", "\\/"),
  (f) => encodeURIComponent(f),
  (f) => encodeURIComponent(f).replace(/%[0-9A-F]{2}/g, (e) => e.toLowerCase()),
  ...HTML_STYLES.map((style) => (f: string) => f.replace(/[&<>"'+]/g, (c) => style[c] ?? c)),
];

/**
 * A word shorter than this is not looked for alone: a scheme (`Bearer`) or a common word would
 * match by chance, and a secret is longer.
 */
const MIN_WORD = 8;

/**
 * The forms a credential value may be echoed in: as sent, without its scheme (`Bearer`, `Basic`:
 * all that follows it, spaces included), each of its words of MIN_WORD characters or more alone (a
 * receiver may echo one part, an account id or a key), and each escaped as JSON, a URL or HTML
 * writes it, longest first.
 */
function echoesOf(value: string): string[] {
  // Sent trimmed (fetch trims a header's value), its scheme apart by spaces or tabs.
  const sent = value.trim();
  const [first = "", ...others] = sent.split(/[ \t]+/);
  const rest = sent.slice(first.length).replace(/^[ \t]+/, "");
  // The first word alone too, unless it is a scheme's name (letters alone: `Negotiate`): a value with no scheme may start with a secret.
  const parts = others.length > 0 ? [rest, ...(/^[A-Za-z]+$/.test(first) ? [] : [first]), ...others] : [];
  const forms = [sent, ...parts.filter((p) => p.length >= MIN_WORD)];
  const all = [...forms, ...forms.flatMap((f) => ESCAPES.map((escape) => escape(f)))];
  return [...new Set(all)].filter((f) => f.length >= MIN_SCRUBBED).sort((a, b) => b.length - a.length);
}

/**
 * `text` (what a downstream answered) with each credential header value of `sent` in it shown as
 * `REDACTED`, in the forms a downstream echoes it (`echoesOf`), one cut off at the end of the text
 * (a snippet's limit) included.
 */
export function scrubCredentials(text: string | null, sent: Readonly<Record<string, string>>): string | null {
  if (text === null) return null;
  let out = text;
  for (const [name, value] of Object.entries(sent)) {
    if (!isCredentialHeader(name)) continue;
    for (const form of echoesOf(value)) out = out.replaceAll(form, REDACTED);
    for (const form of echoesOf(value)) {
      const cut = tailCut(out, form);
      if (cut > 0) out = out.slice(0, out.length - cut) + REDACTED;
    }
  }
  return out;
}

/** How many characters at the end of `text` begin `form` (a cut-off copy), 0 when fewer than MIN_SCRUBBED. */
function tailCut(text: string, form: string): number {
  for (let cut = Math.min(form.length - 1, text.length); cut >= MIN_SCRUBBED; cut--) if (text.endsWith(form.slice(0, cut))) return cut;
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

