import { REJECTING_THRESHOLD } from "../domain/alerts";
import { isIndexable } from "../domain/guards";
import { isRejectionsMessage, type RejectionsMessage } from "../domain/types";
import type { Env } from "../env";
import { recordRejections, type RejectionClaim } from "../store/rejections";
import { alertRejecting } from "./alerts";

const isTally = (msg: Message): msg is Message<RejectionsMessage> => isRejectionsMessage(msg.body);

/** What an unreadable message looks like, never what it holds: its type and top-level keys. */
function shapeOf(body: unknown): string {
  if (!isIndexable(body)) return body === null ? "null" : typeof body;
  return Array.isArray(body) ? "array" : `{${Object.keys(body).slice(0, 10).join(",")}}`;
}

/**
 * Deliveries of a message this Worker cannot read before it is dropped: the queue's own
 * max_retries (wrangler.toml) + 1, so the last one is dropped here, logged, not by the queue.
 */
export const UNREAD_TALLY_DELIVERIES = 11;

/**
 * The rejections queue's consumer: records the ack path's tallies of refused requests in one
 * transaction. A message that is no tally this Worker reads (say, one with an error code from
 * another version during a rollout) does not hold the batch's good tallies back: it is retried
 * on its own, for a Worker of the other version to read, and on its last delivery logged and
 * acked (this queue has no dead-letter queue).
 */
export async function consumeRejections(batch: MessageBatch, env: Env): Promise<void> {
  const tallies: Message<RejectionsMessage>[] = [];
  for (const msg of batch.messages) {
    if (isTally(msg)) {
      tallies.push(msg);
      continue;
    }
    if (msg.attempts < UNREAD_TALLY_DELIVERIES) {
      msg.retry({ delaySeconds: 30 });
      continue;
    }
    console.error("not a rejections message; dropped", { messageId: msg.id, shape: shapeOf(msg.body) });
    msg.ack();
  }
  if (tallies.length === 0) return;
  const messages = tallies.map((m) => m.body);
  let claims: RejectionClaim[];
  try {
    claims = await recordRejections(env.DB, messages, REJECTING_THRESHOLD);
  } catch (err) {
    console.error("recording refused requests failed; retrying", { messages: tallies.length, error: String(err) });
    for (const msg of tallies) msg.retry({ delaySeconds: 30 });
    return;
  }
  for (const msg of tallies) msg.ack();
  await alertRejecting(env, claims); // never throws
}
