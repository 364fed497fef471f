/**
 * Exponential backoff with full jitter: a random delay in [0, min(cap, base·2^(n-1))].
 * `attempt` counts from 1 (the delay after the first failure).
 */
export function backoffSeconds(attempt: number, baseSeconds: number, capSeconds: number, random = Math.random): number {
  return Math.round(random() * backoffCeiling(attempt, baseSeconds, capSeconds));
}

export function backoffCeiling(attempt: number, baseSeconds: number, capSeconds: number): number {
  return Math.min(capSeconds, baseSeconds * 2 ** Math.max(0, attempt - 1));
}

/** The delay before the next attempt: backoff, but never sooner than the downstream's Retry-After (up to the cap). */
export function retryDelaySeconds(
  attempt: number,
  s: { retryBaseSeconds: number; retryCapSeconds: number },
  retryAfterSeconds: number | null,
  random = Math.random,
): number {
  const jittered = backoffSeconds(attempt, s.retryBaseSeconds, s.retryCapSeconds, random);
  if (retryAfterSeconds === null) return jittered;
  return Math.min(s.retryCapSeconds, Math.max(jittered, retryAfterSeconds));
}

/** `Retry-After` as seconds from now: delta-seconds or an HTTP date. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | null {
  if (!value) return null;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - now) / 1000));
}
