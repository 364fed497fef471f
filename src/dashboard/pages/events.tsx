import type { z } from "@hono/zod-openapi";
import { SEARCH_BOUND, type EventSchema, type EventSummarySchema } from "../../api/schemas/events";
import { ALERT_SOURCE } from "../../domain/alerts";
import { DELIVERY_STATUSES, EXPIRED_GRACE_MS } from "../../domain/delivery";
import type { Principal } from "../../domain/scopes";
import { Action, Badge, DottedName, EmptyRow, HeaderTable, HiddenEvents, Time, timeText, Scroll, nothingSeen, Invalid } from "../layout";
import { prettyBody } from "../pretty-body";
import { legible } from "../../domain/legible";
import { PageLinks } from "../list-pages";
import { fieldTime } from "../query";
import { iso } from "../../domain/time";
import { EVENT_FILTER_LABELS } from "../field-labels";

type EventRow = z.infer<typeof EventSummarySchema>;

export const FILTERS = ["q", "eventType", "sourceId", "locationUid", "organizationUid", "status", "since", "until"] as const;
const LABELS: Record<(typeof FILTERS)[number], string> = { q: "Search: text, or data.path=value", ...EVENT_FILTER_LABELS };

function EventRows(props: { events: EventRow[]; empty?: string }) {
  if (props.events.length === 0) return <EmptyRow cols={5} text={props.empty ?? "No events yet."} />;
  return (
    <>
      {props.events.map((e) => (
        <tr>
          <td>
            <Time iso={e.receivedAt} />
          </td>
          <td class="word">
            {/* Named for its row, its type first (what it shows): 50 links all named "message.received" told nothing apart. */}
            <a href={`/dashboard/events/${e.id}`} aria-label={`${legible(e.eventType)} ${e.id} at ${timeText(e.receivedAt)}`}>
              <DottedName name={legible(e.eventType)} />
            </a>
          </td>
          <td>{e.sourceId}</td>
          <td class="mono">{legible([e.organizationUid, e.locationUid].filter((u) => u !== null).join(" / ") || "—")}</td>
          <td class="mono">{e.id}</td>
        </tr>
      ))}
    </>
  );
}

interface EventListProps {
  events: EventRow[];
  query: Record<string, string>;
  nextCursor: string | null;
  /** The cursor this page was opened with, if any (PageLinks). */
  at?: string | undefined;
  /** The API refused the filter (its error is the page's banner): nothing was looked through, so nothing "matched" nor is "older". */
  refused?: boolean;
  /** The filter's field the refusal named (Invalid). */
  invalidField?: string | undefined;
  /** A session that sees only some events (narrowedEvents, nothingSeen). */
  narrowed: boolean;
}

/**
 * The list's rows, or what to say when there are none. A page with a cursor examined only part of
 * the range: unfiltered, what it found was only events this token may not see (not "No match").
 * A later page (opened with a cursor) that ends the range has no older events, not "No events yet.".
 */
function ListRows(props: EventListProps) {
  const filtered = FILTERS.some((f) => props.query[f]);
  const part = props.nextCursor ? " in this part of the range" : "";
  const empty = props.refused
    ? "Nothing listed."
    : filtered
      ? `No match${part}.`
      : part || props.at
        ? `No ${props.at && !part ? "older " : ""}events${props.narrowed ? " this token may see" : ""}${part}.`
        : nothingSeen(props.narrowed, "events");
  return <EventRows events={props.events} empty={empty} />;
}

/** The list's links to its first page and the page after this one. */
function ListNext(props: EventListProps) {
  const q = props.query;
  return <PageLinks path="/dashboard/events" name="cursor" at={props.at} cursor={props.nextCursor} query={q} label={q.q ? "Search further back →" : "Older events →"} />;
}

/**
 * What the live list fetches every 5 seconds (assets.ts): its rows and the link past them, each
 * in a template, so that both change together and no event falls between two pages.
 */
export function LiveUpdate(props: EventListProps) {
  return (
    <>
      <template id="live-rows">
        <ListRows {...props} />
      </template>
      <template id="live-next">
        <ListNext {...props} />
      </template>
    </>
  );
}

export function EventList(props: EventListProps & { live: boolean; principal: Principal }) {
  const q = props.query;
  return (
    <div class="stack">
      <form method="get" action="/dashboard/events" class="filters" role="search" aria-label="Find an event by id">
        <label>
          Event id
          <input name="id" placeholder="evt_…" size={36} />
        </label>
        <button type="submit" class="secondary">
          Open
        </button>
      </form>
      <form method="get" action="/dashboard/events" class="filters" aria-label="Filter events">
        {FILTERS.map((f) =>
          f === "status" ? (
            <label>
              {LABELS[f]}
              <select name="status" {...Invalid("status", props.invalidField)}>
                {["", ...DELIVERY_STATUSES].map((s) => (
                  <option value={s} selected={q.status === s}>
                    {s || "any"}
                  </option>
                ))}
              </select>
            </label>
          ) : (
            <label>
              {LABELS[f]}
              <input
                name={f}
                {...Invalid(f, props.invalidField)}
                value={f === "since" || f === "until" ? fieldTime(q[f] ?? "") : (q[f] ?? "")}
                type={f === "since" || f === "until" ? "datetime-local" : f === "q" ? "search" : "text"}
                size={f.endsWith("Uid") ? 14 : f === "q" ? 32 : 16}
              />
            </label>
          ),
        )}
        <button type="submit">Filter</button>
        <a href="/dashboard/events">Clear</a>
      </form>
      <p class="muted" aria-live="polite" id="live-status">
        {props.refused
          ? "The filter was refused (why is above): mend it and filter again."
          : q.q
            ? `Search results, newest first: each page looks through up to ${SEARCH_BOUND.events.toLocaleString("en")} events of the range (the last ${SEARCH_BOUND.defaultHours} hours unless Since/Until say otherwise).`
            : props.live
              ? // The script that refreshes the list says it is live (assets.ts): without it, nothing appears by itself.
                "Newest first: reload the page for new events."
              : "Showing an older page: not live."}
      </p>
      <HiddenEvents principal={props.principal} />
      <Scroll label="Events">
        <table>
          <thead>
            <tr>
              <th scope="col">Received</th>
              <th scope="col">Type</th>
              <th scope="col">Source</th>
              <th scope="col">Organization / location</th>
              <th scope="col">Id</th>
            </tr>
          </thead>
          <tbody id="event-rows" data-live={props.live ? "1" : "0"}>
            <ListRows {...props} />
          </tbody>
        </table>
      </Scroll>
      <div id="event-next">
        <ListNext {...props} />
      </div>
    </div>
  );
}

type EventDetail = z.infer<typeof EventSchema>;

/**
 * A webhook named on an event's page: a link to its page for a token that may read webhooks, else
 * its uid alone. An alert's deliveries go to notification endpoints, which the Alerts page lists.
 * One deleted since is named without a link (its page would answer 404), and said to be deleted.
 */
function WebhookName(props: { uid: string; link: boolean; alert: boolean; deleted?: boolean }) {
  const what = props.alert ? "notification endpoint" : "webhook";
  if (props.deleted) return <span class="mono">{what} {props.uid} <span class="muted">(deleted)</span></span>;
  if (props.alert) return <a href="/dashboard/alerts">{what} {props.uid}</a>;
  return props.link ? <a href={`/dashboard/webhooks/${props.uid}`}>{what} {props.uid}</a> : <span class="mono">{what} {props.uid}</span>;
}

/** The retention's days, and the time the page is made at. */
type PastRetentionAt = { days: number; now: number };

/**
 * An event past the retention (its days given): kept to be read, not sent again (the API answers 409
 * past_retention). One with a delivery expired is kept a day after the last expired (its grace:
 * docs/reliability.md#retention); else the maintenance run's next pass takes it. The time is said
 * only from every delivery (`whole`): one a limited token cannot see, or past the first page, may have expired later.
 */
function PastRetention(props: PastRetentionAt & { event: EventDetail; whole: boolean }) {
  const purge = Math.max(0, ...props.event.deliveries.filter((d) => d.status === "expired").map((d) => Date.parse(d.updatedAt))) + EXPIRED_GRACE_MS;
  return (
    <p class="notice warning" id="past-retention">
      Past the retention: received over {props.days} day{props.days === 1 ? "" : "s"} ago, it is kept to be read, not sent again, so it cannot be replayed or retried.{" "}
      {!props.whole ? (
        "It is kept its grace day, a day after the last of its deliveries expired, then purged (soon, if none did)."
      ) : purge > props.now ? (
        <>
          Purged after <Time iso={iso(purge)} />, a day after a delivery of it expired.
        </>
      ) : (
        "A maintenance run purges it soon, a day later if it expires a delivery still owed."
      )}
    </p>
  );
}

/**
 * `limited`: a token limited to some organizations or locations, which sees only the deliveries to
 * webhooks in its grant. `pastRetention`: given when the event is past the retention (no button then).
 */
export function EventPage(props: { event: EventDetail; canReplay: boolean; canReadWebhooks: boolean; limited: boolean; pastRetention?: PastRetentionAt | undefined }) {
  const e = props.event;
  const canReplay = props.canReplay && !props.pastRetention;
  return (
    <div class="stack">
      <dl class="kpis">
        <div>
          <dt class="muted">Type</dt>
          <dd>{legible(e.eventType)}</dd>
        </div>
        <div>
          <dt class="muted">Received</dt>
          <dd>
            <Time iso={e.receivedAt} />
          </dd>
        </div>
        <div>
          <dt class="muted">Source</dt>
          <dd>{e.sourceId}</dd>
        </div>
        <div>
          <dt class="muted">Organization</dt>
          <dd class="mono">{legible(e.organizationUid ?? "—")}</dd>
        </div>
        <div>
          <dt class="muted">Location</dt>
          <dd class="mono">{legible(e.locationUid ?? "—")}</dd>
        </div>
        <div>
          <dt class="muted">Id</dt>
          <dd class="mono">{e.id}</dd>
        </div>
      </dl>
      {props.pastRetention && <PastRetention {...props.pastRetention} event={e} whole={!props.limited && e.deliveriesNextCursor === null} />}
      {canReplay && (
        <Action
          action={`/dashboard/events/${e.id}/replay`}
          label={e.sourceId === ALERT_SOURCE ? "Send again to its notification endpoints" : "Replay to every matching webhook"}
        />
      )}
      <h2 id="deliveries">Deliveries</h2>
      {e.deliveries.length === 0 && e.filteredOut.length === 0 && e.deliveriesNextCursor === null && <p class="muted">{nothingSeen(props.limited, "deliveries", "No webhook was owed this event.")}</p>}
      {/* The API answers a page of them (replays add more without bound); the dashboard has no deliveries page to link to. */}
      {e.deliveriesNextCursor !== null && (
        <p class="muted" id="more-deliveries">
          {e.deliveries.length} shown, newest first; more via the API:{" "}
          <code>{`GET /v1/deliveries?eventId=${encodeURIComponent(e.id)}&cursor=${encodeURIComponent(e.deliveriesNextCursor)}`}</code>
        </p>
      )}
      {e.filteredOut.map((uid) => (
        <section class="card" aria-label={`Filtered out by webhook ${uid}`}>
          <p>
            <span class="badge">filtered out</span> by <WebhookName uid={uid} link={props.canReadWebhooks} alert={e.sourceId === ALERT_SOURCE} />: its filter excluded this event
            when it was stored
            {e.deliveries.some((d) => d.webhookUid === uid) ? "; a replay has made a delivery to it since (below)." : e.deliveriesNextCursor === null ? ", so nothing was sent to it." : "."}
          </p>
          {props.canReadWebhooks && <Action action={`/dashboard/webhooks/${uid}/test`} label="Why? Test this webhook" name={`Why? Test this webhook ${uid}`} kind="secondary" fields={{ eventId: e.id }} />}
        </section>
      ))}
      {e.deliveries.map((d) => (
        <section class="card" aria-label={`Delivery ${d.id}`}>
          <p>
            <Badge status={d.status} /> to <WebhookName uid={d.webhookUid} link={props.canReadWebhooks} alert={e.sourceId === ALERT_SOURCE} deleted={d.webhookDeleted} />
            {" · "}
            {d.attemptCount} attempt{d.attemptCount === 1 ? "" : "s"}
            {d.nextAttemptAt && (
              <>
                {" · next "}
                <Time iso={d.nextAttemptAt} />
              </>
            )}
          </p>
          <ol class="timeline" aria-label="Attempts">
            {d.attempts.map((a) => (
              <li>
                <b>#{a.number}</b> <Time iso={a.startedAt} /> · {a.statusCode ?? "no answer"} · {a.durationMs} ms
                {a.error && <span class="muted"> · {legible(a.error)}</span>}
                {a.responseSnippet && <pre class="snippet">{legible(a.responseSnippet, { lines: true })}</pre>}
              </li>
            ))}
          </ol>
          {/* A deleted webhook's delivery has nowhere to go (the API answers 409): no button that can only fail. */}
          {canReplay && d.status !== "held" && !d.webhookDeleted && (
            <Action action={`/dashboard/deliveries/${d.id}/retry`} label="Retry this delivery" name={`Retry this delivery ${d.id} to ${e.sourceId === ALERT_SOURCE ? "notification endpoint" : "webhook"} ${d.webhookUid}`} kind="secondary" fields={{ back: e.id }} />
          )}
        </section>
      ))}
      <h2>Body</h2>
      <pre tabindex={0} aria-label="Event body">
        {legible(prettyBody(e.body), { lines: true })}
      </pre>
      <h2>Headers</h2>
      <HeaderTable headers={e.headers} />
    </div>
  );
}
