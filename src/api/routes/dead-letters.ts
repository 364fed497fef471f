import { z } from "../../domain/zod";
import { AppError, notFound, pastRetention } from "../../domain/errors";
import { iso, isoTime } from "../../domain/time";
import { QUEUE_RETRY_AFTER_S } from "../../ingress/enqueue";
import { replayDeadLetter } from "../../pipeline/commands";
import type { NothingToRetry } from "../../pipeline/replay-refusal";
import { deleteDeadLetter, getDeadLetter, listDeadLetters, type DeadLetter, type DeadLetterSummary } from "../../store/dead-letters";
import { apiRoute, errors, json, NO_BODY, router, scoped } from "../openapi";
import { ListQuery, page, strictQuery, time } from "../schemas/fields";
import { decodeCursor, encodeCursor, type CursorScope } from "../cursors";

export const DeadLetterSchema = z
  .object({
    id: z.number().int(),
    queue: z.string(),
    eventId: z.string().nullable(),
    deliveryId: z.string().nullable(),
    reason: z.string().nullable(),
    attempts: z.number().int(),
    receivedAt: time,
    replayedAt: time.nullable(),
    eventReceivedAt: time.nullable().openapi({ description: "Its event's receipt, while stored; past the retention, the letter is not replayed (409 `past_retention`)." }),
    message: z.unknown().optional().openapi({
      description: "The dead message as queued; null if not JSON. Left out with `withMessage=false`.",
    }),
  })
  .openapi("DeadLetter");

/** A replay's answer: the letter, closed, and whether its delivery waits for its webhook to be enabled. */
export const DeadLetterReplayed = DeadLetterSchema.extend({
  held: z.boolean().openapi({
    description: "`true`: its delivery waits for its webhook to be enabled; `false`: queued again, or due now.",
  }),
}).openapi("DeadLetterReplayed");

/** A letter as the API shows it; one read without its message (a list's `withMessage=false`) has no `message` field. */
const view = (d: DeadLetter | DeadLetterSummary) => ({
  id: d.seq,
  queue: d.queue,
  eventId: d.eventId,
  deliveryId: d.deliveryId,
  reason: d.reason,
  attempts: d.attempts,
  receivedAt: iso(d.receivedAt),
  replayedAt: isoTime(d.replayedAt),
  eventReceivedAt: isoTime(d.eventReceivedAt),
  ...("message" in d ? { message: d.message } : {}),
});

const list = apiRoute({
  method: "get",
  path: "/dead-letters",
  operationId: "listDeadLetters",
  summary: "What reached a dead-letter queue, newest first",
  ...scoped("admin"),
  request: {
    query: strictQuery({
      ...ListQuery.shape,
      open: z.enum(["true", "false"]).optional().openapi({ description: "`true`: only those not replayed yet (open). `false`, the default: every letter, closed ones included." }),
      withMessage: z.enum(["true", "false"]).optional().openapi({
        description: "`false`: letters without their `message`. Default `true`.",
      }),
    }),
  },
  responses: { 200: json(page(DeadLetterSchema, "DeadLetterPage"), "A page of dead letters") },
});

const LetterId = z.object({ id: z.string().max(128).openapi({ type: "integer", minimum: 1, param: { name: "id", in: "path" } }) });

/**
 * The letter an id in decimal digits names, else 404 naming the id as given (a coercion had
 * `1e3` and `0x10` name letters 1000 and 16). No leading zero: `014` would be a second name of 14.
 */
function letterOf(id: string): number {
  if (/^[1-9]\d{0,14}$/.test(id)) return Number(id);
  throw notFound("dead letter", id);
}


/** A second replay sends nothing: the letter was closed (replayed, or its delivery retried). Says how to send it again on purpose. */
function alreadyReplayed(d: DeadLetter): AppError {
  const again = d.deliveryId
    ? `To send the delivery again on purpose, POST /v1/deliveries/${d.deliveryId}/retry.`
    : d.eventId
      ? `Its event is stored once however often it is queued; to send it again on purpose, POST /v1/events/${d.eventId}/replay.`
      : "";
  return new AppError("conflict", `This dead letter was replayed (or its delivery retried) at ${isoTime(d.replayedAt)}; a replay is made once. ${again}`.trim(), {
    reason: "already_replayed",
    replayedAt: isoTime(d.replayedAt),
    deliveryId: d.deliveryId,
    eventId: d.eventId,
  });
}

/** What a delivery letter's refusal says of each cause: what happened, and what to do. */
function nothingToRetryMessage(why: NothingToRetry): string {
  const handled = "Once handled, DELETE the dead letter.";
  switch (why.cause) {
    case "delivery_gone":
      return `Its delivery is gone (purged with its event at the retention): nothing to retry. ${handled}`;
    case "webhook_deleted":
      return `Its delivery's webhook ${why.webhookUid} was deleted: there is nowhere to send it, nothing to retry. ${handled}`;
    case "outside_grant":
      return `Its delivery's webhook ${why.webhookUid} was confined to organization ${why.organizationUid} since, and its event is not that organization's: it is not sent there again, nothing to retry. ${handled}`;
    case "held":
      return `Its delivery is held while its webhook ${why.webhookUid} is disabled: nothing to retry, it goes out once the webhook is enabled (PATCH /v1/webhooks/${why.webhookUid} with {"disabled": false}). ${handled}`;
    case "changed":
      return "Its delivery changed meanwhile; try again.";
  }
}

/** 409 `nothing_to_retry` (kept for the clients that branch on it) with its cause, `details.cause`. */
const nothingToRetry = (why: NothingToRetry) => new AppError("conflict", nothingToRetryMessage(why), { reason: "nothing_to_retry", cause: why.cause });

/** 409: another replay holds the ingest letter and has not queued its message yet; it may yet fail, and let the letter go. */
const replayInProgress = () =>
  new AppError("conflict", "Another replay of this dead letter is under way: its message is not queued yet. Look at the letter again in a moment: replayed, or open again if the ingest queue refused it.", {
    reason: "replay_in_progress",
  });

/** 503: the ingest queue did not take an ingest letter's message; the letter is open, to be replayed again. */
const queueUnavailable = () =>
  new AppError("queue_unavailable", "The ingest queue did not take this dead letter's message: nothing was queued, and the letter is open. Replay it again later.", undefined, QUEUE_RETRY_AFTER_S);

const replay = apiRoute({
  method: "post",
  path: "/dead-letters/{id}/replay",
  operationId: "replayDeadLetter",
  summary: "Replay a dead letter: queue the event again, or retry the delivery",
  description:
    "Replays an open dead letter once and closes it (`replayedAt`); when it cannot, 409 `conflict` or 503, the letter left open: docs/api.md.",
  ...scoped("admin"),
  request: { params: LetterId, ...NO_BODY },
  responses: { 202: json(DeadLetterReplayed, "Replayed"), ...errors(404, 409, 503) },
});

const get = apiRoute({
  method: "get",
  path: "/dead-letters/{id}",
  operationId: "getDeadLetter",
  summary: "One dead letter, with its message",
  ...scoped("admin"),
  request: { params: LetterId },
  responses: { 200: json(DeadLetterSchema, "The dead letter"), ...errors(404) },
});

const remove = apiRoute({
  method: "delete",
  path: "/dead-letters/{id}",
  operationId: "deleteDeadLetter",
  summary: "Delete a dead letter handled otherwise (one that cannot be replayed, say); it is no longer counted",
  ...scoped("admin"),
  request: { params: LetterId, ...NO_BODY },
  responses: { 204: { description: "Deleted" }, ...errors(404) },
});

export const deadLetters = router()
  .openapi(list, async (c) => {
    const q = c.req.valid("query");
    const open = q.open === "true";
    // `withMessage` is what a page shows, not which letters: the CLI's table and its --json differ in it.
    const scope: CursorScope = { list: "dead letters", filters: { open } };
    const result = await listDeadLetters(c.env.DB, {
      limit: q.limit,
      before: q.cursor === undefined ? undefined : await decodeCursor(c.env, scope, q.cursor),
      open,
      withMessage: q.withMessage !== "false",
    });
    return c.json(
      { data: result.letters.map(view), nextCursor: result.nextBefore === null ? null : await encodeCursor(c.env, scope, result.nextBefore) },
      200,
    );
  })
  .openapi(replay, async (c) => {
    const { id } = c.req.valid("param");
    const replayed = await replayDeadLetter(c.env, letterOf(id));
    if (replayed === "not_found") throw notFound("dead letter", id);
    // Said with what to do, and as `details.reason` for a client to branch on: a letter that cannot be replayed stays open until deleted.
    if (replayed === "past_retention") throw pastRetention();
    if (replayed === "queue_unavailable") throw queueUnavailable();
    if (replayed === "replay_in_progress") throw replayInProgress();
    if (replayed === "unreplayable") throw new AppError("conflict", "This dead letter names nothing to replay. Once handled, DELETE the dead letter.", { reason: "unreplayable" });
    if ("nothingToRetry" in replayed) throw nothingToRetry(replayed.nothingToRetry);
    if ("replayed" in replayed) throw alreadyReplayed(replayed.replayed);
    return c.json({ ...view(replayed.made), held: replayed.held }, 202);
  })
  .openapi(get, async (c) => {
    const { id } = c.req.valid("param");
    const letter = await getDeadLetter(c.env.DB, letterOf(id));
    if (!letter) throw notFound("dead letter", id);
    return c.json(view(letter), 200);
  })
  .openapi(remove, async (c) => {
    const { id } = c.req.valid("param");
    if (!(await deleteDeadLetter(c.env.DB, letterOf(id)))) throw notFound("dead letter", id);
    return c.body(null, 204);
  });
