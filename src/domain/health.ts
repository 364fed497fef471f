/**
 * A webhook's health as pure rules: its state from its counters, and its success
 * rates from hourly attempt counts. Nothing here reads the clock beyond the `now`
 * it is given.
 */
import { HOUR_MS, hourStart } from "./time";

export const HEALTH_STATES = ["healthy", "degraded", "failing", "disabled"] as const;
type HealthState = (typeof HEALTH_STATES)[number];

/** Below this success rate over the last hour a webhook is `degraded`. */
const DEGRADED_BELOW = 0.9;

export const AUTO_DISABLE_MINUTES_MAX = 43_200;
export const DEFAULT_AUTO_DISABLE_MINUTES = 1440;
export const FAILING_AFTER_MAX = 1000;
export const DEFAULT_FAILING_AFTER = 10;

/** What the attempts recorded so far say about a webhook (one row, kept with them). */
export interface HealthRecord {
  consecutiveFailures: number;
  /** When the current streak of failed attempts began; null: the last attempt succeeded (or none yet). */
  failingSince: number | null;
  lastSuccessAt: number | null;
  lastFailureAt: number | null;
  lastError: string | null;
}

export const NO_ATTEMPTS: HealthRecord = { consecutiveFailures: 0, failingSince: null, lastSuccessAt: null, lastFailureAt: null, lastError: null };

/** Attempts made in one clock hour (`hour`: epoch ms of its start). */
export interface HourCount {
  hour: number;
  attempts: number;
  succeeded: number;
}

interface SuccessRates {
  /** Over the last 60 minutes, estimated from this clock hour and the share of the last one still inside them. */
  lastHour: number | null;
  /** Over the last 24 clock hours, this one included. */
  lastDay: number | null;
}

function rate(attempts: number, succeeded: number): number | null {
  return attempts > 0 ? Math.round((succeeded / attempts) * 1000) / 1000 : null;
}

/** Success rates from hourly counts (null: no attempt in the window). */
export function successRates(hours: readonly HourCount[], now: number): SuccessRates {
  const current = hourStart(now);
  const previousWeight = 1 - (now - current) / HOUR_MS;
  let hourAttempts = 0;
  let hourSucceeded = 0;
  let dayAttempts = 0;
  let daySucceeded = 0;
  for (const h of hours) {
    if (h.hour > current - 24 * HOUR_MS && h.hour <= current) {
      dayAttempts += h.attempts;
      daySucceeded += h.succeeded;
    }
    const weight = h.hour === current ? 1 : h.hour === current - HOUR_MS ? previousWeight : 0;
    hourAttempts += h.attempts * weight;
    hourSucceeded += h.succeeded * weight;
  }
  return { lastHour: hourAttempts > 0 ? rate(hourAttempts, hourSucceeded) : null, lastDay: rate(dayAttempts, daySucceeded) };
}

/**
 * `disabled` while disabled; `failing` after failingAfterAttempts failed attempts
 * in a row; `degraded` when the last attempt failed or the last hour's success
 * rate is below 90%; else `healthy`.
 */
export function healthState(w: { disabled: boolean; failingAfterAttempts: number }, h: HealthRecord, rates: SuccessRates): HealthState {
  if (w.disabled) return "disabled";
  if (h.consecutiveFailures >= w.failingAfterAttempts) return "failing";
  if (h.consecutiveFailures > 0 || (rates.lastHour !== null && rates.lastHour < DEGRADED_BELOW)) return "degraded";
  return "healthy";
}

