import type { z } from "@hono/zod-openapi";
import type { AlertSchema, NotificationEndpointSchema } from "../../api/schemas/alerts";
import { ALERT_TYPES } from "../../domain/alerts";
import { ConfirmAction, DottedName, DottedNames, Time, Scroll, shortened, Required, Invalid } from "../layout";
import { ASK } from "../confirm";
import { legible } from "../../domain/legible";
import { PageLinks } from "../list-pages";

type AlertJson = z.infer<typeof AlertSchema>;
type NotificationEndpointJson = z.infer<typeof NotificationEndpointSchema>;

/** What a refused new-endpoint form had in it, to show it again. */
export interface EndpointEntered {
  url: string;
  alertTypes: string[];
  format: string;
}

/** An alert's message, its webhook's uid in it a link to the webhook's page when `link`. */
function Message(props: { alert: AlertJson; link: boolean }) {
  const { message, subject } = props.alert;
  const at = message.indexOf(subject);
  if (!props.link || at < 0) return <>{legible(message)}</>;
  return (
    <>
      {legible(message.slice(0, at))}
      <a href={`/dashboard/webhooks/${subject}`}>{legible(subject)}</a>
      {legible(message.slice(at + subject.length))}
    </>
  );
}

/**
 * How an endpoint's alerts are going (its health, docs/alerts.md): its state, its streak of failed
 * attempts, the alerts waiting (behind one being retried, or held while it is disabled) and its last failure.
 */
function Delivery(props: { e: NotificationEndpointJson }) {
  const h = props.e.health;
  if (!h) return <>{props.e.disabled ? "disabled" : "enabled"}</>;
  const waiting = h.backlog.held + h.backlog.pending;
  return (
    <>
      <b>{h.state}</b>
      {h.consecutiveFailures > 0 && ` · ${h.consecutiveFailures} failed in a row`}
      {waiting > 0 && ` · ${waiting.toLocaleString("en")} alert${waiting === 1 ? "" : "s"} waiting`}
      {h.lastFailure && (
        <div class="muted">
          Last failure <Time iso={h.lastFailure.at} /> {legible(h.lastFailure.error ?? "")}
        </div>
      )}
    </>
  );
}

/** A list's cursor `at` as its parameter `name`, if the page was opened with one. */
const placeOf = (name: string, at: string | undefined): Record<string, string> => (at ? { [name]: at } : {});

/** Alert episodes (newest first), and the notification endpoints they go to, with a form for a new one. */
export function AlertsPage(props: {
  alerts: AlertJson[];
  endpoints: NotificationEndpointJson[];
  nextAlerts: string | null;
  nextEndpoints: string | null;
  /** The cursors of each list this page was opened with, if any (PageLinks). */
  atAlerts: string | undefined;
  atEndpoints: string | undefined;
  entered?: EndpointEntered;
  /** The new-endpoint form's field a refusal named (Invalid). */
  invalidField?: string | undefined;
  /** The webhooks named as subjects that the viewer may open (existing, and in its grant). */
  webhooks: ReadonlySet<string>;
}) {
  const entered = props.entered;
  return (
    <div class="stack">
      {/* The episodes are the page's own list, under its title (as on every list page); the endpoints are its section. */}
      {props.alerts.length === 0 ? (
        <p class="muted">No alert yet.</p>
      ) : (
        <Scroll label="Alerts">
          <table>
            <thead>
              <tr>
                <th scope="col">Opened</th>
                <th scope="col">Alert</th>
                <th scope="col">Seen</th>
                <th scope="col">Closed</th>
              </tr>
            </thead>
            <tbody>
              {props.alerts.map((a) => (
                <tr>
                  <td>
                    <Time iso={a.openedAt} />
                  </td>
                  <td>
                    <b>
                      <DottedName name={a.type} />
                    </b>{" "}
                    <Message alert={a} link={props.webhooks.has(a.subject)} />
                  </td>
                  <td>×{a.count}</td>
                  <td>{a.closedAt ? <Time iso={a.closedAt} /> : <b>open</b>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </Scroll>
      )}
      {/* Each list's links keep the other's place: the page shows both. */}
      <PageLinks path="/dashboard/alerts" name="alerts" at={props.atAlerts} cursor={props.nextAlerts} label="Older alerts →" query={placeOf("endpoints", props.atEndpoints)} />
      <section aria-labelledby="endpoints" class="stack">
        <h2 id="endpoints">Notification endpoints</h2>
        {props.endpoints.length === 0 ? (
          <p class="muted">None: alerts are recorded here and sent nowhere.</p>
        ) : (
          <Scroll label="Notification endpoints">
            <table>
              <thead>
                <tr>
                  <th scope="col">URL</th>
                  <th scope="col">Alerts</th>
                  <th scope="col">Format</th>
                  <th scope="col">Delivery</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                {props.endpoints.map((e) => (
                  <tr>
                    <td class="mono">{legible(e.url)}</td>
                    <td class="mono">
                      <DottedNames names={e.alertTypes} />
                    </td>
                    <td>
                      {e.format}
                      {e.disabled && " · disabled"}
                    </td>
                    <td>
                      <Delivery e={e} />
                    </td>
                    <td>
                      <ConfirmAction action={`/dashboard/alerts/endpoints/${e.uid}/delete`} label="Delete" name={`Delete notification endpoint ${shortened(e.url)}`} confirm={ASK.deleteEndpoint(e.uid)} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </Scroll>
        )}
        <PageLinks path="/dashboard/alerts" name="endpoints" at={props.atEndpoints} cursor={props.nextEndpoints} label="More endpoints →" query={placeOf("alerts", props.atAlerts)} />
        <form method="post" action="/dashboard/alerts/endpoints" class="card stack" aria-label="New notification endpoint">
          <h3>New notification endpoint</h3>
          <label>
            <span>URL<Required /></span>
            <input name="url" type="url" required placeholder="https://hooks.slack.com/services/…" value={entered?.url ?? ""} {...Invalid("url", props.invalidField)} />
          </label>
          <fieldset>
            <legend>
              Alerts <span class="required">(required: choose at least one)</span>
            </legend>
            {ALERT_TYPES.map((t, i) => (
              <label class="check">
                <input name="alertTypes" type="checkbox" value={t} checked={entered ? entered.alertTypes.includes(t) : true} {...Invalid("alertTypes", props.invalidField, i === 0)} /> {t}
              </label>
            ))}
          </fieldset>
          <label>
            Format
            <select name="format" {...Invalid("format", props.invalidField)}>
              <option value="standard-webhooks">Standard Webhooks: signed {"{type, timestamp, data}"} JSON</option>
              <option value="slack" selected={entered?.format === "slack"}>
                Slack: {'{"text": …}'}
              </option>
            </select>
          </label>
          <div>
            <button type="submit">Create endpoint</button>
          </div>
        </form>
      </section>
    </div>
  );
}
