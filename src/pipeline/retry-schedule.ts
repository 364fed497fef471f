/**
 * How long a consumer waits before retrying a message it could not process
 * because a store (D1, R2) failed: seconds after the 1st, 2nd, … failure; the
 * last entry repeats. With wrangler.toml's `max_retries = 30` for the ingest
 * queue the retries span about 23 hours, well inside the 4 days Queues keeps a
 * message, before the message goes to the dead-letter queue.
 */
const STORE_RETRY_SCHEDULE_S: readonly number[] = [10, 30, 60, 120, 300, 600, 1200, 1800, 3600];

/** The delay before retrying a queue message the consumer has tried `attempts` times (the message's `attempts`, from 1). */
export function scheduledDelay(attempts: number): number {
  const i = Math.min(Math.max(1, attempts), STORE_RETRY_SCHEDULE_S.length) - 1;
  return STORE_RETRY_SCHEDULE_S[i] ?? 0;
}
