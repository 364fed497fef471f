/**
 * Flow control of one webhook, as pure rules: its limits, the pacing that keeps
 * a rate limit, when a downstream's answer pauses the webhook, how fast it is
 * going, and when its backlog should be done. The scheduler (pipeline/flow.ts)
 * applies them; nothing here knows about time beyond the `now` it is given.
 */

import { oneOf } from "./guards";

export const ORDERINGS = ["unordered", "fifo"] as const;
/** `fifo`: one at a time, strictly in the order the events were received; `unordered`: in parallel. */
type Ordering = (typeof ORDERINGS)[number];

export const isOrdering = oneOf(ORDERINGS);

export const RATE_LIMIT_MAX = 1000;
export const MAX_CONCURRENCY_MAX = 100;
/**
 * Requests one webhook gets at once unless it says otherwise: six, the requests one
 * Workers invocation may have waiting for headers before the rest queue in the runtime
 * with their timeouts running (docs/flow-control.md).
 */
export const DEFAULT_MAX_CONCURRENCY = 6;

/** A webhook's limits, as the scheduler reads them on every wake. */
export interface FlowLimits {
  /** Attempts started per second, retries included, or null for no limit. */
  rateLimit: number | null;
  maxConcurrency: number;
  ordering: Ordering;
}

/**
 * Connections one invocation (a scheduler's run) has open at once on Cloudflare; a seventh fetch
 * waits in the runtime's queue for one to close, its timeout running and its start off its pace
 * (docs/flow-control.md cites the limit). The local runtime opens more, so only this cap keeps
 * tests and production alike.
 */
export const OPEN_CONNECTIONS = 6;

/** How many requests may be in flight at once: FIFO sends one at a time whatever maxConcurrency says; never more than OPEN_CONNECTIONS. */
export function concurrencyOf(l: FlowLimits): number {
  return l.ordering === "fifo" ? 1 : Math.min(OPEN_CONNECTIONS, Math.max(1, l.maxConcurrency));
}

/**
 * Evenly spaced starts: one every 1000/rateLimit ms. Two starts are never closer
 * than that, so no window of one second ever holds more than rateLimit of them;
 * time not used is not saved up (no burst after a quiet spell). The spacing is
 * counted from the last start at the limit as it is now: a limit set or lowered
 * keeps the next start that far from one made at the old pace.
 */
export class Pacer {
  /** When the last start was (while `taken`). */
  private lastAt = 0;
  private taken = false;

  /**
   * `since`: when the sender pacing with it came to be, if another before it may have started
   * requests it knows nothing of (a scheduler restarted: a deploy, an eviction): its first
   * start then waits a whole spacing from that time, which is after the other's last start.
   */
  constructor(private readonly since: number | null = null) {}

  /** When the next start may happen for a webhook limited to `rateLimit` per second (at or before `now`: at once). */
  next(rateLimit: number): number {
    const from = this.taken ? this.lastAt : this.since;
    return from === null ? 0 : from + 1000 / rateLimit;
  }

  /** A start at `now`, limited or not: the next one is spaced from it by the limit as it is then. */
  take(now: number): void {
    this.lastAt = now;
    this.taken = true;
  }
}

/** What an attempt came to, as far as pausing the webhook is concerned. */
interface AttemptSignal {
  /** null: no answer at all (timeout, refused connection, reset). */
  statusCode: number | null;
  /** The downstream's Retry-After, in seconds. */
  retryAfterSeconds: number | null;
  /** When the delivery is tried again, in seconds; null when settled. */
  retryInSeconds: number | null;
  /** Another delivery of the webhook got no answer either, and the downstream has answered nothing since (Silence). */
  othersUnanswered: boolean;
}

/**
 * How long (ms) the whole webhook waits after an attempt before starting another:
 * - a 429 or 503 with Retry-After: that long (up to the cap), so a downstream asking
 *   for air gets it from every delivery, not only the one that was told;
 * - no answer at all, unordered, when another delivery got none either with no answer
 *   from the downstream since (it looks down): the failed delivery's own backoff (at
 *   least 1 s), so a downstream that is down costs a round of timeouts per backoff, not
 *   one per queued delivery. One delivery alone never pauses its webhook, however often
 *   it goes unanswered: one event the receiver never answers in time would otherwise hold
 *   every other event back for its whole backoff at each of its attempts (hours in all),
 *   on a quiet webhook above all, where nothing else is answered meanwhile to tell a slow
 *   event from a downstream that is down. FIFO needs neither: its head waits for its own
 *   retry anyway.
 */
export function pauseAfter(a: AttemptSignal, ordering: Ordering, retryAfterCapSeconds: number): number {
  if ((a.statusCode === 429 || a.statusCode === 503) && a.retryAfterSeconds !== null) {
    return Math.min(retryAfterCapSeconds, a.retryAfterSeconds) * 1000;
  }
  if (ordering === "unordered" && a.statusCode === null && a.retryInSeconds !== null && a.othersUnanswered) return Math.max(1, a.retryInSeconds) * 1000;
  return 0;
}

/**
 * Which of a webhook's deliveries got no answer since its downstream last answered anything
 * (any status), in the order attempts ended: what tells a downstream that is down (two
 * deliveries unanswered in a row) from one delivery it is slow to answer.
 */
export class Silence {
  /** At most two ids: whether there is another than the one asking is all that is read. */
  private readonly unanswered: Set<string>;

  /**
   * `unanswered`: what `changed` last reported (kept by the scheduler, so a restart between two
   * silences does not forget the first). `changed` is told only when the ids change: at most twice
   * per silence and once at the answer that ends it, never per answered attempt.
   */
  constructor(unanswered: readonly string[] = [], private readonly changed?: (unanswered: string[]) => void) {
    this.unanswered = new Set(unanswered.slice(0, 2));
  }

  /** An attempt of `deliveryId` ended, answered or not; says whether another delivery is unanswered too (always false for an answer). */
  ended(deliveryId: string, answered: boolean): boolean {
    if (answered) {
      this.forget();
      return false;
    }
    const others = [...this.unanswered].some((id) => id !== deliveryId);
    if (this.unanswered.size < 2 && !this.unanswered.has(deliveryId)) {
      this.unanswered.add(deliveryId);
      this.changed?.([...this.unanswered]);
    }
    return others;
  }

  /** Someone asked for the deliveries now (a new URL, an enable, a retry): what went unanswered before says nothing of what comes. */
  forget(): void {
    if (this.unanswered.size === 0) return;
    this.unanswered.clear();
    this.changed?.([]);
  }
}

/** Counts per second over a sliding window, to tell how fast a webhook is going. */
export class RateMeter {
  private readonly buckets = new Map<number, { attempts: number; settled: number }>();
  private since: number | null = null;

  constructor(private readonly windowMs = 30_000) {}

  /** One attempt ended at `now`; `settled` when it left nothing owed (succeeded, or failed for good). */
  record(now: number, settled: boolean): void {
    const second = Math.floor(now / 1000);
    const b = this.buckets.get(second) ?? { attempts: 0, settled: 0 };
    b.attempts++;
    if (settled) b.settled++;
    this.buckets.set(second, b);
    this.since ??= now;
    this.prune(now);
  }

  /** Attempts and settled deliveries per second over the window (or since the first one, if later). */
  rates(now: number): { attemptsPerSecond: number; settledPerSecond: number } {
    this.prune(now);
    let attempts = 0;
    let settled = 0;
    for (const b of this.buckets.values()) {
      attempts += b.attempts;
      settled += b.settled;
    }
    if (attempts === 0 || this.since === null) return { attemptsPerSecond: 0, settledPerSecond: 0 };
    const span = Math.max(1000, Math.min(this.windowMs, now - this.since)) / 1000;
    return { attemptsPerSecond: round(attempts / span), settledPerSecond: round(settled / span) };
  }

  private prune(now: number): void {
    const oldest = Math.floor((now - this.windowMs) / 1000);
    for (const second of this.buckets.keys()) if (second <= oldest) this.buckets.delete(second);
    if (this.buckets.size === 0) this.since = null;
    else if (this.since !== null && this.since < now - this.windowMs) this.since = now - this.windowMs;
  }
}

const round = (n: number) => Math.round(n * 100) / 100;

/**
 * The meter's rates as a webhook's pace. Starts are spaced by the rate limit, so a reading above
 * it is the window's edge (4 attempts a second apart, counted over the 3 s between the first and
 * the last, read 1.33/s), not speed: it is shown as the limit.
 */
export function paceOf(r: { attemptsPerSecond: number; settledPerSecond: number }, rateLimit: number | null) {
  const cap = (n: number) => (rateLimit === null ? n : Math.min(n, rateLimit));
  return { attemptsPerSecond: cap(r.attemptsPerSecond), settledPerSecond: cap(r.settledPerSecond) };
}

/**
 * Seconds until `owed` deliveries are done: after what it waits for (`waitSeconds`: a pause, a due time),
 * at the pace they are being settled, else (nothing settled lately) at the rate limit, else
 * unknown. A disabled webhook sends nothing, so it has no estimate.
 */
export function drainEstimate(owed: number, settledPerSecond: number, limits: FlowLimits & { disabled: boolean }, waitSeconds = 0): number | null {
  if (owed === 0) return 0;
  if (limits.disabled) return null;
  const pace = settledPerSecond > 0 ? settledPerSecond : limits.rateLimit;
  return pace ? waitSeconds + Math.ceil(owed / pace) : null;
}
