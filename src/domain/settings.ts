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

/** The settings already said in this isolate not to be used as given: each is logged once (a deployment's vars do not change within one). */
const said = new Set<string>();

/**
 * Logs, once per isolate and setting, that `name` is not used as given, why, and what is used
 * instead. The value given is never logged: a line naming a setting cannot leak a secret put in
 * the wrong variable.
 */
function notAsGiven(name: keyof SettingVars, why: string, used: string): void {
  if (said.has(name)) return;
  said.add(name);
  console.warn(`setting ${name} ${why}; using ${used}`);
}

/**
 * A number setting: unset or empty is the default, and so is a negative or non-numeric one; one
 * outside [min, max] is the nearest bound, and a fraction of a `whole` one is rounded (a
 * deployment's default a webhook takes must be one it may hold: the API refuses others, so a
 * webhook read and written back as it was would be refused). All but unset or empty are logged.
 */
function num(name: keyof SettingVars, value: string | undefined, fallback: number, limits: { min: number; max: number }, whole = false): number {
  if (value === undefined || value.trim() === "") return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) {
    notAsGiven(name, n < 0 ? "is negative" : "is not a number", `its default, ${fallback}`);
    return fallback;
  }
  const used = Math.min(limits.max, Math.max(limits.min, whole ? Math.round(n) : n));
  if (used !== n) notAsGiven(name, n > limits.max ? `is above ${limits.max}` : n < limits.min ? `is below ${limits.min}` : "is not a whole number", String(used));
  return used;
}

/** A boolean setting: true or false in any case (surrounding space ignored); unset is the default, and so is anything else, logged. */
function flag(name: keyof SettingVars, value: string | undefined, fallback: boolean): boolean {
  const word = value?.trim().toLowerCase();
  if (word === "true") return true;
  if (word === "false") return false;
  if (word !== undefined) notAsGiven(name, "is neither true nor false", `its default, ${fallback}`);
  return fallback;
}

/** The receipt time before which an event is past the retention at `now`: nothing is sent for it (exact, not on the purge's grid). */
export function retentionHorizon(s: Pick<Settings, "retentionDays">, now: number): number {
  return now - s.retentionDays * DAY_MS;
}

export function settings(vars: SettingVars): Settings {
  // The default schedule, 5 s doubling to 1 h, is the one the retry table in docs/forwarding.md is printed from.
  const retryCapSeconds = num("RETRY_CAP_SECONDS", vars.RETRY_CAP_SECONDS, 3600, RETRY_S_LIMITS);
  return {
    retentionDays: num("RETENTION_DAYS", vars.RETENTION_DAYS, 10, RETENTION_DAYS_LIMITS),
    signatureToleranceSeconds: num("SIGNATURE_TOLERANCE_S", vars.SIGNATURE_TOLERANCE_S, 300, TOLERANCE_S_LIMITS, true),
    deliveryTimeoutMs: num("DELIVERY_TIMEOUT_MS", vars.DELIVERY_TIMEOUT_MS, 5000, TIMEOUT_MS_LIMITS, true),
    maxAttempts: num("MAX_ATTEMPTS", vars.MAX_ATTEMPTS, DEFAULT_MAX_ATTEMPTS, { min: 1, max: MAX_ATTEMPTS_LIMIT }, true),
    retrySchedule: exponentialSchedule(num("RETRY_BASE_SECONDS", vars.RETRY_BASE_SECONDS, 5, RETRY_S_LIMITS), retryCapSeconds, MAX_ATTEMPTS_LIMIT - 1),
    retryCapSeconds,
    allowPrivateDestinations: flag("ALLOW_PRIVATE_DESTINATIONS", vars.ALLOW_PRIVATE_DESTINATIONS, false),
    rejectionsFlushMs: num("REJECTIONS_FLUSH_MS", vars.REJECTIONS_FLUSH_MS, 5_000, REJECTIONS_FLUSH_MS_LIMITS),
  };
}
