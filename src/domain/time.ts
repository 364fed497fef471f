// Units of time, in ms (hours key the counters, days the retention), and times as the API writes them.
export const MINUTE_MS = 60_000;
export const HOUR_MS = 60 * MINUTE_MS;
export const DAY_MS = 24 * HOUR_MS;

/** A time in ms as the API, alerts and logs write it: ISO 8601 in UTC. */
export const iso = (ms: number): string => new Date(ms).toISOString();

/** `iso`, null for none. */
export function isoTime(ms: number | null): string | null {
  return ms === null ? null : iso(ms);
}
