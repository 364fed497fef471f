// Listeners (`edgehook listen` and `tail`).
import "@hono/zod-openapi"; // gives every zod schema .openapi()
import { z } from "../../domain/zod";
import { SOURCE_ID } from "../../domain/ids";
import { queryInteger, strictQuery, uid, commaList } from "./fields";
import { typePattern } from "./webhooks";

const ACK_NEEDED = "needs ack=true: a catch-up goes a run at a time, each acked";

export const ListenQuery = strictQuery({
  mode: z.enum(["listen", "tail"]).default("listen").openapi({
    description: "`listen`: events with bodies, signed; `tail`: events without, and delivery attempts.",
  }),
  sourceIds: commaList(z.string().regex(SOURCE_ID, "a source id"), "Comma-separated source ids, each existing (as a webhook's `sourceIds`); default all."),
  eventTypes: commaList(
    typePattern,
    "Comma-separated event types (`message.*`, `*`), taken or refused as a webhook's; default all.",
  ),
  webhookUid: uid.optional().openapi({
    description: "Hear what this webhook is owed, signed with its secret (listen needs webhooks:write, tail webhooks:read).",
  }),
  // Digits, as a hello or an event gave it: coerced, a blank one would read as 0 and resend the whole store.
  after: queryInteger(0, Number.MAX_SAFE_INTEGER)
    .optional()
    .openapi({ type: "integer", minimum: 0, description: "Resume: what was stored after this position first (needs `ack=true`)." }),
  replay: queryInteger(0, 100)
    .default(0)
    .openapi({ type: "integer", minimum: 0, maximum: 100, default: 0, description: "The last N matching events first (not with `after`; needs `ack=true`)." }),
  ack: z.enum(["true", "false"]).optional().openapi({
    description:
      "The hub waits for the ack of each run (its `position`) before sending more: docs/cli.md.",
  }),
})
  // It would be ignored without a word: a resume starts at its position.
  .refine((q) => q.after === undefined || q.replay === 0, { message: "not with after, which resumes from a position", path: ["replay"] })
  // A catch-up pushed unacked to a client that stops reading would sit in the hub's memory, every tenant's.
  // (Only of a query otherwise valid: a malformed after is said once, as malformed.)
  .refine((q) => q.ack === "true" || q.after === undefined, { message: ACK_NEEDED, path: ["after"], when: (q) => q.issues.length === 0 })
  .refine((q) => q.ack === "true" || q.replay === 0, { message: ACK_NEEDED, path: ["replay"], when: (q) => q.issues.length === 0 });
