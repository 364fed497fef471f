// Units of time, in ms (hours key the counters, days the retention), and times as the API writes them.
export const MINUTE_MS = 60_000;
export const HOUR_MS = 60 * MINUTE_MS;
export const DAY_MS = 24 * HOUR_MS;
/**
 * A step of the stats' series (/v1/stats, the overview's bars): ten minutes, the tenth of an hour
 * the counters keep (store/counters.ts). Here, as what the API's series means, for the dashboard too.
 */
export const SERIES_BUCKET_MS = 10 * MINUTE_MS;

/** The start of the hour (UTC) `ms` falls in: what keys the hourly counters. */
export const hourStart = (ms: number): number => Math.floor(ms / HOUR_MS) * HOUR_MS;

/** A time in ms as the API, alerts and logs write it: ISO 8601 in UTC. */
export const iso = (ms: number): string => new Date(ms).toISOString();

/** `iso`, null for none. */
export function isoTime(ms: number | null): string | null {
  return ms === null ? null : iso(ms);
}

/**
 * The first whole millisecond at or after a time the API was given (ISO 8601, as
 * `z.iso.datetime` takes it): what a bound of a range of stored times (whole ms) means, `since`
 * included as `until` excluded. Date.parse drops the digits of a fraction past the third, which put
 * `since=…00.0005Z` (Python's isoformat writes microseconds) half a millisecond early: the range
 * held an event of `…00.000Z`, received before it.
 */
export function msAtOrAfter(time: string): number {
  const ms = Date.parse(time);
  return /[1-9]/.test(subMs(time)) ? ms + 1 : ms;
}

/** A given time's digits of a second's fraction past the millisecond, which Date.parse drops ("" for none). */
export const subMs = (time: string): string => /\.\d{3}(\d+)/.exec(time)?.[1] ?? "";
