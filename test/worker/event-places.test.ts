// The places rows (store/event-places.ts, migration 0036): one per insert group, saying where
// its events are, written with the group and kept in step by the purge.
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { eventIdFor } from "../../src/domain/ids";
import type { IngestMessage } from "../../src/domain/types";
import { RETENTION_START, retentionStep } from "../../src/store/retention";
import { ingestMessage, podiumBody } from "./helpers";
import { pipeline, uniqueKey } from "./pipeline";
import { placesRecounted, placesStored } from "./recount";

const DAY = 86_400_000;

const purgeAll = async (now: number) => {
  let from = RETENTION_START;
  for (;;) {
    const step = await retentionStep(env.DB, { cutoff: now - 10 * DAY, graceCutoff: now + 1, from, limit: 7, now });
    if (!step.next) break;
    from = step.next;
  }
};

describe("D1's rows read", () => {
  it("count each element json_each yields, and none for json_extract: a places row is read without json_each", async () => {
    const list = JSON.stringify(Array.from({ length: 100 }, (_, i) => i));
    const each = await env.DB.prepare("SELECT count(*) AS n FROM json_each(?)").bind(list).all();
    const extract = await env.DB.prepare("SELECT json_extract(?, '$[5]', '$[7]') AS x").bind(list).all();
    expect(each.meta.rows_read).toBe(100);
    expect(extract.meta.rows_read).toBe(0);
  });
});

describe("places rows", () => {
  it("equal a recount from the events after any mix of ingests (duplicates, events at no place) and purges, and the migration writes the same", async () => {
    const p = pipeline();
    const key = uniqueKey();
    const orgs = [0, 1, 2].map((i) => `org-${key}-${i}`);
    const locs = [0, 1, 2, 3].map((i) => `loc-${key}-${i}`);
    const stored: IngestMessage[] = [];
    let made = 0;
    const action = fc.oneof(
      { arbitrary: fc.record({ kind: fc.constant("ingest" as const), n: fc.integer({ min: 1, max: 8 }), at: fc.integer({ min: 0, max: 9 }), again: fc.boolean(), old: fc.integer({ min: 0, max: 3 }) }), weight: 4 },
      { arbitrary: fc.constant({ kind: "purge" as const }), weight: 1 },
    );
    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 2, maxLength: 8 }), async (actions) => {
        for (const a of actions) {
          const now = Date.now();
          if (a.kind === "purge") {
            await purgeAll(now);
            continue;
          }
          const msgs: IngestMessage[] = [];
          for (let i = 0; i < a.n; i++) {
            const eventUid = `${key}-${made++}`;
            // Places vary within a batch, some events at none; some are old enough to purge.
            const [org, loc] = [(a.at + i) % 4 === 3 ? null : orgs[(a.at + i) % 3]!, (a.at * 7 + i) % 5 === 4 ? null : locs[(a.at * 7 + i) % 5]!];
            msgs.push({
              ...ingestMessage({ body: podiumBody({ eventUid, organizationUid: org ?? undefined, locationUid: loc ?? undefined }) }),
              eventId: await eventIdFor("podium", eventUid),
              dedupeKey: eventUid,
              organizationUid: org,
              locationUid: loc,
              receivedAt: i < a.old ? now - 11 * DAY - i : now - i,
            });
          }
          // A redelivered event, in the batch and later, is stored once: its position has no entry.
          await p.runIngest(a.again && stored.length > 0 ? [stored[0]!, ...msgs, msgs[0]!] : msgs);
          stored.push(...msgs);
        }
        expect(await placesStored(env.DB)).toEqual(await placesRecounted(env.DB));
      }),
      { numRuns: 10 },
    );
    expect(await placesStored(env.DB)).not.toEqual([]);

    // Migration 0036 backfills the same rows from the events and their groups; run again it adds
    // only what is missing (the groups an older release stored meanwhile) and forgets rows of
    // groups whose events are gone.
    const migration = env.TEST_MIGRATIONS.find((m) => m.name.startsWith("0036_"))!;
    const rerun = () => env.DB.batch(migration.queries.map((q) => env.DB.prepare(q)));
    const ingested = await placesStored(env.DB);
    // The database as before it: no places rows.
    await env.DB.prepare("DROP TABLE event_places").run();
    await rerun();
    expect(await placesStored(env.DB)).toEqual(ingested);
    await env.DB.prepare("DELETE FROM event_places WHERE seq = ?").bind(ingested[0]!.seq).run();
    await env.DB.prepare("INSERT INTO event_places (seq, last, locations) VALUES ((SELECT max(seq) FROM events) + 10, (SELECT max(seq) FROM events) + 12, '{\"1\":[0]}')").run();
    await rerun();
    expect(await placesStored(env.DB)).toEqual(ingested);
  }, 60_000); // random histories of D1 transactions: a busy machine takes longer than 5 s (nothing here is timed)
});
