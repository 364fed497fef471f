import type { DeadDelivery, IngestMessage } from "../domain/types";
import type { Env } from "../env";
import { recordDeadLetters } from "../store/dead-letters";
import { QUEUES } from "./queues";

/**
 * The consumer of both dead-letter queues: it records what arrived in D1 (visible
 * at /v1/dead-letters and in /v1/stats) so that nothing fails silently, and an
 * operator can replay it. A message is acked only once recorded.
 */
export async function consumeDeadLetters(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const now = Date.now();
  const letters = batch.messages.map((m) => {
    const body = (m.body ?? {}) as Partial<IngestMessage & DeadDelivery>;
    console.error("dead letter", { queue: batch.queue, eventId: body.eventId ?? null, deliveryId: body.deliveryId ?? null });
    return {
      queue: batch.queue,
      messageId: m.id,
      eventId: body.eventId ?? null,
      deliveryId: body.deliveryId ?? null,
      reason:
        batch.queue === QUEUES.deliveriesDead
          ? `delivery failed after ${body.attempts ?? "?"} attempts: ${body.lastError ?? "unknown error"}`
          : "the event could not be stored after the queue's retries",
      body: JSON.stringify(m.body),
      attempts: m.attempts,
      receivedAt: now,
    };
  });
  try {
    await recordDeadLetters(env.DB, letters);
    batch.ackAll();
  } catch (err) {
    console.error("recording dead letters failed; retrying", { error: String(err) });
    batch.retryAll({ delaySeconds: 30 });
  }
}
