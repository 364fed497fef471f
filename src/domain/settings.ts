import { DEFAULT_MAX_ATTEMPTS, exponentialSchedule, MAX_ATTEMPTS_LIMIT, TIMEOUT_MS_LIMITS, type RetrySchedule } from "./delivery";
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
    | "ALLOW_PRIVATE_DESTINATIONS",
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
}

/** The least and most a source's signature tolerance may be, in seconds (0: not checked). */
export const TOLERANCE_S_LIMITS = { min: 0, max: 86_400 } as const;

/** The shortest retention taken: a smaller RETENTION_DAYS is read as this. */
const MIN_RETENTION_DAYS = 1;

/** A whole number within [min, max]: a deployment's default a webhook takes must be one it may hold (the API refuses others, so a webhook read and written back as it was would be refused). */
function within(n: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, Math.round(n)));
}

function num(value: string | undefined, fallback: number): number {
  if (value === undefined || value.trim() === "") return fallback;
  const n = Number(value);
  return Number.isFinite(n) && n >= 0 ? n : fallback;
}

/** The receipt time before which an event is past the retention at `now`: nothing is sent for it (exact, not on the purge's grid). */
export function retentionHorizon(s: Pick<Settings, "retentionDays">, now: number): number {
  return now - s.retentionDays * DAY_MS;
}

export function settings(vars: SettingVars): Settings {
  // The default schedule, 5 s doubling to 1 h, is the one the retry table in docs/forwarding.md is printed from.
  const retryCapSeconds = num(vars.RETRY_CAP_SECONDS, 3600);
  return {
    // Never below a day: 0 does not turn the retention off, it would expire and purge everything.
    retentionDays: Math.max(MIN_RETENTION_DAYS, num(vars.RETENTION_DAYS, 10)),
    signatureToleranceSeconds: within(num(vars.SIGNATURE_TOLERANCE_S, 300), TOLERANCE_S_LIMITS.min, TOLERANCE_S_LIMITS.max),
    deliveryTimeoutMs: within(num(vars.DELIVERY_TIMEOUT_MS, 5000), TIMEOUT_MS_LIMITS.min, TIMEOUT_MS_LIMITS.max),
    maxAttempts: within(num(vars.MAX_ATTEMPTS, DEFAULT_MAX_ATTEMPTS), 1, MAX_ATTEMPTS_LIMIT),
    retrySchedule: exponentialSchedule(num(vars.RETRY_BASE_SECONDS, 5), retryCapSeconds, MAX_ATTEMPTS_LIMIT - 1),
    retryCapSeconds,
    allowPrivateDestinations: vars.ALLOW_PRIVATE_DESTINATIONS === "true",
  };
}
