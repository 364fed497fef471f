import { isIngestMessage, type IngestMessage } from "../domain/types";
import type { Env } from "../env";
import { bodyOf, dropBodies } from "../store/bodies";
import { announceEvents } from "../listen/announce";
import { recordEventTypes } from "../store/event-types";
import { configSources } from "../ingress/sources";
import { eventExists, storedEventIds, type EventRow } from "../store/events";
import { learnLocations, locationPlaces } from "../store/locations";
import { allWebhooks } from "../store/webhooks";
import { storeAndRoute } from "./commands";
import { scheduledDelay } from "./retry-schedule";
import { claimsToCheck, locationsToLookUp, settleOwners } from "./owners";

type Ready = { msg: Message<IngestMessage>; row: EventRow };

// A failed store is retried on a schedule that spans hours, so D1 trouble of that
// length loses nothing; only then does the queue move the message to the DLQ.
function retryLater(msg: Message): void {
  msg.retry({ delaySeconds: scheduledDelay(msg.attempts) });
}

const isIngest = (msg: Message): msg is Message<IngestMessage> => isIngestMessage(msg.body);

/**
 * The ingest consumer: stores each event once and creates the deliveries it is
 * owed, all of a batch in one D1 transaction, then wakes the scheduler of each
 * webhook owed one. A message is acked only after that; a failure retries it
 * on the schedule, and every step is idempotent, so the retry finishes the work.
 * If the batch transaction fails, each event is tried on its own so one bad
 * message cannot hold the others back. Nothing here throws: every message ends
 * acked or retried with a delay (wrangler.toml's retry_delay covers only an
 * invocation the platform cuts short).
 */
export async function consumeIngest(batch: MessageBatch, env: Env): Promise<void> {
  const ready: Ready[] = [];
  for (const msg of batch.messages) {
    if (!isIngest(msg)) {
      // Nothing this Worker sends: retried like a failed store, so it ends in the dead-letter
      // queue, where it is recorded, instead of failing (and retrying at once) the whole batch.
      console.error("not an ingest message", { messageId: msg.id });
      retryLater(msg);
      continue;
    }
    const { v: _v, body: _b, bodyKey: _k, ...facts } = msg.body;
    const body = await bodyOf(env.BODIES, msg.body).catch(() => null);
    if (body !== null) {
      ready.push({ msg, row: { ...facts, body } });
    } else if (await eventExists(env.DB, msg.body.eventId).catch(() => false)) {
      await letGoOfStored(env, msg);
    } else {
      console.error("ingest body unavailable", { eventId: msg.body.eventId });
      retryLater(msg);
    }
  }
  if (ready.length === 0) return;

  try {
    await storeBatch(env, ready);
    return;
  } catch (err) {
    console.error("ingest batch failed; storing one by one", { size: ready.length, error: String(err) });
  }
  for (const r of ready) {
    await storeBatch(env, [r]).catch((err) => {
      console.error("ingest failed", { eventId: r.row.eventId, error: String(err) });
      retryLater(r.msg);
    });
  }
}

/**
 * A redelivery of a claim-checked event already stored, its body unread (gone, or R2
 * failing to read it just now): its object is deleted before the message is acked, or the
 * message comes back to try again: acked with the object there, only the bucket's lifecycle
 * rule would remove it.
 */
async function letGoOfStored(env: Env, msg: Message<IngestMessage>): Promise<void> {
  try {
    await dropBodies(env.BODIES, msg.body.bodyKey ? [msg.body.bodyKey] : []);
  } catch (err) {
    console.error("claim-check cleanup failed; retrying", { eventId: msg.body.eventId, error: String(err) });
    retryLater(msg);
    return;
  }
  msg.ack();
}

async function storeBatch(env: Env, ready: Ready[]): Promise<void> {
  // Webhooks are read once per batch, never per event; locations only when an owner depends on one.
  // Whether a claim an owner depends on is a redelivery's is read only then (events of a looked-up location).
  const given = ready.map((r) => r.row);
  const [webhooks, known, stored] = await Promise.all([
    allWebhooks(env.DB),
    locationPlaces(env.DB, locationsToLookUp(given)),
    storedEventIds(env.DB, claimsToCheck(given)),
  ]);
  const { rows, learned } = settleOwners(given, known, stored);
  // What the batch teaches is written in its own transaction, so it is learned exactly when stored.
  const also = [learnLocations(env.DB, learned), recordEventTypes(env.DB, rows, configSources(env).map((s) => s.id))].filter((s) => s !== null);
  await storeAndRoute(env, rows, webhooks, also);
  for (const r of ready) r.msg.ack();
  await announceEvents(env); // never throws, and skipped while nobody listens
  const keys = ready.flatMap((r) => (r.msg.body.bodyKey ? [r.msg.body.bodyKey] : []));
  // Losing this delete only leaves an orphan object; the events are stored.
  await dropBodies(env.BODIES, keys).catch((err) => console.error("claim-check cleanup failed", { error: String(err) }));
}
