import type { IngestMessage } from "../domain/types";
import type { Env } from "../env";
import { putBody } from "../store/bodies";

// The ingest queue's producer, used by the ack path.

/** Queue messages hold 128 KB; leave room for the queue's own framing. */
export const MAX_INLINE_MESSAGE_BYTES = 120_000;

// JSON writes one UTF-16 unit as at most 6 bytes (`\u001f`); 256 covers the keys,
// punctuation and numbers of a message.
const MAX_BYTES_PER_CHAR = 6;
const FRAMING_CHARS = 256;

/** An upper bound of the message's JSON size in bytes, found without serialising it. */
function sizeBound(msg: IngestMessage): number {
  let chars = FRAMING_CHARS;
  for (const value of Object.values(msg)) if (typeof value === "string") chars += value.length;
  for (const name in msg.headers) chars += name.length + msg.headers[name]!.length + 6;
  return chars * MAX_BYTES_PER_CHAR;
}

/** The message's exact JSON size in bytes. */
function size(msg: IngestMessage): number {
  // A UTF-16 length times 3 bounds the UTF-8 size: most messages need no encoding to be measured.
  const json = JSON.stringify(msg);
  return json.length * 3 <= MAX_INLINE_MESSAGE_BYTES ? json.length : new TextEncoder().encode(json).byteLength;
}

/**
 * Puts a message on the ingest queue. A body that would not fit in one message
 * is written to R2 first and the message carries its key (claim check).
 * Resolves only once the queue accepted the message.
 */
export async function enqueue(env: Env, msg: IngestMessage): Promise<void> {
  // The ack path serialises a typical message once, inside send(); only a large one is measured first.
  const fits = sizeBound(msg) <= MAX_INLINE_MESSAGE_BYTES || size(msg) <= MAX_INLINE_MESSAGE_BYTES;
  if (!fits && msg.body !== undefined) {
    const { body, ...rest } = msg;
    msg = { ...rest, bodyKey: await putBody(env.BODIES, msg.eventId, body) };
  }
  await env.INGEST.send(msg, { contentType: "json" });
}
