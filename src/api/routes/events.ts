import { createRoute } from "@hono/zod-openapi";
import { accessOf, canSeeEvent } from "../../domain/access";
import { AppError } from "../../domain/errors";
import type { Principal } from "../../domain/scopes";
import type { StoredEvent } from "../../domain/types";
import { deliveriesOfEvent } from "../../store/deliveries";
import { getEvent, listEvents } from "../../store/events";
import { errors, json, router, scoped } from "../openapi";
import { EventListQuery, EventSchema, EventSummarySchema, IdParam, page } from "../schemas";
import { decodeCursor, encodeCursor } from "../validate";
import { attemptView, deliveryView, eventSummaryView } from "../views";

/** An event the caller may see, or 404 (never 403: existence is not disclosed). */
export async function visibleEvent(db: D1Database, p: Principal, id: string): Promise<StoredEvent> {
  const event = await getEvent(db, id);
  if (!event || !canSeeEvent(p, event)) throw new AppError("not_found", `No event "${id.slice(0, 80)}".`);
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
  summary: "One event with its raw body, deliveries and attempts (a limited token's: to webhooks within its grant)",
  ...scoped("events:read"),
  request: { params: IdParam },
  responses: { 200: json(EventSchema, "The event"), ...errors(404) },
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
    const p = c.get("principal");
    const event = await visibleEvent(c.env.DB, p, c.req.valid("param").id);
    const deliveries = await deliveriesOfEvent(c.env.DB, event.id, accessOf(p));
    return c.json(
      {
        ...eventSummaryView(event),
        headers: event.headers,
        body: event.body,
        deliveries: deliveries.map((d) => ({ ...deliveryView(d), attempts: d.attempts.map(attemptView) })),
      },
      200,
    );
  });
