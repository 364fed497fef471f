import type { Env } from "../env";

/** The SIGNATURE_FAILURES binding's period (wrangler.toml): how long a blocked client stays blocked. */
export const REJECTION_PERIOD_MS = 60_000;
const MAX_BLOCKED = 10_000;

// (source, client) pairs over the limit, until when. Checked synchronously, and only
// once a signature is rejected: the success path awaits nothing and reads nothing.
const blocked = new Map<string, number>();

const keyOf = (sourceId: string, client: string) => `${sourceId}\n${client}`;

/** Seconds this client's rejected signatures are still answered 429 for this source, or 0 when it is not blocked. */
export function blockedFor(sourceId: string, client: string, now: number): number {
  const key = keyOf(sourceId, client);
  const until = blocked.get(key);
  if (until === undefined) return 0;
  if (until <= now) {
    blocked.delete(key);
    return 0;
  }
  return Math.ceil((until - now) / 1000);
}

/**
 * Counts a rejected signature against (source, client) with the rate limiting
 * binding (no D1); past the limit, the client is blocked for the period.
 */
export async function countRejection(env: Env, sourceId: string, client: string, now: number): Promise<void> {
  const key = keyOf(sourceId, client);
  const outcome = await env.SIGNATURE_FAILURES?.limit({ key }).catch(() => ({ success: true }));
  if (!outcome || outcome.success) return;
  if (blocked.size >= MAX_BLOCKED) {
    for (const [k, until] of blocked) if (until <= now) blocked.delete(k);
    if (blocked.size >= MAX_BLOCKED) blocked.clear();
  }
  blocked.set(key, now + REJECTION_PERIOD_MS);
}
