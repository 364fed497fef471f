import { accessOf, canSeeEvent, isLimited, missingDataScope } from "../../domain/access";
import { retryBlock, type RetryBlock } from "../../domain/delivery";
import { AppError, eventNotFound, notFound, pastRetention } from "../../domain/errors";
import { retry, retryHeld } from "../../pipeline/commands";
import { retentionHorizon, settings } from "../../domain/settings";
import { getDelivery, getDeliveryWithAttempts, listDeliveries } from "../../store/delivery-reads";
import { getEventMeta } from "../../store/events";
import { getWebhook } from "../../store/webhooks";
import { grantedWebhooks } from "../../store/grants";
import { apiRoute, body, errors, json, NO_BODY, router, scoped } from "../openapi";
import { BulkRetryBody, DeliveryDetailSchema, DeliveryListQuery, DeliverySchema, RetryAnswer } from "../schemas/deliveries";
import { IdParam, page } from "../schemas/fields";
import { decodeCursor, decodeRetryCursor, deliveryListScope, encodeCursor, encodeRetryCursor, retryScope } from "../cursors";
import { attemptView, deliveryView } from "../views";
import { checkNamedWebhook } from "../webhook-access";
import { msAtOrAfter } from "../../domain/time";
import type { Principal } from "../../domain/scopes";
import type { Delivery } from "../../domain/types";

/**
 * A delivery the caller may see (`read` by its id), with its event and its webhook (null: deleted
 * since), or 404 as for an id nobody has (never 403: existence is not disclosed).
 */
async function visibleDelivery<D extends Delivery>(db: D1Database, p: Principal, id: string, read: (db: D1Database, id: string) => Promise<D | null>) {
  const d = await read(db, id);
  const [event, webhook] = d ? await Promise.all([getEventMeta(db, d.eventId), getWebhook(db, d.webhookUid)]) : [null, null];
  const granted = webhook ? await grantedWebhooks(db, p, [webhook]) : [];
  // A deleted webhook is within no limited token's grant.
  if (!d || !event || !canSeeEvent(p, event) || (webhook ? granted.length === 0 : isLimited(p))) {
    throw notFound("delivery", id);
  }
  return { d, event, webhook };
}

const list = apiRoute({
  method: "get",
  path: "/deliveries",
  operationId: "listDeliveries",
  summary: "List deliveries, newest first (a limited token: of its events, to webhooks within its grant)",
  ...scoped("events:read"),
  request: { query: DeliveryListQuery },
  responses: { 200: json(page(DeliverySchema, "DeliveryPage"), "A page of deliveries"), ...errors(404) },
});

const get = apiRoute({
  method: "get",
  path: "/deliveries/{id}",
  operationId: "getDelivery",
  summary: "One delivery with its attempts (a limited token's: of its events, to a webhook within its grant)",
  description: "The delivery with its attempts: the id a forwarded request carries in its `edgehook-delivery-id` header.",
  ...scoped("events:read"),
  request: { params: IdParam },
  responses: { 200: json(DeliveryDetailSchema, "The delivery"), ...errors(404) },
});

/** A retry by hand refused, in its words, with `details.reason` the cause. */
function retryRefused(blocked: RetryBlock): AppError {
  switch (blocked.cause) {
    case "webhook_deleted":
      return new AppError("conflict", "The webhook of this delivery was deleted; there is nowhere to send it.", { reason: "webhook_deleted" });
    case "outside_grant":
      return new AppError(
        "conflict",
        `The webhook was confined to organization ${blocked.organizationUid} since this delivery was made, and its event is not that organization's; it is not sent there again.`,
        { reason: "outside_grant" },
      );
    case "past_retention":
      // Kept for its grace after the retention, its event is shown, never sent: as its replay, 409.
      return pastRetention();
  }
}

const retryOne = apiRoute({
  method: "post",
  path: "/deliveries/{id}/retry",
  operationId: "retryDelivery",
  summary: "Try a delivery again now (held instead while its webhook is disabled)",
  ...scoped("events:replay"),
  request: { params: IdParam, ...NO_BODY },
  description:
    "409 `conflict` with `details.reason` `webhook_deleted`, `outside_grant`, `past_retention` or `changed` (try again): docs/api.md.",
  responses: { 202: json(DeliverySchema, "The delivery: pending again, or held while its webhook is disabled"), ...errors(404, 409) },
});

/** Deliveries one bulk retry call tries again at most: per webhook, oldest first. */
export const BULK_RETRY_LIMIT = 1_000;

const retryMany = apiRoute({
  method: "post",
  path: "/deliveries/retry",
  operationId: "retryDeliveries",
  summary: "Try again the deliveries matching a filter, among those the caller may see, a page per call",
  description: `Tries again at most ${BULK_RETRY_LIMIT} deliveries per call, oldest first; while \`nextCursor\` is not null, call again with it and the same filter: docs/api.md.`,
  ...scoped("events:replay"),
  request: body(BulkRetryBody),
  responses: { 202: json(RetryAnswer, "How many deliveries were tried again, and how many of them are held"), ...errors(404) },
});

export const deliveries = router()
  .openapi(list, async (c) => {
    const q = c.req.valid("query");
    if (q.webhookUid !== undefined) await checkNamedWebhook(c.env.DB, c.get("principal"), q.webhookUid, true);
    const scope = deliveryListScope(q);
    const result = await listDeliveries(
      c.env.DB,
      { status: q.status, webhookUid: q.webhookUid, eventId: q.eventId, access: accessOf(c.get("principal")) },
      { limit: q.limit, before: q.cursor === undefined ? undefined : await decodeCursor(c.env, scope, q.cursor) },
    );
    // An empty first page of an event's deliveries: 404 if the token sees no such event (mistyped, purged, not its),
    // as a webhookUid's is, not an empty page; read only then.
    if (q.eventId !== undefined && q.cursor === undefined && result.deliveries.length === 0) {
      const event = await getEventMeta(c.env.DB, q.eventId);
      if (!event || !canSeeEvent(c.get("principal"), event)) throw eventNotFound(q.eventId);
    }
    return c.json(
      {
        data: result.deliveries.map(deliveryView),
        nextCursor: result.nextBefore === null ? null : await encodeCursor(c.env, scope, result.nextBefore),
      },
      200,
    );
  })
  .openapi(retryMany, async (c) => {
    const b = c.req.valid("json");
    if (b.webhookUid !== undefined) await checkNamedWebhook(c.env.DB, c.get("principal"), b.webhookUid);
    const filter = { status: b.status, webhookUid: b.webhookUid, since: b.since === undefined ? undefined : msAtOrAfter(b.since) };
    const scope = retryScope(filter);
    const retried = await retry(
      c.env,
      { ...filter, access: accessOf(c.get("principal")) },
      { limit: BULK_RETRY_LIMIT, after: b.cursor === undefined ? undefined : await decodeRetryCursor(c.env, scope, b.cursor) },
      (webhook) => missingDataScope(c.get("principal"), webhook.eventTypes) === null,
    );
    const nextCursor = retried.full && retried.last !== null ? await encodeRetryCursor(c.env, scope, retried.last) : null;
    return c.json({ count: retried.pending.length + retried.held.length, held: retried.held.length, nextCursor }, 202);
  })
  .openapi(get, async (c) => {
    const { d, webhook } = await visibleDelivery(c.env.DB, c.get("principal"), c.req.valid("param").id, getDeliveryWithAttempts);
    return c.json({ ...deliveryView(d), webhookDeleted: webhook === null, attempts: d.attempts.map(attemptView) }, 200);
  })
  .openapi(retryOne, async (c) => {
    const { id } = c.req.valid("param");
    const p = c.get("principal");
    const { d, event, webhook } = await visibleDelivery(c.env.DB, p, id, getDelivery);
    // Each refusal says why as `details.reason` too, for a client to branch on (as a dead letter's replay does).
    const blocked = retryBlock(webhook, event, retentionHorizon(settings(c.env), Date.now()));
    if (blocked) throw retryRefused(blocked);
    // Already held: it goes out when its webhook is enabled, and an attempt out since before the hold
    // no longer settles it. Settled meanwhile (by that attempt), it is retried as such below.
    const now = Date.now();
    if (d.status === "held" && (await retryHeld(c.env, id, now))) return c.json(deliveryView({ ...d, updatedAt: now }), 202);
    const retried = await retry(c.env, { ids: [id] }, { limit: 1 }, (w) => missingDataScope(p, w.eventTypes) === null);
    if (retried.pending.length + retried.held.length === 0) throw new AppError("conflict", "The delivery changed meanwhile; try again.", { reason: "changed" });
    return c.json(deliveryView((await getDelivery(c.env.DB, id)) ?? d), 202);
  });
