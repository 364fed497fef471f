import { decide, retryWait, statusAfter } from "../domain/delivery";
import { destinationProblem } from "../domain/destination";
import type { Settings } from "../domain/settings";
import type { Webhook } from "../domain/types";
import type { NewDeadLetter } from "../store/dead-letters";
import type { AttemptAlertContext } from "../store/alerts";
import type { AttemptOutcome } from "../store/deliveries";
import { stringsIn } from "../store/stored-json";
import type { FlowJob } from "../store/scheduler-reads";
import { postDelivery, type Posted } from "./post";

/**
 * The name dead letters of failed deliveries are recorded under (`queue` in
 * /v1/dead-letters): the deliveries dead-letter queue's, from when deliveries
 * travelled on a queue, so every such record keeps one name.
 */
export const DELIVERY_DEAD_LETTERS = "edgehook-deliveries-dlq";

/** One attempt made, waiting to be recorded. */
export interface Attempted {
  outcome: AttemptOutcome;
  /** Seconds until the next attempt, or null when the delivery is settled. */
  retryIn: number | null;
  /** The downstream's Retry-After, in seconds. */
  retryAfterSeconds: number | null;
}

/**
 * Makes one attempt of a delivery and decides what follows; records nothing. `transformed`: told
 * the evaluation steps its transformation took, once it ended (PostRequest), if it ran one.
 */
export async function attemptDelivery(
  s: Settings,
  { delivery, event }: FlowJob,
  webhook: Webhook,
  now = Date.now(),
  transformed?: (steps: number) => void,
): Promise<Attempted> {
  const number = delivery.attemptCount + 1;
  const refused = destinationProblem(webhook.url, s.allowPrivateDestinations);
  const { attempt: a, result }: Posted = refused
    ? {
        attempt: { deliveryId: delivery.id, number, startedAt: now, durationMs: 0, statusCode: null, error: `destination refused: the URL ${refused}`, responseSnippet: null },
        result: { ok: false, retryAfterSeconds: null },
      }
    : await postDelivery(
        {
          deliveryId: delivery.id,
          attempt: number,
          url: webhook.url,
          secret: webhook.secret,
          previousSecret: webhook.previousSecret,
          eventId: event.id,
          eventType: event.eventType,
          body: event.body,
          timeoutMs: webhook.timeoutMs,
          transform: webhook,
          transformed,
        },
        now,
      );

  const decision = decide(result, number, { schedule: s.retrySchedule, maxAttempts: webhook.maxAttempts, retryAfterCapSeconds: s.retryCapSeconds });
  // Where a delivery's retry time is made: held to what the runtime can schedule, whatever the inputs (a webhook's pause after failures is held by RETRY_CAP_SECONDS' bound).
  const retryIn = decision.kind === "retry" ? retryWait(decision.inSeconds) : null;
  return {
    outcome: {
      attempt: a,
      readVersion: delivery.updatedAt,
      status: statusAfter(decision),
      nextAttemptAt: retryIn === null ? null : now + a.durationMs + retryIn * 1000,
      // Failed for good: one dead letter per delivery, recorded with the attempt (a retry closes it).
      deadLetter: decision.kind === "failed" ? failedDeliveryLetter({ deliveryId: delivery.id, eventId: event.id, webhookUid: webhook.uid }, a) : null,
    },
    retryIn,
    retryAfterSeconds: "retryAfterSeconds" in result ? result.retryAfterSeconds : null,
  };
}

/** A failed delivery's dead-letter reason: after how many attempts, and the last one's error. */
export function failedAfter(attempts: number, error: string | null | undefined): string {
  return `delivery failed after ${attempts} ${attempts === 1 ? "attempt" : "attempts"}: ${error ?? "unknown error"}`;
}

/** The one dead letter of a delivery failed for good, recorded with its last attempt (a retry closes it). */
export function failedDeliveryLetter(d: { deliveryId: string; eventId: string; webhookUid: string }, a: AttemptOutcome["attempt"]): NewDeadLetter {
  return {
    queue: DELIVERY_DEAD_LETTERS,
    messageId: `${d.deliveryId}#${a.number}`,
    eventId: d.eventId,
    deliveryId: d.deliveryId,
    reason: failedAfter(a.number, a.error),
    body: JSON.stringify({ deliveryId: d.deliveryId, eventId: d.eventId, webhookUid: d.webhookUid, attempts: a.number, lastError: a.error }),
    attempts: a.number,
    receivedAt: a.startedAt + a.durationMs,
  };
}

/** The attempts whose dead letter their batch recorded (context.failed): one decided for a delivery held, expired or owed anew meanwhile was not. */
export function deadLettered(outcomes: AttemptOutcome[], context: AttemptAlertContext): AttemptOutcome[] {
  const failed = new Set(stringsIn(context.failed));
  return outcomes.filter((o) => o.deadLetter !== null && failed.has(o.attempt.deliveryId));
}

/**
 * Says each delivery dead letter recorded, as the ingest consumer says its own (`dead letter`):
 * ids, webhook and attempts, and of the last error only what comes before its first colon (what
 * follows may quote the URL, which can carry a token, or the runtime's words); never the body.
 */
export function logDeliveryDeadLetters(webhookUid: string, letters: AttemptOutcome[]): void {
  for (const { attempt: a, deadLetter } of letters) {
    const lastError = (a.error ?? "unknown error").split(":")[0];
    console.error("dead letter", { queue: DELIVERY_DEAD_LETTERS, eventId: deadLetter?.eventId, deliveryId: a.deliveryId, webhookUid, attempts: a.number, lastError });
  }
}
