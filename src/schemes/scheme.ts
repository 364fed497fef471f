import { base64ToBytes, bytesToBase64, concatBytes, hexToBytes, hmac, hmacKey, toHex, utf8, UTF8_KEY, type HmacHash, type KeyDerivation } from "../domain/crypto";
import { AppError } from "../domain/errors";

/**
 * What an HMAC signature scheme signs and how it writes the signature: one
 * description that both `sign` and `verify` follow, so the two agree by construction.
 */
interface SchemeSpec {
  /** The header carrying the signature (lower case). */
  header: string;
  /** Written before each encoded MAC (`v1,`, `sha256=`). */
  prefix: string;
  /** The prefix may be left out, or sent in any case; signing leaves it out. */
  optionalPrefix?: boolean;
  /** The prefix is matched in any (ASCII) case, but must be there (a generic hmac source's, configured by hand). */
  prefixAnyCase?: boolean;
  encoding: "hex" | "base64";
  /**
   * Base64 in any spelling of the same bytes (URL-safe, unpadded, other padding bits): a generic
   * source's sender is anyone. Otherwise only the canonical standard base64 of the MAC, the text the
   * providers' own verifiers compare.
   */
  base64AnyForm?: boolean;
  /**
   * Hex digits in either case (Podium's contract says so; a generic source's sender is anyone). Otherwise
   * lower case only: the providers' own verifiers compare the lower-case hex they compute as a string.
   */
  hexAnyCase?: boolean;
  hash?: HmacHash;
  /** The header may carry several signatures, separated by this. */
  separator?: string;
  /**
   * The header is one signature, as its provider sends it: a list or a second copy (joined by ", ")
   * is not one, and is refused whole.
   */
  oneValue?: boolean;
  /**
   * Entries are split at the separator only and read as they stand, none trimmed, as the provider's
   * parser does (stripe-node): ` v1=…` after a `, ` is no `v1=`, nor ` t=…` a timestamp.
   */
  entriesAsSent?: boolean;
  /**
   * The signed timestamp: its own header, or an entry of the signature header (`t=`).
   * In `s` it is epoch seconds; in `ms` it is signed in milliseconds, and seconds are accepted too.
   */
  timestamp?: { header: string; unit: "s" | "ms" } | { entry: string; unit: "s"; aheadSeconds?: number };
  /** The header naming the message, when the signed content includes it. */
  idHeader?: string;
  /** What is signed before the raw body; `{id}` and `{timestamp}` stand for those values. */
  content: string;
  /** The key a secret gives; its UTF-8 bytes unless said otherwise. */
  key?: KeyDerivation;
  /** The key a secret gives when signing, where that differs. */
  signingKey?: KeyDerivation;
}

/** A request as received: what a signature covers. */
export interface SignedRequest {
  headers: Headers;
  /** The raw body bytes, exactly as received. */
  raw: Uint8Array;
  /** Epoch milliseconds at the edge. */
  now: number;
}

interface SignOptions {
  /** Epoch milliseconds; now by default. */
  now?: number;
  /** The timestamp to send as it is, instead of `now` in the scheme's unit. */
  timestamp?: string;
  /** The message id, for schemes that sign one; random by default. */
  id?: string;
}

/** One signature scheme: what a sender does, and what a receiver checks. */
export interface Scheme {
  /** The headers a sender attaches to `body` signed with `secret`. */
  sign(secret: string, body: string | Uint8Array, options?: SignOptions): Promise<Record<string, string>>;
  /** Returns when one of `secrets` signed the request within the tolerance (0: unchecked); throws AppError 401 otherwise. */
  verify(req: SignedRequest, secrets: readonly string[], toleranceSeconds: number): Promise<void>;
}

/** A signature header may carry this many candidate signatures, in this many characters. */
const MAX_SIGNATURE_CANDIDATES = 10;
const MAX_SIGNATURE_HEADER_CHARS = 4096;
/** How Fetch's `Headers` joins the values of a header sent more than once. */
const REPEATED = ", ";

const DIGEST_BYTES: Record<HmacHash, number> = { "SHA-1": 20, "SHA-256": 32, "SHA-512": 64 };
const EPOCH = { s: /^\d{1,12}$/, ms: /^\d{1,16}$/ };

const missingSignature = (missing: string[]) =>
  new AppError("missing_signature", `The request has no ${missing.join(" or ")} header${missing.length > 1 ? "s" : ""}; it must be signed.`);
export const invalidSignature = (why: string) => new AppError("invalid_signature", why);
// Said only of a signature that matched: how far off, and which way, tells a request sent again
// later (a replay, a queue that held it) from a sender's clock that is wrong. Rounded up: a
// millisecond timestamp 300.4 s off is out of a 300 s tolerance, so never said to be 300 s off.
const staleTimestamp = (toleranceSeconds: number, ageSeconds: number) =>
  new AppError(
    "timestamp_out_of_tolerance",
    `The signature is right, but its timestamp is ${Math.ceil(Math.abs(ageSeconds))} s ${ageSeconds > 0 ? "old" : "ahead of the current time"}, more than the ${toleranceSeconds} s allowed: sign each request as it is sent, with a clock that is right.`,
  );

/** A header's trimmed value, or null. */
export function header(req: { headers: Headers }, name: string): string | null {
  return req.headers.get(name)?.trim() || null;
}

/** 400 `malformed_payload`: a header that names one thing came more than once. */
const repeatedHeader = (name: string) =>
  new AppError("malformed_payload", `${name} was sent more than once (or holds a comma); it names one value, so send it once.`, {
    issues: [{ path: `headers.${name}`, message: "sent more than once: one value expected" }],
  });

/**
 * A header that names one thing (an event's type, a shop, a signed timestamp): its trimmed value,
 * or null; AppError 400 (repeatedHeader) when it holds a comma. Sent twice, Fetch's Headers hand
 * over the copies joined by ", " ("ping, push"), which would be stored as a type or an owner no
 * sender meant; none of these values has a comma of its own. The one rule for every such header,
 * so a provider cannot read one leniently (its fact reads go through it: provider.ts). Not for a
 * value that may hold a comma (Standard Webhooks' webhook-id: read as sent, its signature decides).
 */
export function singleHeader(req: { headers: Headers }, name: string): string | null {
  const value = header(req, name);
  if (value?.includes(",")) throw repeatedHeader(name);
  return value;
}

/** ASCII lower case: a prefix is an ASCII label, so no other script's letters fold into it. */
const asciiLower = (s: string) => s.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 32));

/**
 * Throws 401 timestamp_out_of_tolerance for a timestamp further than the tolerance from the
 * clock (ahead of it, further than `aheadSeconds` when given); tolerance 0 turns the check off. A timestamp in
 * whole seconds is compared with the clock's whole second, as the providers' own libraries do
 * (stripe, standardwebhooks): one exactly the tolerance old is within it, not refused for the
 * fraction of a second the clock has moved on.
 */
function assertWithinTolerance(timestamp: string, inMs: boolean, nowMs: number, toleranceSeconds: number, aheadSeconds = 0): void {
  if (toleranceSeconds === 0) return;
  const ageSeconds = inMs ? (nowMs - Number(timestamp)) / 1000 : Math.floor(nowMs / 1000) - Number(timestamp);
  const ahead = Math.max(aheadSeconds, toleranceSeconds);
  if (ageSeconds > toleranceSeconds) throw staleTimestamp(toleranceSeconds, ageSeconds);
  if (-ageSeconds > ahead) throw staleTimestamp(ahead, ageSeconds);
}

/** What is signed before the body, as a function of the id and the timestamp: `content` parsed once. */
type Render = (id: string | undefined, timestamp: string | undefined) => string;
function template(content: string): Render {
  const parts = content.split(/(\{id\}|\{timestamp\})/);
  return (id = "", timestamp = "") => {
    let out = "";
    for (const p of parts) out += p === "{id}" ? id : p === "{timestamp}" ? timestamp : p;
    return out;
  };
}

/**
 * Hex a provider's verifier never takes (upper case, where it compares lower case): decoded to no bytes,
 * so it matches no MAC (macMatchesAny compares lengths first) and is answered as any wrong MAC is.
 */
const NO_MATCH = new Uint8Array(0);

/** One candidate signature's MAC bytes, or null when it is not one this scheme writes. */
function decode(spec: SchemeSpec, entry: string): Uint8Array | null {
  let encoded = entry;
  if (spec.prefix) {
    const prefixed =
      entry.startsWith(spec.prefix) || ((spec.optionalPrefix || spec.prefixAnyCase) && asciiLower(entry.slice(0, spec.prefix.length)) === asciiLower(spec.prefix));
    if (prefixed) encoded = entry.slice(spec.prefix.length);
    else if (!spec.optionalPrefix) return null;
  }
  const size = DIGEST_BYTES[spec.hash ?? "SHA-256"];
  const bytes = spec.encoding === "hex" ? hexToBytes(encoded, size) : base64ToBytes(encoded);
  if (!bytes || bytes.byteLength !== size) return null;
  // Re-encoded, the bytes must give the text sent: one MAC, one spelling (compared before any HMAC, so
  // it reveals nothing of the secret; the MAC itself is compared in constant time).
  if (spec.encoding === "base64" && !spec.base64AnyForm && bytesToBase64(bytes) !== encoded) return null;
  return spec.encoding === "hex" && !spec.hexAnyCase && /[A-F]/.test(encoded) ? NO_MATCH : bytes;
}

/**
 * True when one of `candidates` is the MAC of `data` under one of `secrets`. Each
 * secret's MAC is computed once, however many candidates, and every comparison is
 * constant-time, so no secret-dependent early exit exists and an extra candidate
 * costs a comparison, not an HMAC.
 */
async function macMatchesAny(spec: SchemeSpec, secrets: readonly string[], candidates: readonly Uint8Array[], data: Uint8Array): Promise<boolean> {
  for (const secret of secrets) {
    const key = hmacKey(secret, spec.hash, spec.key);
    if (!key) continue;
    const mac = new Uint8Array(await crypto.subtle.sign("HMAC", await key, data));
    let match = false;
    for (const c of candidates) if (c.byteLength === mac.byteLength && crypto.subtle.timingSafeEqual(c, mac)) match = true;
    if (match) return true;
  }
  return false;
}

/**
 * The entries of a signature header. A header sent more than once arrives joined by ", " (Fetch's
 * Headers): each copy's entries count, unless the scheme reads the header as one value, or its
 * entries as sent (then what follows a ", " starts with a space, as its provider's parser sees it).
 */
function entriesOf(spec: SchemeSpec, value: string): string[] {
  if (spec.oneValue) return [value];
  if (spec.entriesAsSent && spec.separator) return value.split(spec.separator).filter(Boolean);
  return value
    .split(REPEATED)
    .flatMap((copy) => (spec.separator ? copy.split(spec.separator) : [copy]))
    .map((e) => e.trim())
    .filter(Boolean);
}

async function verify(spec: SchemeSpec, render: Render, req: SignedRequest, secrets: readonly string[], toleranceSeconds: number): Promise<void> {
  const ts = spec.timestamp;
  const tsHeader = ts && "header" in ts ? ts.header : undefined;
  const value = header(req, spec.header);
  // A timestamp is digits: a comma is a second copy, refused. An id is read as sent: it may hold a
  // comma of its own (Standard Webhooks forbids only "."), and the signature covers it, so a second
  // copy, read joined, is not what was signed (401).
  const id = spec.idHeader ? header(req, spec.idHeader) : undefined;
  let timestamp = tsHeader ? singleHeader(req, tsHeader) : undefined;
  if (!value || id === null || timestamp === null) {
    // Named one by one: only those absent.
    const absent = [id === null && spec.idHeader, timestamp === null && tsHeader, !value && spec.header];
    throw missingSignature(absent.filter((h): h is string => typeof h === "string"));
  }
  // Bounded before any HMAC, so an unauthenticated request cannot buy CPU time.
  if (value.length > MAX_SIGNATURE_HEADER_CHARS) throw invalidSignature(`${spec.header} is too long (over ${MAX_SIGNATURE_HEADER_CHARS} characters).`);
  let entries = entriesOf(spec, value);
  if (ts && "entry" in ts) {
    for (const e of entries) if (e.startsWith(ts.entry)) timestamp = e.slice(ts.entry.length);
    entries = entries.filter((e) => !e.startsWith(ts.entry));
  }
  if (entries.length > MAX_SIGNATURE_CANDIDATES) {
    throw invalidSignature(`${spec.header} carries ${entries.length} signatures; at most ${MAX_SIGNATURE_CANDIDATES} are accepted.`);
  }
  if (ts && !EPOCH[ts.unit].test(timestamp ?? "")) {
    throw invalidSignature(`${tsHeader ?? spec.header} has no epoch timestamp in ${ts.unit === "s" ? "seconds" : "ms or seconds"}.`);
  }
  const candidates: Uint8Array[] = [];
  for (const e of entries) {
    const mac = decode(spec, e);
    if (mac) candidates.push(mac);
  }
  if (candidates.length === 0) {
    const prefix = spec.optionalPrefix ? `[${spec.prefix}]` : spec.prefix;
    throw invalidSignature(`${spec.header} is not ${prefix}<${spec.encoding} HMAC-${spec.hash ?? "SHA-256"}>.`);
  }
  const signed = concatBytes([utf8(render(id ?? undefined, timestamp ?? undefined)), req.raw]);
  if (!(await macMatchesAny(spec, secrets, candidates, signed))) {
    throw invalidSignature(`${spec.header} does not match the body under any of the source's secrets.`);
  }
  if (ts && timestamp) {
    assertWithinTolerance(timestamp, ts.unit === "ms" && timestamp.length >= 13, req.now, toleranceSeconds, "entry" in ts ? ts.aheadSeconds : undefined);
  }
}

async function sign(spec: SchemeSpec, render: Render, secret: string, body: string | Uint8Array, options: SignOptions = {}): Promise<Record<string, string>> {
  const ts = spec.timestamp;
  const now = options.now ?? Date.now();
  const timestamp = ts ? (options.timestamp ?? String(ts.unit === "ms" ? now : Math.floor(now / 1000))) : undefined;
  const id = spec.idHeader ? (options.id ?? `msg_${crypto.randomUUID()}`) : undefined;
  const prefix = render(id, timestamp);
  const data = typeof body === "string" ? utf8(prefix + body) : concatBytes([utf8(prefix), body]);
  const mac = await hmac(secret, data, spec.hash, spec.signingKey ?? spec.key ?? UTF8_KEY);
  const signature = (spec.optionalPrefix ? "" : spec.prefix) + (spec.encoding === "hex" ? toHex(mac) : bytesToBase64(mac));
  const headers: Record<string, string> = {};
  if (spec.idHeader && id) headers[spec.idHeader] = id;
  if (ts && "header" in ts && timestamp) headers[ts.header] = timestamp;
  headers[spec.header] = ts && "entry" in ts ? `${ts.entry}${timestamp}${spec.separator ?? ","}${signature}` : signature;
  return headers;
}

/** A scheme made from its description. */
export type HmacScheme = Scheme & { readonly spec: SchemeSpec };

/** A scheme from its description: `sign` and `verify` both follow `spec`. */
export function defineScheme(spec: SchemeSpec): HmacScheme {
  const render = template(spec.content);
  return {
    spec,
    sign: (secret, body, options) => sign(spec, render, secret, body, options),
    verify: (req, secrets, toleranceSeconds) => verify(spec, render, req, secrets, toleranceSeconds),
  };
}
