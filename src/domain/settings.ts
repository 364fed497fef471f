import { DEFAULT_MAX_ATTEMPTS, exponentialSchedule, MAX_ATTEMPTS_LIMIT, RETRY_WAIT_LIMIT_S, TIMEOUT_MS_LIMITS, type RetrySchedule } from "./delivery";
import { DAY_MS } from "./time";

/** The variables settings are read from (wrangler.toml [vars]; the Worker's Env has them all). */
type SettingVars = Partial<
  Record<
    | "RETENTION_DAYS"
    | "SIGNATURE_TOLERANCE_S"
    | "DELIVERY_TIMEOUT_MS"
    | "MAX_ATTEMPTS"
    | "RETRY_BASE_SECONDS"
    | "RETRY_CAP_SECONDS"
    | "ALLOW_PRIVATE_DESTINATIONS"
    | "REJECTIONS_FLUSH_MS",
    string
  >
>;

/** Settings, with their defaults. */
export interface Settings {
  retentionDays: number;
  signatureToleranceSeconds: number;
  deliveryTimeoutMs: number;
  /** A new webhook's maxAttempts unless it gives its own. */
  maxAttempts: number;
  /** The delay after each failed attempt: RETRY_BASE_SECONDS doubling up to RETRY_CAP_SECONDS. */
  retrySchedule: RetrySchedule;
  /** RETRY_CAP_SECONDS: also the longest a Retry-After is honoured. */
  retryCapSeconds: number;
  allowPrivateDestinations: boolean;
  /** How long the ingress tallies refused requests before sending the tally (ms). */
  rejectionsFlushMs: number;
}

/** The least and most a source's signature tolerance may be, in seconds (0: not checked). */
export const TOLERANCE_S_LIMITS = { min: 0, max: 86_400 } as const;

/**
 * RETENTION_DAYS: never below a day (0 does not turn the retention off, it would expire and purge
 * everything), never above a year: its horizon is a time (now less the retention) D1 compares,
 * which a huge value made -Infinity, and a webhook receiver keeps days, not years (D1's size).
 */
const RETENTION_DAYS_LIMITS = { min: 1, max: 365 } as const;

/**
 * RETRY_BASE_SECONDS and RETRY_CAP_SECONDS: each at most 8 hours (RETRY_WAIT_LIMIT_S, delivery.ts),
 * so a retry's time and the scheduler's alarm are always ones the runtime can hold (a huge value
 * made times no Date or alarm could, and every read of them failed). The cap is also the longest
 * a Retry-After is honoured. The default schedule doubles from 5 s to 1 h.
 */
const RETRY_S_LIMITS = { min: 0, max: RETRY_WAIT_LIMIT_S } as const;

/**
 * REJECTIONS_FLUSH_MS: the tally is sent in waitUntil after the refusal's answer, which the
 * runtime lets run for about 30 s in production: a longer window would lose every tally.
 */
const REJECTIONS_FLUSH_MS_LIMITS = { min: 0, max: 20_000 } as const;

/** A whole number within [min, max]: a deployment's default a webhook takes must be one it may hold (the API refuses others, so a webhook read and written back as it was would be refused). */
function within(n: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, Math.round(n)));
}

function num(value: string | undefined, fallback: number): number {
  if (value === undefined || value.trim() === "") return fallback;
  const n = Number(value);
  return Number.isFinite(n) && n >= 0 ? n : fallback;
}

/** A number within [min, max] (a fraction kept): an out-of-range value is the nearest bound, a negative or non-numeric one the default. */
const bounded = (value: string | undefined, fallback: number, limits: { min: number; max: number }): number =>
  Math.min(limits.max, Math.max(limits.min, num(value, fallback)));

/** The boolean settings already said to be neither true nor false in this isolate: each is logged once. */
const unreadFlags = new Set<string>();

/**
 * A boolean setting: true or false in any case (surrounding space ignored); unset is the default,
 * and so is anything else, logged once naming the setting and the value used. The value given is
 * never logged: a line naming a setting cannot leak a secret put in the wrong variable.
 */
function flag(name: keyof SettingVars, value: string | undefined, fallback: boolean): boolean {
  const word = value?.trim().toLowerCase();
  if (word === "true") return true;
  if (word === "false") return false;
  if (word !== undefined && !unreadFlags.has(name)) {
    unreadFlags.add(name);
    console.warn(`setting ${name} is neither true nor false; using its default, ${fallback}`);
  }
  return fallback;
}

/** The receipt time before which an event is past the retention at `now`: nothing is sent for it (exact, not on the purge's grid). */
export function retentionHorizon(s: Pick<Settings, "retentionDays">, now: number): number {
  return now - s.retentionDays * DAY_MS;
}

export function settings(vars: SettingVars): Settings {
  // The default schedule, 5 s doubling to 1 h, is the one the retry table in docs/forwarding.md is printed from.
  const retryCapSeconds = bounded(vars.RETRY_CAP_SECONDS, 3600, RETRY_S_LIMITS);
  return {
    retentionDays: bounded(vars.RETENTION_DAYS, 10, RETENTION_DAYS_LIMITS),
    signatureToleranceSeconds: within(num(vars.SIGNATURE_TOLERANCE_S, 300), TOLERANCE_S_LIMITS.min, TOLERANCE_S_LIMITS.max),
    deliveryTimeoutMs: within(num(vars.DELIVERY_TIMEOUT_MS, 5000), TIMEOUT_MS_LIMITS.min, TIMEOUT_MS_LIMITS.max),
    maxAttempts: within(num(vars.MAX_ATTEMPTS, DEFAULT_MAX_ATTEMPTS), 1, MAX_ATTEMPTS_LIMIT),
    retrySchedule: exponentialSchedule(bounded(vars.RETRY_BASE_SECONDS, 5, RETRY_S_LIMITS), retryCapSeconds, MAX_ATTEMPTS_LIMIT - 1),
    retryCapSeconds,
    allowPrivateDestinations: flag("ALLOW_PRIVATE_DESTINATIONS", vars.ALLOW_PRIVATE_DESTINATIONS, false),
    rejectionsFlushMs: bounded(vars.REJECTIONS_FLUSH_MS, 5_000, REJECTIONS_FLUSH_MS_LIMITS),
  };
}
