// Deliveries: one, with its attempts, lists of them and retrying them.
import "@hono/zod-openapi"; // gives every zod schema .openapi()
import { z } from "../../domain/zod";
import { DELIVERY_STATUSES } from "../../domain/delivery";
import { EXAMPLE_HOUR, EXAMPLE_IDS } from "./examples";
import { time, givenTime, limit, cursor, strictQuery, uid } from "./fields";

const AttemptSchema = z
  .object({
    number: z.number().int(),
    startedAt: time,
    durationMs: z.number().int(),
    statusCode: z.number().int().nullable(),
    error: z.string().nullable(),
    responseSnippet: z.string().nullable(),
  })
  .openapi("Attempt");

export const DeliverySchema = z
  .object({
    id: z.string(),
    eventId: z.string(),
    webhookUid: z.string(),
    status: z.enum(DELIVERY_STATUSES),
    attemptCount: z.number().int(),
    nextAttemptAt: time.nullable(),
    createdAt: time,
    updatedAt: time,
  })
  .openapi("Delivery");

/** A delivery with its attempts: `GET /v1/deliveries/{id}`, and each of `GET /v1/events/{id}`'s. */
export const DeliveryDetailSchema = DeliverySchema.extend({
  attempts: z.array(AttemptSchema),
  webhookDeleted: z.boolean().openapi({
    description: "Its webhook was deleted since: the delivery is kept, the webhook's own routes answer 404.",
  }),
}).openapi("DeliveryDetail");

export const DeliveryListQuery = strictQuery({
  status: z.enum(DELIVERY_STATUSES).optional().openapi({ description: "Only deliveries in this status." }),
  webhookUid: uid.optional().openapi({
    description:
      "Only deliveries to this webhook; one the token may not see, deleted or none is 404 `not_found` (the admin may name a deleted one): docs/api.md.",
  }),
  eventId: uid.optional().openapi({ description: "Only deliveries of this event (`evt_…`); one the token does not see, or not stored yet, answers 404." }),
  limit,
  cursor,
});

export const BulkRetryBody = z
  .strictObject({
    // `held` is a status of the list, so a client tries it here: say where held ones go instead.
    status: z.enum(["pending", "failed", "expired", "succeeded"], {
      error: (iss) =>
        iss.input === "held"
          ? 'held deliveries are not retried: they go out when their webhook is enabled (PATCH /v1/webhooks/{uid} {"disabled": false})'
          : iss.input === undefined
            ? 'required: the status of the deliveries to retry, "failed", "expired", "succeeded" or "pending"'
            : undefined,
    }),
    webhookUid: uid.optional(),
    since: givenTime("Deliveries created from this time (included).").optional(),
    cursor: cursor.openapi({ description: "The `nextCursor` of the previous call, with the same status, webhookUid and since (another answers 400)." }),
  })
  .openapi("BulkRetryRequest", { example: { status: "failed", webhookUid: EXAMPLE_IDS.webhookUid, since: EXAMPLE_HOUR.since } });
export const RetryAnswer = z
  .object({
    count: z.number().int().openapi({ description: "Deliveries tried again." }),
    held: z.number().int().openapi({ description: "Of them, held because their webhook is disabled: they go out when it is enabled." }),
    nextCursor: z.string().nullable().openapi({ description: "More may match: call again with it (and the same filter) for the next ones; null when none is left." }),
  })
  .openapi("RetryAnswer");
