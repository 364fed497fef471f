import { sha256Hex } from "./ids";
import type { EventFacts } from "./types";

// What a provider reads out of a body or its headers is only as long as the rest of
// Edgehook can use: the queue message that carries it must fit in 128 KB (the body may
// go to R2, these fields cannot), and a value no webhook or query can name routes nothing.

/** The longest event type kept: the longest a webhook's eventTypes or an event query can name. */
export const MAX_EVENT_TYPE_CHARS = 200;
/** The longest location or organization uid kept: the longest a webhook, a token or a query can name. */
export const MAX_OWNER_UID_CHARS = 128;
/** The longest dedupe key kept as given; a longer one is replaced by its SHA-256 (hex), so it still dedupes. */
export const MAX_DEDUPE_KEY_CHARS = 256;
/** The type of an event whose type cannot be read (or is longer than any type). */
const UNKNOWN_EVENT_TYPE = "unknown";

const within = (value: string | null, max: number) => (value !== null && value.length <= max ? value : null);

/**
 * The facts with each field within its bound: a type too long is unknown, a location or
 * organization too long is none, a dedupe key too long is its hash.
 */
export async function boundFacts(facts: EventFacts): Promise<EventFacts> {
  const { dedupeKey, eventType, locationUid, organizationUid } = facts;
  return {
    dedupeKey: dedupeKey.length <= MAX_DEDUPE_KEY_CHARS ? dedupeKey : await sha256Hex(dedupeKey),
    eventType: eventType.length <= MAX_EVENT_TYPE_CHARS ? eventType : UNKNOWN_EVENT_TYPE,
    locationUid: within(locationUid, MAX_OWNER_UID_CHARS),
    organizationUid: within(organizationUid, MAX_OWNER_UID_CHARS),
  };
}
