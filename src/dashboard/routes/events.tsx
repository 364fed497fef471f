// The events, an event's page, its replay, and its deliveries' retry.
import { Hono } from "hono";
import { EventSchema, EventSummarySchema } from "../../api/schemas/events";
import { page as pageOf } from "../../api/schemas/fields";
import { ReplayAnswer } from "../../api/schemas/replay";
import { isEventId } from "../../domain/ids";
import { isPastRetention } from "../../domain/delivery";
import { retentionHorizon, settings } from "../../domain/settings";
import { callApi } from "../api-client";
import { textOf } from "../form";
import { EVENT_FILTER_LABELS } from "../field-labels";
import { LISTS } from "../navigation";
import { EventList, EventPage, FILTERS, LiveUpdate } from "../pages/events";
import { apiRefusal, refusedBy, unknownParamRefusal } from "../refusal";
import { back, can, Ignored, limited, narrowedEvents, page, scopeRefusal } from "../respond";
import { apiTime, queryParam } from "../query";
import type { DashEnv } from "../session";

const EventList_ = pageOf(EventSummarySchema, "EventPage");

export const eventRoutes = new Hono<DashEnv>();

eventRoutes.get("/events", async (c) => {
  // An id opens its event, whatever else is asked (the event's page checks the scope); two are refused below.
  const ids = c.req.queries("id") ?? [];
  const id = ids.length === 1 ? ids[0]?.trim() : undefined;
  if (id) return c.redirect(`/dashboard/events/${encodeURIComponent(id)}`, 303);
  // The scope first, as the API checks it before the query: a session without it is told so, not the list's parameters.
  const refused = scopeRefusal(c, "events:read", "Events", LISTS.events) ?? unknownParamRefusal(c, "Events", LISTS.events, [...FILTERS, "id", "cursor"], ["partial"]);
  if (refused) return refused;
  const query: Record<string, string> = {};
  const api = new URLSearchParams({ limit: "50" });
  for (const f of FILTERS) {
    const v = queryParam(c, f)?.trim();
    if (!v) continue;
    query[f] = v;
    api.set(f, f === "since" || f === "until" ? apiTime(v) : v);
  }
  const cursor = queryParam(c, "cursor");
  if (cursor) api.set("cursor", cursor);
  const list = await callApi(c, "GET", `/events?${api}`, EventList_);
  // A filter the API refused (a bad time, a type too long, a source that is none): the form again, as typed, to mend it.
  const filterRefused = !list.ok && (list.status === 400 || (list.status === 404 && list.fields?.includes("sourceId") === true));
  if (!list.ok && !filterRefused) return apiRefusal(c, "Events", LISTS.events, list);
  if (!list.ok) {
    const refusal = refusedBy(query, list, EVENT_FILTER_LABELS);
    return page(c, "Events", "/dashboard/events", <EventList events={[]} query={query} nextCursor={null} live={false} refused invalidField={refusal.field} narrowed={narrowedEvents(c)} principal={c.get("principal")} />, refusal);
  }
  if (queryParam(c, "partial") === "1") return c.html(<LiveUpdate events={list.json.data} query={query} nextCursor={list.json.nextCursor} narrowed={narrowedEvents(c)} />);
  return page(
    c,
    "Events",
    "/dashboard/events",
    <EventList events={list.json.data} query={query} nextCursor={list.json.nextCursor} at={cursor} live={!cursor && !query.q} narrowed={narrowedEvents(c)} principal={c.get("principal")} />,
  );
});

eventRoutes.get("/events/:id", async (c) => {
  const event = await callApi(c, "GET", `/events/${encodeURIComponent(c.req.param("id"))}`, EventSchema);
  if (!event.ok) return apiRefusal(c, "Event", LISTS.events, event);
  // Past the retention by the API's own rule: its buttons could only answer 409 past_retention.
  const now = Date.now();
  const s = settings(c.env);
  const past = isPastRetention(Date.parse(event.json.receivedAt), retentionHorizon(s, now));
  // Titled by its id too: every message.received page was titled alike.
  return page(
    c,
    { title: `${event.json.eventType} ${event.json.id}`, heading: event.json.eventType },
    "/dashboard/events",
    <EventPage event={event.json} canReplay={can(c, "events:replay")} canReadWebhooks={can(c, "webhooks:read")} limited={limited(c)} pastRetention={past ? { days: s.retentionDays, now } : undefined} />,
  );
});

eventRoutes.post("/events/:id/replay", async (c) => {
  const id = c.req.param("id");
  const res = await callApi(c, "POST", `/events/${encodeURIComponent(id)}/replay`, ReplayAnswer, {});
  const made = res.json?.deliveries ?? 0;
  return back(c, `/dashboard/events/${encodeURIComponent(id)}`, res, `Replayed: ${made} new ${made === 1 ? "delivery" : "deliveries"}.`);
});

eventRoutes.post("/deliveries/:id/retry", async (c) => {
  // Where to go afterwards: the event's page when `back` is an event id, else the list.
  const eventId = textOf(await c.req.parseBody(), "back");
  const res = await callApi(c, "POST", `/deliveries/${encodeURIComponent(c.req.param("id"))}/retry`, Ignored);
  return back(c, isEventId(eventId) ? `/dashboard/events/${eventId}` : "/dashboard/events", res, "The delivery will be tried again now (a held one when its webhook is enabled).");
});
