// Listeners (`edgehook listen` and `tail`).
import "@hono/zod-openapi"; // gives every zod schema .openapi()
import { z } from "../../domain/zod";
import { SOURCE_ID } from "../../domain/ids";
import { queryInteger, strictQuery, uid, commaList } from "./fields";
import { typePattern } from "./webhooks";

const ACK_NEEDED = "needs ack=true: a catch-up is sent a run at a time, each acked before the next";

export const ListenQuery = strictQuery({
  mode: z.enum(["listen", "tail"]).default("listen").openapi({
    description: "`listen`: events with their bodies and signature headers; `tail`: events without bodies, and delivery attempts.",
  }),
  sourceIds: commaList(z.string().regex(SOURCE_ID, "a source id"), "Comma-separated source ids, each existing (400 `invalid_request` names one that does not, as for a webhook's `sourceIds`); default all."),
  eventTypes: commaList(
    typePattern,
    "Comma-separated event types (`message.received`, `message.*`, `*`), each taken or refused as a webhook's eventTypes are; default all.",
  ),
  webhookUid: uid.optional().openapi({
    description: "Hear what this webhook is owed, signed with its secret (listen needs webhooks:write, tail webhooks:read).",
  }),
  // Digits, as a hello or an event gave it: coerced, a blank one would read as 0 and resend the whole store.
  after: queryInteger(0, Number.MAX_SAFE_INTEGER)
    .optional()
    .openapi({ type: "integer", minimum: 0, description: "Resume: send what was stored after this position first." }),
  replay: queryInteger(0, 100)
    .default(0)
    .openapi({ type: "integer", minimum: 0, maximum: 100, default: 0, description: "Send the last N matching events first. Not with `after` (400): a resume starts at its position." }),
  ack: z.enum(["true", "false"]).optional().openapi({
    description:
      'After each run of events (ended by a `position` message) the hub waits for `{"type":"ack","position":…}` before sending more: docs/cli.md. Needed with `after` or `replay` (400 without).',
  }),
})
  // It would be ignored without a word: a resume starts at its position.
  .refine((q) => q.after === undefined || q.replay === 0, { message: "not with after, which resumes from a position", path: ["replay"] })
  // A catch-up pushed unacked to a client that stops reading would sit in the hub's memory, every tenant's.
  // (Only of a query otherwise valid: a malformed after is said once, as malformed.)
  .refine((q) => q.ack === "true" || q.after === undefined, { message: ACK_NEEDED, path: ["after"], when: (q) => q.issues.length === 0 })
  .refine((q) => q.ack === "true" || q.replay === 0, { message: ACK_NEEDED, path: ["replay"], when: (q) => q.issues.length === 0 });
