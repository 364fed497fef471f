/**
 * Every change of a delivery's state, as commands: each is one store transition
 * (a D1 write: the commit) followed by waking the schedulers of the webhooks that
 * have something new to send. One failure policy for all of them: once the write
 * has committed, a failed wake-up is logged and not retried here; the maintenance
 * run wakes the scheduler of any webhook whose pending deliveries are overdue
 * (REDRIVE_GRACE_MS), so the caller always gets the committed answer.
 */
import { isPastRetention, newDelivery, type NewDelivery } from "../domain/delivery";
import { drawn } from "../domain/random-sample";
import { retentionHorizon, settings } from "../domain/settings";
import { iso } from "../domain/time";
import { isIngestMessage, type IngestMessage, type Webhook } from "../domain/types";
import type { VersionedWrite } from "../domain/version";
import { unchanged } from "../domain/webhook";
import type { Env } from "../env";
import { requeue } from "../ingress/enqueue";
import { deadLettered, logDeliveryDeadLetters } from "./attempt";
import { announceEvents, announceWebhookDeleted } from "../listen/announce";
import { owedWebhooks, type ReplayEvent } from "../routing/match";
import { claimIngestLetter, getDeadLetter, releaseIngestClaim, settleIngestClaim, type DeadLetter } from "../store/dead-letters";
import {
  deletedWithOwed,
  disabledWithPending,
  EXPIRE_CHUNK,
  expireHeld as storeExpireHeld,
  expireOwedOfDeleted,
  expirePastRetention,
  HOLD_CHUNK,
  holdPending,
  insertDeliveries,
  recordAttempts as storeAttempts,
  releaseHeld,
  type AttemptOutcome,
} from "../store/deliveries";
import { RETENTION_START, retentionMark, retentionStep, type RetentionCursor } from "../store/retention";
import { askHeld, retryDeliveries, type RetryFilter, type RetryPage, type RetryPosition } from "../store/delivery-retry";
import { webhooksOverdue, webhooksWithHeld } from "../store/scheduler-reads";
import { storedEventIds, storeEvents, type EventRow } from "../store/events";
import { attemptAlertContextStatement, openDisabledEpisodeStatements, openEpisodeOf, type AttemptAlertContext, type NewEpisode } from "../store/alerts";
import { webhooksToAutoDisable } from "../store/health";
import { deleteWebhook, disableApplies, disableWebhookStatements, notificationEndpoints, updateWebhook, webhooksByUid } from "../store/webhooks";
import { announcement, disabledEpisode, type Announcement } from "./alert-events";
import { QUEUES } from "./queues";
import { whyNothingToRetry, type NothingToRetry } from "./replay-refusal";
import type { WakeReason } from "./flow";
import { wakeScheduler } from "./schedulers";

/** A pending delivery this far past due may have lost its scheduler's wake-up; the maintenance run wakes it. */
export const REDRIVE_GRACE_MS = 60_000;
/** How many held deliveries one release takes at a time, oldest first. */
export const RELEASE_LIMIT = 1000;
/** How many webhooks one maintenance step wakes at most. */
const WEBHOOKS_PER_RUN = 500;
/**
 * Per-webhook transactions one maintenance run makes at most, so that its D1 calls stay bounded
 * however many webhooks have work (D1 allows 1,000 queries an invocation: docs/scale-and-cost.md):
 * a release is 2 statements, a disable with its alert 18. Those left wait for the next runs, drawn
 * at random, so none is passed over for good.
 */
export const MAINTENANCE_RELEASES = 40;
export const MAINTENANCE_DISABLES = 6;

/**
 * Hands what became pending to the transport: one wake-up per webhook concerned,
 * however many deliveries it got. A failure is left to the maintenance run. `resume`:
 * someone asked for these deliveries now (a retry, an enable, a new URL), which ends a
 * pause the downstream asked for. `why`: new deliveries only, deliveries owed again (a
 * retry, a release: perhaps one whose attempt is out), or any other change (WakeReason).
 */
async function dispatch(env: Env, webhookUids: Iterable<string>, resume = false, why: WakeReason = "changed"): Promise<void> {
  const uids = [...new Set(webhookUids)];
  const results = await Promise.allSettled(uids.map((uid) => wakeScheduler(env, uid, resume, why)));
  const failed = results.flatMap((r) => (r.status === "rejected" ? [String(r.reason)] : []));
  if (failed.length > 0) {
    console.error("waking delivery schedulers failed; the maintenance run wakes them", { webhooks: failed.length, of: uids.length, error: failed[0] });
  }
}

/**
 * Stores a batch of events with the deliveries they are owed (routing), in one
 * transaction with `also` (what the batch teaches), then wakes the schedulers of the webhooks owed them.
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
    routed.flatMap(({ e, routing }) =>
      routing.owed.map((w) => newDelivery("routed", { id: e.eventId, receivedAt: e.receivedAt }, w, now)),
    ),
  );
  const horizon = retentionHorizon(settings(env), now);
  // Stored after their retention (a dead letter replayed late, an outage waited out), what they are owed is stored
  // expired. Said only of what this call stores so: not of a late event owed nothing, nor of a copy stored before
  // (read only when a late event is owed something, which is rare).
  const late = new Set(rows.filter((e) => isPastRetention(e.receivedAt, horizon)).map((e) => e.eventId));
  const lateOwed = deliveries.filter((d) => late.has(d.eventId));
  const storedBefore = lateOwed.length > 0 ? await storedEventIds(env.DB, [...new Set(lateOwed.map((d) => d.eventId))]) : new Set<string>();
  const fresh = new Set(await storeEvents(env.DB, stored, deliveries, also, horizon));
  const expired = lateOwed.filter((d) => !storedBefore.has(d.eventId));
  if (expired.length > 0) console.warn("events stored past the retention: their deliveries expired unsent", { events: new Set(expired.map((d) => d.eventId)).size, deliveries: expired.length });
  // Only new deliveries: their schedulers keep what they read ahead.
  await dispatch(env, deliveries.filter((d) => fresh.has(d.id)).map((d) => d.webhookUid), false, "added");
}

/**
 * Records a batch of a webhook's attempts, their outcomes, the dead letters of
 * deliveries failed for good and the webhook's health, and logs each dead letter
 * recorded; returns what alerting needs to know of what they left, read in the same transaction.
 */
export async function recordAttempts(env: Env, webhookUid: string, outcomes: AttemptOutcome[]): Promise<AttemptAlertContext | null> {
  const failing = outcomes.flatMap((o) => (o.deadLetter ? [o.attempt.deliveryId] : []));
  const context = await storeAttempts<AttemptAlertContext>(env.DB, webhookUid, outcomes, attemptAlertContextStatement(env.DB, webhookUid, failing));
  if (context) logDeliveryDeadLetters(webhookUid, deadLettered(outcomes, context));
  return context;
}

/**
 * Writes `changes` in one transaction with the alert that announces them (none: they are
 * written alone), then wakes the schedulers of the endpoints it is owed to and tells the
 * listener hub, as the ingest consumer does after a batch: else `listen` and `tail` heard
 * the alert only once some other event was announced (after its own attempts, in `tail`).
 */
export async function writeAnnounced(env: Env, alert: Announcement | null, changes: D1PreparedStatement[]): Promise<void> {
  if (!alert) {
    await env.DB.batch(changes);
    return;
  }
  await storeAndRoute(env, [alert.row], alert.endpoints, changes, alert.row.receivedAt);
  await announceEvents(env); // never throws, and skipped while nobody listens
}

/**
 * Disables the webhooks whose every attempt has failed for their
 * autoDisableAfterMinutes, with the reason recorded, holding their pending
 * deliveries as a disable through the API does (they expire after the retention,
 * and go out oldest first once the webhook is enabled), each in one transaction with
 * its `webhook.disabled` episode and alert: both are written or neither, and a webhook
 * left enabled is found due again by the next run. Returns those disabled; throws,
 * once the others are done, when one could not be written.
 */
export async function disableFailing(env: Env, now = Date.now()): Promise<{ webhook: Webhook; reason: string }[]> {
  // The rest of those due stay due: the next runs draw again.
  const due = drawn(await webhooksToAutoDisable(env.DB, now, WEBHOOKS_PER_RUN), MAINTENANCE_DISABLES);
  if (due.length === 0) return [];
  const [found, endpoints] = await Promise.all([webhooksByUid(env.DB, due.map((d) => d.uid)), notificationEndpoints(env.DB)]);
  const webhooks = new Map(found.map((w) => [w.uid, w]));
  const disabled: { webhook: Webhook; reason: string }[] = [];
  const failures: unknown[] = [];
  for (const d of due) {
    const w = webhooks.get(d.uid);
    // Changed since it was found due (its setting, enabled again): the next run decides again.
    if (!w || w.updatedAt !== d.version) continue;
    const minutes = w.autoDisableAfterMinutes === 1 ? "1 minute" : `${w.autoDisableAfterMinutes} minutes`;
    const reason = `every attempt failed for ${minutes} (since ${iso(d.failingSince)}), the last with: ${d.lastError ?? "unknown error"}`;
    const episode = disabledEpisode(w, reason, now);
    try {
      await writeAnnounced(env, await announcement(endpoints, episode, null), [
        ...openDisabledEpisodeStatements(env.DB, episode, w.updatedAt, d.failingSince),
        ...disableWebhookStatements(env.DB, w.uid, reason, now, w.updatedAt, d.failingSince),
      ]);
    } catch (err) {
      const outcome = await afterFailedDisable(env, episode, w.updatedAt, d.failingSince);
      // Lost: changed since it was read, or a success ended the streak it was found failing in; the next run decides again.
      if (outcome === "lost") continue;
      if (outcome === "failed") {
        console.error("auto-disable failed; the next run tries again", { webhookUid: w.uid, error: String(err) });
        failures.push(err);
        continue;
      }
    }
    disabled.push({ webhook: { ...w, disabled: true, disabledReason: reason, disabledAt: now }, reason });
  }
  // Their schedulers stop sending (what they had pending is held already).
  await dispatch(env, disabled.map((d) => d.webhook.uid));
  if (failures.length > 0) throw failures[0];
  return disabled;
}

/**
 * What became of a disable whose transaction threw: written after all when its episode is
 * open (the answer was lost); lost to another write when it no longer applies (its episode
 * refused it: nothing was written); else it failed, and nothing was written.
 */
async function afterFailedDisable(env: Env, episode: NewEpisode, version: number, failingSince: number): Promise<"written" | "lost" | "failed"> {
  try {
    if ((await openEpisodeOf(env.DB, episode.type, episode.subject))?.id === episode.id) return "written";
    return (await disableApplies(env.DB, episode.subject, version, failingSince)) ? "failed" : "lost";
  } catch {
    return "failed";
  }
}

/**
 * Holds what a disabled webhook has pending (its scheduler found it disabled): nothing is
 * sent until it is enabled. A chunk (HOLD_CHUNK) a transaction, until none is pending or
 * `deadline` passed; answers whether some may still be pending (the caller comes back).
 * Only while the webhook is still at the version its scheduler read: enabled (or changed)
 * since, nothing is held, and rightly so: a change that keeps it disabled held a chunk of what
 * was pending in its own transaction (store/webhooks.ts updateWebhook), an enable wants it
 * sent, a delete expired it; and each change wakes the scheduler, which reads the webhook
 * again. Said in the log, as it is otherwise invisible.
 */
export async function holdWebhook(
  env: Env,
  w: Pick<Webhook, "uid" | "updatedAt">,
  opts: { chunk?: number; deadline?: number } = {},
): Promise<boolean> {
  const chunk = opts.chunk ?? HOLD_CHUNK;
  for (;;) {
    const { held, version } = await holdPending(env.DB, w.uid, w.updatedAt, chunk);
    if (version !== w.updatedAt) {
      // version null: deleted meanwhile.
      console.log("scheduler hold skipped: the webhook changed since its scheduler read it", { webhookUid: w.uid, readVersion: w.updatedAt, version });
      return false;
    }
    if (held < chunk) return false;
    if (opts.deadline !== undefined && Date.now() >= opts.deadline) return true;
  }
}

/** Chunks of disabled webhooks' pending deliveries one maintenance run holds at most (each its own transaction). */
const HOLD_DISABLED_CHUNKS = 10;

/**
 * Holds what disabled webhooks still have pending past the chunk their disable held, a chunk (a
 * transaction) at a time, up to `bounds.chunks` a call, each while the webhook is at the version
 * read (a change meanwhile holds its own chunk): in case their scheduler's wake-up was lost.
 * `total` counts each chunk as it commits. Wakes no scheduler: one that reads a disabled webhook
 * sends nothing.
 */
export async function holdDisabledPending(
  env: Env,
  bounds: { chunk: number; chunks: number } = { chunk: HOLD_CHUNK, chunks: HOLD_DISABLED_CHUNKS },
  total: { held: number } = { held: 0 },
): Promise<number> {
  let chunks = 0;
  for (let { uid, version, pending } of await disabledWithPending(env.DB, bounds.chunks)) {
    while (pending > 0 && chunks < bounds.chunks) {
      chunks++;
      const { held } = await holdPending(env.DB, uid, version, bounds.chunk);
      total.held += held;
      pending = held < bounds.chunk ? 0 : pending - held;
    }
  }
  return total.held;
}

/**
 * Tries deliveries again, a page of them (held instead while their webhook is disabled);
 * their dead letters close; those whose event is past the retention are passed over. `last` and `full` say where the page ended and whether more may match.
 * `mayResume`: whether the caller may end this webhook's pause (a change of it: it holds every
 * data scope of its types); asked of each webhook the page touched.
 */
export async function retry(
  env: Env,
  filter: RetryFilter,
  page: RetryPage,
  mayResume: (webhook: Webhook) => boolean = () => false,
): Promise<{ pending: string[]; held: string[]; last: RetryPosition | null; full: boolean }> {
  const { webhooks, ...retried } = await retryDeliveries(env.DB, filter, page, retentionHorizon(settings(env), Date.now()));
  // Committed: a failed read of the webhooks costs only the end of a pause, never the answer nor the wake-ups.
  const found = await webhooksByUid(env.DB, webhooks).catch((err) => {
    console.error("reading the retried deliveries' webhooks failed; their schedulers are woken without ending a pause", { webhooks: webhooks.length, error: String(err) });
    return [];
  });
  const resumed = new Set(found.filter(mayResume).map((w) => w.uid));
  const [resume, rest] = [webhooks.filter((uid) => resumed.has(uid)), webhooks.filter((uid) => !resumed.has(uid))];
  await Promise.all([dispatch(env, resume, true, "owedAnew"), dispatch(env, rest, false, "owedAnew")]);
  return retried;
}

/**
 * A retry by hand of a delivery still held (its webhook disabled): it stays held, and goes out
 * when the webhook is enabled, but counts as asked for at `now`, so an attempt out since before
 * the hold does not settle it (store askHeld). Wakes no scheduler: a held delivery is released
 * first. Answers whether it was still held.
 */
export async function retryHeld(env: Env, deliveryId: string, now = Date.now()): Promise<boolean> {
  return askHeld(env.DB, deliveryId, now);
}

/**
 * Releases the oldest held deliveries (RELEASE_LIMIT) of an enabled webhook, or of
 * enabled webhooks that still hold some (MAINTENANCE_RELEASES of up to WEBHOOKS_PER_RUN drawn
 * at random), and wakes the schedulers of all those, which release the rest as they drain.
 * Returns how many were released.
 */
export async function release(env: Env, opts: { webhookUid?: string; resume?: boolean } = {}, now = Date.now()): Promise<number> {
  const uids = opts.webhookUid !== undefined ? [opts.webhookUid] : await webhooksWithHeld(env.DB, WEBHOOKS_PER_RUN);
  let released = 0;
  try {
    for (const uid of drawn(uids, MAINTENANCE_RELEASES)) released += (await releaseHeld(env.DB, uid, RELEASE_LIMIT, now)).released;
  } finally {
    // Each release commits alone: those made are woken even when a later one failed, and the
    // webhooks not released yet too, as a scheduler releases what its webhook holds itself (releaseNext).
    // Owed anew: a delivery held while its attempt was out (a disable and an enable during it, the
    // scheduler not having read the disable) may be released before that attempt is recorded.
    await dispatch(env, uids, opts.resume, "owedAnew");
  }
  return released;
}

/**
 * A scheduler's own release of its webhook's next held deliveries, as its backlog drains or before
 * it sends newer ones, from where it knows none is held before (`from`, at the webhook's version it read):
 * how many, and the newest event released (releaseHeld).
 */
export async function releaseNext(
  env: Env,
  webhookUid: string,
  now = Date.now(),
  limit = RELEASE_LIMIT,
  from: { heldFrom: number; version: number } | null = null,
): Promise<{ released: number; through: number | null }> {
  return releaseHeld(env.DB, webhookUid, limit, now, from);
}

/**
 * A scheduler's expiry of deliveries it found owed again (a retry, a release) though their event
 * is past the retention (`horizon`), before the maintenance run expired them: never sent. Wakes no
 * scheduler: its caller is the one. Answers the ids of those expired.
 */
export async function expireUnsent(env: Env, deliveryIds: string[], horizon: number, now: number): Promise<string[]> {
  return expirePastRetention(env.DB, deliveryIds, horizon, now);
}

/** Wakes the schedulers of webhooks with overdue pending deliveries (a wake-up may have been lost). Returns how many. */
export async function redrive(env: Env, now = Date.now()): Promise<number> {
  const overdue = await webhooksOverdue(env.DB, now - REDRIVE_GRACE_MS, WEBHOOKS_PER_RUN);
  // Named, so an operator can tell a webhook draining a long backlog (woken every run) from one whose wake-ups were lost.
  if (overdue.length > 0) console.log("overdue schedulers woken", { count: overdue.length, webhooks: overdue.slice(0, 20) });
  await dispatch(env, overdue);
  return overdue.length;
}

/**
 * Replays events to the targets each is owed, found with `replayTargets` by the caller (which tests
 * the filters once): a new delivery for each, held for a webhook disabled when it is stored.
 * Returns the deliveries made.
 */
export async function replay(env: Env, owed: { event: ReplayEvent; targets: Webhook[] }[], now = Date.now()): Promise<NewDelivery[]> {
  const deliveries = await Promise.all(owed.flatMap(({ event, targets }) => targets.map((w) => newDelivery("replay", event, w, now))));
  const made = await insertDeliveries(env.DB, deliveries, retentionHorizon(settings(env), now));
  await dispatch(env, made.filter((d) => d.status === "pending").map((d) => d.webhookUid));
  return made;
}

/**
 * Deletes a webhook (what it was still owed expires; with `version`, only while it is still at
 * that version) and wakes its scheduler, which reads it again, drops what it had read ahead and
 * sends nothing more; and the listener hub, which closes the sockets listening as it.
 */
export async function removeWebhook(env: Env, webhookUid: string, version?: number): Promise<VersionedWrite> {
  const removed = await deleteWebhook(env.DB, webhookUid, { version });
  if (removed !== "changed") await Promise.all([dispatch(env, [webhookUid]), announceWebhookDeleted(env, webhookUid)]);
  return removed;
}

/**
 * The retention over events received before `cutoff`: their held and pending deliveries
 * expire, and what is settled is purged, in bounded chunks (each one transaction,
 * store/retention.ts): on from the retention's mark (it moves with each chunk), then behind
 * it, from the oldest, for events whose grace period (expired after `graceCutoff`) is over.
 * Events kept for their grace are read again only by that look behind, with what the pass
 * has left (a chunk at least: at most `bounds.chunks` + 1 a pass), so however many there are
 * the retention keeps moving. Then the schedulers of the webhooks whose deliveries expired
 * read again what they are owed, dropping what they had read ahead (up to WEBHOOKS_PER_RUN; a
 * scheduler not woken finds them settled when it records its attempt): once a pass, and even
 * when a later chunk failed, as each chunk commits on its own. `total` counts each chunk as
 * it commits, so a pass a later chunk failed still reports what it did.
 */
export async function expireAtRetention(
  env: Env,
  pass: { cutoff: number; graceCutoff: number; now: number },
  bounds: { chunk: number; chunks: number },
  total: { expired: number; purged: number } = { expired: 0, purged: 0 },
): Promise<{ expired: number; purged: number }> {
  const expiredFor = new Set<string>();
  let expired = 0;
  const common = { ...pass, limit: bounds.chunk };
  const mark = await retentionMark(env.DB);
  let chunks = 0;
  const run = async (from: RetentionCursor, max: number, opts: { through?: RetentionCursor; mark?: boolean }) => {
    for (let i = 0; i < max; i++) {
      chunks++;
      const step = await retentionStep(env.DB, { ...common, ...opts, from });
      expired += step.expired;
      total.expired += step.expired;
      total.purged += step.purged;
      for (const uid of step.expiredFor) expiredFor.add(uid);
      if (!step.next) return;
      from = step.next;
    }
  };
  try {
    await run(mark, bounds.chunks, { mark: true });
    await run(RETENTION_START, Math.max(1, bounds.chunks - chunks), { through: mark });
  } finally {
    if (expired > 0) {
      console.warn("deliveries still owed at the retention expired", { expired, visibleForMs: pass.now - pass.graceCutoff });
      await dispatch(env, [...expiredFor].slice(0, WEBHOOKS_PER_RUN));
    }
  }
  return total;
}

/**
 * Expires held deliveries made before `cutoff` (the retention), a bounded number a call
 * (the next maintenance run takes the rest); answers how many. Wakes no scheduler: a held
 * delivery is never sent as it is, a scheduler releases it first (releaseNext), which takes
 * no expired one, and then reads again.
 */
export async function expireHeld(env: Env, cutoff: number, now = Date.now()): Promise<number> {
  const n = await storeExpireHeld(env.DB, cutoff, now);
  // Owed, and now not: said as the retention's expiry is (docs/reliability.md).
  if (n > 0) console.warn("held deliveries still owed at the retention expired", { expired: n });
  return n;
}

/** Chunks of a deleted webhook's backlog one call expires at most (each its own transaction). */
const EXPIRE_DELETED_CHUNKS = 10;

/**
 * Expires what deleted webhooks are still owed past the chunk their delete expired, a chunk
 * (a transaction) at a time, oldest first within each, up to `bounds.chunks` a call: a backlog
 * of millions goes within minutes, never in one statement. `total` counts each chunk as it
 * commits, so a call a later chunk failed still reports what it did. Wakes no scheduler: the
 * delete woke each (removeWebhook), and one that finds its webhook gone sends nothing more.
 */
export async function expireDeletedOwed(
  env: Env,
  now: number,
  bounds: { chunk: number; chunks: number } = { chunk: EXPIRE_CHUNK, chunks: EXPIRE_DELETED_CHUNKS },
  total: { expired: number } = { expired: 0 },
): Promise<number> {
  let chunks = 0;
  for (let { uid, owed } of await deletedWithOwed(env.DB, bounds.chunks)) {
    while (owed > 0 && chunks < bounds.chunks) {
      chunks++;
      const n = await expireOwedOfDeleted(env.DB, uid, now, bounds.chunk);
      total.expired += n;
      owed = n === 0 ? 0 : owed - n;
    }
  }
  return total.expired;
}

/**
 * Saves a change of a webhook made from `current` (the row as read), only while the row is
 * still at that version; disabling holds its pending deliveries in the same transaction
 * (store/webhooks.ts updateWebhook), so nothing goes out after the answer. Once saved,
 * enabling releases the oldest held deliveries now (the scheduler releases the rest as it
 * drains); any other change (limits, URL, disabled) has the scheduler read the webhook
 * again. A change to what it already is writes nothing ("unchanged"), so it moves no version
 * another client holds. Unless it answers "saved", nothing was written.
 */
export async function changeWebhook(env: Env, current: Webhook, next: Webhook): Promise<VersionedWrite | "unchanged"> {
  if (unchanged(current, next)) return "unchanged";
  const written = await updateWebhook(env.DB, next, current);
  if (written !== "saved") return written;
  // Enabled, or sent elsewhere: a pause the old downstream asked for no longer holds.
  if (current.disabled && !next.disabled) {
    // Enabled (committed): a release that failed leaves what is held to the scheduler it woke all the same.
    await release(env, { webhookUid: next.uid, resume: true }).catch((err) =>
      console.error("releasing an enabled webhook's held deliveries failed; its scheduler releases them", { webhookUid: next.uid, error: String(err) }),
    );
  } else await dispatch(env, [next.uid], next.url !== current.url);
  return written;
}

/**
 * Why a dead letter cannot be replayed; `replayed`: it is closed already (replayed, or its
 * delivery retried), and a replay sends nothing again, as a dead-letter queue's redrive moves
 * a message once. `replay_in_progress`: another replay held an ingest letter, its message not yet
 * queued (it may yet fail and let the letter go). `queue_unavailable`: the ingest queue did not take
 * this replay's message; the letter is open.
 */
type ReplayRefusal =
  | "not_found"
  | "past_retention"
  | "unreplayable"
  | "replay_in_progress"
  | "queue_unavailable"
  | { nothingToRetry: NothingToRetry }
  | { replayed: DeadLetter };

/** Closed, or held by another replay under way. */
const taken = (letter: DeadLetter): ReplayRefusal => (letter.replaying ? "replay_in_progress" : { replayed: letter });

/**
 * Replays an open dead letter, once: its event goes back on the ingest queue, or its delivery
 * is tried again in the transaction that closes the letter, only while it is open (of two
 * replays at once, one retries). Marks it replayed.
 */
/** A replay made: the letter as it stands after, and whether its delivery, retried, is held (its webhook disabled). */
export interface LetterReplayed {
  made: DeadLetter;
  held: boolean;
}

export async function replayDeadLetter(env: Env, seq: number): Promise<LetterReplayed | ReplayRefusal> {
  const letter = await getDeadLetter(env.DB, seq);
  if (!letter) return "not_found";
  if (letter.replayedAt !== null) return taken(letter);
  if (letter.queue === QUEUES.ingestDead) {
    if (!isIngestMessage(letter.message)) return "unreplayable";
    const queuedAt = await requeueIngestLetter(env, seq, letter.message);
    if (typeof queuedAt !== "number") return queuedAt;
    // Deleted meanwhile (its message queued all the same): answered as replayed when it was.
    return { made: (await getDeadLetter(env.DB, seq)) ?? { ...letter, replayedAt: queuedAt }, held: false };
  }
  if (!letter.deliveryId) return "unreplayable";
  const retried = await retry(env, { ids: [letter.deliveryId], letter: seq }, { limit: 1 }, () => true);
  if (retried.pending.length + retried.held.length === 0) {
    // Closed meanwhile (another replay, a retry), or nothing to retry: why, read now (never on a replay made).
    const now = await getDeadLetter(env.DB, seq);
    if (now?.replayedAt != null) return { replayed: now };
    const why = await whyNothingToRetry(env.DB, { deliveryId: letter.deliveryId, eventId: letter.eventId }, retentionHorizon(settings(env), Date.now()));
    return why === "past_retention" ? why : { nothingToRetry: why };
  }
  return { made: (await getDeadLetter(env.DB, seq)) ?? letter, held: retried.held.length > 0 };
}

/**
 * An ingest letter's message back on the ingest queue, once, and when: the replay that claims the
 * letter in D1 (claimIngestLetter) queues it, the other of two at once queues nothing. A send that
 * fails lets the claim go, so the letter stays open with its message unqueued, never closed;
 * if D1 fails that too, the maintenance run reopens the claim (reopenStaleClaims).
 */
async function requeueIngestLetter(env: Env, seq: number, message: IngestMessage): Promise<number | ReplayRefusal> {
  const at = Date.now();
  if (!(await claimIngestLetter(env.DB, seq, at))) {
    // Another replay holds it or closed it (or it was deleted): why, read now. Open again, that
    // replay let it go meanwhile: it was under way when this one tried (replayable now).
    const now = await getDeadLetter(env.DB, seq);
    if (!now) return "not_found";
    return now.replayedAt !== null ? taken(now) : "replay_in_progress";
  }
  try {
    await requeue(env, message);
  } catch (err) {
    console.error("the ingest queue refused a dead letter's replay; the letter stays open", { seq, error: String(err) });
    await releaseIngestClaim(env.DB, seq, at).catch((e) =>
      console.error("letting go of a failed replay's claim failed; the maintenance run reopens the letter", { seq, error: String(e) }),
    );
    return "queue_unavailable";
  }
  // Queued: a settle that fails leaves the claim to the maintenance run, which reopens it (a replay then queues it again, its event stored once).
  await settleIngestClaim(env.DB, seq, at).catch((e) => console.error("settling a replayed dead letter failed; the maintenance run reopens it", { seq, error: String(e) }));
  return at;
}
