import { oneOf, own } from "./guards";
import { UNSEEN as SHOWN_AS_NOTHING } from "./legible";
import type { Scope } from "./scopes";

/** A Podium data scope: what a token needs to subscribe to, or read, an object's events. */
type DataScope = Extract<Scope, "read_messages" | "read_contacts" | "read_payments" | "read_reviews">;

export const DATA_SCOPE_OF_OBJECT: Record<string, DataScope> = {
  message: "read_messages",
  contact: "read_contacts",
  invoice: "read_payments",
  review: "read_reviews",
};

const DATA_SCOPES = Object.values(DATA_SCOPE_OF_OBJECT);
const isDataScope = oneOf(DATA_SCOPES);

interface EventTypeInfo {
  type: string;
  provider: string;
  scope: DataScope | null;
  description: string;
}

const podium: [string, string][] = [
  ["contact.created", "A contact was created."],
  ["contact.deleted", "A contact was deleted."],
  ["contact.merged", "Two contacts were merged."],
  ["contact.unchanged", "A contact update changed nothing."],
  ["contact.updated", "A contact was updated."],
  ["invoice.created", "An invoice was created."],
  ["invoice.disabled", "An invoice was disabled."],
  ["invoice.marked_as_paid", "An invoice was marked as paid."],
  ["invoice.payment_created", "A payment on an invoice was created."],
  ["invoice.payment_failed", "A payment on an invoice failed."],
  ["invoice.payment_succeeded", "A payment on an invoice succeeded."],
  ["invoice.refund_created", "A refund was created."],
  ["invoice.refund_failed", "A refund failed."],
  ["message.failed", "A message could not be delivered."],
  ["message.received", "A message was received."],
  ["message.sent", "A message was sent."],
  ["review.created", "A review was created."],
  ["review.invite_link_created", "A review invite link was created."],
  ["review.invite_link_updated", "A review invite link was updated."],
  ["review.response_created", "A response to a review was created."],
  ["review.response_updated", "A response to a review was updated."],
  ["review.updated", "A review was updated."],
];

/** Common types of the other providers (they send many more; any type is accepted and routed). */
const others: [string, string, string][] = [
  ["stripe", "payment_intent.succeeded", "A PaymentIntent succeeded."],
  ["stripe", "payment_intent.payment_failed", "A PaymentIntent failed."],
  ["stripe", "charge.refunded", "A charge was refunded."],
  ["stripe", "customer.subscription.created", "A subscription was created."],
  ["stripe", "customer.subscription.deleted", "A subscription ended."],
  ["stripe", "checkout.session.completed", "A Checkout Session completed."],
  ["github", "ping", "The webhook was created or pinged."],
  ["github", "push", "Commits were pushed."],
  ["github", "pull_request.opened", "A pull request was opened."],
  ["github", "pull_request.closed", "A pull request was closed or merged."],
  ["github", "issues.opened", "An issue was opened."],
  ["github", "release.published", "A release was published."],
  ["shopify", "orders.create", "An order was created."],
  ["shopify", "orders.paid", "An order was paid."],
  ["shopify", "orders.cancelled", "An order was cancelled."],
  ["shopify", "customers.create", "A customer was created."],
  ["shopify", "products.update", "A product was updated."],
  ["shopify", "app.uninstalled", "The app was uninstalled."],
  ["slack", "message", "A message was posted in a channel the app is in."],
  ["slack", "app_mention", "The app was mentioned."],
  ["slack", "reaction_added", "A reaction was added."],
  ["slack", "member_joined_channel", "A user joined a channel."],
];

/** A type a reader sees as written (printable ASCII, no space): only its case to fold. Most are. */
const PLAIN = /^[!-~]*$/;
/**
 * What a reader cannot see, or reads past: format characters (zero-width space, word joiner, BOM,
 * bidi marks), others Unicode says a renderer may ignore (variation selectors, Hangul fillers),
 * controls, white space, the braille blank (a symbol without dots), lone surrogates (no character
 * at all) and combining marks (`i\u0307` reads as `i`; so does `İ`, decomposed).
 */
const UNSEEN = /[\p{Cf}\p{Cc}\p{Default_Ignorable_Code_Point}\p{White_Space}\u2800\p{Cs}\p{M}]/gu;

/**
 * The object an event type (or pattern) is of, as a reader tells it: what decides the data scope
 * it needs (and its counters' group). A source may send `Message.Received`, ` message.received`,
 * `message\u200b.received` or fullwidth `ｍｅｓｓａｇｅ.received`, each as much a message as
 * `message.received`: compatibility forms are decomposed (NFKD, which also makes `．` a dot), then
 * what a reader cannot see is dropped wherever it is, then the case (matching a subscription stays
 * exact). Letters of another script that look alike (a Cyrillic `е`) are other letters: telling
 * them apart would take Unicode's confusables, which this does not carry.
 */
export function eventObjectOf(eventType: string): string {
  // The ingest path runs this per event: a plain type needs no normalizing.
  const seen = PLAIN.test(eventType) ? eventType : eventType.normalize("NFKD").replace(UNSEEN, "");
  const dot = seen.indexOf(".");
  return (dot === -1 ? seen : seen.slice(0, dot)).toLowerCase();
}

/** The object of an event type when a data scope guards it (`message` of ` Message.Received`), else null. */
export function scopedObjectOf(eventType: string): string | null {
  const object = eventObjectOf(eventType);
  return Object.hasOwn(DATA_SCOPE_OF_OBJECT, object) ? object : null;
}

/** The data scope an event type needs, whatever its provider (Slack's `message` is a message) or case, or null for types of no Podium data object. */
function dataScopeOf(eventType: string): DataScope | null {
  // Own keys only: "constructor" or "__proto__" is no Podium object.
  const scope = own(DATA_SCOPE_OF_OBJECT, eventObjectOf(eventType));
  return isDataScope(scope) ? scope : null;
}

/** The event-type catalog: Podium's 22 types, then common types of other providers, each with the data scope it needs. */
export const EVENT_TYPES: EventTypeInfo[] = [
  ...podium.map(([type, description]) => ({ type, provider: "podium", scope: dataScopeOf(type), description })),
  ...others.map(([provider, type, description]) => ({ type, provider, scope: dataScopeOf(type), description })),
];

/** A subscription pattern (`*`, `message.*`) rather than a type: what a webhook's eventTypes take and a list's or replay's `eventType` refuses. */
export const isWildcard = (type: string) => type === "*" || type.endsWith(".*");

/** The longest event type kept: the longest a webhook's eventTypes or an event query can name. */
export const MAX_EVENT_TYPE_CHARS = 200;
/**
 * What no nameable type holds: a control character (what a header cannot carry), one that shows as
 * nothing or as a line's end (legible.ts's UNSEEN: format, default-ignorable, the braille blank, line separators:
 * shown escaped, typed back as other text), a lone surrogate (no UTF-8), a `*` (only
 * the wildcards `*` and `object.*` hold one), a comma (the dashboard's, the CLI's and the queries'
 * lists part on it), or white space at either end (they trim it).
 */
const UNNAMEABLE = new RegExp(`${SHOWN_AS_NOTHING.source}|[\\p{Cc}\\p{Cs},*]|^\\s|\\s$`, "u");

/**
 * Whether a webhook can name the type exactly: the one rule for what the ingress keeps (another type
 * is `unknown`: domain/facts.ts) and what a webhook's eventTypes, a listener's, take. Any letters,
 * spaces within, colons, slashes, dots anywhere (`jira:issue_updated`, `Push Hook`, `заказ.создан`, `a..b`).
 */
export const isNameableType = (type: string) => type.length > 0 && type.length <= MAX_EVENT_TYPE_CHARS && !UNNAMEABLE.test(type);

/** Why an entry is no isTypePattern. */
export const TYPE_PATTERN_PROBLEM = "an exact type, `object.*` or `*`: a type holds no `*`, comma, control character or one that shows as nothing, nor white space at either end";
/** A webhook's eventTypes entry: `*`, a nameable type, or one followed by `.*` (every type under it). */
export const isTypePattern = (pattern: string) => pattern === "*" || isNameableType(pattern.endsWith(".*") ? pattern.slice(0, -2) : pattern);

/** The data scopes a subscription pattern needs: `*` needs all four, as in Podium. */
export function dataScopesForPattern(pattern: string): DataScope[] {
  if (pattern === "*") return DATA_SCOPES;
  const scope = dataScopeOf(pattern);
  return scope ? [scope] : [];
}

/** The Podium objects: their types are the catalog's, nothing else. */
const PODIUM_OBJECTS = Object.keys(DATA_SCOPE_OF_OBJECT);
/** The catalog's Podium event types. */
export const PODIUM_TYPES = EVENT_TYPES.filter((t) => t.provider === "podium").map((t) => t.type);
/** What a Podium object's unknown pattern is compared with: its exact types, then `object.*`. */
const PODIUM_CHOICES = [...PODIUM_TYPES, ...PODIUM_OBJECTS.map((o) => `${o}.*`)];

/** Levenshtein distance: how many single-character edits turn `a` into `b`. */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length]!;
}

/** The candidate nearest to `s` whatever the case (the first of equals), or null when none is within `maxDistance`. */
function closestTo(s: string, candidates: readonly string[], maxDistance = Infinity): string | null {
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(s.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return bestDistance <= maxDistance ? best : null;
}

/** What a webhook's event types can be checked against. */
export interface TypeContext {
  /** Providers of the webhook's sources (null: it listens to every source, so every provider). */
  providers: ReadonlySet<string> | null;
  /** Patterns some source of the webhook has received. */
  seen: ReadonlySet<string>;
}

interface TypeCheck {
  /** A Podium object's type that does not exist: refused. */
  invalid: { index: number; pattern: string; closest: string }[];
  /** Another provider's type that no source of the webhook has received or declares: accepted, pointed out. */
  unseen: { pattern: string; closest: string | null }[];
}

/**
 * The catalog's spelling of a type given in another case (`Message.Received`: `message.received`),
 * which matches no event of the catalog's type (types match as written); null when the type is
 * the catalog's as given, or none differs from it in case alone.
 */
export function catalogSpelling(type: string): string | null {
  const lower = type.toLowerCase();
  if (EVENT_TYPES.some((t) => t.type === type)) return null;
  return EVENT_TYPES.find((t) => t.type.toLowerCase() === lower)?.type ?? null;
}

/** Whether the catalog declares the pattern for one of these providers: an exact type, or types under `object.*`. */
function declared(pattern: string, providers: ReadonlySet<string> | null): boolean {
  const prefix = pattern.endsWith(".*") ? pattern.slice(0, -1) : null;
  return EVENT_TYPES.some(
    (t) => (providers === null || providers.has(t.provider)) && (prefix === null ? t.type === pattern : t.type.startsWith(prefix)),
  );
}

/**
 * Checks a subscription's patterns: `*`, a type the catalog declares or a source
 * has received, and `object.*` over such types are known. For Podium's objects
 * (when a Podium source may send to the webhook) any other pattern is a typo, an
 * exact type or a narrower wildcard; any other unknown pattern is accepted but pointed out.
 */
export function checkEventTypes(patterns: string[], ctx: TypeContext): TypeCheck {
  const result: TypeCheck = { invalid: [], unseen: [] };
  const mayReceivePodium = ctx.providers === null || ctx.providers.has("podium");
  for (const [index, pattern] of patterns.entries()) {
    if (pattern === "*" || ctx.seen.has(pattern) || declared(pattern, ctx.providers)) continue;
    // Another case (`Message.Received`) may be another provider's type: pointed out, with the catalog's spelling.
    const object = pattern.split(".")[0]!;
    // Under a Podium object, `object.*` (known above) is the only wildcard: `message.received.*` matches nothing.
    if (mayReceivePodium && PODIUM_OBJECTS.includes(object)) {
      // A narrower wildcard is nearest an exact type it spells (`message.received.*`), else its object's wildcard.
      const closest = pattern.endsWith(".*") ? (closestTo(pattern, PODIUM_TYPES, 2) ?? `${object}.*`) : closestTo(pattern, PODIUM_CHOICES)!;
      result.invalid.push({ index, pattern, closest });
    } else {
      const known = EVENT_TYPES.filter((t) => ctx.providers === null || ctx.providers.has(t.provider)).map((t) => t.type);
      // A wildcard is compared with wildcards: `messages.*` is near `message.*`, not the type `message`.
      const candidates = pattern.endsWith(".*") ? [...new Set(known.filter((t) => t.includes(".")).map((t) => `${t.split(".")[0]}.*`))] : known;
      result.unseen.push({ pattern, closest: closestTo(pattern, candidates, 3) });
    }
  }
  return result;
}
