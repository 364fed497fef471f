// The event type catalog.
import "@hono/zod-openapi"; // gives every zod schema .openapi()
import { z } from "../../domain/zod";

export const EventTypeSchema = z
  .object({
    type: z.string(),
    provider: z.string(),
    scope: z.string().nullable().openapi({ description: "The data scope this type needs (by the word before its first dot); null: none." }),
    description: z.string(),
  })
  .openapi("EventType");
