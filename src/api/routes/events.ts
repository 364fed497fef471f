import { accessOf, canSeeEvent, isLimited } from "../../domain/access";
import { eventNotFound, invalidInput } from "../../domain/errors";
import type { Principal } from "../../domain/scopes";
import type { StoredEvent, Webhook } from "../../domain/types";
import type { Env } from "../../env";
import { CallWork, matchesSearch, parseSearch, searchChars } from "../../routing/search";
import { eventDeliveries } from "../../store/delivery-reads";
import { eventsWithBodies, getEvent, listEvents, listEventsInTime, type EventFilter } from "../../store/events";
import { webhooksByUid } from "../../store/webhooks";
import { grantedWebhooks } from "../../store/grants";
import { apiRoute, errors, json, router, scoped } from "../openapi";
import { EVENT_DELIVERIES_SHOWN, EventListQuery, EventSchema, EventSummarySchema, SEARCH_BOUND } from "../schemas/events";
import { IdParam, page } from "../schemas/fields";
import { decodeCursor, deliveryListScope, encodeCursor, eventListScope, isSearch, openPosition, sealPosition, type CursorScope, type SearchScope } from "../cursors";
import { attemptView, deliveryView, eventSummaryView } from "../views";
import { msAtOrAfter } from "../../domain/time";
import { checkFilterType, checkListedSource } from "../event-type-check";

/** An event the caller may see, or 404 (never 403: existence is not disclosed). */
export async function visibleEvent(db: D1Database, p: Principal, id: string): Promise<StoredEvent & { filteredOut: string[] }> {
  const event = await getEvent(db, id);
  if (!event || !canSeeEvent(p, event)) throw eventNotFound(id);
  return event;
}

const list = apiRoute({
  method: "get",
  path: "/events",
  operationId: "listEvents",
  summary: "List events, newest first; or search them by a field's value or text in the body (q)",
  description: "Newest first. A call examines a bounded number of events, so a page can be short and still carry a `nextCursor`: docs/api.md.",
  ...scoped("events:read"),
  request: { query: EventListQuery },
  responses: { 200: json(page(EventSummarySchema, "EventPage"), "A page of events"), ...errors(404) },
});

const get = apiRoute({
  method: "get",
  path: "/events/{id}",
  operationId: "getEvent",
  summary: "One event with its raw body and its first deliveries with their attempts",
  description: "`deliveries` is the first page of `GET /v1/deliveries?eventId={id}`, which `deliveriesNextCursor` continues.",
  ...scoped("events:read"),
  request: { params: IdParam },
  responses: { 200: json(EventSchema, "The event"), ...errors(404) },
});

/**
 * The webhooks whose filter excluded the event that still exist and the caller may know of, in
 * the order stored (`existing`: those of the event's webhooks that exist). The event's row keeps
 * the uid of one deleted since, whose page and test would answer 404 (and whose grant can no
 * longer be checked): left out, as a limited token's grant check always did.
 */
async function visibleFilteredOut(db: D1Database, p: Principal, uids: string[], existing: Webhook[]): Promise<string[]> {
  if (uids.length === 0) return uids;
  const named = existing.filter((w) => uids.includes(w.uid));
  const shown = new Set((isLimited(p) ? await grantedWebhooks(db, p, named) : named).map((w) => w.uid));
  return uids.filter((uid) => shown.has(uid));
}

/** A page asked for: where to go on from, and how many. */
type Page = { cursor?: string; limit: number };

/** The indexed fields an events list's scope filters by (besides `q` and the range). */
const filterOf = ({ filters: f }: CursorScope<"events">): EventFilter => ({
  eventType: f.eventType,
  sourceId: f.sourceId,
  locationUid: f.locationUid,
  organizationUid: f.organizationUid,
  status: f.status,
});

/** One bounded search call: matches newest first, and where to continue. */
async function search(env: Env, p: Principal, scope: SearchScope, q: Page) {
  const parsed = parseSearch(scope.filters.q);
  if (!parsed.ok) throw invalidInput("query", [{ path: parsed.path, message: parsed.message }]);
  const until = scope.filters.until ?? Date.now();
  const since = scope.filters.since ?? until - SEARCH_BOUND.defaultHours * 3600_000;
  // Opened first: a cursor that is not one (or of another search) is refused, whatever the range.
  const after = q.cursor === undefined ? null : await openPosition(env, scope, q.cursor);
  // The query's own refine refuses a given until at or before since; this is a since later than now
  // without one (until defaults to now): nothing was received in it yet, as the list answers.
  if (since >= until) return { data: [], nextCursor: null };
  // Each event is matched with a budget of its own; the call stops examining them once they have spent CALL_FILTER_WORK.
  const work = new CallWork();
  const read = await eventsWithBodies(env.DB, {
    since,
    until,
    after,
    order: "newest",
    limit: SEARCH_BOUND.events,
    maxChars: searchChars(parsed.query, SEARCH_BOUND.chars),
    filter: filterOf(scope),
    access: accessOf(p),
    // (Only events the query matches are checked against a status's deliveries.)
    match: (e) => work.measure((budget) => matchesSearch(parsed.query, e, budget)),
    exhausted: () => work.exhausted,
    enough: q.limit,
  });
  const found = read.events.slice(0, q.limit);
  const full = found.length === q.limit ? found[found.length - 1] : undefined;
  // A full page continues after its last match; otherwise after the last event examined, while any may be left.
  const next = full && (full !== read.events[read.events.length - 1] || read.more) ? full : read.more ? read.last : null;
  return { data: found.map(eventSummaryView), nextCursor: next ? await sealPosition(env, scope, next) : null };
}

/**
 * One call of a list filtered by time (since, until or both, no q): newest received first along the range.
 * Its cursor continues the same range alone (the same bounds, however spelt, among its filters): another's
 * would pass over this one's events between the two, or walk outside it.
 */
async function timeList(env: Env, p: Principal, scope: CursorScope<"events">, q: Page) {
  const after = q.cursor === undefined ? null : await openPosition(env, scope, q.cursor);
  const { since, until } = scope.filters;
  const page = await listEventsInTime(env.DB, { since, until, after, limit: q.limit, filter: filterOf(scope), access: accessOf(p) });
  return { data: page.events.map(eventSummaryView), nextCursor: page.next ? await sealPosition(env, scope, page.next) : null };
}

export const events = router()
  .openapi(list, async (c) => {
    const q = c.req.valid("query");
    if (q.eventType !== undefined) await checkFilterType(c.env, c.get("principal"), q.eventType, "query");
    if (q.sourceId !== undefined) await checkListedSource(c.env, c.get("principal"), q.sourceId);
    // The range as instants, however spelt: with the other filters and q, what a cursor is bound to.
    const range = { since: q.since === undefined ? undefined : msAtOrAfter(q.since), until: q.until === undefined ? undefined : msAtOrAfter(q.until) };
    const scope = eventListScope({ ...q, ...range });
    if (isSearch(scope)) return c.json(await search(c.env, c.get("principal"), scope, q), 200);
    if (scope.filters.since !== undefined || scope.filters.until !== undefined) return c.json(await timeList(c.env, c.get("principal"), scope, q), 200);
    const result = await listEvents(c.env.DB, {
      limit: q.limit,
      before: q.cursor === undefined ? undefined : await decodeCursor(c.env, scope, q.cursor),
      filter: filterOf(scope),
      access: accessOf(c.get("principal")),
    });
    return c.json(
      {
        data: result.events.map(eventSummaryView),
        nextCursor: result.nextBefore === null ? null : await encodeCursor(c.env, scope, result.nextBefore),
      },
      200,
    );
  })
  .openapi(get, async (c) => {
    const p = c.get("principal");
    const id = c.req.valid("param").id;
    // The event and the first page of /v1/deliveries?eventId= (not all: replays add deliveries without
    // bound), read at once: the page keeps to the caller's access (an event it may not see has none).
    const [seen, page] = await Promise.allSettled([visibleEvent(c.env.DB, p, id), eventDeliveries(c.env.DB, id, accessOf(p), { limit: EVENT_DELIVERIES_SHOWN })]);
    if (seen.status === "rejected") throw seen.reason;
    if (page.status === "rejected") throw page.reason;
    const [event, deliveries] = [seen.value, page.value];
    // Which of its webhooks still exist: one read by primary key of the uids its row names and its
    // page of deliveries goes to (at most EVENT_DELIVERIES_SHOWN), none when there are none.
    const uids = [...new Set([...event.filteredOut, ...deliveries.deliveries.map((d) => d.webhookUid)])];
    const existing = await webhooksByUid(c.env.DB, uids);
    const exists = new Set(existing.map((w) => w.uid));
    const filteredOut = await visibleFilteredOut(c.env.DB, p, event.filteredOut, existing);
    return c.json(
      {
        ...eventSummaryView(event),
        headers: event.headers,
        body: event.body,
        deliveries: deliveries.deliveries.map((d) => ({ ...deliveryView(d), webhookDeleted: !exists.has(d.webhookUid), attempts: d.attempts.map(attemptView) })),
        deliveriesNextCursor: deliveries.nextBefore === null ? null : await encodeCursor(c.env, deliveryListScope({ eventId: id }), deliveries.nextBefore),
        filteredOut,
      },
      200,
    );
  });
