import type { IngestMessage } from "../domain/types";
import type { Env } from "../env";
import { bodyOf, dropBodies } from "../ingress/claim-check";
import { eventExists, insertEvents, type EventRow } from "../store/events";
import { backoffSeconds } from "./backoff";

// A failed store is retried soon; the queue's max_retries then moves it to the DLQ.
const RETRY_BASE_S = 2;
const RETRY_CAP_S = 60;

function retryLater(msg: Message<IngestMessage>): void {
  msg.retry({ delaySeconds: Math.max(1, backoffSeconds(msg.attempts, RETRY_BASE_S, RETRY_CAP_S)) });
}

/**
 * The ingest consumer: stores each event once, all of a batch in one D1
 * transaction. A message is acked only after its event is stored; a failed
 * write retries it. If the batch transaction fails, each event is tried on its
 * own so one bad message cannot hold the others back.
 */
export async function consumeIngest(batch: MessageBatch<IngestMessage>, env: Env): Promise<void> {
  const ready: { msg: Message<IngestMessage>; row: EventRow }[] = [];
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

  try {
    await insertEvents(env.DB, ready.map((r) => r.row));
    for (const r of ready) r.msg.ack();
    await settleBodies(env, ready.map((r) => r.msg));
    return;
  } catch (err) {
    console.error("ingest batch write failed; storing one by one", { size: ready.length, error: String(err) });
  }

  for (const r of ready) {
    try {
      await insertEvents(env.DB, [r.row]);
      r.msg.ack();
      await settleBodies(env, [r.msg]);
    } catch (err) {
      console.error("ingest write failed", { eventId: r.row.eventId, error: String(err) });
      retryLater(r.msg);
    }
  }
}

async function settleBodies(env: Env, msgs: Message<IngestMessage>[]): Promise<void> {
  const keys = msgs.flatMap((m) => (m.body.bodyKey ? [m.body.bodyKey] : []));
  // Losing this delete only leaves an orphan object; the event is already stored.
  await dropBodies(env, keys).catch((err) => console.error("claim-check cleanup failed", { error: String(err) }));
}
