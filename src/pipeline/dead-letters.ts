import { valueAt } from "../domain/documents";
import type { Env } from "../env";
import { recordDeadLetters, type NewDeadLetter } from "../store/dead-letters";
import { park, type ParkedLetter } from "../store/parked";
import { DELIVERY_DEAD_LETTERS, failedAfter } from "./attempt";
import { alertIngestDeadLetters } from "./alerts";
import { scheduledDelay } from "./retry-schedule";

const field = (body: unknown, name: string): unknown => valueAt(body, [name]);
const text = (v: unknown): string | null => (typeof v === "string" ? v : null);

/**
 * The record of a dead-letter message, from the consumer or from R2 (where a
 * delivery's could also wait, parked before deliveries left the queues).
 */
export function deadLetterOf(letter: Omit<ParkedLetter, "parkedAt">, receivedAt: number): NewDeadLetter {
  const { queue, body } = letter;
  const attempts = field(body, "attempts");
  return {
    queue,
    messageId: letter.messageId,
    eventId: text(field(body, "eventId")),
    deliveryId: text(field(body, "deliveryId")),
    reason:
      queue !== DELIVERY_DEAD_LETTERS
        ? "the event could not be stored after the queue's retries"
        : typeof attempts === "number"
          ? failedAfter(attempts, text(field(body, "lastError")))
          : "the delivery's queue message ran out of the queue's retries",
    body: JSON.stringify(body),
    attempts: letter.attempts,
    receivedAt,
  };
}

/**
 * The ingest dead-letter queue's consumer (events that could not be stored): it
 * records what arrived in D1 (visible at /v1/dead-letters and in /v1/stats) so
 * that nothing fails silently, and an operator can replay it. When D1 cannot take them, each message is parked in R2
 * (the maintenance run records or re-ingests it later). A message is acked only
 * once it is recorded or parked.
 */
export async function consumeIngestDeadLetters(batch: MessageBatch, env: Env): Promise<void> {
  const now = Date.now();
  const letters = batch.messages.map((m) => {
    const letter = { queue: batch.queue, messageId: m.id, attempts: m.attempts, body: m.body };
    const record = deadLetterOf(letter, now);
    console.error("dead letter", { queue: batch.queue, eventId: record.eventId, deliveryId: record.deliveryId });
    return { m, letter, record };
  });
  try {
    await recordDeadLetters(
      env.DB,
      letters.map((l) => l.record),
    );
    batch.ackAll();
    await alertIngestDeadLetters(env, letters.length, letters[0]?.record.reason ?? "", now); // never throws
    return;
  } catch (err) {
    console.error("recording dead letters in D1 failed; parking them in R2", { count: letters.length, error: String(err) });
  }
  await Promise.all(
    letters.map(async ({ m, letter }) => {
      try {
        await park(env.BODIES, { ...letter, parkedAt: now });
        m.ack();
      } catch (err) {
        console.error("parking a dead letter in R2 failed; retrying", { messageId: m.id, error: String(err) });
        m.retry({ delaySeconds: scheduledDelay(m.attempts) });
      }
    }),
  );
}
