import type { RejectionsMessage } from "../domain/types";
import type { Env } from "../env";
import { recordRejections } from "../store/rejections";
import { alertRejecting } from "./alerts";

/** The rejections queue's consumer: records the ack path's tallies of refused requests in one transaction. */
export async function consumeRejections(batch: MessageBatch<RejectionsMessage>, env: Env): Promise<void> {
  try {
    await recordRejections(env.DB, batch.messages.map((m) => m.body));
    batch.ackAll();
  } catch (err) {
    console.error("recording refused requests failed; retrying", { messages: batch.messages.length, error: String(err) });
    batch.retryAll({ delaySeconds: 30 });
    return;
  }
  const added = new Map<string, number>();
  for (const c of batch.messages.flatMap((m) => m.body.counts)) added.set(c.sourceId, (added.get(c.sourceId) ?? 0) + c.count);
  await alertRejecting(env, added); // never throws
}
