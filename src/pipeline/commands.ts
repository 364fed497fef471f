/**
 * Every change of a delivery's state, as commands: each is one store transition
 * (a D1 write: the commit) followed by handing what became pending to the
 * deliveries queue. One failure policy for all of them: once the write has
 * committed, a failed enqueue is logged and not retried here; the maintenance
 * run re-drives pending deliveries whose queue message was lost once they are
 * overdue (REDRIVE_GRACE_MS), so the caller always gets the committed answer.
 */
import { newDelivery, type NewDelivery } from "../domain/delivery";
import { isIngestMessage, type Webhook } from "../domain/types";
import type { Env } from "../env";
import { owedWebhooks, replayTargets, type ReplayEvent } from "../routing/match";
import { getDeadLetter, markReplayed, type DeadLetter } from "../store/dead-letters";
import {
  claimOverdue,
  holdDeliveries,
  insertDeliveries,
  recordAttempts as storeAttempts,
  releaseHeld,
  retryDeliveries,
  type AttemptOutcome,
  type DeliveryFilter,
} from "../store/deliveries";
import { storeEvents, type EventRow } from "../store/events";
import { enqueueDeliveries } from "./enqueue";
import { QUEUES } from "./queues";

/** A pending delivery this far past due has lost its queue message; the maintenance run re-drives it. */
export const REDRIVE_GRACE_MS = 10 * 60_000;
/** How many deliveries one release or re-drive takes at a time. */
export const RELEASE_LIMIT = 1000;

/** Queues what is pending after a committed write; a failure is left to the re-drive. */
async function dispatch(env: Env, ids: string[], opts: { ordered?: boolean } = {}): Promise<void> {
  if (ids.length === 0) return;
  try {
    await enqueueDeliveries(env, ids, opts);
  } catch (err) {
    console.error("enqueueing deliveries failed; the maintenance run re-drives them", { deliveries: ids.length, error: String(err) });
  }
}

/**
 * Stores a batch of events with the deliveries they are owed (routing), in one
 * transaction with `also` (what the batch teaches), then queues the pending ones.
 * The webhooks whose filter excluded an event are recorded on the event's own row.
 */
export async function storeAndRoute(
  env: Env,
  rows: EventRow[],
  webhooks: Webhook[],
  also: D1PreparedStatement[] = [],
  now = Date.now(),
): Promise<void> {
  const routed = rows.map((e) => ({ e, routing: owedWebhooks(webhooks, e) }));
  const stored = routed.map(({ e, routing }) => ({ ...e, filteredOut: routing.filteredOut.map((w) => w.uid) }));
  const deliveries = await Promise.all(
    routed.flatMap(({ e, routing }) => routing.owed.map((w) => newDelivery("routed", { id: e.eventId }, w, now))),
  );
  await dispatch(env, await storeEvents(env.DB, stored, deliveries, also));
}

/** Records a batch's attempts, their outcomes and the dead letters of deliveries failed for good. */
export async function recordAttempts(env: Env, outcomes: AttemptOutcome[]): Promise<void> {
  await storeAttempts(env.DB, outcomes);
}

/** Holds pending deliveries whose webhook is disabled: nothing is sent until it is enabled. */
export async function hold(env: Env, deliveryIds: string[]): Promise<void> {
  await holdDeliveries(env.DB, deliveryIds);
}

/** Tries deliveries again (held instead while their webhook is disabled); their dead letters close. */
export async function retry(env: Env, filter: DeliveryFilter & { ids?: string[] }): Promise<{ pending: string[]; held: string[] }> {
  const retried = await retryDeliveries(env.DB, filter);
  await dispatch(env, retried.pending);
  return retried;
}

/** Releases held deliveries of enabled webhooks (or of one), oldest first, to go out one after another. */
export async function release(env: Env, opts: { webhookUid?: string } = {}, now = Date.now()): Promise<number> {
  const released = await releaseHeld(env.DB, { webhookUid: opts.webhookUid, limit: RELEASE_LIMIT }, now);
  await dispatch(env, released, { ordered: true });
  return released.length;
}

/** Queues again the pending deliveries whose queue message was lost. */
export async function redrive(env: Env, now = Date.now()): Promise<number> {
  const overdue = await claimOverdue(env.DB, REDRIVE_GRACE_MS, RELEASE_LIMIT, now);
  await dispatch(env, overdue);
  return overdue.length;
}

/**
 * Replays events to target webhooks: a new delivery for each event and target owed
 * it (`replayTargets`), held for a disabled webhook. Returns the deliveries made.
 */
export async function replay(env: Env, targets: Webhook[], events: ReplayEvent[], now = Date.now()): Promise<NewDelivery[]> {
  const deliveries = await Promise.all(
    events.flatMap((e) => replayTargets(targets, e).map((w) => newDelivery("replay", e, w, now))),
  );
  await dispatch(env, await insertDeliveries(env.DB, deliveries));
  return deliveries;
}

/** Why a dead letter cannot be replayed. */
export type ReplayRefusal = "not_found" | "nothing_to_retry" | "unreplayable";

/**
 * Replays a dead letter: its event goes back on the ingest queue (the send is the
 * commit here: it must succeed), or its delivery is tried again. Marks it replayed.
 */
export async function replayDeadLetter(env: Env, seq: number): Promise<DeadLetter | ReplayRefusal> {
  const letter = await getDeadLetter(env.DB, seq);
  if (!letter) return "not_found";
  const message: unknown = JSON.parse(letter.body);
  if (letter.queue === QUEUES.ingestDead) {
    if (!isIngestMessage(message)) return "unreplayable";
    await env.INGEST.send(message, { contentType: "json" });
  } else if (letter.deliveryId) {
    const retried = await retry(env, { ids: [letter.deliveryId] });
    if (retried.pending.length + retried.held.length === 0) return "nothing_to_retry";
  } else {
    return "unreplayable";
  }
  await markReplayed(env.DB, seq);
  return (await getDeadLetter(env.DB, seq)) ?? letter;
}
