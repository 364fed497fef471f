import { utf8Length } from "../domain/crypto";
import { AppError } from "../domain/errors";
import type { IngestMessage } from "../domain/types";
import type { Env } from "../env";
import { newBodyKey, putBody } from "../store/bodies";

// The ingest queue's producer: the ack path's enqueue, and requeue for a message the queue
// gave up on (a dead letter replayed, or one parked in R2 put back).

/** The Retry-After of an answer whose message the queue did not take. */
export const QUEUE_RETRY_AFTER_S = 5;

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

/**
 * The message's JSON size in bytes as compared with MAX_INLINE_MESSAGE_BYTES: exact when over
 * it; within it, possibly the UTF-16 length instead, which is never more than the UTF-8 size.
 */
function size(msg: IngestMessage): number {
  // A UTF-16 length times 3 bounds the UTF-8 size: most messages need no encoding to be measured.
  const json = JSON.stringify(msg);
  return json.length * 3 <= MAX_INLINE_MESSAGE_BYTES ? json.length : utf8Length(json);
}

/**
 * Puts a message on the ingest queue. A body that would not fit in one message
 * is written to R2 first and the message carries its key (claim check).
 * Resolves only once the queue accepted the message. Throws AppError
 * `payload_too_large`, having written nothing, when even the message without its
 * body would not fit (the queue would refuse it on every retry).
 */
export async function enqueue(env: Env, msg: IngestMessage): Promise<void> {
  // The ack path serialises a typical message once, inside send(); only a large one is measured first.
  const fits = sizeBound(msg) <= MAX_INLINE_MESSAGE_BYTES || size(msg) <= MAX_INLINE_MESSAGE_BYTES;
  if (!fits) {
    const { body, ...envelope } = msg;
    const bodyKey = newBodyKey(msg.eventId);
    const claimed = body === undefined ? envelope : { ...envelope, bodyKey };
    const bytes = size(claimed);
    if (bytes > MAX_INLINE_MESSAGE_BYTES) {
      throw new AppError(
        "payload_too_large",
        `The event's headers and the fields read from its body (type, id, location, organization) take ${bytes} bytes; one queue message holds ${MAX_INLINE_MESSAGE_BYTES}.`,
      );
    }
    if (body !== undefined) await putBody(env.BODIES, bodyKey, body);
    msg = claimed;
  }
  await env.INGEST.send(msg, { contentType: "json" });
}

/**
 * Puts back on the ingest queue a message it carried before (built by enqueue), as it is: no
 * size check, as the queue took it once at this size; a claim-checked body is already in R2
 * under its bodyKey (until its event is stored, or R2's lifecycle rule takes it:
 * docs/operations.md). Resolves only once the queue accepted it; throws when it did not.
 */
export async function requeue(env: Env, msg: IngestMessage): Promise<void> {
  await env.INGEST.send(msg, { contentType: "json" });
}
