import { sha256Hex } from "./crypto";
import { dedupeKeyText, type DedupeKey } from "./types";

/** A source id (the contract's slug). */
export const SOURCE_ID = /^[a-z0-9-]{1,64}$/;

/** What a digest key looks like: SHA-256 as lower-case hex. */
const DIGEST_SHAPED = /^[0-9a-f]{64}$/;

/**
 * The event id is a hash of the source and the dedupe key, so a provider's
 * redelivery, or the queue's, lands on the same id and the same row.
 *
 * A given key shaped like a digest is hashed after a tab, not a line break (no source id holds
 * either, so the two never meet): a sender's id that happens to be another event's body or key
 * digest names an event of its own. Every other key keeps the `\n` it always had, and so the id events were stored under.
 */
export async function eventIdFor(sourceId: string, key: DedupeKey): Promise<string> {
  const text = dedupeKeyText(key);
  const separator = "given" in key && DIGEST_SHAPED.test(text) ? "\t" : "\n";
  const hex = await sha256Hex(`${sourceId}${separator}${text}`);
  return `evt_${hex.slice(0, 32)}`;
}

/** True for what eventIdFor makes: `evt_` and 32 lower-case hex digits. */
export function isEventId(id: string): boolean {
  return /^evt_[0-9a-f]{32}$/.test(id);
}
