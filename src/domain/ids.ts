import { sha256Hex, toHex } from "./crypto";
import { dedupeKeyText, type DedupeKey, type Source } from "./types";

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
 *
 * A source with a salt (every one stored since migration 0060) has its salt hashed after its id and
 * a space (no source id holds one, so its ids meet no unsalted source's): one made again under a
 * deleted source's id, whose events are still stored, shares none of their ids. One without (stored
 * before, or declared by configuration) keeps the ids it always had.
 */
export async function eventIdFor(source: Pick<Source, "id" | "eventSalt">, key: DedupeKey): Promise<string> {
  const text = dedupeKeyText(key);
  const separator = "given" in key && DIGEST_SHAPED.test(text) ? "\t" : "\n";
  const stream = source.eventSalt === null ? source.id : `${source.id} ${source.eventSalt}`;
  const hex = await sha256Hex(`${stream}${separator}${text}`);
  return `evt_${hex.slice(0, 32)}`;
}

/** A new source's salt (eventIdFor): 128 random bits. */
export const newEventSalt = (): string => toHex(crypto.getRandomValues(new Uint8Array(16)));

/** True for what eventIdFor makes: `evt_` and 32 lower-case hex digits. */
export function isEventId(id: string): boolean {
  return /^evt_[0-9a-f]{32}$/.test(id);
}
