import { concatBytes, sha256Hex, utf8 } from "./crypto";
import { isNameableType, scopedObjectOf } from "./event-types";
import type { DedupeKey, ProviderFacts } from "./types";

// What a provider reads out of a body or its headers is only as long as the rest of
// Edgehook can use: the queue message that carries it must fit in 128 KB (the body may
// go to R2, these fields cannot), and a value no webhook or query can name routes nothing.

/** The longest location or organization uid kept: the longest a webhook, a token or a query can name. */
export const MAX_OWNER_UID_CHARS = 128;
/** The longest dedupe key kept as given; a longer one is replaced by its SHA-256 (hex, a digest key), so it still dedupes. */
export const MAX_DEDUPE_KEY_CHARS = 256;
/** The type of an event whose type cannot be read, or named (isNameableType). */
const UNKNOWN_EVENT_TYPE = "unknown";

/**
 * What a type that cannot be kept is stored as: `unknown`, after its object when a data scope guards
 * that object (`review\t.created` is `review.unknown`), so its event still needs that scope to be seen.
 */
function unknownOf(eventType: string): string {
  const object = scopedObjectOf(eventType);
  return object === null ? UNKNOWN_EVENT_TYPE : `${object}.${UNKNOWN_EVENT_TYPE}`;
}
/**
 * Lead what a key's hash is taken of, an ill-formed key's or a long one's: neither byte starts a
 * UTF-8 character, and a body is UTF-8 (receive.ts refuses another), so the three kinds of digest
 * (of a body, of a long key, of an ill-formed one) never meet.
 */
const ILL_FORMED = 0xff;
const LONG = 0xfe;

// A lone surrogate (a JSON `\ud800` escape without its pair) has no UTF-8: D1 keeps it as bytes
// that read back as other text, and hashing reads it as U+FFFD, so keys that differ would name one
// event. No webhook or query can name such a value either (the API refuses it). (isWellFormed
// costs nothing on the usual one-byte strings, which cannot hold a surrogate.)
const within = (value: string | null, max: number) => (value !== null && value.length <= max && value.isWellFormed() ? value : null);

/**
 * A given key within its bound and well-formed, else a digest: a key too long is the hash of it
 * after LONG, and an ill-formed one the hash of its JSON spelling (which escapes each lone
 * surrogate, so keys that differ stay apart) after ILL_FORMED. A digest (of a body) is both already.
 */
async function boundKey(key: DedupeKey): Promise<DedupeKey> {
  if (!("given" in key)) return key;
  const { given } = key;
  if (!given.isWellFormed()) return { digest: await sha256Hex(concatBytes([Uint8Array.of(ILL_FORMED), utf8(JSON.stringify(given))])) };
  return given.length <= MAX_DEDUPE_KEY_CHARS ? key : { digest: await sha256Hex(concatBytes([Uint8Array.of(LONG), utf8(given)])) };
}

/**
 * The facts with each field within its bound and well-formed: a type no webhook can name
 * (isNameableType) is unknown (unknownOf), a location or organization too long or ill-formed is none, and a
 * dedupe key too long or ill-formed a digest (boundKey).
 */
export async function boundFacts(facts: ProviderFacts): Promise<ProviderFacts> {
  const { dedupeKey, eventType, locationUid, organizationUid, teaches } = facts;
  return {
    ...(teaches === false ? { teaches } : {}),
    dedupeKey: await boundKey(dedupeKey),
    // Kept as sent, a type no webhook can name would be stored and listed but routed by `*` alone;
    // with a control character it failed every delivery as a header, and a wildcard (`message.*`)
    // a webhook's `message.*` would take for every message type.
    eventType: isNameableType(eventType) ? eventType : unknownOf(eventType),
    locationUid: within(locationUid, MAX_OWNER_UID_CHARS),
    organizationUid: within(organizationUid, MAX_OWNER_UID_CHARS),
  };
}
