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
          "Events received in the last 24 hours, in ten-minute buckets: docs/api.md.",
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
      .openapi({ description: "Dead letters not replayed yet (/v1/dead-letters). Null unless the token is admin." }),
    parkedDeadLetters: z.number().int().nullable().openapi({
      description:
        "Dead letters parked in R2 while D1 failed (up to 1000). Null unless the token is admin.",
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
      description: `At most ${STATS_WEBHOOKS}, by uid after \`cursor\`: docs/api.md#stats-per-webhook.`,
    }),
    webhooksNextCursor: z.string().nullable().openapi({ description: "Where the next webhooks follow (`cursor`), or null: none." }),
  })
  .openapi("Stats");

export const StatsQuery = strictQuery({
  cursor: cursor.openapi({ description: "The `webhooksNextCursor` of the previous answer: the next webhooks." }),
  webhookUids: commaList(
    uid,
    `Comma-separated webhook uids (at most ${STATS_WEBHOOKS}): their counts in \`webhooks\`, no page; one not found is a 404 (\`details.webhookUids\`): docs/api.md.`,
    STATS_WEBHOOKS,
    // (Each uid up to 128 characters, and its comma.)
    STATS_WEBHOOKS * 129,
  ),
  failingFirst: z.enum(["true", "false"]).optional().openapi({
    description: `\`true\`: \`webhooks\` starts with those failing now (up to ${STATS_WEBHOOKS}): docs/api.md.`,
  }),
});
