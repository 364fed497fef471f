/**
 * A delivery's lifecycle: its statuses, the changes allowed between them, the
 * retry schedule, and the one decision taken after each attempt. Everything
 * that changes a delivery's status goes through these definitions.
 */
import { confinementAllows } from "./access";
import { sha256Hex, toHex } from "./crypto";
import { isEventId } from "./ids";
import { retryJitter } from "./retry-jitter";
import { DAY_MS } from "./time";

export const DELIVERY_STATUSES = ["held", "pending", "succeeded", "failed", "expired"] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/** Statuses a delivery can still leave on its own: something is owed. */
export const OWED_STATUSES = ["held", "pending"] as const satisfies readonly DeliveryStatus[];

/** Every state change a delivery makes, by name, with the statuses it may start from and where it ends. */
export const TRANSITIONS = {
  /** An attempt is recorded: succeeded, failed for good, or still pending with a later due time. */
  attempt: { from: ["pending"], to: ["pending", "succeeded", "failed"] },
  /**
   * An attempt that was out when its webhook was disabled settles its held delivery all the
   * same: sent and answered, it is not owed again. Another try decided instead leaves it held.
   */
  settleHeld: { from: ["held"], to: ["succeeded", "failed"] },
  /** Likewise one that expired while its attempt was out (its webhook deleted): answered with success, it was delivered. */
  settleExpired: { from: ["expired"], to: ["succeeded"] },
  /** Someone asks for another try (manual or bulk retry, dead-letter replay): held instead while the webhook is disabled. */
  retry: { from: ["pending", "succeeded", "failed", "expired"], to: ["pending", "held"] },
  /** The webhook was disabled: what was due waits. */
  hold: { from: ["pending"], to: ["held"] },
  /** The webhook is enabled again: what waited goes out, oldest first. */
  release: { from: ["held"], to: ["pending"] },
  /** Past the retention, or the webhook was deleted: nothing more is owed. */
  expire: { from: ["held", "pending"], to: ["expired"] },
} as const satisfies Record<string, { from: readonly DeliveryStatus[]; to: readonly DeliveryStatus[] }>;

export type Transition = keyof typeof TRANSITIONS;

/**
 * The longest delay after failed attempt n, in seconds, is schedule[n - 1], and the delay is drawn
 * from [0, that] (full jitter); a webhook makes at most schedule.length + 1 attempts.
 */
export type RetrySchedule = readonly number[];

/** Exponential backoff as a schedule: base·2^(n-1) seconds, capped. */
export function exponentialSchedule(baseSeconds: number, capSeconds: number, steps: number): RetrySchedule {
  return Array.from({ length: steps }, (_, i) => Math.min(capSeconds, baseSeconds * 2 ** i));
}

/**
 * The longest any retry waits, in seconds: RETRY_CAP_SECONDS' bound (settings.ts, 8 hours). Every
 * wait is held to it where the retry's time is made (retryWait), whatever made the wait (a
 * schedule, a downstream's Retry-After), so that time is always one a Date and a Durable Object's
 * alarm can hold (the runtime refuses an alarm after 2189; a Date ends at 275760).
 */
export const RETRY_WAIT_LIMIT_S = 28_800;

/** A decided wait as taken: within [0, RETRY_WAIT_LIMIT_S] (not a number: none). */
export const retryWait = (inSeconds: number): number => (inSeconds > 0 ? Math.min(inSeconds, RETRY_WAIT_LIMIT_S) : 0);

/** The most attempts any webhook may ask for; every schedule is this long less one. */
export const MAX_ATTEMPTS_LIMIT = 50;

/** The shortest and longest a webhook's timeoutMs may be. */
export const TIMEOUT_MS_LIMITS = { min: 100, max: 30_000 } as const;

export const DEFAULT_MAX_ATTEMPTS = 15;

/** The retention's rule, wherever it is asked (the API's `past_retention`, the dashboard's pages): an event received before `horizon` (retentionHorizon) is kept a while to be read, not sent again. */
export const isPastRetention = (receivedAt: number, horizon: number): boolean => receivedAt < horizon;
/** How long a delivery expired at retention stays visible, with its event, before the purge takes them. */
export const EXPIRED_GRACE_MS = DAY_MS;

/**
 * What keeps a stored delivery from being sent again, whoever asks (a retry by hand, a dead
 * letter's replay): its webhook deleted, confined since to an organization its event is not, or its
 * event past the retention (`horizon`: kept a while to be read, never sent). Null: none of these.
 * An event no longer stored is no reason (a delivery whose event is gone is owed still).
 */
export type RetryBlock = { cause: "webhook_deleted" } | { cause: "outside_grant"; organizationUid: string } | { cause: "past_retention" };

export function retryBlock(
  webhook: { grantOrganizationUid: string | null } | null,
  event: { receivedAt: number; organizationUid: string | null } | null,
  horizon: number,
): RetryBlock | null {
  if (!webhook) return { cause: "webhook_deleted" };
  if (event && webhook.grantOrganizationUid !== null && !confinementAllows(webhook, event)) {
    return { cause: "outside_grant", organizationUid: webhook.grantOrganizationUid };
  }
  if (event && isPastRetention(event.receivedAt, horizon)) return { cause: "past_retention" };
  return null;
}

/** What one attempt came to, as the decision needs it. */
export type AttemptResult =
  | { ok: true }
  | { ok: false; /** The downstream's Retry-After, in seconds. */ retryAfterSeconds: number | null }
  /** A failure every later attempt would meet too (the webhook's transformation fails on this event). */
  | { ok: false; permanent: true };

/** The status a delivery takes after an attempt, by the decision taken. */
export function statusAfter(d: Decision): "pending" | "succeeded" | "failed" {
  return d.kind === "retry" ? "pending" : d.kind;
}

/** What follows an attempt. */
type Decision =
  | { kind: "succeeded" }
  | { kind: "retry"; inSeconds: number }
  /** Failed for good: the delivery is dead-lettered and can be retried by hand. */
  | { kind: "failed" };

/** How a webhook's deliveries are retried. */
interface RetryPolicy {
  schedule: RetrySchedule;
  maxAttempts: number;
  /** The longest a downstream's Retry-After may make a delivery wait. */
  retryAfterCapSeconds: number;
}

/**
 * The decision after attempt `attempt` (counting from 1): success, another try
 * after the schedule's delay (never sooner than a Retry-After, up to its cap), or
 * failure once `maxAttempts` are spent, or at once when the failure is permanent.
 * The jitter is drawn from `random`, by default retryJitter (its own source, not Math.random).
 */
export function decide(result: AttemptResult, attempt: number, policy: RetryPolicy, random: () => number = () => retryJitter.draw()): Decision {
  if (result.ok) return { kind: "succeeded" };
  if ("permanent" in result) return { kind: "failed" };
  const ceiling = policy.schedule[attempt - 1];
  if (attempt >= policy.maxAttempts || ceiling === undefined) return { kind: "failed" };
  const jittered = Math.round(random() * ceiling);
  if (result.retryAfterSeconds === null) return { kind: "retry", inSeconds: jittered };
  return { kind: "retry", inSeconds: Math.max(jittered, Math.min(policy.retryAfterCapSeconds, result.retryAfterSeconds)) };
}

/** A delivery about to be created: owed to a webhook by routing, or asked for by a replay. */
export interface NewDelivery {
  id: string;
  /** Routed: owed once per event and webhook. Replay: asked for, a new one each time. */
  kind: "routed" | "replay";
  eventId: string;
  /** When its event was received: the order a webhook is owed its deliveries in. */
  eventReceivedAt: number;
  webhookUid: string;
  createdAt: number;
}

/** A time in ms as 12 hex digits (6 bytes, big-endian, as a UUIDv7 starts with). */
function timeHex(ms: number): string {
  return Math.max(0, Math.trunc(ms)).toString(16).padStart(12, "0").slice(-12);
}

/**
 * The one way a delivery comes to be. Its id starts with its event's receipt time and
 * the first two bytes of its event's id, so an event's deliveries lie in one narrow
 * range of the id index, where they are found (store/event-deliveries.ts, migration
 * 0034), and routed ones, made as events arrive, land near the end of that index
 * instead of on a random page (what keeps storing fast with millions of deliveries
 * stored). Routing's ends with a hash of the event and the webhook, so a redelivered
 * queue message creates nothing twice; a replay's is random. Whether it is held or
 * pending is the store's to say, from the webhook as it is when the delivery is stored.
 */
export async function newDelivery(
  kind: "routed" | "replay",
  event: { id: string; receivedAt: number },
  webhook: { uid: string },
  now: number,
): Promise<NewDelivery> {
  const tail = kind === "routed" ? (await sha256Hex(`${event.id}\n${webhook.uid}`)).slice(0, 16) : toHex(crypto.getRandomValues(new Uint8Array(8)));
  // An id the store keeps as text (not evt_ and 32 hex digits) has no bytes to lead with.
  const mark = isEventId(event.id) ? event.id.slice(4, 8) : "0000";
  const id = `dlv_${timeHex(event.receivedAt)}${mark}${tail}`;
  return {
    id,
    kind,
    eventId: event.id,
    eventReceivedAt: event.receivedAt,
    webhookUid: webhook.uid,
    createdAt: now,
  };
}
