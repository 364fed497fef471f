// Property test over the ingress, the one part the internet reaches without a token (the
// sibling of malformed-input.test.ts, which covers the API): a source of each provider gets
// (a) correctly signed requests whose bodies are malformed for that provider, and (b) requests
// whose signature headers are malformed. Each answer is a status docs/providers.md lists with
// its code, never a 5xx or a throw; a 202 only for a correctly signed request, and only a 202
// queues anything, whose message reads back (through the ingest consumer) as an event with the
// body sent byte for byte; and no answer costs a D1 write.
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { bytesToBase64, concatBytes, utf8 } from "../../src/domain/crypto";
import type { HmacConfig } from "../../src/domain/hmac-config";
import type { IngestMessage, ProviderName } from "../../src/domain/types";
import { MAX_BODY_BYTES } from "../../src/ingress/receive";
import { github } from "../../src/schemes/github";
import { hmacScheme } from "../../src/schemes/hmac";
import { podium } from "../../src/schemes/podium";
import type { HmacScheme } from "../../src/schemes/scheme";
import { shopify } from "../../src/schemes/shopify";
import { slack } from "../../src/schemes/slack";
import { standardWebhooks } from "../../src/schemes/standard-webhooks";
import { stripe } from "../../src/schemes/stripe";
import { d1Double } from "./d1-double";
import { call, podiumBody, podiumHeaders, recordingQueue } from "./helpers";
import { deep, expectWellFormed, ILL_FORMED, RAW_NUMBERS, VALUES_BY_TYPE, type Json } from "./malformed";
import { pipeline, uniqueKey } from "./pipeline";

/** Fixed, so that a failure replays; the cases are bounded to run in seconds. */
const SEED = 20261130;
const TOLERANCE_S = 300;
const SHOP = "acme-fuzz.myshopify.com";

/** The codes the ingress answers with each status (docs/providers.md, Answers); 429 is not among them: every case is its own client. */
const CODES: Record<number, string[]> = {
  400: ["malformed_payload"],
  401: ["missing_signature", "invalid_signature", "timestamp_out_of_tolerance"],
  404: ["unknown_source"],
  413: ["payload_too_large"],
  503: ["queue_unavailable"],
};

interface Target {
  name: string;
  provider: ProviderName;
  scheme: HmacScheme;
  /** Extra source fields for POST /v1/sources. */
  source?: Record<string, unknown>;
  /** A well-formed body, unique by `k`; `variant` picks among the provider's kinds of event. */
  base: (k: string, variant: number) => Record<string, Json>;
  /** The body fields the provider reads (dot paths), and their parents. */
  fields: string[];
  /** Whether the provider takes only a JSON object (all but hmac). */
  jsonObject: boolean;
}

const HMAC_PLAIN: HmacConfig = { header: "x-sig", algorithm: "SHA-256", encoding: "hex", prefix: "sha256=", timestampHeader: null, typePath: "type", dedupePath: "id" };
const HMAC_TIMED: HmacConfig = { header: "x-signature", algorithm: "SHA-512", encoding: "base64", prefix: "", timestampHeader: "x-timestamp", typePath: "meta.kind", dedupePath: "meta.id" };

const TARGETS: Target[] = [
  {
    name: "podium",
    provider: "podium",
    scheme: podium,
    base: (k, v) => ({
      data: { uid: k, body: "hello", location: { uid: `loc-${k}`, organizationUid: `org-${k}` }, after: { organization: { uid: `org-${k}` } }, locations: [{ uid: `loc-${k}` }] },
      metadata: { eventType: ["message.received", "contact.updated", "review.created", "invoice.paid"][v % 4]!, eventUid: k, version: "2021.04.01" },
    }),
    fields: [
      "metadata",
      "metadata.eventType",
      "metadata.event_type",
      "metadata.eventUid",
      "metadata.organizationUid",
      "metadata.locationUid",
      "data",
      "data.location",
      "data.location.uid",
      "data.location.organizationUid",
      "data.after.organization.uid",
      "data.before.organization.uid",
      "data.locations",
      "data.locations.0.uid",
    ],
    jsonObject: true,
  },
  {
    name: "standard-webhooks",
    provider: "standard-webhooks",
    scheme: standardWebhooks,
    base: (k) => ({ type: "invoice.paid", timestamp: "2026-01-01T00:00:00Z", data: { id: k } }),
    fields: ["type", "data"],
    jsonObject: true,
  },
  {
    name: "stripe",
    provider: "stripe",
    scheme: stripe,
    base: (k) => ({ id: `evt_${k}`, object: "event", type: "payment_intent.succeeded", account: `acct_${k}`, data: { object: {} } }),
    fields: ["id", "type", "account"],
    jsonObject: true,
  },
  {
    name: "github",
    provider: "github",
    scheme: github,
    base: (k) => ({ action: "opened", number: k, repository: { full_name: `acme/${k}` }, organization: { login: "acme" } }),
    fields: ["action", "repository", "repository.full_name", "organization", "organization.login"],
    jsonObject: true,
  },
  {
    name: "shopify",
    provider: "shopify",
    scheme: shopify,
    source: { shopDomain: SHOP },
    base: (k) => ({ id: k, total_price: "10.00" }),
    fields: ["id", "total_price"],
    jsonObject: true,
  },
  {
    name: "slack",
    provider: "slack",
    scheme: slack,
    base: (k, v) => {
      const body: Record<string, Json> =
        v % 3 === 0
          ? { token: "t", challenge: `c-${k}`, type: "url_verification" }
          : { type: "event_callback", team_id: "T1", event_id: `Ev${k}`, event: { type: "app_mention", channel: "C1" } };
      return body;
    },
    fields: ["type", "challenge", "event_id", "event", "event.type", "event.channel", "team_id"],
    jsonObject: true,
  },
  {
    name: "hmac (hex, prefix)",
    provider: "hmac",
    scheme: hmacScheme(HMAC_PLAIN),
    source: { hmac: HMAC_PLAIN },
    base: (k) => ({ type: "order.created", id: `id-${k}` }),
    fields: ["type", "id"],
    jsonObject: false,
  },
  {
    name: "hmac (base64, timestamp)",
    provider: "hmac",
    scheme: hmacScheme(HMAC_TIMED),
    source: { hmac: HMAC_TIMED },
    base: (k) => ({ meta: { kind: "order.created", id: `id-${k}` } }),
    fields: ["meta", "meta.kind", "meta.id"],
    jsonObject: false,
  },
];

// ---- bodies ----------------------------------------------------------------

/** A body as sent: its bytes, and what it is, for the failure message. */
interface Body {
  bytes: Uint8Array;
  label: string;
}

const RAW = "\u0001raw\u0001";

/** A value for a field; `raw`: JSON text put in its place (what JSON.stringify cannot write). */
interface FieldValue {
  value: Json;
  raw?: string;
}

/** Values a field the provider reads may be given instead: of other types, huge, ill-formed, or meaning something else. */
const FIELD_VALUES: fc.Arbitrary<FieldValue> = fc.oneof(
  fc.constantFrom(...Object.values(VALUES_BY_TYPE).flat()).map((value): FieldValue => ({ value })),
  fc.constantFrom(...ILL_FORMED, "\u0000", "\ufeff", "\ud83d\ude00", "a\u2028b", "contact.updated", "review.created", "url_verification", "__proto__").map((value): FieldValue => ({ value })),
  fc.constantFrom(129, 201, 257, 5_000, 70_000).map((n): FieldValue => ({ value: "x".repeat(n) })),
  fc.constantFrom(...RAW_NUMBERS).map((raw): FieldValue => ({ value: RAW, raw })),
  fc.constantFrom(2_000, 20_000).map((n): FieldValue => ({ value: RAW, raw: deep(n, "object") })),
);

/** Byte sequences that are not UTF-8: a stray continuation, an overlong slash, a surrogate, past U+10FFFF, cut short. */
const NOT_UTF8 = [[0xff], [0x80], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82]];

function setPath(obj: Record<string, Json>, path: string, value: Json): void {
  const keys = path.split(".");
  let cur: Record<string, Json> | Json[] = obj;
  for (const key of keys.slice(0, -1)) {
    const next: Json | undefined = Array.isArray(cur) ? cur[Number(key)] : cur[key];
    const made: Record<string, Json> = next !== null && typeof next === "object" && !Array.isArray(next) ? next : {};
    if (Array.isArray(cur)) cur[Number(key)] = made;
    else cur[key] = made;
    cur = made;
  }
  const last = keys.at(-1)!;
  if (Array.isArray(cur)) cur[Number(last)] = value;
  else cur[last] = value;
}

function deletePath(obj: Record<string, Json>, path: string): void {
  const keys = path.split(".");
  let cur: Json = obj;
  for (const key of keys.slice(0, -1)) {
    if (cur === null || typeof cur !== "object") return;
    cur = Array.isArray(cur) ? (cur[Number(key)] ?? null) : (cur[key] ?? null);
  }
  if (cur !== null && typeof cur === "object" && !Array.isArray(cur)) delete cur[keys.at(-1)!];
}

const splice = (text: string, at: number, inserted: Uint8Array) => {
  const bytes = utf8(text);
  const i = Math.min(at, bytes.byteLength);
  return concatBytes([bytes.subarray(0, i), inserted, bytes.subarray(i)]);
};

/** A body malformed for `target`, built from its well-formed one. */
function malformedBody(target: Target, k: string, variant: number): fc.Arbitrary<Body> {
  const base = () => target.base(k, variant);
  const text = (s: string, label: string): Body => ({ bytes: utf8(s), label });
  return fc.oneof(
    // One field the provider reads, missing or of the wrong type, size or content.
    {
      weight: 6,
      arbitrary: fc.record({ path: fc.constantFrom(...target.fields), drop: fc.boolean(), v: FIELD_VALUES }).map(({ path, drop, v }) => {
        const obj = base();
        if (drop) deletePath(obj, path);
        else setPath(obj, path, v.value);
        let s = JSON.stringify(obj);
        if (!drop && v.raw !== undefined) s = s.replace(JSON.stringify(RAW), v.raw);
        return text(s, drop ? `without ${path}` : `${path} = ${(v.raw ?? JSON.stringify(v.value) ?? "").slice(0, 60)}`);
      }),
    },
    // Not a JSON object at all.
    {
      weight: 3,
      arbitrary: fc
        .constantFrom("", " ", "null", "1", "-0", "1e999", '"x"', "true", "[]", "[{}]", "{", '{"a":', "not json", "{}{}", "{} x", "\u0000{}", '{"a":"\u0000"}', "\ud800", '{"a":"\ud800"}', '"\\ud800"')
        .map((s) => text(s, JSON.stringify(s))),
    },
    // The well-formed body after a BOM, or with whitespace around it.
    fc.constantFrom("\ufeff", " ", "\n", "\t\r\n").map((p) => text(`${p}${JSON.stringify(base())}${p === "\ufeff" ? "" : p}`, `${JSON.stringify(p)} around`)),
    // Deeply nested, as the whole body or under a field the provider reads.
    fc.record({ depth: fc.constantFrom(1_000, 20_000, 100_000), kind: fc.constantFrom("array" as const, "object" as const), under: fc.boolean() }).map(({ depth, kind, under }) => {
      const nested = deep(depth, kind);
      if (!under) return text(nested, `${kind} nested ${depth} deep`);
      return text(JSON.stringify({ ...base(), x: RAW }).replace(JSON.stringify(RAW), nested), `x: ${kind} nested ${depth} deep`);
    }),
    // Huge: at the limit, just over it, and with many keys.
    fc.constantFrom(MAX_BODY_BYTES, MAX_BODY_BYTES + 1).map((size) => {
      const s = JSON.stringify({ ...base(), pad: "" });
      return text(s.replace('"pad":""', `"pad":"${"p".repeat(size - s.length)}"`), `${size} bytes`);
    }),
    fc.constant(text(JSON.stringify({ ...base(), ...Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`k${i}`, i])) }), "20,000 keys")),
    // Bytes that are not UTF-8, in a string of the body or at its end.
    fc.record({ bad: fc.constantFrom(...NOT_UTF8), end: fc.boolean() }).map(({ bad, end }) => {
      const s = JSON.stringify({ ...base(), note: "é-here" });
      const at = end ? utf8(s).byteLength : utf8(s.slice(0, s.indexOf("é-here"))).byteLength;
      return { bytes: splice(s, at, new Uint8Array(bad)), label: `bytes ${bad.map((b) => b.toString(16)).join(" ")} ${end ? "at the end" : "in a string"}` };
    }),
    // Random bytes.
    fc.uint8Array({ minLength: 1, maxLength: 64 }).map((bytes) => ({ bytes, label: `bytes ${[...bytes].map((b) => b.toString(16)).join(" ")}` })),
  );
}

const utf8Fatal = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** What the body makes of a correctly signed request: 413, 400, Slack's 200 (400 without its challenge), else 202. */
function expectedForBody(target: Target, bytes: Uint8Array): { status: number; challenge?: string } {
  if (bytes.byteLength > MAX_BODY_BYTES) return { status: 413 };
  let s: string;
  try {
    s = utf8Fatal.decode(bytes);
  } catch {
    return { status: 400 };
  }
  if (!target.jsonObject) return { status: 202 };
  let parsed: unknown;
  try {
    // A leading byte order mark is skipped (RFC 8259 lets a parser ignore it).
    parsed = JSON.parse(s.charCodeAt(0) === 0xfeff ? s.slice(1) : s);
  } catch {
    return { status: 400 };
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) return { status: 400 };
  const fields = new Map(Object.entries(parsed));
  if (target.provider === "slack" && fields.get("type") === "url_verification") {
    // Without a challenge to echo (a non-empty string), the handshake is refused rather than answered "".
    const challenge = fields.get("challenge");
    return typeof challenge === "string" && challenge !== "" ? { status: 200, challenge } : { status: 400 };
  }
  return { status: 202 };
}

// ---- signature headers -----------------------------------------------------

/**
 * How a malformed header is to be answered: refused (with one of `codes`: 401, or 400 for a header
 * that names one value sent twice), or accepted as its body is (it still carries the right signature).
 */
interface Expectation {
  refused: boolean;
  codes: string[];
}
const REFUSED = (...codes: string[]): Expectation => ({ refused: true, codes });
const ACCEPTED: Expectation = { refused: false, codes: [] };
const refusedStatus = (e: Expectation) => (e.codes.includes("malformed_payload") ? 400 : 401);

/** A signature header may carry 10 signatures (docs/providers.md), in 4,096 characters (MAX_SIGNATURE_HEADER_CHARS, src/schemes/scheme.ts). */
const MAX_SIGNATURES = 10;
const MAX_SIGNATURE_HEADER_CHARS = 4096;

/**
 * The entries of a signature header as read: every copy's (Fetch joins a repeated header with ", "), split by the
 * scheme's separator; Shopify's the whole value (one signature), Stripe's split at its commas as sent (stripe-node's parseHeader).
 */
function entriesIn(value: string, spec: HmacScheme["spec"]): string[] {
  if (spec.oneValue) return [value.trim()];
  if (spec.entriesAsSent && spec.separator) return value.trim().split(spec.separator).filter(Boolean);
  return value
    .trim()
    .split(", ")
    .flatMap((copy) => (spec.separator ? copy.split(spec.separator) : [copy]))
    .map((e) => e.trim())
    .filter(Boolean);
}

/**
 * A signature header that holds the right signature among others: accepted while it keeps to the
 * bounds and holds the right entries whole, and (Stripe) its last `t=` is the signed one.
 */
function amongOthers(value: string, signed: string, spec: HmacScheme["spec"]): Expectation {
  if (value.trim().length > MAX_SIGNATURE_HEADER_CHARS) return REFUSED("invalid_signature");
  const ts = spec.timestamp;
  const isStamp = (e: string) => ts !== undefined && "entry" in ts && e.startsWith(ts.entry);
  const entries = entriesIn(value, spec);
  const own = entriesIn(signed, spec);
  if (entries.filter(isStamp).at(-1) !== own.filter(isStamp).at(-1)) return REFUSED("invalid_signature");
  const signatures = entries.filter((e) => !isStamp(e));
  if (signatures.length > MAX_SIGNATURES) return REFUSED("invalid_signature");
  return own.filter((e) => !isStamp(e)).every((e) => signatures.includes(e)) ? ACCEPTED : REFUSED("invalid_signature");
}

/** The signature headers a target's scheme sends, in order: id, timestamp, signature. */
function headerNames(target: Target): { signature: string; timestamp?: string; id?: string } {
  const spec = target.scheme.spec;
  const ts = spec.timestamp;
  return { signature: spec.header, timestamp: ts && "header" in ts ? ts.header : undefined, id: spec.idHeader };
}

/** A timestamp, relative to now in the scheme's unit or as written. */
type Stamp = { offsetS: number; unit?: "s" | "ms"; pad?: string } | { literal: string };

/**
 * Timestamps, and whether each is fresh for a scheme of each unit (null: signed with whitespace HTTP drops, so what
 * arrives is not what was signed); `ahead` of the clock by so many seconds, which Stripe's takes up to a day (stripe-node however far).
 */
const STAMPS: { stamp: Stamp; fresh: (unit: "s" | "ms") => boolean | null; ahead?: number }[] = [
  { stamp: { offsetS: 0 }, fresh: () => true },
  { stamp: { offsetS: -60 }, fresh: () => true },
  // Seconds where ms are signed are accepted too; ms where seconds are, never.
  { stamp: { offsetS: 0, unit: "s" }, fresh: () => true },
  { stamp: { offsetS: 0, unit: "ms" }, fresh: (unit) => unit === "ms" },
  { stamp: { offsetS: 0, pad: " " }, fresh: () => null },
  { stamp: { offsetS: -(TOLERANCE_S + 120) }, fresh: () => false },
  { stamp: { offsetS: TOLERANCE_S + 120 }, fresh: () => false, ahead: TOLERANCE_S + 120 },
  { stamp: { offsetS: -10 * 365 * 86_400 }, fresh: () => false },
  { stamp: { offsetS: 1_000 * 365 * 86_400 }, fresh: () => false, ahead: 1_000 * 365 * 86_400 },
  ...["0", "1", "-1", "-1700000000", "1e9", "1.5", "0x10", "NaN", "Infinity", "abc", "1".repeat(14), "9".repeat(20), "9".repeat(400), ""].map((literal) => ({
    stamp: { literal },
    fresh: () => false,
  })),
];

function stampText(stamp: Stamp, unit: "s" | "ms", now: number): string {
  if ("literal" in stamp) return stamp.literal;
  const at = now + stamp.offsetS * 1000;
  const u = stamp.unit ?? unit;
  const t = String(u === "ms" ? at : Math.floor(at / 1000));
  return `${stamp.pad ?? ""}${t}${stamp.pad ?? ""}`;
}

/** A malformed signature header: what it does to the correctly signed headers, and how it is to be answered. */
interface HeaderCase {
  label: string;
  /** A timestamp to sign with instead of now. */
  stamp?: (typeof STAMPS)[number];
  apply: (h: Headers, names: ReturnType<typeof headerNames>, target: Target) => Expectation;
}

const CONTROL = ["\u0001", "\u0008", "\u000b", "\u000c", "\u001f", "\u007f", "\u0080", "\u00a0", "\u00ff"];
/** Of those, the ones no trimming of a value drops (the others, white space to JavaScript, are put inside a value only). */
const CONTROL_KEPT = CONTROL.filter((c) => c.trim() !== "");

/** The MAC of the signature header's last entry, as encoded (after any prefix). */
function macIn(value: string, target: Target): string {
  const spec = target.scheme.spec;
  const last = spec.separator ? value.split(spec.separator).at(-1)! : value;
  return spec.prefix && last.startsWith(spec.prefix) ? last.slice(spec.prefix.length) : last;
}

const replaceLast = (value: string, part: string, by: string) => {
  const i = value.lastIndexOf(part);
  return value.slice(0, i) + by + value.slice(i + part.length);
};

const headerCase: fc.Arbitrary<HeaderCase> = fc.oneof(
  // Missing or blank.
  fc.record({ which: fc.constantFrom("signature", "timestamp", "id", "all"), blank: fc.constantFrom(null, "", " ", "\t") }).map(({ which, blank }): HeaderCase => ({
    label: blank === null ? `no ${which} header` : `${which} header ${JSON.stringify(blank)}`,
    apply: (h, names) => {
      const chosen = which === "all" ? [names.signature, names.timestamp, names.id] : [names[which as "signature" | "timestamp" | "id"]];
      const present = chosen.filter((n): n is string => n !== undefined);
      if (present.length === 0) return ACCEPTED;
      for (const n of present) blank === null ? h.delete(n) : h.set(n, blank);
      return REFUSED("missing_signature");
    },
  })),
  // Whitespace around a value: HTTP drops it.
  fc.constantFrom(" ", "\t", "  \t ").map((ws): HeaderCase => ({
    label: `whitespace ${JSON.stringify(ws)} around the values`,
    apply: (h) => {
      for (const [n, v] of [...h]) h.set(n, `${ws}${v}${ws}`);
      return ACCEPTED;
    },
  })),
  // Repeated: the same value again, or another after it.
  fc.record({ which: fc.constantFrom("signature", "timestamp", "id"), other: fc.constantFrom(null, "x", "v1=00", "sha256=00", "t=1") }).map(({ which, other }): HeaderCase => ({
    label: `${which} header repeated${other === null ? "" : ` with ${other}`}`,
    apply: (h, names, target) => {
      const n = names[which as "signature" | "timestamp" | "id"];
      if (n === undefined) return ACCEPTED;
      const signed = h.get(n)!;
      h.append(n, other ?? signed);
      // A timestamp sent twice is refused as such (docs/providers.md); an id is read as sent (it may
      // hold a comma), so two copies are not the id signed; a signature sent twice counts both copies' entries.
      if (which === "signature") return amongOthers(h.get(n)!, signed, target.scheme.spec);
      return which === "id" ? REFUSED("invalid_signature") : REFUSED("malformed_payload");
    },
  })),
  // Many entries before the right one, with each scheme's separators.
  fc.record({ n: fc.constantFrom(1, 9, 10, 11, 60, 2_000), sep: fc.constantFrom(",", " ", ", ", ";"), junk: fc.constantFrom("v1=00", "v1,AA==", "sha256=zz", "t=1", "", "=") }).map(({ n, sep, junk }): HeaderCase => ({
    label: `${n} × ${JSON.stringify(junk)} separated by ${JSON.stringify(sep)} before the signature`,
    apply: (h, names, target) => {
      const signed = h.get(names.signature)!;
      h.set(names.signature, `${Array.from({ length: n }, () => junk).join(sep)}${sep}${signed}`);
      return amongOthers(h.get(names.signature)!, signed, target.scheme.spec);
    },
  })),
  // A wrong prefix, or the right one in another case.
  fc.constantFrom("sha1=", "sha512=", "v0=", "v1=", "v2,", "v1,", "sha256:", "SHA256=", "V1=", "V0=").map((prefix): HeaderCase => ({
    label: `prefix ${prefix}`,
    apply: (h, names, target) => {
      const spec = target.scheme.spec;
      const value = h.get(names.signature)!;
      const mac = macIn(value, target);
      const own = spec.prefix && prefix.toLowerCase() === spec.prefix.toLowerCase();
      if (own && prefix === spec.prefix) return ACCEPTED;
      h.set(names.signature, replaceLast(value, `${spec.optionalPrefix ? "" : spec.prefix}${mac}`, `${prefix}${mac}`));
      // Its own prefix in another case: taken where the prefix is optional or matched in any case (an
      // hmac source's), else not its prefix.
      return own && (spec.optionalPrefix || spec.prefixAnyCase) ? ACCEPTED : REFUSED("invalid_signature");
    },
  })),
  // Not the encoding: a character outside the alphabet, cut short, doubled.
  fc.record({ how: fc.constantFrom("char", "cut", "double", "upper", "urlsafe", "unpadded"), char: fc.constantFrom("g", "z", "!", "*", ".", "%", "é", "-", "_"), at: fc.nat() }).map(({ how, char, at }): HeaderCase => ({
    label: `signature ${how}${how === "char" ? ` ${char}` : ""}`,
    apply: (h, names, target) => {
      const value = h.get(names.signature)!;
      const mac = macIn(value, target);
      const hex = target.scheme.spec.encoding === "hex";
      let bad: string;
      let expectation = REFUSED("invalid_signature");
      if (how === "char") {
        // A character the encoding has (a hex letter in base64, `-`/`_` of URL-safe base64) is not malformed.
        if ((hex ? /[0-9a-fA-F]/ : /[A-Za-z0-9+/=\-_]/).test(char)) return ACCEPTED;
        const i = 1 + (at % (mac.length - 2));
        bad = mac.slice(0, i) + char + mac.slice(i + 1);
      } else if (how === "cut") bad = mac.replace(/=+$/, "").slice(0, -2);
      else if (how === "double") bad = mac + mac;
      else {
        // Another spelling of the same MAC, decoded alike: base64 URL-safe or unpadded where the scheme takes
        // it (a generic source's), hex in either case where the scheme takes it (Podium's, a generic source's);
        // elsewhere it is not the MAC's text (the providers' verifiers compare it) and is refused.
        const spec = target.scheme.spec;
        bad = how === "upper" ? (hex ? mac.toUpperCase() : mac) : how === "urlsafe" ? mac.replace(/\+/g, "-").replace(/\//g, "_") : mac.replace(/=+$/, "");
        const taken = bad === mac || (hex ? how !== "upper" || spec.hexAnyCase : spec.base64AnyForm);
        expectation = taken ? ACCEPTED : REFUSED("invalid_signature");
      }
      h.set(names.signature, replaceLast(value, mac, bad));
      return expectation;
    },
  })),
  // Signed with another secret, or over another body.
  fc.constantFrom("secret", "body").map((what): HeaderCase => ({
    label: `signed with another ${what}`,
    apply: () => REFUSED("invalid_signature"),
  })),
  // A control character in a value, inside it or at an end: not what was signed, nor an encoding.
  fc.oneof(
    fc.record({ which: fc.constantFrom("signature", "timestamp", "id"), c: fc.constantFrom(...CONTROL), where: fc.constant("middle") }),
    fc.record({ which: fc.constantFrom("signature", "timestamp", "id"), c: fc.constantFrom(...CONTROL_KEPT), where: fc.constantFrom("start", "end") }),
  ).map(({ which, c, where }): HeaderCase => ({
    label: `${JSON.stringify(c)} at the ${where} of the ${which} header`,
    apply: (h, names) => {
      const n = names[which as "signature" | "timestamp" | "id"];
      if (n === undefined) return ACCEPTED;
      const v = h.get(n)!;
      const mid = Math.floor(v.length / 2);
      h.set(n, where === "start" ? c + v : where === "end" ? v + c : v.slice(0, mid) + c + v.slice(mid));
      return where === "middle" ? REFUSED("invalid_signature", "timestamp_out_of_tolerance") : REFUSED("invalid_signature");
    },
  })),
  // Timestamps signed as they are: not numbers, negative, 14+ digits, far past or future.
  fc.constantFrom(...STAMPS).map((stamp): HeaderCase => ({
    label: `timestamp ${JSON.stringify(stamp.stamp)}`,
    stamp,
    apply: (_h, _n, target) => {
      const ts = target.scheme.spec.timestamp;
      if (!ts) return ACCEPTED;
      const fresh = stamp.fresh(ts.unit);
      if (fresh || (stamp.ahead !== undefined && "entry" in ts && stamp.ahead <= (ts.aheadSeconds ?? 0))) return ACCEPTED;
      if (fresh === null) return REFUSED("invalid_signature");
      const literal = "literal" in stamp.stamp ? stamp.stamp.literal : null;
      if (literal === "") return REFUSED("missing_signature", "invalid_signature");
      return REFUSED("invalid_signature", "timestamp_out_of_tolerance");
    },
  })),
);

// ---- the property ----------------------------------------------------------

/**
 * The bytes as a stream of chunks of `size`: a body with no Content-Length. Each pull queues up to
 * 64 KiB of them (the reader still gets one chunk a read): one pull a chunk doubled the cost of a
 * body read a byte at a time, ~20 µs a chunk in workerd, seconds for a body at the limit.
 */
function chunked(bytes: Uint8Array, size: number): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      for (const end = at + Math.max(size, 65_536); at < end; ) {
        if (at >= bytes.byteLength) return controller.close();
        controller.enqueue(bytes.slice(at, (at += size)));
      }
    },
  });
}

describe("the ingress under malformed input", () => {
  const p = pipeline();
  const secrets = new Map<string, string>();
  const sources = new Map<string, string>();

  beforeAll(async () => {
    for (const t of TARGETS) {
      const secret = t.provider === "standard-webhooks" || t.provider === "stripe" ? `whsec_${bytesToBase64(crypto.getRandomValues(new Uint8Array(32)))}` : `secret-${uniqueKey()}`;
      const created = await p.api("POST", "/v1/sources", { name: t.name, provider: t.provider, secrets: [secret], toleranceSeconds: TOLERANCE_S, ...t.source });
      expect(created.status, JSON.stringify(created.json)).toBe(201);
      secrets.set(t.name, secret);
      sources.set(t.name, created.json.id);
    }
  });

  it("answers each a listed status and code, queues only a correctly signed request's event, byte for byte, and writes nothing to D1", async () => {
    const run = uniqueKey();
    let n = 0;
    /** What was first accepted under each event id: a later request under the same id is a duplicate by design (its type is the first's). */
    const first = new Map<string, { bytes: Uint8Array; msg: IngestMessage }>();
    const seen = { sent: 0, accepted: 0, unsendable: 0 };

    const cases = fc
      .record({
        target: fc.constantFrom(...TARGETS),
        variant: fc.nat(),
        kind: fc.constantFrom("body", "body", "header"),
        header: headerCase,
        extra: fc.nat(),
        // How the body arrives: whole (with Content-Length), or streamed in chunks of this size (none).
        chunk: fc.constantFrom(null, null, null, 1, 7, 4096, 65_536),
        contentType: fc.constantFrom("application/json", "application/json", "text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin1", null),
        query: fc.constantFrom("", "", "?x=1", "?", "?%zz"),
      })
      .chain((r) => {
        const k = `${run}-${++n}`;
        const body = r.kind === "body" ? malformedBody(r.target, k, r.variant) : fc.constant<Body>({ bytes: utf8(JSON.stringify(r.target.base(k, r.variant))), label: "well-formed" });
        return body.map((b) => ({ ...r, body: b }));
      });

    await fc.assert(
      fc.asyncProperty(cases, async ({ target, kind, header, body, extra, chunk, contentType, query }) => {
        const sourceId = sources.get(target.name)!;
        const secret = secrets.get(target.name)!;
        const now = Date.now();
        const isHeaderCase = kind === "header";
        const unit = target.scheme.spec.timestamp?.unit ?? "s";
        const stamp = isHeaderCase && header.stamp ? stampText(header.stamp.stamp, unit, now) : undefined;
        const signedBy = isHeaderCase && header.label === "signed with another secret" ? `${secret}-other` : secret;
        const signedBody = isHeaderCase && header.label === "signed with another body" ? concatBytes([body.bytes, utf8(" ")]) : body.bytes;
        const signed = await target.scheme.sign(signedBy, signedBody, stamp === undefined ? { now } : { now, timestamp: stamp });

        const headers = new Headers();
        let expected: Expectation | { status: number; challenge?: string };
        let what = `${target.name}: ${isHeaderCase ? header.label : body.label}`;
        try {
          if (contentType !== null) headers.set("content-type", contentType);
          for (const [name, value] of Object.entries(signed)) headers.set(name, value);
          // The provider's other headers, some naming another type or shop than the source's.
          let shopRefused = false;
          if (target.provider === "github") {
            const event = ["push", "ping", "pull_request", "", "a".repeat(300), "issues.opened", "x\u0001y"][extra % 7]!;
            if (extra % 8 !== 0) headers.set("x-github-event", event);
            headers.set("x-github-delivery", ["d-1", "", "x".repeat(5_000)][extra % 3]!);
            what += ` (X-GitHub-Event ${JSON.stringify(headers.get("x-github-event"))})`;
          }
          if (target.provider === "shopify") {
            const shops = [SHOP, SHOP, SHOP.toUpperCase(), ` ${SHOP} `, "other.myshopify.com", "", `${SHOP}.evil.com`, null];
            const shop = shops[extra % shops.length]!;
            if (shop !== null) headers.set("x-shopify-shop-domain", shop);
            shopRefused = shop === null || shop.trim().toLowerCase() !== SHOP;
            const topics = ["orders/create", "orders/paid", "", "ORDERS/CREATE", "/", "a/b/c/d", "x".repeat(300), "app/uninstalled"];
            headers.set("x-shopify-topic", topics[Math.floor(extra / shops.length) % topics.length]!);
            what += ` (shop ${JSON.stringify(shop)}, topic ${JSON.stringify(headers.get("x-shopify-topic"))})`;
          }
          if (isHeaderCase) {
            const e = header.apply(headers, headerNames(target), target);
            expected = e.refused ? e : shopRefused ? REFUSED("invalid_signature") : expectedForBody(target, body.bytes);
          } else expected = shopRefused && body.bytes.byteLength <= MAX_BODY_BYTES ? REFUSED("invalid_signature") : expectedForBody(target, body.bytes);
        } catch (err) {
          // A header value fetch cannot send (the runtime refuses it before any request).
          if (!(err instanceof TypeError)) throw err;
          seen.unsendable++;
          return;
        }

        const queue = recordingQueue();
        const d1 = d1Double();
        const request = new Request(`https://edgehook.test/webhooks/${sourceId}${query}`, { method: "POST", headers, body: chunk === null ? body.bytes : chunked(body.bytes, chunk) });
        what += ` [${body.bytes.byteLength} bytes${chunk === null ? "" : ` in chunks of ${chunk}`}: ${new TextDecoder().decode(body.bytes.subarray(0, 120))}] headers ${JSON.stringify([...headers]).slice(0, 400)}`;
        let res: Response;
        try {
          res = await call(request, { INGEST: queue, DB: d1.db });
        } catch (err) {
          throw new Error(`${what} threw: ${String(err)}`);
        }
        seen.sent++;
        const status = res.status;
        const answer = await expectWellFormed(res, [200, 202, 400, 401, 404, 413, 503], what);
        const context = `${what} -> ${status} ${JSON.stringify(answer)?.slice(0, 300)}`;

        // The error code belongs to the status, and is the one expected.
        if (status >= 400) {
          const code = (answer as { error: { code: string } }).error.code;
          expect(CODES[status], context).toContain(code);
          if ("refused" in expected) expect(expected.codes, context).toContain(code);
        }
        if ("refused" in expected) expect(status, context).toBe(refusedStatus(expected));
        else {
          // What the body makes of a correctly signed request: 202, 400, 413, or Slack's handshake.
          expect(status, context).toBe(expected.status);
          if (expected.status === 200) expect(answer, context).toEqual({ challenge: expected.challenge });
        }

        // The ack path writes nothing to D1: at most it reads the source on a cold cache.
        expect(d1.calls.batches, context).toEqual([]);
        for (const sql of d1.calls.sql) expect(sql.trim(), context).toMatch(/^SELECT\b/i);

        if (status !== 202) {
          expect(queue.sent, context).toEqual([]);
          return;
        }
        seen.accepted++;
        expect(queue.sent, context).toHaveLength(1);
        const msg = queue.sent[0]!;
        const eventId = (answer as { eventId: string }).eventId;
        expect(msg.eventId, context).toBe(eventId);
        const consumed = await p.runIngest(queue.sent);
        expect(consumed.acked, context).toHaveLength(1);
        const read = await p.api("GET", `/v1/events/${eventId}`);
        expect(read.status, context).toBe(200);
        if (!first.has(eventId)) first.set(eventId, { bytes: body.bytes, msg });
        const stored = first.get(eventId)!;
        // What was queued is what reads back; one event id is one dedupe key (never two keys that hash alike).
        // (Compared as JSON, which escapes a lone surrogate: the test runner's channel would refuse one.)
        const facts = (e: { sourceId: string; eventType: string; dedupeKey: string }) => JSON.stringify([e.sourceId, e.eventType, e.dedupeKey]);
        expect(facts(read.json), context).toBe(facts(stored.msg));
        expect(msg.dedupeKey, context).toBe(stored.msg.dedupeKey);
        const storedBytes = utf8(read.json.body);
        const sentBytes = stored.bytes;
        expect(storedBytes.byteLength, context).toBe(sentBytes.byteLength);
        expect(bytesToBase64(storedBytes) === bytesToBase64(sentBytes), `${context}: the body read back differs`).toBe(true);
      }),
      { seed: SEED, numRuns: 400 },
    );
    // The property exercised both answers, and the runtime sent nearly every case.
    expect(seen.accepted).toBeGreaterThan(40);
    expect(seen.sent - seen.accepted).toBeGreaterThan(100);
    expect(seen.unsendable).toBeLessThan(seen.sent / 10);
  }, 180_000); // a hang guard: 400 cases take ~32 s alone, and went past 60 s once beside other work
});

describe("bad input the property found at the ingress", () => {
  const p = pipeline();

  /** Sends `body` to a new source of `provider`, signed; runs the ingest consumer on what was queued. */
  async function sendSigned(source: string, scheme: HmacScheme, secret: string, body: string) {
    const queue = recordingQueue();
    const res = await call(new Request(`https://edgehook.test/webhooks/${source}`, { method: "POST", body, headers: await scheme.sign(secret, body) }), { INGEST: queue });
    const json = (await res.json()) as { eventId: string };
    expect(res.status).toBe(202);
    expect((await p.runIngest(queue.sent)).acked).toHaveLength(1);
    return { eventId: json.eventId, msg: queue.sent[0]! };
  }

  it("keeps no lone surrogate (a \\ud800 escape without its pair) as an event's type, owner or dedupe key: D1 read it back as other text, and keys that differ named one event", async () => {
    const secret = `whsec_${bytesToBase64(crypto.getRandomValues(new Uint8Array(32)))}`;
    const source = (await p.api("POST", "/v1/sources", { name: "surrogates", provider: "stripe", secrets: [secret] })).json.id as string;
    const k = uniqueKey();
    const bodies = ["\\ud800", "\\udc00"].map((s) => `{"id":"evt_${k}${s}","type":"charge.${s}","account":"acct_${s}","object":"event"}`);
    const sent = [];
    for (const body of bodies) sent.push({ body, ...(await sendSigned(source, stripe, secret, body)) });
    // Two events, each with its own body.
    expect(sent[0]!.eventId).not.toBe(sent[1]!.eventId);
    for (const { body, eventId, msg } of sent) {
      expect(msg).toMatchObject({ eventType: "unknown", organizationUid: null });
      expect(msg.dedupeKey.isWellFormed()).toBe(true);
      const read = await p.api("GET", `/v1/events/${eventId}`);
      expect(read.json).toMatchObject({ body, eventType: "unknown", organizationUid: null, dedupeKey: msg.dedupeKey });
    }
    // The same key again is the same event.
    expect((await sendSigned(source, stripe, secret, bodies[0]!)).eventId).toBe(sent[0]!.eventId);
    // A well-formed key that is an ill-formed one's JSON spelling, quotes and all (long enough to be hashed too), is another event.
    const pad = "a".repeat(300);
    const [ill, spelled] = [`{"id":"\\ud800${pad}","type":"charge.x","object":"event"}`, `{"id":"\\"\\\\ud800${pad}\\"","type":"charge.x","object":"event"}`];
    const illId = (await sendSigned(source, stripe, secret, ill)).eventId;
    expect((await sendSigned(source, stripe, secret, spelled)).eventId).not.toBe(illId);
  });

  it("takes a body streamed in many small chunks (it answered 500: the chunks were spread as one call's arguments)", async () => {
    const secret = "chunked-secret";
    const source = (await p.api("POST", "/v1/sources", { name: "chunked", provider: "github", secrets: [secret] })).json.id as string;
    const start = '{"action":"opened","pad":"';
    const body = `${start}${"p".repeat(MAX_BODY_BYTES - start.length - 2)}"}`;
    const bytes = utf8(body);
    expect(bytes.byteLength).toBe(MAX_BODY_BYTES);
    const queue = recordingQueue();
    const res = await call(
      new Request(`https://edgehook.test/webhooks/${source}`, { method: "POST", headers: await github.sign(secret, bytes), body: chunked(bytes, 1) }),
      { INGEST: queue },
    );
    expect(res.status).toBe(202);
    expect((await p.runIngest(queue.sent)).acked).toHaveLength(1);
    const read = await p.api("GET", `/v1/events/${((await res.json()) as { eventId: string }).eventId}`);
    expect(read.json.body).toBe(body);
  });

  it("reads a Podium event whose type names an Object property (__proto__, constructor.*, toString) as any other type (it answered 500)", async () => {
    const secret = "proto-secret";
    const source = (await p.api("POST", "/v1/sources", { name: "proto", provider: "podium", secrets: [secret] })).json.id as string;
    for (const type of ["__proto__", "constructor.created", "toString", "hasOwnProperty.x"]) {
      const body = podiumBody({ type, locationUid: "loc-proto", organizationUid: "org-proto" });
      const queue = recordingQueue();
      const res = await call(new Request(`https://edgehook.test/webhooks/${source}`, { method: "POST", body, headers: await podiumHeaders(body, secret) }), { INGEST: queue });
      expect(res.status, type).toBe(202);
      // Its owner read where a message's is, as for any type of no object of its own.
      expect(queue.sent[0], type).toMatchObject({ eventType: type, locationUid: "loc-proto", organizationUid: "org-proto" });
    }
  });
});
