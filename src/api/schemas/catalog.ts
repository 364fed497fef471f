// The event type catalog.
import "@hono/zod-openapi"; // gives every zod schema .openapi()
import { z } from "../../domain/zod";

export const EventTypeSchema = z
  .object({
    type: z.string(),
    provider: z.string(),
    scope: z.string().nullable().openapi({ description: "The data scope subscribing to or reading this type needs (by its object, the word before the first dot, whatever the provider); null: none." }),
    description: z.string(),
  })
  .openapi("EventType");
