// Replaying events: one, or a range of them.
import "@hono/zod-openapi"; // gives every zod schema .openapi()
import { z } from "../../domain/zod";
import { givenTime, refineRange, cursor, uid } from "./fields";
import { exactType } from "./events";
import { EXAMPLE_HOUR, EXAMPLE_IDS } from "./examples";

export const ReplayBody = z.strictObject({ webhookUid: uid.optional() }).openapi("ReplayRequest", { example: { webhookUid: EXAMPLE_IDS.webhookUid } });
export const ReplayAnswer = z.object({ deliveries: z.number().int() }).openapi("ReplayAnswer");

export const RangeReplayBody = z
  .strictObject({
    since: givenTime("From this time (included)."),
    until: givenTime("Up to this time (excluded)."),
    webhookUid: uid.optional().openapi({ description: "Only to this webhook (else every matching webhook)." }),
    eventType: exactType.optional(),
    dryRun: z.boolean().optional().openapi({ description: "Count what would be replayed; create nothing." }),
    cursor: cursor.openapi({
      description: "The `nextCursor` of the previous call, with the same fields otherwise (else 400).",
    }),
  })
  .superRefine((b, ctx) => refineRange(b.since, b.until, ctx))
  // Counted first (dryRun): drop it to replay.
  .openapi("RangeReplayRequest", { example: { ...EXAMPLE_HOUR, eventType: "message.received", dryRun: true } });
export const RangeReplayAnswer = z
  .object({
    dryRun: z.boolean(),
    events: z.number().int().openapi({ description: "Events of this page replayed (or, dry, to be replayed)." }),
    deliveries: z.number().int().openapi({ description: "Deliveries created (or, dry, to be created); held for a disabled webhook." }),
    nextCursor: z.string().nullable().openapi({ description: "Call again with it for the rest of the range; null at the end." }),
  })
  .openapi("RangeReplayAnswer");
