// Events: stored, listed and searched.
import "@hono/zod-openapi"; // gives every zod schema .openapi()
import { z } from "../../domain/zod";
import { DELIVERY_STATUSES } from "../../domain/delivery";
import { isWildcard } from "../../domain/event-types";
import { SOURCE_ID } from "../../domain/ids";
import { CALL_FILTER_WORK } from "../../routing/search";
import { time, givenTime, refineRange, limit, cursor, strictQuery, uid } from "./fields";
import { DeliveryDetailSchema } from "./deliveries";

export const EventSummarySchema = z
  .object({
    id: z.string().openapi({ example: "evt_528e218bd5c051bf5503ef78c46b97e3" }),
    sourceId: z.string(),
    eventType: z.string().openapi({ example: "message.received" }),
    locationUid: z.string().nullable(),
    organizationUid: z.string().nullable(),
    dedupeKey: z.string(),
    receivedAt: time,
  })
  .openapi("EventSummary");

/** Deliveries an event's detail holds at most: the first page of `GET /v1/deliveries?eventId=` at its largest `limit`. */
export const EVENT_DELIVERIES_SHOWN = 100;

export const EventSchema = EventSummarySchema.extend({
  headers: z.record(z.string(), z.string()),
  body: z.string().openapi({ description: "The raw body, exactly as received." }),
  deliveries: z.array(DeliveryDetailSchema).openapi({
    description: `The first page of \`GET /v1/deliveries?eventId=\`, newest first, at most ${EVENT_DELIVERIES_SHOWN}; it may be short, with \`deliveriesNextCursor\` set.`,
  }),
  deliveriesNextCursor: z.string().nullable().openapi({
    description: "More deliveries of this event: `GET /v1/deliveries?eventId={id}&cursor={deliveriesNextCursor}`. null: none.",
  }),
  filteredOut: z.array(z.string()).openapi({
    description:
      "Webhooks owed this event whose filter excluded it when it was stored; `POST /v1/webhooks/{uid}/test` says why.",
  }),
}).openapi("Event");

/** How much one search call reads: events examined, and characters of their bodies. */
export const SEARCH_BOUND = { events: 1000, chars: 4 * 1024 * 1024, defaultHours: 24 } as const;

/**
 * A list or replay filters on one type: a wildcard, which a webhook's eventTypes take, would silently match nothing.
 * Not refined to isNameableType on purpose: events stored before the ingress kept only nameable types
 * carry a comma, a `*` inside, a format character or white space at either end as sent, and stay
 * listable and replayable by that type (docs/operations.md#upgrading).
 */
export const exactType = z
  .string()
  .min(1)
  .max(200)
  .refine((t) => !isWildcard(t), "an exact event type: lists and replays take no wildcard (a webhook's eventTypes do)")
  .openapi({ description: "Only events of this exact type; an unknown Podium type is a 400 naming the closest." });

export const EventListQuery = strictQuery({
  q: z
    .string()
    .min(1, "empty: give what to search for, or leave q out")
    .max(2000, "at most 2,000 characters, a filter document's too: search for a shorter value, text or document")
    .optional()
    .openapi({
      description: `Search: \`path=value\`, a filter document, or text in the raw body, within \`since\`..\`until\` (default: the ${SEARCH_BOUND.defaultHours} hours before), newest first; a call examines a bounded number of events, so a short page may have a \`nextCursor\`: docs/filters-and-transforms.md#search.`,
    }),
  eventType: exactType.optional(),
  sourceId: z.string().regex(SOURCE_ID, "no source has such an id (lowercase letters, digits and -, at most 64)").optional().openapi({
    description:
      "Only events received by this source; 404 `not_found` if the token may name no such source: docs/api.md.",
  }),
  locationUid: uid.optional().openapi({ description: "Only events of this location." }),
  organizationUid: uid.optional().openapi({ description: "Only events of this organization." }),
  status: z.enum(DELIVERY_STATUSES).optional().openapi({ description: "Events with a delivery in this status." }),
  since: givenTime("Events received from this time (included).").optional(),
  until: givenTime("Events received up to this time (excluded).").optional(),
  limit,
  cursor: cursor.openapi({
    description: "The `nextCursor` of the previous page, with the same filters (others answer 400).",
  }),
})
  // As a search and a range replay refuse it: reversed, the list answered an empty page.
  .superRefine((q, ctx) => refineRange(q.since, q.until, ctx));
