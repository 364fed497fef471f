/**
 * Exponential backoff with full jitter: a random delay in [0, min(cap, base·2^(n-1))].
 * `attempt` counts from 1 (the delay after the first failure).
 */
export function backoffSeconds(attempt: number, baseSeconds: number, capSeconds: number, random = Math.random): number {
  const ceiling = Math.min(capSeconds, baseSeconds * 2 ** Math.max(0, attempt - 1));
  return Math.round(random() * ceiling);
}
