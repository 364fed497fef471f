import type { z } from "@hono/zod-openapi";
import type { StatsSchema } from "../../api/schemas/stats";
import type { Principal } from "../../domain/scopes";
import { legible } from "../../domain/legible";
import { BarChart, EmptyRow, attemptsShare, sharePermille, HiddenEvents, Time, Scroll, nothingSeen } from "../layout";
import { MINUTE_MS, SERIES_BUCKET_MS } from "../../domain/time";

/** /v1/stats, as the API answers it. */
type StatsJson = z.infer<typeof StatsSchema>;

/**
 * The fewest minutes a step still in progress is divided by. By the seconds elapsed, 3 events in
 * its first 5 s would read 36 events/min; by one minute, its first minute reads the events so far.
 */
const LEAST_ELAPSED_MS = MINUTE_MS;

/**
 * Events per minute of each step of the series and, for the one still in progress at `now`, the
 * minutes elapsed in it: its events are divided by those (at least LEAST_ELAPSED_MS), not by the
 * step's ten (30 events in a step 3.5 minutes old read 8.6 events/min, not 3). null: no events.
 */
export function eventsPerMinute(series: StatsJson["series"], now: number): { rate: number | null; partialMinutes: number | null }[] {
  return series.map((b) => {
    const elapsed = now - Date.parse(b.start);
    const partial = elapsed < SERIES_BUCKET_MS;
    const minutes = (partial ? Math.max(LEAST_ELAPSED_MS, elapsed) : SERIES_BUCKET_MS) / MINUTE_MS;
    return { rate: b.events === 0 ? null : b.events / minutes, partialMinutes: partial ? Math.max(0, elapsed) / MINUTE_MS : null };
  });
}

/**
 * How far the step in progress has gone, as its bar's tooltip says it. In its first minute, divided
 * by one (LEAST_ELAPSED_MS), it says so: "0 of 10 minutes" beside a rate per minute would not add up.
 */
function soFar(minutes: number, stepMinutes: number): string {
  const least = LEAST_ELAPSED_MS / MINUTE_MS;
  return minutes < least ? `so far: under ${least} of ${stepMinutes} minutes, counted as ${least}` : `so far: ${Math.floor(minutes * 10) / 10} of ${stepMinutes} minutes`;
}

/**
 * `canReadWebhooks`: whether the token holds webhooks:read, without which the API lists no webhooks here.
 * `now`: when the stats were read, which says how far the newest step has gone.
 * `limited`: a token limited to some organizations or locations (nothingSeen).
 */
export function Overview(props: { stats: StatsJson; canReadWebhooks: boolean; principal: Principal; limited: boolean; now: number }) {
  const s = props.stats;
  const perMinute = eventsPerMinute(s.series, props.now);
  const stepMinutes = SERIES_BUCKET_MS / MINUTE_MS;
  const rates = s.series.map((b) => (b.attempts === null || b.succeededAttempts === null || b.attempts === 0 ? null : b.succeededAttempts / b.attempts));
  const steps = s.series.map((b) => b.start);
  // A token of very many webhooks is given no attempts' counts (null, with its deliveries'): a step without a bar had some, maybe.
  const noAttempts = s.series.length > 0 && s.series.every((b) => b.attempts === null) ? "attempts not counted for this token" : "no attempts";
  const from = steps[0] ?? null;
  return (
    <div class="stack">
      <HiddenEvents principal={props.principal} />
      <div class="kpis">
        <div class="kpi">
          <b>{s.events.last24h}</b> events in 24 h
        </div>
        {/* (No totals of deliveries for a token of very many webhooks: the API's `deliveries` is null.) */}
        {Object.entries(s.deliveries ?? {}).map(([status, n]) => (
          <div class="kpi">
            <b>{n}</b> {status}
          </div>
        ))}
      </div>
      <div class="grid">
        <section class="card" aria-labelledby="epm">
          <h2 id="epm">Events per minute</h2>
          <BarChart
            label="Events per minute, last six hours in ten-minute steps"
            steps={steps}
            values={perMinute.map((b) => b.rate)}
            say={(v) => `${Math.round(v * 100) / 100} events/min`}
            none="no events"
            column="Events per minute"
            notes={perMinute.map((b) => (b.partialMinutes === null ? null : soFar(b.partialMinutes, stepMinutes)))}
          />
          <p class="muted">
            Six hours from <Time iso={from} />. The last step, still going, is counted over the minutes it has run (at least one).
          </p>
        </section>
        <section class="card" aria-labelledby="rate">
          <h2 id="rate">Attempts succeeded</h2>
          <BarChart
            label="Share of delivery attempts that succeeded, last six hours in ten-minute steps"
            steps={steps}
            values={rates}
            max={1}
            // Red as its words say: a share shown as 90% (89.96%) is not under it.
            low={(v) => sharePermille(v) < 900}
            // In percent, as a webhook's page writes its attempts succeeded: "0.19 of attempts" read as a count.
            say={(v) => `${attemptsShare(v)} of attempts succeeded`}
            none={noAttempts}
            column="Attempts succeeded"
          />
          <p class="muted">
            Every try counts, retries included, as on a webhook's page. Red bars: under 90% of attempts succeeded. No bar: {noAttempts}.
          </p>
        </section>
      </div>
      <h2>Webhooks, failures first</h2>
      {props.canReadWebhooks ? (
        <>
          {/* Two rates a reader sees side by side: each says what it counts (docs/dashboard.md). */}
          <p class="muted">
            Per webhook, its deliveries (kept until the retention purges them): failed for good, succeeded, and held.
            Deliveries succeeded: of those that succeeded or failed for good, the share that succeeded, each once however many attempts it took.
          </p>
          {s.webhooksNextCursor !== null && (
            <p class="muted">
              Those failing now first (up to 100), wherever they are by uid. The first 100 webhooks by uid follow; each webhook's page has its own counts, and the API's
              /v1/stats pages through the rest.
            </p>
          )}
          <Scroll label="Webhooks, failures first">
            <table>
              <thead>
                <tr>
                  <th scope="col">Webhook</th>
                  <th scope="col">Failed</th>
                  <th scope="col">Succeeded</th>
                  <th scope="col">Held</th>
                  <th scope="col">Deliveries succeeded</th>
                  <th scope="col">Last failure</th>
                </tr>
              </thead>
              <tbody>
                {s.webhooks.length === 0 && <EmptyRow cols={6} text={nothingSeen(props.limited, "webhooks")} />}
                {s.webhooks.map((w) => (
                  <tr>
                    <td>
                      <a href={`/dashboard/webhooks/${w.uid}`}>{legible(w.url)}</a>
                      {w.disabled && <span class="badge held"> disabled</span>}
                    </td>
                    <td>{w.failed}</td>
                    <td>{w.succeeded}</td>
                    <td>{w.held}</td>
                    <td>{w.successRate === null ? "—" : `${Math.round(w.successRate * 100)}%`}</td>
                    {/* Beside a long URL, which auto layout gave the room, this read "14:13:31 Z" and "connectio n" at 700 px. */}
                    <td class="prose">
                      <Time iso={w.lastFailureAt} /> {w.lastError && <span class="muted">{legible(w.lastError)}</span>}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </Scroll>
        </>
      ) : (
        // The API lists none to a token without webhooks:read: an empty table would read as "none failing".
        <p class="muted">Each webhook's counts need the webhooks:read scope, which this token does not hold.</p>
      )}
    </div>
  );
}
