import type { IngestMessage } from "../domain/types";
import type { Env } from "../env";
import { bodyOf, dropBodies } from "../ingress/claim-check";
import { announceEvents } from "../listen/announce";
import { route } from "../routing/match";
import { eventExists, storeEvents, type EventRow } from "../store/events";
import { allWebhooks } from "../store/webhooks";
import { backoffSeconds } from "./backoff";
import { enqueueDeliveries } from "./enqueue";

// A failed store is retried soon; the queue's max_retries then moves it to the DLQ.
const RETRY_BASE_S = 2;
const RETRY_CAP_S = 60;

type Ready = { msg: Message<IngestMessage>; row: EventRow };

function retryLater(msg: Message<IngestMessage>): void {
  msg.retry({ delaySeconds: Math.max(1, backoffSeconds(msg.attempts, RETRY_BASE_S, RETRY_CAP_S)) });
}

/**
 * The ingest consumer: stores each event once and creates the deliveries it is
 * owed, all of a batch in one D1 transaction, then queues one message per
 * pending delivery. A message is acked only after that; a failure retries it,
 * and every step is idempotent, so the retry finishes the work. If the batch
 * transaction fails, each event is tried on its own so one bad message cannot
 * hold the others back.
 */
export async function consumeIngest(batch: MessageBatch<IngestMessage>, env: Env): Promise<void> {
  const ready: Ready[] = [];
  for (const msg of batch.messages) {
    const { v: _v, body: _b, bodyKey: _k, ...facts } = msg.body;
    const body = await bodyOf(env, msg.body).catch(() => null);
    if (body !== null) {
      ready.push({ msg, row: { ...facts, body } });
    } else if (await eventExists(env.DB, msg.body.eventId).catch(() => false)) {
      msg.ack(); // a redelivery of a claim-checked event that is already stored
    } else {
      console.error("ingest body unavailable", { eventId: msg.body.eventId });
      retryLater(msg);
    }
  }
  if (ready.length === 0) return;

  try {
    await storeAndRoute(env, ready);
    return;
  } catch (err) {
    console.error("ingest batch failed; storing one by one", { size: ready.length, error: String(err) });
  }
  for (const r of ready) {
    await storeAndRoute(env, [r]).catch((err) => {
      console.error("ingest failed", { eventId: r.row.eventId, error: String(err) });
      retryLater(r.msg);
    });
  }
}

async function storeAndRoute(env: Env, ready: Ready[]): Promise<void> {
  // Webhooks are read once per batch, never per event.
  const webhooks = await allWebhooks(env.DB);
  const deliveries = (await Promise.all(ready.map((r) => route(webhooks, r.row)))).flat();
  const pending = await storeEvents(env.DB, ready.map((r) => r.row), deliveries);
  await enqueueDeliveries(env, pending);
  for (const r of ready) r.msg.ack();
  await announceEvents(env); // never throws, and skipped while nobody listens
  const keys = ready.flatMap((r) => (r.msg.body.bodyKey ? [r.msg.body.bodyKey] : []));
  // Losing this delete only leaves an orphan object; the events are stored.
  await dropBodies(env, keys).catch((err) => console.error("claim-check cleanup failed", { error: String(err) }));
}
