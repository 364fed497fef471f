// Claim checks: bodies too large for one queue message wait in R2 (BODIES,
// `ingest/<event id>/<random>`) from the ack path until their event is stored.
import type { IngestMessage } from "../domain/types";

/** Stores a body; resolves with its key once R2 has it. */
export async function putBody(bucket: R2Bucket, eventId: string, body: string): Promise<string> {
  const key = `ingest/${eventId}/${crypto.randomUUID()}`;
  await bucket.put(key, body);
  return key;
}

/** The body of a message, inline or from R2; null when the claim-checked object is gone. */
export async function bodyOf(bucket: R2Bucket, msg: IngestMessage): Promise<string | null> {
  if (msg.body !== undefined) return msg.body;
  if (!msg.bodyKey) return null;
  const obj = await bucket.get(msg.bodyKey);
  return obj ? obj.text() : null;
}

/** Removes claim-checked bodies once their events are stored. */
export async function dropBodies(bucket: R2Bucket, keys: string[]): Promise<void> {
  if (keys.length > 0) await bucket.delete(keys);
}
