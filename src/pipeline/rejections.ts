import { isRejectionsMessage } from "../domain/types";
import type { Env } from "../env";
import { recordRejections } from "../store/rejections";
import { alertRejecting } from "./alerts";

/** The rejections queue's consumer: records the ack path's tallies of refused requests in one transaction. */
export async function consumeRejections(batch: MessageBatch, env: Env): Promise<void> {
  const messages = batch.messages.map((m) => m.body);
  if (!messages.every(isRejectionsMessage)) {
    // Nothing but the ingress sends here: the batch is retried, as one D1 refused is.
    console.error("not a rejections message; retrying", { messages: messages.length });
    batch.retryAll({ delaySeconds: 30 });
    return;
  }
  try {
    await recordRejections(env.DB, messages);
    batch.ackAll();
  } catch (err) {
    console.error("recording refused requests failed; retrying", { messages: batch.messages.length, error: String(err) });
    batch.retryAll({ delaySeconds: 30 });
    return;
  }
  const added = new Map<string, number>();
  for (const c of messages.flatMap((m) => m.counts)) added.set(c.sourceId, (added.get(c.sourceId) ?? 0) + c.count);
  await alertRejecting(env, added); // never throws
}
