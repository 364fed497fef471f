import type { z } from "@hono/zod-openapi";
import type { WebhookSchema, WebhookTestAnswer } from "../../api/schemas/webhooks";
import { REDACTED } from "../../domain/credential-headers";
import { MAX_ATTEMPTS_LIMIT, TIMEOUT_MS_LIMITS } from "../../domain/delivery";
import { DEFAULT_MAX_CONCURRENCY, MAX_CONCURRENCY_MAX, RATE_LIMIT_MAX } from "../../domain/flow";
import { AUTO_DISABLE_MINUTES_MAX, DEFAULT_AUTO_DISABLE_MINUTES, DEFAULT_FAILING_AFTER, FAILING_AFTER_MAX } from "../../domain/health";
import { sentence } from "../../domain/alerts";
import { legible } from "../../domain/legible";
import { Action, Blank, ConfirmAction, DottedNames, EmptyRow, HeaderTable, Time, Scroll, shortened, Required, Invalid, nothingSeen, attemptsShare } from "../layout";
import { ASK } from "../confirm";
import { prettyBody } from "../pretty-body";
import { ownerOf } from "../../routing/match";
import { OwnerField, type Owners } from "../owner-field";
import { PageLinks } from "../list-pages";

type WebhookJson = z.infer<typeof WebhookSchema>;
type WebhookTestJson = z.infer<typeof WebhookTestAnswer>;

export interface WebhookCounts {
  held: number;
  failed: number;
}

/** ownerOf's words, each uid (which may be long) in a span that breaks anywhere. */
function Owner(props: { w: WebhookJson }) {
  const { organizationUid: org, locationUid: loc, grantOrganizationUid: grant } = props.w;
  if (org !== null) return <>organization <span class="mono">{legible(org)}</span></>;
  if (loc === null) return <>{ownerOf(props.w)}</>;
  return (
    <>
      location <span class="mono">{legible(loc)}</span>
      {grant !== null && <> within organization <span class="mono">{legible(grant)}</span></>}
    </>
  );
}

/** Whether a webhook's failed deliveries can be retried from its row. */
const retriesFailed = (counts: WebhookCounts | undefined, canReplay: boolean) => canReplay && (counts?.failed ?? 0) > 0;

/** `retryCursor`: where the webhook's "retry failed" goes on from (the cursor its last press answered). */
function WebhookRowActions(props: { w: WebhookJson; counts?: WebhookCounts | undefined; canWrite: boolean; canReplay: boolean; retryCursor?: string | undefined }) {
  const { w } = props;
  // Each button named for its webhook: a list of them read "Disable" a hundred times.
  const named = (label: string) => `${label} webhook ${shortened(w.url)}`;
  return (
    <div class="actions">
      {props.canWrite &&
        (w.disabled ? (
          <Action action={`/dashboard/webhooks/${w.uid}/enable`} label={`Enable (send ${props.counts?.held ?? w.heldDeliveries ?? 0} held)`}
            name={named(`Enable (send ${props.counts?.held ?? w.heldDeliveries ?? 0} held):`)}
          />
        ) : (
          <Action action={`/dashboard/webhooks/${w.uid}/disable`} label="Disable" name={named("Disable")} kind="secondary" />
        ))}
      {retriesFailed(props.counts, props.canReplay) && (
        <Action
          action={`/dashboard/webhooks/${w.uid}/retry-failed`}
          label={`Retry ${props.counts?.failed} failed`}
          name={named(`Retry ${props.counts?.failed} failed: deliveries of`)}
          kind="secondary"
          // The count shown, for the notice to say what of it was not retried (routes/webhooks.tsx).
          fields={{ counted: String(props.counts?.failed), ...(props.retryCursor ? { cursor: props.retryCursor } : {}) }}
        />
      )}
    </div>
  );
}

export function WebhookList(props: {
  webhooks: WebhookJson[];
  nextCursor: string | null;
  /** The cursor this page was opened with, if any (PageLinks). */
  at: string | undefined;
  counts: Map<string, WebhookCounts>;
  canWrite: boolean;
  /** Whether the token may change this one (enable, disable): the data scopes of all its types too. */
  mayChange: (w: WebhookJson) => boolean;
  canReplay: boolean;
  entered?: Entered | undefined;
  /** The form's field a refusal named (Invalid). */
  invalidField?: string | undefined;
  /** What a new webhook gets when the form leaves a field at what it shows: this deployment's DELIVERY_TIMEOUT_MS and MAX_ATTEMPTS. */
  defaults: NewWebhookDefaults;
  /** A token limited to some organizations or locations (nothingSeen). */
  limited: boolean;
  /** Whom it may make a webhook for: the new-webhook form's organization field. */
  owners: Owners;
}) {
  // No Actions column when no row has one (a token without webhooks:write): it stood empty.
  const actions = props.webhooks.some((w) => props.mayChange(w) || retriesFailed(props.counts.get(w.uid), props.canReplay));
  return (
    <div class="stack">
      <Scroll label="Webhooks">
        <table>
          <thead>
            <tr>
              <th scope="col">URL</th>
              <th scope="col">Event types</th>
              <th scope="col">For</th>
              <th scope="col">State</th>
              {actions && <th scope="col">Actions</th>}
            </tr>
          </thead>
          <tbody>
            {props.webhooks.length === 0 && <EmptyRow cols={actions ? 5 : 4} text={nothingSeen(props.limited, "webhooks")} />}
            {props.webhooks.map((w) => {
              const counts = props.counts.get(w.uid);
              return (
                <tr>
                  <td>
                    <a href={`/dashboard/webhooks/${w.uid}`}>{legible(w.url)}</a>
                  </td>
                  {/* Its parts whole (td.word): .mono breaks anywhere, which read "messag e." beside a long URL even at 1280 px. */}
                  <td class="mono word">
                    <DottedNames names={w.eventTypes} />
                  </td>
                  {/* Beside a long URL, which auto layout gave the room, the words read "organi zation": whole (td.word), the uids broken anywhere. */}
                  <td class="word">
                    <Owner w={w} />
                  </td>
                  {/* Words of the dashboard's own, kept whole: beside a long URL the column was crushed to "health y". */}
                  <td class="word">
                    <b>{w.health?.state ?? (w.disabled ? "disabled" : "enabled")}</b>
                    {counts && counts.held > 0 && <span class="muted"> · {counts.held} held</span>}
                    <span class="muted"> · {limitsOf(w)}</span>
                  </td>
                  {actions && (
                    <td>
                      <WebhookRowActions w={w} counts={counts} canWrite={props.mayChange(w)} canReplay={props.canReplay} />
                    </td>
                  )}
                </tr>
              );
            })}
          </tbody>
        </table>
      </Scroll>
      <PageLinks path="/dashboard/webhooks" name="cursor" at={props.at} cursor={props.nextCursor} label="More webhooks →" />
      {props.canWrite && <WebhookForm entered={props.entered} invalidField={props.invalidField} defaults={props.defaults} owners={props.owners} />}
    </div>
  );
}

/** The settings a new webhook takes by default (settings.ts), which the new-webhook form shows. */
interface NewWebhookDefaults {
  timeoutMs: number;
  maxAttempts: number;
}

/** What a form held when it was sent: field name → text. */
export type Entered = Readonly<Record<string, string>>;

/** What the new-webhook form says of where a webhook belongs: a catch-all only to those who may make one. */
function ownerHint(owners: Owners): string {
  if (owners.anyone) return "One organization or one location, as in Podium; leave both empty for a catch-all (unlimited tokens only).";
  if (owners.organizationUids.length === 0) return "One location this token holds, as in Podium.";
  return "One organization or one location, as in Podium: one of this token's organizations, or no organization and a location it holds or one within its organizations.";
}

/**
 * The create form's props (no webhook: whom it may be for, `owners`, and its defaults) or the edit
 * form's (a webhook): a create form without `owners` does not compile, as it would leave out the
 * organization and location fields.
 */
export type WebhookFormProps = { entered?: Entered | undefined; invalidField?: string | undefined } & (
  | { webhook?: undefined; defaults: NewWebhookDefaults; owners: Owners }
  | { webhook: WebhookJson; defaults?: undefined; owners?: undefined }
);

/**
 * Create (no webhook) or edit (a webhook) form, showing what was `entered` when it
 * was sent back refused. Location and organization are fixed once created; `owners`
 * (creating) shapes the organization field as the new-source form's.
 */
function WebhookForm(props: WebhookFormProps) {
  const w = props.webhook;
  const typed = props.entered;
  const value = (name: string, shown: string) => typed?.[name] ?? shown;
  const initial = w ? editedFields(w) : null;
  const ordering = value("ordering", initial?.ordering ?? "unordered");
  return (
    <form method="post" action={w ? `/dashboard/webhooks/${w.uid}` : "/dashboard/webhooks"} class="card stack" aria-label={w ? "Edit webhook" : "New webhook"}>
      <h2>{w ? "Edit" : "New webhook"}</h2>
      <label>
        <span>URL<Required /></span>
        <input name="url" {...Invalid("url", props.invalidField)} type="url" required value={value("url", initial?.url ?? "")} placeholder="https://api.example.com/hooks" />
      </label>
      <label>
        <span>Event types (comma separated: exact, object.* or *)<Required /></span>
        <input name="eventTypes" {...Invalid("eventTypes", props.invalidField)} required value={value("eventTypes", initial?.eventTypes ?? "")} placeholder="message.received, contact.*" />
      </label>
      {props.webhook === undefined && (
        <>
          <p class="muted">{ownerHint(props.owners)}</p>
          <OwnerField
            owners={props.owners}
            entered={typed?.organizationUid}
            invalidField={props.invalidField}
            labels={{ free: "Organization uid", choice: "Organization" }}
            none="None: the location below"
          />
          <label>
            Location uid
            <input name="locationUid" {...Invalid("locationUid", props.invalidField)} value={value("locationUid", "")} />
          </label>
        </>
      )}
      <label>
        Timeout (ms)
        <input name="timeoutMs" {...Invalid("timeoutMs", props.invalidField)} type="number" min={TIMEOUT_MS_LIMITS.min} max={TIMEOUT_MS_LIMITS.max} value={value("timeoutMs", initial?.timeoutMs ?? String(props.defaults?.timeoutMs ?? ""))} />
      </label>
      <label>
        Attempts
        <input name="maxAttempts" {...Invalid("maxAttempts", props.invalidField)} type="number" min="1" max={MAX_ATTEMPTS_LIMIT} value={value("maxAttempts", initial?.maxAttempts ?? String(props.defaults?.maxAttempts ?? ""))} />
      </label>
      <label>
        Rate limit (attempts per second, retries included; empty: none)
        <input name="rateLimit" {...Invalid("rateLimit", props.invalidField)} type="number" min="1" max={String(RATE_LIMIT_MAX)} value={value("rateLimit", initial?.rateLimit ?? "")} />
      </label>
      <label>
        Requests at once
        <input name="maxConcurrency" {...Invalid("maxConcurrency", props.invalidField)} type="number" min="1" max={String(MAX_CONCURRENCY_MAX)} value={value("maxConcurrency", initial?.maxConcurrency ?? String(DEFAULT_MAX_CONCURRENCY))} />
      </label>
      <label>
        Order
        <select name="ordering" {...Invalid("ordering", props.invalidField)}>
          <option value="unordered" selected={ordering !== "fifo"}>
            Unordered: in parallel
          </option>
          <option value="fifo" selected={ordering === "fifo"}>
            FIFO: one at a time, in the order events were received
          </option>
        </select>
      </label>
      <label class="check">
        <input name="disabled" {...Invalid("disabled", props.invalidField)} type="checkbox" checked={typed ? typed.disabled === "on" : initial?.disabled === "on"} /> Disabled (deliveries are held)
      </label>

      <label>
        Failing after (failed attempts in a row)
        <input name="failingAfterAttempts" {...Invalid("failingAfterAttempts", props.invalidField)} type="number" min="1" max={String(FAILING_AFTER_MAX)} value={value("failingAfterAttempts", initial?.failingAfterAttempts ?? String(DEFAULT_FAILING_AFTER))} />
      </label>
      <label>
        Disable after (minutes of nothing but failures; empty: never)
        <input
          name="autoDisableAfterMinutes"
          {...Invalid("autoDisableAfterMinutes", props.invalidField)}
          type="number"
          min="1"
          max={String(AUTO_DISABLE_MINUTES_MAX)}
          value={value("autoDisableAfterMinutes", initial?.autoDisableAfterMinutes ?? String(DEFAULT_AUTO_DISABLE_MINUTES))}
        />
      </label>
      <label>
        Filter (JSON matched against the event's body and headers; empty: every event)
        <textarea name="filter" {...Invalid("filter", props.invalidField)} rows={4} class="mono" placeholder='{"body": {"data.conversation.channel.type": "phone"}}'>
          {value("filter", initial?.filter ?? "")}
        </textarea>
      </label>
      <label>
        Transformation (JSONata on the body; its result is the body sent; empty: the body as received)
        <textarea name="transform" {...Invalid("transform", props.invalidField)} rows={3} class="mono" placeholder='{"text": data.body}'>
          {value("transform", initial?.transform ?? "")}
        </textarea>
      </label>
      <label>
        Extra headers (JSON: header name → JSONata; a credential header shows {REDACTED}, which saving keeps as stored)
        <textarea name="transformHeaders" {...Invalid("transformHeaders", props.invalidField)} rows={2} class="mono" placeholder='{"x-conversation": "data.conversation.uid"}'>
          {value("transformHeaders", initial?.transformHeaders ?? "")}
        </textarea>
      </label>
      {/* What each field showed: saving sends only what was changed here, so a change made
          elsewhere meanwhile (another field, or the webhook disabled automatically) stays. */}
      {initial ? <input name="shown" type="hidden" value={value("shown", JSON.stringify(initial))} /> : null}
      <div>
        <button type="submit">{w ? "Save" : "Create webhook"}</button>
      </div>
    </form>
  );
}

/** The edit form's fields as it first shows them: field name → text (`disabled`: "on" or "off"). */
function editedFields(w: WebhookJson): Record<string, string> {
  return {
    url: w.url,
    eventTypes: w.eventTypes.join(", "),
    timeoutMs: String(w.timeoutMs),
    maxAttempts: String(w.maxAttempts),
    rateLimit: w.rateLimit == null ? "" : String(w.rateLimit),
    maxConcurrency: String(w.maxConcurrency),
    ordering: w.ordering,
    disabled: w.disabled ? "on" : "off",
    failingAfterAttempts: String(w.failingAfterAttempts),
    autoDisableAfterMinutes: w.autoDisableAfterMinutes === null ? "" : String(w.autoDisableAfterMinutes),
    filter: w.filter ? JSON.stringify(w.filter, null, 2) : "",
    transform: w.transform ?? "",
    transformHeaders: w.transformHeaders ? JSON.stringify(w.transformHeaders, null, 2) : "",
  };
}

/** Rate, concurrency and order in a few words. */
function limitsOf(w: WebhookJson): string {
  const rate = w.rateLimit === null ? "no rate limit" : `${w.rateLimit}/s`;
  return w.ordering === "fifo" ? `FIFO, ${rate}` : `${rate}, ${w.maxConcurrency} at once`;
}

/** About how long, in words: "40 s", "12 min", "3 h". */
function duration(seconds: number): string {
  if (seconds < 90) return `${seconds} s`;
  if (seconds < 90 * 60) return `${Math.round(seconds / 60)} min`;
  return `${Math.round(seconds / 3600)} h`;
}

/** The webhook's health: state, streak, success rates, last success and failure. */
function Health(props: { w: WebhookJson }) {
  const h = props.w.health;
  if (!h?.state) return null;
  // Its state alone for a token lacking a data scope of its types: the rest counts events it may not read.
  const details = h.successRate !== undefined;
  return (
    <dl class="kpis" aria-label="Health">
      <div>
        <dt class="muted">Health</dt>
        <dd>
          <b>{h.state}</b>
          {h.consecutiveFailures ? ` · ${h.consecutiveFailures} failed in a row` : ""}
        </dd>
      </div>
      {details && (
        <>
          <div>
            {/* Attempts, as the API's health counts them; the overview's table counts deliveries, and says so. */}
            <dt class="muted">Attempts succeeded</dt>
            <dd>
              {attemptsShare(h.successRate?.lastHour)} last hour · {attemptsShare(h.successRate?.lastDay)} last day
            </dd>
          </div>
          <div>
            <dt class="muted">Last success</dt>
            <dd>
              <Time iso={h.lastSuccessAt ?? null} />
            </dd>
          </div>
          <div>
            <dt class="muted">Last failure</dt>
            <dd>
              {/* None yet reads "—", as Last success beside it and every empty value of the dashboard (Time). */}
              <Time iso={h.lastFailure?.at ?? null} /> {legible(h.lastFailure?.error ?? "")}
            </dd>
          </div>
        </>
      )}
    </dl>
  );
}

/**
 * What the webhook is owed, how fast it goes, and when it expects to be done. Disabled, it sends
 * nothing new: the API's pace is of the last 30 s (docs/flow-control.md).
 */
function Backlog(props: { w: WebhookJson }) {
  const b = props.w.backlog;
  if (!b) return null;
  const off = props.w.disabled;
  const total = b.held + b.pending;
  return (
    <dl class="kpis" aria-label="Backlog">
      <div>
        <dt class="muted">Backlog</dt>
        <dd>
          {total.toLocaleString("en")} ({b.held.toLocaleString("en")} held, {b.pending.toLocaleString("en")} pending)
        </dd>
      </div>
      <div>
        <dt class="muted">Delivering</dt>
        <dd>
          {off ? "nothing new: disabled" : `${b.deliveriesPerSecond}/s`} · {b.inFlight} {off ? "still in flight" : "in flight"}
        </dd>
      </div>
      <div>
        <dt class="muted">Done</dt>
        <dd>
          {total === 0 ? (
            "nothing owed"
          ) : b.estimatedSeconds === null || b.estimatedDoneAt === null ? (
            off ? "when enabled" : "unknown yet"
          ) : (
            <>
              in about {duration(b.estimatedSeconds)} (<Time iso={b.estimatedDoneAt} />)
            </>
          )}
        </dd>
      </div>
      <div>
        <dt class="muted">Limits</dt>
        <dd>{limitsOf(props.w)}</dd>
      </div>
      {b.pausedUntil && !off && (
        <div>
          <dt class="muted">Paused until</dt>
          <dd>
            <Time iso={b.pausedUntil} />
          </dd>
        </div>
      )}
    </dl>
  );
}

/** The webhook's filter and transformation, for readers who cannot edit them. */
function ContentRules(props: { w: WebhookJson }) {
  const { w } = props;
  if (w.filter === null && w.transform === null && w.transformHeaders === null) return <p class="muted">No filter and no transformation: every event it is subscribed to, sent as received.</p>;
  return (
    <dl class="stack" aria-label="Filter and transformation">
      <dt class="muted">Filter</dt>
      <dd>{w.filter ? <pre>{legible(JSON.stringify(w.filter, null, 2), { lines: true })}</pre> : <Blank />}</dd>
      <dt class="muted">Transformation</dt>
      <dd>{w.transform === null ? <Blank /> : <pre>{legible(w.transform, { lines: true })}</pre>}</dd>
      {w.transformHeaders && (
        <>
          <dt class="muted">Extra headers</dt>
          <dd><pre>{legible(JSON.stringify(w.transformHeaders, null, 2), { lines: true })}</pre></dd>
        </>
      )}
    </dl>
  );
}

/** "Test this webhook": pick a stored event, see what would be sent. */
export function WebhookTestForm(props: { uid: string; eventId?: string }) {
  return (
    <form method="post" action={`/dashboard/webhooks/${props.uid}/test`} class="card stack" aria-label="Test this webhook">
      <h2>Test this webhook</h2>
      <p class="muted">Runs its checks, filter and transformation on a stored event and shows what would be sent. Nothing is delivered.</p>
      <label>
        <span>Event id<Required /></span>
        <input name="eventId" required value={props.eventId ?? ""} placeholder="evt_…" size={40} />
      </label>
      <div>
        <button type="submit" class="secondary">
          Test
        </button>
      </div>
    </form>
  );
}

export function WebhookTestResult(props: { result: WebhookTestJson }) {
  const r = props.result;
  return (
    <section class="stack" aria-label="Test result">
      <p>
        <b>{r.matched ? "Owed: a delivery would be made." : "Not owed: no delivery would be made."}</b> Event{" "}
        <a href={`/dashboard/events/${r.eventId}`} class="mono">
          {r.eventId}
        </a>
      </p>
      <ul aria-label="Checks">
        {r.checks.map((c) => (
          <li>
            {c.passed ? "✓" : "✗"} <b>{c.check}</b>: {legible(c.message)}
          </li>
        ))}
      </ul>
      {r.transformError && (
        <p class="notice error" role="alert">
          The transformation fails on this event: {legible(r.transformError)}. A delivery would fail at once, without retries.
        </p>
      )}
      {r.request && (
        <>
          <h2>Request</h2>
          <p class="mono">POST {legible(r.request.url)}</p>
          <HeaderTable headers={r.request.headers} label="Request headers" />
          <p class="muted">Plus the signature headers, computed at each attempt over exactly this body.</p>
          <pre tabindex={0} aria-label="Request body">
            {legible(prettyBody(r.request.body), { lines: true })}
          </pre>
        </>
      )}
    </section>
  );
}

export function WebhookPage(props: {
  webhook: WebhookJson;
  counts?: WebhookCounts | undefined;
  canWrite: boolean;
  canReplay: boolean;
  canTest: boolean;
  testEventId?: string | undefined;
  entered?: Entered | undefined;
  invalidField?: string | undefined;
  retryCursor?: string | undefined;
}) {
  const w = props.webhook;
  return (
    <div class="stack">
      <p>
        <span class="mono">{legible(w.url)}</span> · {legible(ownerOf(w))} · {w.disabled ? "disabled" : "enabled"}
        {w.heldDeliveries !== undefined && ` · ${w.heldDeliveries} held`} ·{" "}
        {w.sourceIds === null ? "from every source" : `from ${w.sourceIds.length === 1 ? "source" : "sources"} ${legible(w.sourceIds.join(", "))}`}
      </p>
      {/* After a rotation (docs/forwarding.md): a receiver still verifying with the old secret works until then. */}
      {/* Ended early for a leaked one (a form is no paragraph's content: beside it, not inside). */}
      {w.previousSecretExpiresAt && (
        <div class="actions">
          <p>
            The previous secret still signs deliveries, beside the current one, until <Time iso={w.previousSecretExpiresAt} />.
          </p>
          {props.canWrite && (
            <ConfirmAction action={`/dashboard/webhooks/${w.uid}/end-previous-secret`} label="End the previous secret now" confirm={ASK.endPreviousSecret(w.uid)} />
          )}
        </div>
      )}
      {w.disabled && w.disabledReason && (
        <p role="status">
          Disabled automatically <Time iso={w.disabledAt} />: {legible(sentence(w.disabledReason))} Its events are held; enabling it sends them, oldest first.
        </p>
      )}
      <Health w={w} />
      <Backlog w={w} />
      <WebhookRowActions
        w={w}
        counts={props.counts ?? { held: w.heldDeliveries ?? 0, failed: 0 }}
        canWrite={props.canWrite}
        canReplay={props.canReplay}
        retryCursor={props.retryCursor}
      />
      {props.canTest && <WebhookTestForm uid={w.uid} eventId={props.testEventId} />}
      {!props.canWrite && <ContentRules w={w} />}
      {props.canWrite && <WebhookForm webhook={w} entered={props.entered} invalidField={props.invalidField} />}
      {props.canWrite && <ConfirmAction action={`/dashboard/webhooks/${w.uid}/delete`} label="Delete webhook" confirm={ASK.deleteWebhook(w.uid)} />}
    </div>
  );
}

export function SecretOnce(props: { what: string; secret: string; href: string }) {
  return (
    <div class="stack">
      {/* An API token is the secret itself; a webhook or an endpoint has one that signs what it is sent. */}
      <p>{props.what === "API token" ? "Copy this API token now: it is shown this once." : `Copy the signing secret of this ${props.what} now: it is shown this once.`}</p>
      <p class="secret mono" aria-label={props.what === "API token" ? "API token" : "Signing secret"}>
        {props.secret}
      </p>
      <a href={props.href}>Continue</a>
    </div>
  );
}
