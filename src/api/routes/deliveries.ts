import { createRoute } from "@hono/zod-openapi";
import { accessOf, canSeeEvent } from "../../domain/access";
import { AppError } from "../../domain/errors";
import { enqueueDeliveries } from "../../pipeline/enqueue";
import { getDelivery, listDeliveries, requeueDeliveries } from "../../store/deliveries";
import { getEvent } from "../../store/events";
import { body, errors, json, router, scoped } from "../openapi";
import { BulkRetryBody, CountAnswer, DeliveryListQuery, DeliverySchema, IdParam, page } from "../schemas";
import { decodeCursor, encodeCursor } from "../validate";
import { deliveryView } from "../views";

const list = createRoute({
  method: "get",
  path: "/deliveries",
  summary: "List deliveries, newest first",
  ...scoped("events:read"),
  request: { query: DeliveryListQuery },
  responses: { 200: json(page(DeliverySchema, "DeliveryPage"), "A page of deliveries"), ...errors(400) },
});

const retryOne = createRoute({
  method: "post",
  path: "/deliveries/{id}/retry",
  summary: "Try a delivery again now",
  ...scoped("events:replay"),
  request: { params: IdParam },
  responses: { 202: json(DeliverySchema, "The delivery, pending again"), ...errors(404, 409) },
});

const retryMany = createRoute({
  method: "post",
  path: "/deliveries/retry",
  summary: "Try again every delivery matching a filter",
  ...scoped("events:replay"),
  request: body(BulkRetryBody),
  responses: { 202: json(CountAnswer, "How many deliveries are pending again"), ...errors(400) },
});

export const deliveries = router()
  .openapi(list, async (c) => {
    const q = c.req.valid("query");
    const result = await listDeliveries(
      c.env.DB,
      { status: q.status, webhookUid: q.webhookUid, eventId: q.eventId, access: accessOf(c.get("principal")) },
      { limit: q.limit, before: q.cursor === undefined ? undefined : decodeCursor(q.cursor) },
    );
    return c.json(
      {
        data: result.deliveries.map(deliveryView),
        nextCursor: result.nextBefore === null ? null : encodeCursor(result.nextBefore),
      },
      200,
    );
  })
  .openapi(retryMany, async (c) => {
    const b = c.req.valid("json");
    const ids = await requeueDeliveries(c.env.DB, {
      status: b.status,
      webhookUid: b.webhookUid,
      since: b.since === undefined ? undefined : Date.parse(b.since),
      access: accessOf(c.get("principal")),
    });
    await enqueueDeliveries(c.env, ids);
    return c.json({ count: ids.length }, 202);
  })
  .openapi(retryOne, async (c) => {
    const { id } = c.req.valid("param");
    const d = await getDelivery(c.env.DB, id);
    const event = d && (await getEvent(c.env.DB, d.eventId));
    if (!d || !event || !canSeeEvent(c.get("principal"), event)) {
      throw new AppError(404, "not_found", `No delivery "${id.slice(0, 80)}".`);
    }
    if (d.status === "held") {
      throw new AppError(409, "conflict", "The delivery is held because its webhook is disabled; enable the webhook to release it.");
    }
    const [requeued] = await requeueDeliveries(c.env.DB, { ids: [id] });
    if (!requeued) throw new AppError(409, "conflict", "The delivery changed meanwhile; try again.");
    await enqueueDeliveries(c.env, [requeued]);
    return c.json(deliveryView((await getDelivery(c.env.DB, id)) ?? d), 202);
  });
