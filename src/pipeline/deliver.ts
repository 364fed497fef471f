import { destinationProblem } from "../domain/destination";
import { settings } from "../domain/settings";
import type { DeadDelivery, DeliveryMessage } from "../domain/types";
import type { Env } from "../env";
import { loadJobs, recordAttempt, type DeliveryJob } from "../store/deliveries";
import { retryDelaySeconds } from "./backoff";
import { postDelivery } from "./post";

type Msg = Message<DeliveryMessage>;

/** A message that came early (a duplicate, or a re-drive) waits for its due time. */
const EARLY_SLACK_MS = 1000;
/** When recording an attempt fails, try again soon (the POST may be repeated: at-least-once). */
const RECORD_RETRY_S = 5;

/**
 * The delivery consumer. Webhooks are served concurrently, so one slow or failing
 * downstream never holds the others; a webhook's own deliveries in a batch go out
 * one after another, in order. When an attempt gets no answer at all (timeout,
 * refused connection) the rest of that webhook's batch waits for the same backoff
 * instead of each spending its own timeout; a quick error answer defers nothing.
 */
export async function consumeDeliveries(batch: MessageBatch<DeliveryMessage>, env: Env): Promise<void> {
  const jobs = await loadJobs(env.DB, [...new Set(batch.messages.map((m) => m.body.deliveryId))]);
  const groups = new Map<string, { msg: Msg; job: DeliveryJob }[]>();
  const seen = new Set<string>();
  for (const msg of batch.messages) {
    const job = jobs.get(msg.body.deliveryId);
    const duplicate = seen.has(msg.body.deliveryId);
    seen.add(msg.body.deliveryId);
    if (duplicate || !job || job.delivery.status !== "pending" || !job.webhook || !job.event) {
      msg.ack(); // a duplicate in this batch, gone, already done, held or expired: nothing more is owed
      continue;
    }
    const list = groups.get(job.webhook.uid) ?? [];
    list.push({ msg, job });
    groups.set(job.webhook.uid, list);
  }
  await Promise.all([...groups.values()].map((group) => deliverInOrder(env, group)));
}

async function deliverInOrder(env: Env, group: { msg: Msg; job: DeliveryJob }[]): Promise<void> {
  let deferSeconds: number | null = null;
  for (const { msg, job } of group) {
    if (deferSeconds !== null) {
      msg.retry({ delaySeconds: deferSeconds });
      continue;
    }
    const unanswered = await deliverOne(env, msg, job);
    if (unanswered !== null) deferSeconds = Math.max(1, unanswered);
  }
}

/** Attempts one delivery and settles its message; returns the retry delay when the attempt got no answer. */
async function deliverOne(env: Env, msg: Msg, job: DeliveryJob): Promise<number | null> {
  const s = settings(env);
  const { delivery, webhook, event } = job as Required<{ [K in keyof DeliveryJob]: NonNullable<DeliveryJob[K]> }>;
  const now = Date.now();
  if (delivery.nextAttemptAt !== null && delivery.nextAttemptAt > now + EARLY_SLACK_MS) {
    msg.retry({ delaySeconds: Math.ceil((delivery.nextAttemptAt - now) / 1000) });
    return null;
  }

  const number = delivery.attemptCount + 1;
  const refused = destinationProblem(webhook.url, s.allowPrivateDestinations);
  const result = refused
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
      }
    : await postDelivery({
        deliveryId: delivery.id,
        attempt: number,
        url: webhook.url,
        secret: webhook.secret,
        eventId: event.id,
        eventType: event.eventType,
        body: event.body,
        timeoutMs: webhook.timeoutMs,
      }, now);

  const final = !result.ok && number >= webhook.maxAttempts;
  const delay = result.ok || final ? null : retryDelaySeconds(number, s, result.retryAfterSeconds);
  const status = result.ok ? "succeeded" : final ? "failed" : "pending";
  try {
    await recordAttempt(env.DB, {
      attempt: result.attempt,
      status,
      nextAttemptAt: delay === null ? null : now + result.attempt.durationMs + delay * 1000,
    });
    if (final) {
      const dead: DeadDelivery = {
        deliveryId: delivery.id,
        eventId: event.id,
        webhookUid: webhook.uid,
        attempts: number,
        lastError: result.attempt.error,
      };
      await env.DELIVERIES_DLQ.send(dead, { contentType: "json" });
    }
  } catch (err) {
    console.error("recording a delivery attempt failed", { deliveryId: delivery.id, error: String(err) });
    msg.retry({ delaySeconds: RECORD_RETRY_S });
    return null;
  }

  if (delay === null) {
    msg.ack();
    return null;
  }
  msg.retry({ delaySeconds: delay });
  return result.attempt.statusCode === null ? delay : null;
}
