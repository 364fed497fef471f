// Claim checks: bodies too large for one queue message wait in R2 (BODIES,
// `ingest/<event id>/<random>`) from the ack path until their event is stored.
import type { IngestMessage } from "../domain/types";

// text() would drop a leading byte order mark, which the body keeps byte for byte (documents.ts, jsonText).
const utf8Decoder = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });

/** A new key for a body of this event (a redelivered event's body gets its own). */
export const newBodyKey = (eventId: string): string => `ingest/${eventId}/${crypto.randomUUID()}`;

/** Stores a body; resolves once R2 has it. */
export async function putBody(bucket: R2Bucket, key: string, body: string): Promise<void> {
  await bucket.put(key, body);
}

/** The body of a message, inline or from R2; null when the claim-checked object is gone. */
export async function bodyOf(bucket: R2Bucket, msg: IngestMessage): Promise<string | null> {
  if (msg.body !== undefined) return msg.body;
  if (!msg.bodyKey) return null;
  const obj = await bucket.get(msg.bodyKey);
  return obj ? utf8Decoder.decode(await obj.arrayBuffer()) : null;
}

/** Removes claim-checked bodies once their events are stored. */
export async function dropBodies(bucket: R2Bucket, keys: string[]): Promise<void> {
  if (keys.length > 0) await bucket.delete(keys);
}
