import { decide, statusAfter } from "../domain/delivery";
import { destinationProblem } from "../domain/destination";
import { settings, type Settings } from "../domain/settings";
import type { DeliveryMessage } from "../domain/types";
import type { Env } from "../env";
import { announceAttempts } from "../listen/announce";
import { loadJobs, type AttemptOutcome, type DeliveryJob } from "../store/deliveries";
import { hold, recordAttempts } from "./commands";
import { postDelivery, type PostResult } from "./post";
import { QUEUES } from "./queues";

type Msg = Message<DeliveryMessage>;
/** A job with everything still there: the delivery's webhook and event. */
type Job = { [K in keyof DeliveryJob]: NonNullable<DeliveryJob[K]> };

function isComplete(job: DeliveryJob): job is Job {
  return job.webhook !== null && job.event !== null;
}

/** A message that came early (a duplicate, or a re-drive) waits for its due time. */
const EARLY_SLACK_MS = 1000;
/** When recording the attempts fails, try again soon (the POSTs may be repeated: at-least-once). */
const RECORD_RETRY_S = 5;
/** How many requests one webhook gets at once from one batch (released held deliveries get one at a time). */
const PER_WEBHOOK_CONCURRENCY = 8;

/** One attempt made in this batch, waiting to be recorded. */
interface Attempted {
  msg: Msg;
  outcome: AttemptOutcome;
  /** Seconds until the next attempt, or null when the delivery is settled. */
  retryIn: number | null;
}

/**
 * The delivery consumer. Webhooks are served concurrently, so one slow or failing
 * downstream never holds the others; each webhook gets a few requests at once,
 * except released held deliveries, which go out one after another, oldest first.
 * When an attempt gets no answer at all (timeout, refused connection) the rest of
 * that webhook's batch waits for the same backoff instead of each spending its
 * own timeout. Every attempt of the batch is then recorded in one D1 transaction,
 * and only after that are messages settled.
 */
export async function consumeDeliveries(batch: MessageBatch<DeliveryMessage>, env: Env): Promise<void> {
  const s = settings(env);
  const jobs = await loadJobs(env.DB, [...new Set(batch.messages.map((m) => m.body.deliveryId))]);
  const groups = new Map<string, { msg: Msg; job: Job }[]>();
  const seen = new Set<string>();
  const toHold: Msg[] = [];
  for (const msg of batch.messages) {
    const job = jobs.get(msg.body.deliveryId);
    const duplicate = seen.has(msg.body.deliveryId);
    seen.add(msg.body.deliveryId);
    if (duplicate || !job || job.delivery.status !== "pending" || !isComplete(job)) {
      msg.ack(); // a duplicate in this batch, gone, already done, held or expired: nothing more is owed
      continue;
    }
    if (job.webhook.disabled) {
      toHold.push(msg); // disabled since the message was queued: held until it is enabled, never posted
      continue;
    }
    const list = groups.get(job.webhook.uid) ?? [];
    list.push({ msg, job });
    groups.set(job.webhook.uid, list);
  }
  await holdAll(env, toHold);

  const attempted = (await Promise.all([...groups.values()].map((group) => deliverToWebhook(s, group)))).flat();
  if (attempted.length === 0) return;
  try {
    await recordAttempts(env, attempted.map((a) => a.outcome));
  } catch (err) {
    console.error("recording delivery attempts failed", { attempts: attempted.length, error: String(err) });
    for (const a of attempted) a.msg.retry({ delaySeconds: RECORD_RETRY_S });
    return;
  }
  for (const a of attempted) {
    if (a.retryIn === null) a.msg.ack();
    else a.msg.retry({ delaySeconds: a.retryIn });
  }
  await announceAttempts(env, attempted.map((a) => a.outcome)); // never throws, and skipped while nobody tails
}

async function holdAll(env: Env, msgs: Msg[]): Promise<void> {
  if (msgs.length === 0) return;
  try {
    await hold(env, msgs.map((m) => m.body.deliveryId));
    for (const m of msgs) m.ack();
  } catch (err) {
    console.error("holding deliveries of a disabled webhook failed", { deliveries: msgs.length, error: String(err) });
    for (const m of msgs) m.retry({ delaySeconds: RECORD_RETRY_S });
  }
}

async function deliverToWebhook(s: Settings, group: { msg: Msg; job: Job }[]): Promise<Attempted[]> {
  const attempted: Attempted[] = [];
  let deferSeconds: number | null = null;
  const one = async ({ msg, job }: { msg: Msg; job: Job }) => {
    const now = Date.now();
    const due = job.delivery.nextAttemptAt;
    if (deferSeconds !== null) {
      msg.retry({ delaySeconds: deferSeconds });
    } else if (due !== null && due > now + EARLY_SLACK_MS) {
      msg.retry({ delaySeconds: Math.ceil((due - now) / 1000) });
    } else {
      const a = await attempt(s, msg, job, now);
      attempted.push(a);
      if (a.retryIn !== null && a.outcome.attempt.statusCode === null) deferSeconds = Math.max(1, a.retryIn);
    }
  };
  // Released held deliveries first, in order; then the rest, a few at a time.
  for (const item of group.filter((g) => g.msg.body.ordered)) await one(item);
  const rest = group.filter((g) => !g.msg.body.ordered);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(PER_WEBHOOK_CONCURRENCY, rest.length) }, async () => {
      while (next < rest.length) await one(rest[next++]!);
    }),
  );
  return attempted;
}

/** Makes one attempt and decides what follows; records nothing yet. */
async function attempt(s: Settings, msg: Msg, { delivery, webhook, event }: Job, now: number): Promise<Attempted> {
  const number = delivery.attemptCount + 1;
  const refused = destinationProblem(webhook.url, s.allowPrivateDestinations);
  const result: PostResult = refused
    ? {
        ok: false,
        attempt: {
          deliveryId: delivery.id,
          number,
          startedAt: now,
          durationMs: 0,
          statusCode: null,
          error: `destination refused: the URL ${refused}`,
          responseSnippet: null,
        },
        retryAfterSeconds: null,
        permanent: false,
      }
    : await postDelivery(
        {
          deliveryId: delivery.id,
          attempt: number,
          url: webhook.url,
          secret: webhook.secret,
          eventId: event.id,
          eventType: event.eventType,
          body: event.body,
          timeoutMs: webhook.timeoutMs,
          transform: webhook,
        },
        now,
      );

  const decision = decide(
    result.ok ? { ok: true } : result.permanent ? { ok: false, permanent: true } : { ok: false, retryAfterSeconds: result.retryAfterSeconds },
    number,
    { schedule: s.retrySchedule, maxAttempts: webhook.maxAttempts, retryAfterCapSeconds: s.retryCapSeconds },
  );
  const retryIn = decision.kind === "retry" ? decision.inSeconds : null;
  const a = result.attempt;
  return {
    msg,
    outcome: {
      attempt: a,
      status: statusAfter(decision),
      nextAttemptAt: retryIn === null ? null : now + a.durationMs + retryIn * 1000,
      // Failed for good: one dead letter per delivery, recorded with the attempt (a retry closes it).
      deadLetter:
        decision.kind === "failed"
          ? {
              queue: QUEUES.deliveriesDead,
              messageId: `${delivery.id}#${number}`,
              eventId: event.id,
              deliveryId: delivery.id,
              reason: `delivery failed after ${number} attempts: ${a.error ?? "unknown error"}`,
              body: JSON.stringify({ deliveryId: delivery.id, eventId: event.id, webhookUid: webhook.uid, attempts: number, lastError: a.error }),
              attempts: number,
              receivedAt: a.startedAt + a.durationMs,
            }
          : null,
    },
    retryIn,
  };
}
