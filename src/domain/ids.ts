import { sha256Hex } from "./crypto";

/** A source id (the contract's slug). */
export const SOURCE_ID = /^[a-z0-9-]{1,64}$/;

/**
 * The event id is a hash of the source and the dedupe key, so a provider's
 * redelivery, or the queue's, lands on the same id and the same row.
 */
export async function eventIdFor(sourceId: string, dedupeKey: string): Promise<string> {
  const hex = await sha256Hex(`${sourceId}\n${dedupeKey}`);
  return `evt_${hex.slice(0, 32)}`;
}

/** True for what eventIdFor makes: `evt_` and 32 lower-case hex digits. */
export function isEventId(id: string): boolean {
  return /^evt_[0-9a-f]{32}$/.test(id);
}
