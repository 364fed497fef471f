// Stats: counts of events and deliveries, and per webhook.
import "@hono/zod-openapi"; // gives every zod schema .openapi()
import { z } from "../../domain/zod";
import { STATS_GRANT_WEBHOOKS, STATS_WEBHOOKS } from "../../store/stats";
import { time, cursor, strictQuery, uid, commaList } from "./fields";

export const StatsSchema = z
  .object({
    events: z.object({
      total: z.number().int(),
      last24h: z.number().int().openapi({
        description:
          "Events received in the current ten-minute bucket of the clock and the 143 before it: the last 23 h 50 min to 24 h, so up to the day's oldest ten minutes are not counted.",
      }),
    }),
    series: z
      .array(z.object({ start: time, events: z.number().int(), attempts: z.number().int().nullable(), succeededAttempts: z.number().int().nullable() }))
      .openapi({ description: "The last six hours in ten-minute buckets, oldest first. Attempts are null where `deliveries` is." }),
    deliveries: z
      .object({
        held: z.number().int(),
        pending: z.number().int(),
        succeeded: z.number().int(),
        failed: z.number().int(),
        expired: z.number().int(),
      })
      .nullable()
      .openapi({ description: `Null for a limited token whose grant holds more than ${STATS_GRANT_WEBHOOKS} webhooks: see the per-webhook counts.` }),
    deadLetters: z
      .number()
      .int()
      .nullable()
      .openapi({ description: "Dead letters not replayed yet: see /v1/dead-letters. Null unless the token is admin: dead letters belong to no tenant." }),
    parkedDeadLetters: z.number().int().nullable().openapi({
      description:
        "Dead letters waiting in R2 because D1 could not take them (counted up to 1000); the maintenance run records or re-ingests them. Null unless the token is admin.",
    }),
    webhooks: z.array(
      z.object({
        uid: z.string(),
        url: z.string(),
        disabled: z.boolean(),
        succeeded: z.number().int(),
        failed: z.number().int(),
        pending: z.number().int(),
        held: z.number().int(),
        successRate: z.number().nullable().openapi({ description: "succeeded / (succeeded + failed); null before any." }),
        lastFailureAt: time.nullable(),
        lastError: z.string().nullable(),
      }),
    ).openapi({
      description: `At most ${STATS_WEBHOOKS}, the first by uid after \`cursor\`, most failed first among them (with \`failingFirst\`, up to ${STATS_WEBHOOKS} failing now before them).`,
    }),
    webhooksNextCursor: z.string().nullable().openapi({ description: "Where the next webhooks follow (`cursor`), or null: none." }),
  })
  .openapi("Stats");

export const StatsQuery = strictQuery({
  cursor: cursor.openapi({ description: "The `webhooksNextCursor` of the previous answer: the next webhooks." }),
  webhookUids: commaList(
    uid,
    `Comma-separated webhook uids (at most ${STATS_WEBHOOKS}): \`webhooks\` holds their counts, in place of a page (no cursor). One the token may not see (outside its grant), deleted, a notification endpoint or none answers 404 \`not_found\` as \`GET /v1/webhooks/{uid}\` does (naming the first; \`details.webhookUids\` lists them all), not an answer without it a typo would hide behind. Without webhooks:read the list is not read.`,
    STATS_WEBHOOKS,
    // (Each uid up to 128 characters, and its comma.)
    STATS_WEBHOOKS * 129,
  ),
  failingFirst: z.enum(["true", "false"]).optional().openapi({
    description: `\`true\`: \`webhooks\` starts with those failing now (up to ${STATS_WEBHOOKS}, the longest failing first), then the first page by uid without them. Not with \`cursor\` or \`webhookUids\`: docs/api.md.`,
  }),
});
