import { accessOf, canSeeEvent, isLimited, missingDataScope } from "../../domain/access";
import { AppError, pastRetention } from "../../domain/errors";
import { hasScope, type Principal } from "../../domain/scopes";
import type { Webhook } from "../../domain/types";
import type { Env } from "../../env";
import { ALERT_SOURCE } from "../../domain/alerts";
import { isPastRetention } from "../../domain/delivery";
import { replay as replayEvents } from "../../pipeline/commands";
import { retentionHorizon, settings } from "../../domain/settings";
import { BUDGET_SPENT, filterMismatch, FilterInput, filterRegexWeight, matches, replayPlan, replayTargets, type ReplayEvent, type ReplayPlan } from "../../routing/match";
import { CallWork, charsForRegexWeight } from "../../routing/search";
import { eventsInRange, eventsWithBodies, type TimePosition } from "../../store/events";
import { allWebhooks } from "../../store/webhooks";
import { grantedWebhooks } from "../../store/grants";
import { apiRoute, body, errors, json, optionalBody, router, scoped } from "../openapi";
import { IdParam } from "../schemas/fields";
import { RangeReplayAnswer, RangeReplayBody, ReplayAnswer, ReplayBody } from "../schemas/replay";
import { SEARCH_BOUND } from "../schemas/events";
import { openPosition, sealPosition, type TimeScope } from "../cursors";
import { visibleEvent } from "./events";
import { planFor, visibleWebhook } from "../webhook-access";
import { msAtOrAfter } from "../../domain/time";
import { checkFilterType } from "../event-type-check";

/** Events one range replay call reads (oldest first); a dry run counts over more. */
export const REPLAY_PAGE_EVENTS = 500;
export const DRY_RUN_PAGE_EVENTS = 5_000;
/** A page also stops before it would create more deliveries than this. */
const REPLAY_PAGE_DELIVERIES = 2_000;

const replayOne = apiRoute({
  method: "post",
  path: "/events/{id}/replay",
  operationId: "replayEvent",
  summary: "Deliver an event again, to every matching webhook or to the one named",
  description: "Only to webhooks within the caller's grant owed the event (an alert: to its notification endpoints); else 409 `conflict`: docs/api.md.",
  ...scoped("events:replay"),
  request: { params: IdParam, ...optionalBody(ReplayBody) },
  responses: { 202: json(ReplayAnswer, "New deliveries were created"), ...errors(404, 409) },
});

const replayRange = apiRoute({
  method: "post",
  path: "/events/replay",
  operationId: "replayEvents",
  summary: "Deliver again the events received in a time range, a page per call, oldest first",
  description: `Reads at most ${REPLAY_PAGE_EVENTS} events a call, answering \`nextCursor\` until the range is done: docs/api.md.`,
  ...scoped("events:replay"),
  request: body(RangeReplayBody),
  responses: {
    200: json(RangeReplayAnswer, "Dry run: what would be replayed"),
    202: json(RangeReplayAnswer, "Replayed"),
    ...errors(404, 409),
  },
});

/**
 * The webhooks a replay may reach: the one named (404 unless within the grant), or every
 * webhook within it. Alert endpoints only for one alert asked for by id: a range replayed
 * after an outage would page everyone again with its old alerts. Planned with the webhooks
 * whose filters spend an event's budget before them at ingest (`replayPlan`): every webhook of
 * the kind, read only when a target has a filter (the budget matters).
 */
async function targetsFor(env: Env, p: Principal, webhookUid: string | undefined, kind: Webhook["kind"] = "webhook"): Promise<ReplayPlan> {
  if (webhookUid !== undefined) {
    // The admin sees notification endpoints (as in a bulk retry, checkNamedWebhook): one named for an event, or a webhook
    // for an alert, is there but never owed it (409, as any target not subscribed), not a 404 saying no such uid.
    const named = await visibleWebhook(env.DB, p, webhookUid, hasScope(p, "admin"));
    if (named.kind !== kind) throw notOfItsKind(named);
    return planFor(env.DB, named);
  }
  const all = (await allWebhooks(env.DB)).filter((w) => w.kind === kind);
  return replayPlan(all, await grantedWebhooks(env.DB, p, all));
}

/** 409: the target named is of the other kind, owed no event of the kind replayed. */
function notOfItsKind(named: Webhook): AppError {
  const uid = named.uid.slice(0, 80);
  return new AppError(
    "conflict",
    named.kind === "notification"
      ? `"${uid}" is a notification endpoint: it is owed alerts (events of the source ${ALERT_SOURCE}), one replayed by its id, never other events.`
      : `The webhook "${uid}" is never owed alerts: they go to notification endpoints.`,
    { reason: "not_subscribed" },
  );
}

export const replay = router()
  .openapi(replayOne, async (c) => {
    const p = c.get("principal");
    const event = await visibleEvent(c.env.DB, p, c.req.valid("param").id);
    const { webhookUid } = c.req.valid("json");
    // Kept for its grace after the retention, it is shown, never sent (its deliveries would be made expired).
    if (isPastRetention(event.receivedAt, retentionHorizon(settings(c.env), Date.now()))) {
      throw pastRetention();
    }
    const plan = await targetsFor(c.env, p, webhookUid, event.sourceId === ALERT_SOURCE ? "notification" : "webhook");
    const replayed: ReplayEvent = { ...event, content: event };
    const named = webhookUid === undefined ? undefined : plan.tested.find((w) => w.uid === webhookUid);
    const targets = replayTargets(plan, replayed);
    if (named !== undefined && targets.length === 0) {
      const uid = named.uid.slice(0, 80);
      if (!matches(named, event)) {
        const what = named.kind === "notification" ? `notification endpoint "${uid}" is not subscribed to this alert (its alertTypes)` : `webhook "${uid}" is not subscribed to this event (its types, organization or location, or sources)`;
        throw new AppError("conflict", `The ${what}.`, {
          reason: "not_subscribed",
        });
      }
      throw new AppError("conflict",
        filterMismatch(named, new FilterInput(event)) === null
          ? `The filter of the webhook "${uid}" excludes this event: ${BUDGET_SPENT}.`
          : `The filter of the webhook "${uid}" excludes this event (POST /v1/webhooks/{uid}/test says why).`,
        { reason: "filtered_out" },
      );
    }
    const deliveries = await replayEvents(c.env, [{ event: replayed, targets }]);
    return c.json({ deliveries: deliveries.length }, 202);
  })
  .openapi(replayRange, async (c) => {
    const p = c.get("principal");
    const b = c.req.valid("json");
    if (b.eventType !== undefined) await checkFilterType(c.env, p, b.eventType, "body");
    const dryRun = b.dryRun ?? false;
    const plan = await targetsFor(c.env, p, b.webhookUid);
    const bounds = { since: msAtOrAfter(b.since), until: msAtOrAfter(b.until) };
    // A cursor continues the request that gave it alone (the same bounds, however spelt).
    const scope: TimeScope = { list: "range replay", filters: { ...bounds, webhookUid: b.webhookUid, eventType: b.eventType, dryRun } };
    const range = { ...bounds, after: b.cursor === undefined ? null : await openPosition(c.env, scope, b.cursor) };
    // A type whose data scope the token lacks: none of its events is the token's (docs/api.md), so the range is done at once.
    if (b.eventType !== undefined && missingDataScope(p, [b.eventType]) !== null) {
      const none = { dryRun, events: 0, deliveries: 0, nextCursor: null };
      return dryRun ? c.json(none, 200) : c.json(none, 202);
    }
    // A content filter reads bodies: then a page is the bounded read of events with their bodies.
    const withBodies = plan.tested.some((w) => plan.targets.has(w.uid) && w.filter !== null);
    let page: (ReplayEvent & TimePosition & { eventType: string })[];
    let full: boolean;
    // Where the read ended: past the page's events when it also examined events it does not return (another type's, hidden).
    let examined: TimePosition | null;
    if (withBodies) {
      // Fewer characters when the filters tested (the plan's: the targets' and those spending the budget before them)
      // test each at a greater cost (their $regex patterns), as a search's.
      const maxChars = charsForRegexWeight(plan.tested.reduce((n, w) => n + filterRegexWeight(w), 0), SEARCH_BOUND.chars);
      // As a search's: the bodies of events of another type, or the token may not see, are not read.
      const filter = b.eventType === undefined ? {} : { eventType: b.eventType };
      const read = await eventsWithBodies(c.env.DB, { ...range, order: "oldest", limit: SEARCH_BOUND.events, maxChars, filter, access: accessOf(p) });
      page = read.events.map((e) => ({ ...e, content: e }));
      full = read.more;
      examined = read.last;
    } else {
      const limit = dryRun ? DRY_RUN_PAGE_EVENTS : REPLAY_PAGE_EVENTS;
      page = (await eventsInRange(c.env.DB, { ...range, limit })).map((e) => ({ ...e, content: null }));
      full = page.length === limit;
      examined = page.at(-1) ?? null;
    }

    // The events of this page that are owed something, as far as the page's delivery bound and filter work allow.
    // One past the retention is passed over, as its own replay is refused: nothing is sent for it, and
    // an expired delivery made now would keep it a grace day more at every replay.
    const horizon = retentionHorizon(settings(c.env), Date.now());
    const chosen: { event: ReplayEvent; targets: Webhook[] }[] = [];
    let deliveries = 0;
    let last: TimePosition | null = null;
    // Each event's filters spend a budget of its own, as at ingest; the page ends once they have spent CALL_FILTER_WORK.
    const work = new CallWork();
    for (const e of page) {
      if (last !== null && work.exhausted) {
        full = true; // the rest on the next call
        examined = null;
        break;
      }
      const targets =
        !isPastRetention(e.receivedAt, horizon) && canSeeEvent(p, e) && (b.eventType === undefined || e.eventType === b.eventType)
          ? work.measure((budget) => replayTargets(plan, e, budget))
          : [];
      const owed = targets.length;
      if (!dryRun && deliveries > 0 && deliveries + owed > REPLAY_PAGE_DELIVERIES) {
        full = true; // the rest on the next call
        examined = null;
        break;
      }
      if (owed > 0) chosen.push({ event: e, targets });
      deliveries += owed;
      last = { receivedAt: e.receivedAt, seq: e.seq };
    }
    if (!dryRun) await replayEvents(c.env, chosen);
    // A page gone through whole goes on past what its read examined; one cut short, past its last event gone through.
    const position = examined ?? last;
    const answer = { dryRun, events: chosen.length, deliveries, nextCursor: full && position ? await sealPosition(c.env, scope, { receivedAt: position.receivedAt, seq: position.seq }) : null };
    return dryRun ? c.json(answer, 200) : c.json(answer, 202);
  });
