// Units of time, in ms: hours key the counters, days the retention.
export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;
