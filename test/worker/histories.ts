// Random histories of ingests and purges, for the properties that a table kept beside the events
// and deliveries (packed rows: event-places.test.ts, delivery-webhooks.test.ts) says what a recount says.
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { RETENTION_START, retentionStep } from "../../src/store/retention";

export const DAY = 86_400_000;

/** A batch of 1 to 8 events (`at` varies what each is), `old` of them past the retention, `again`: with a redelivered event. */
export const ingestAction = fc.record({
  kind: fc.constant("ingest" as const),
  n: fc.integer({ min: 1, max: 8 }),
  at: fc.integer({ min: 0, max: 9 }),
  again: fc.boolean(),
  old: fc.integer({ min: 0, max: 3 }),
});
export const purgeAction = fc.constant({ kind: "purge" as const });

/** Random histories (2 to 8 actions, 10 of them), each action `run` at its time, `check` after each history. */
export async function histories<A>(action: fc.Arbitrary<A>, run: (a: A, now: number) => Promise<void>, check: () => Promise<void>) {
  await fc.assert(
    fc.asyncProperty(fc.array(action, { minLength: 2, maxLength: 8 }), async (actions) => {
      for (const a of actions) await run(a, Date.now());
      await check();
    }),
    { numRuns: 10 },
  );
}

/** The retention over everything received more than 10 days ago, in chunks of 7 events. */
export async function purgeAll(now: number) {
  let from = RETENTION_START;
  for (;;) {
    const step = await retentionStep(env.DB, { cutoff: now - 10 * DAY, graceCutoff: now + 1, from, limit: 7, now });
    if (!step.next) break;
    from = step.next;
  }
}
