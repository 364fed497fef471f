import { createRoute } from "@hono/zod-openapi";
import { accessOf, canSeeEvent, inGrant } from "../../domain/access";
import { AppError } from "../../domain/errors";
import type { Principal } from "../../domain/scopes";
import type { StoredEvent } from "../../domain/types";
import { enqueueDeliveries } from "../../pipeline/enqueue";
import { matches } from "../../routing/match";
import { deliveriesOfEvent, insertDeliveries } from "../../store/deliveries";
import { getEvent, listEvents } from "../../store/events";
import { allWebhooks, getWebhook } from "../../store/webhooks";
import { body, errors, json, router, scoped } from "../openapi";
import { EventListQuery, EventSchema, EventSummarySchema, IdParam, page, ReplayAnswer, ReplayBody } from "../schemas";
import { decodeCursor, encodeCursor } from "../validate";
import { attemptView, deliveryView, eventSummaryView } from "../views";

/** An event the caller may see, or 404 (never 403: existence is not disclosed). */
async function visibleEvent(db: D1Database, p: Principal, id: string): Promise<StoredEvent> {
  const event = await getEvent(db, id);
  if (!event || !canSeeEvent(p, event)) throw new AppError(404, "not_found", `No event "${id.slice(0, 80)}".`);
  return event;
}

const list = createRoute({
  method: "get",
  path: "/events",
  summary: "List events, newest first",
  ...scoped("events:read"),
  request: { query: EventListQuery },
  responses: { 200: json(page(EventSummarySchema, "EventPage"), "A page of events"), ...errors(400) },
});

const get = createRoute({
  method: "get",
  path: "/events/{id}",
  summary: "One event with its raw body, deliveries and attempts",
  ...scoped("events:read"),
  request: { params: IdParam },
  responses: { 200: json(EventSchema, "The event"), ...errors(404) },
});

const replay = createRoute({
  method: "post",
  path: "/events/{id}/replay",
  summary: "Deliver an event again, to every matching webhook or to the one named",
  ...scoped("events:replay"),
  request: { params: IdParam, ...body(ReplayBody) },
  responses: { 202: json(ReplayAnswer, "New deliveries were created"), ...errors(400, 404) },
});

export const events = router()
  .openapi(list, async (c) => {
    const q = c.req.valid("query");
    const result = await listEvents(c.env.DB, {
      limit: q.limit,
      before: q.cursor === undefined ? undefined : decodeCursor(q.cursor),
      filter: {
        eventType: q.eventType,
        sourceId: q.sourceId,
        locationUid: q.locationUid,
        organizationUid: q.organizationUid,
        status: q.status,
        since: q.since === undefined ? undefined : Date.parse(q.since),
        until: q.until === undefined ? undefined : Date.parse(q.until),
      },
      access: accessOf(c.get("principal")),
    });
    return c.json(
      {
        data: result.events.map(eventSummaryView),
        nextCursor: result.nextBefore === null ? null : encodeCursor(result.nextBefore),
      },
      200,
    );
  })
  .openapi(get, async (c) => {
    const event = await visibleEvent(c.env.DB, c.get("principal"), c.req.valid("param").id);
    const deliveries = await deliveriesOfEvent(c.env.DB, event.id);
    return c.json(
      {
        ...eventSummaryView(event),
        headers: event.headers,
        body: event.body,
        deliveries: deliveries.map((d) => ({ ...deliveryView(d), attempts: d.attempts.map(attemptView) })),
      },
      200,
    );
  })
  .openapi(replay, async (c) => {
    const p = c.get("principal");
    const event = await visibleEvent(c.env.DB, p, c.req.valid("param").id);
    const { webhookUid } = c.req.valid("json");
    let targets;
    if (webhookUid) {
      const w = await getWebhook(c.env.DB, webhookUid);
      if (!w || !inGrant(p, w)) throw new AppError(404, "not_found", `No webhook "${webhookUid.slice(0, 80)}".`);
      targets = [w];
    } else {
      targets = (await allWebhooks(c.env.DB)).filter((w) => matches(w, event) && inGrant(p, w));
    }
    const now = Date.now();
    const pending = await insertDeliveries(
      c.env.DB,
      targets.map((w) => ({
        id: `dlv_${crypto.randomUUID().replace(/-/g, "")}`,
        eventId: event.id,
        webhookUid: w.uid,
        status: w.disabled ? ("held" as const) : ("pending" as const),
        createdAt: now,
      })),
    );
    await enqueueDeliveries(c.env, pending);
    return c.json({ deliveries: targets.length }, 202);
  });
