import { accessOf, missingDataScope } from "../../domain/access";
import { invalidField, webhookNotFound } from "../../domain/errors";
import { EVENT_TYPES } from "../../domain/event-types";
import { hasScope } from "../../domain/scopes";
import { iso, isoTime } from "../../domain/time";
import { countParked } from "../../store/parked";
import { stats } from "../../store/stats";
import { apiRoute, errors, json, router, scoped } from "../openapi";
import { EventTypeSchema } from "../schemas/catalog";
import { ListQuery, page } from "../schemas/fields";
import { StatsQuery, StatsSchema } from "../schemas/stats";
import { decodeCursor, decodeKey, encodeCursor, encodeKey, wholeList } from "../cursors";

const eventTypes = apiRoute({
  method: "get",
  path: "/event-types",
  operationId: "listEventTypes",
  summary: "The catalog of event types, with the data scope each needs",
  description: "Podium's types first, then other providers' common types. Follow `nextCursor` until it is null.",
  security: [{ bearer: [] }],
  request: { query: ListQuery },
  responses: { 200: json(page(EventTypeSchema, "EventTypeList"), "A page of the catalog") },
});

const statsRoute = apiRoute({
  method: "get",
  path: "/stats",
  operationId: "getStats",
  summary: "Counts of events and deliveries by status, and per webhook",
  description: "`webhooks` a page at a time, or those in `webhookUids`: docs/api.md#stats-per-webhook.",
  ...scoped("events:read"),
  request: { query: StatsQuery },
  responses: { 200: json(StatsSchema, "The counts, within what the token may see (per webhook only with webhooks:read)"), ...errors(404) },
});

/** Stats' pages by uid: `webhookUids` and `failingFirst` are not with a cursor, which goes on by uid alone. */
const STATS_PAGES = wholeList("stats webhooks");

export const catalog = router()
  .openapi(eventTypes, async (c) => {
    const q = c.req.valid("query");
    // The catalog is a fixed list: a position in it is where the next page starts.
    const from = q.cursor === undefined ? 0 : await decodeCursor(c.env, wholeList("event types"), q.cursor);
    const to = from + q.limit;
    return c.json({ data: EVENT_TYPES.slice(from, to), nextCursor: to < EVENT_TYPES.length ? await encodeCursor(c.env, wholeList("event types"), to) : null }, 200);
  })
  .openapi(statsRoute, async (c) => {
    const p = c.get("principal");
    // Dead letters belong to no tenant (an ingest's may be of any source): counted for admin alone, as listed.
    const admin = hasScope(p, "admin");
    const q = c.req.valid("query");
    // Per webhook: its URL and last error are the webhook's own, behind webhooks:read; its counts
    // are of the events the token may read, and its last failure, of any of its types, is shown
    // to a token holding the data scopes of all of them.
    const perWebhook = hasScope(p, "webhooks:read");
    if (q.cursor !== undefined && q.webhookUids !== undefined) {
      throw invalidField("Invalid query: cursor: not with webhookUids, which names the webhooks itself.", { path: "cursor", message: "not with webhookUids" });
    }
    // Failing first is the first page's: its cursor goes on by uid alone (the failing ones are not listed again first).
    const failingFirst = q.failingFirst === "true";
    if (failingFirst && (q.cursor !== undefined || q.webhookUids !== undefined)) {
      const other = q.cursor !== undefined ? "cursor" : "webhookUids";
      throw invalidField(`Invalid query: failingFirst: not with ${other}.`, { path: "failingFirst", message: `not with ${other}` });
    }
    const after = q.cursor === undefined ? undefined : await decodeKey(c.env, STATS_PAGES, q.cursor);
    const [outcome, parkedDeadLetters] = await Promise.all([
      stats(c.env.DB, accessOf(p), { after, webhooks: perWebhook ? (q.webhookUids ?? true) : false, failingFirst }),
      admin ? countParked(c.env.BODIES) : null,
    ]);
    // Refused as their own routes refuse them; details.webhookUids lists every one, so a client may ask again without them.
    if (outcome.kind === "unseen") throw webhookNotFound(outcome.webhookUids[0]!, { webhookUids: outcome.webhookUids });
    const { nextWebhook, webhooks, ...s } = outcome.stats;
    return c.json(
      {
        ...s,
        deadLetters: admin ? s.deadLetters : null,
        parkedDeadLetters,
        series: s.series.map((b) => ({ ...b, start: iso(b.start) })),
        webhooks: webhooks.map(({ eventTypes, ...w }) => {
          const whole = missingDataScope(p, eventTypes) === null;
          return {
            ...w,
            successRate: w.succeeded + w.failed === 0 ? null : w.succeeded / (w.succeeded + w.failed),
            lastFailureAt: whole ? isoTime(w.lastFailureAt) : null,
            lastError: whole ? w.lastError : null,
          };
        }),
        webhooksNextCursor: nextWebhook === null ? null : await encodeKey(c.env, STATS_PAGES, nextWebhook),
      },
      200,
    );
  });
