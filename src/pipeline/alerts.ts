/**
 * Raising alerts: episodes opened, counted and closed (store/alerts.ts), and the
 * alerts they send. An alert is stored as an event of the reserved source
 * `edgehook`, routed only to the notification endpoints subscribed to its type, so
 * it goes out through the same scheduler, signing, retries and destination checks
 * as any event, each endpoint with its own scheduler. An episode opens or closes in
 * the transaction that stores its alert, so none is open (or closed) unannounced
 * (`webhook.disabled` opens in the one that disables its webhook: commands.ts disableFailing).
 * Raising never throws: the attempts or the maintenance step it follows are committed
 * whatever happens here.
 */
import {
  attemptEpisodes,
  FAILING_LASTED_MS,
  failingData,
  INGEST_SUBJECT,
  QUIET_CLOSE_MS,
  REFAILING_COOLDOWN_MS,
  type AlertData,
  type EpisodeAction,
} from "../domain/alerts";
import type { Webhook } from "../domain/types";
import { stringsIn } from "../store/stored-json";
import { deadLettered } from "./attempt";
import type { Env } from "../env";
import {
  closeEpisodeStatements,
  countIn,
  deliveringAgainEpisodes,
  openEpisodeOf,
  openEpisodeStatement,
  openLastingFailureStatement,
  quietEpisodes,
  type AlertEpisode,
  type AttemptAlertContext,
  type NewEpisode,
} from "../store/alerts";
import type { AttemptOutcome } from "../store/deliveries";
import { markHoursAlertedStatement, rejectionSummaries, releaseClaims, type RejectionClaim, type RejectionSummary } from "../store/rejections";
import { notificationEndpoints } from "../store/webhooks";
import { unannouncedFailures } from "../store/health";
import { announcement, newEpisodeId } from "./alert-events";
import { drawn } from "../domain/random-sample";
import { writeAnnounced } from "./commands";

/** Quiet episodes one maintenance run reads at most, of each query. */
const QUIET_PER_RUN = 100;
/**
 * Of those, the episodes it closes at most, drawn at random (the next runs take the rest): each a
 * transaction of 13 statements with its alert, bounded however many webhooks have one (D1 allows
 * 1,000 queries an invocation: docs/scale-and-cost.md).
 */
export const QUIET_CLOSES_PER_RUN = 10;
/** Lasting failing streaks one maintenance run opens at most (of up to QUIET_PER_RUN read), a transaction each as a close. */
export const LASTING_OPENS_PER_RUN = 5;

/**
 * Writes an episode's opening (`closedAt` null) or closing (`changes`) in one transaction with the
 * alert that says so, stamped with the episode's time, sent to the endpoints subscribed to its type:
 * if either fails, neither is written, and the next run that finds the condition raises it again.
 * An alert no endpoint subscribes to is not stored; the change is written alone.
 */
async function announce(env: Env, e: NewEpisode, closedAt: number | null, changes: D1PreparedStatement[], endpoints?: Webhook[]): Promise<void> {
  await writeAnnounced(env, await announcement(endpoints ?? (await notificationEndpoints(env.DB)), e, closedAt), changes);
}

/**
 * Counts an occurrence in its open episode, or opens one at `raisedAt`, announced. `also` is written
 * in the transaction of whichever it does; with `mayOpen` false it only counts in an open one.
 */
async function open(
  env: Env,
  a: Extract<EpisodeAction, { kind: "open" }>,
  raisedAt: number,
  { also = [], mayOpen = true }: { also?: D1PreparedStatement[]; mayOpen?: boolean } = {},
): Promise<void> {
  // Counted at when it happened, compared with the webhook's successes (deliveringAgainEpisodes).
  const at = a.at ?? raisedAt;
  if (await countIn(env.DB, { ...a, now: at }, also)) return;
  if (!mayOpen) return;
  const id = newEpisodeId();
  const e: NewEpisode = { id, type: a.type, subject: a.subject, openedAt: raisedAt, lastAt: at, count: a.initialCount, data: a.data };
  try {
    await announce(env, e, null, [openEpisodeStatement(env.DB, e), ...also]);
  } catch (err) {
    // Another run opened it meanwhile (nothing of this one was written): count in there.
    // Unless the one open is this one (written, its answer lost): it counts this already.
    const opened = await openEpisodeOf(env.DB, a.type, a.subject);
    if (opened?.id === id) return;
    if (opened && (await countIn(env.DB, { ...a, now: at }, also))) return;
    throw err;
  }
}

/** Closes an open episode, announced (to `endpoints`, when read already). */
async function close(env: Env, e: AlertEpisode, now: number, endpoints?: Webhook[]): Promise<void> {
  await announce(env, e, now, closeEpisodeStatements(env.DB, e, now), endpoints);
}

/**
 * Applies episode changes in order, announcing each opening and closing; one that fails (logged)
 * does not stop the others. Each is raised at `now`, an opening at when it happened (`at`: a dead
 * letter's attempt), but each at least a millisecond after the one before, so the alerts of one
 * batch carry strictly increasing timestamps in the order raised (a receiver keeping the latest can
 * order them): a dead letter after a recovery in one batch opens a millisecond after it.
 */
async function apply(env: Env, actions: EpisodeAction[], now: number): Promise<void> {
  let last = -Infinity;
  for (const a of actions) {
    const at = Math.max(a.kind === "open" ? (a.at ?? now) : now, last + 1);
    last = at;
    await safely(`${a.kind} ${a.type}`, async () => {
      if (a.kind === "open") {
        await open(env, a, at, { mayOpen: a.countOnly !== true });
      } else {
        if (a.count > 0) await countIn(env.DB, { ...a, now: a.at ?? at });
        const e = await openEpisodeOf(env.DB, a.type, a.subject);
        if (e) await close(env, e, at);
      }
    });
  }
}

async function safely(what: string, work: () => Promise<void>): Promise<void> {
  try {
    await work();
  } catch (err) {
    console.error("raising alerts failed", { what, error: String(err) });
  }
}

/**
 * After a webhook's attempts are recorded: failing, dead letters, recovery. A
 * notification endpoint's own attempts raise nothing (no alert about alerts).
 */
export async function alertAfterAttempts(env: Env, w: Webhook, outcomes: AttemptOutcome[], context: AttemptAlertContext | null, now = Date.now()) {
  if (w.kind !== "webhook" || !context) return;
  await safely("attempts", async () => {
    const dead = new Set(deadLettered(outcomes, context));
    const facts = outcomes.map((o) => ({
      ok: o.status === "succeeded",
      deadLettered: dead.has(o),
      error: o.attempt.error,
      deliveryId: o.attempt.deliveryId,
      endedAt: o.attempt.startedAt + o.attempt.durationMs,
    }));
    const after = {
      consecutiveFailures: context.consecutive_failures ?? 0,
      failingSince: context.failing_since,
      open: stringsIn(context.open),
      failingClosedAt: context.failing_alert_closed_at,
    };
    await apply(env, attemptEpisodes(w, facts, after, now), now);
  });
}


/** Events could not be stored and were dead-lettered. */
export async function alertIngestDeadLetters(env: Env, count: number, reason: string, now = Date.now()) {
  if (count === 0) return;
  await safely("ingest dead letters", () =>
    apply(env, [{ kind: "open", type: "ingest.dead_lettered", subject: INGEST_SUBJECT, count, initialCount: count, data: { reason } }], now),
  );
}

/**
 * After a batch of refusal tallies is recorded, with what it claimed (recordRejections): each
 * source that claimed refusals of an hour at REJECTING_THRESHOLD opens (or counts them in)
 * `source.rejecting`, with the breakdown by reason of its latest such hour. The claims were made
 * in the tallies' transaction, so a batch recorded at the same time claimed only its own refusals:
 * none is counted twice, and an hour's refusals before the threshold go to the batch that took it
 * there. An hour that already counted in an episode opens no other (a late tally of it, once that
 * closed). Claims an episode could not be told of are given back for the hour's next batch.
 */
export async function alertRejecting(env: Env, claims: RejectionClaim[], now = Date.now()) {
  const bySource = new Map<string, RejectionClaim[]>();
  for (const c of claims) if (c.claimed > 0) bySource.set(c.sourceId, [...(bySource.get(c.sourceId) ?? []), c]);
  if (bySource.size === 0) return;
  await safely("rejections", async () => {
    // A source's episode takes the breakdown of its latest claimed hour: one bounded read per such
    // hour (one, or two at an hour's turn).
    const latest = new Map([...bySource].map(([sourceId, list]) => [sourceId, list.reduce((a, b) => (b.hour > a.hour ? b : a))]));
    const byHour = new Map<number, string[]>();
    for (const [sourceId, c] of latest) byHour.set(c.hour, [...(byHour.get(c.hour) ?? []), sourceId]);
    const breakdowns = new Map<string, RejectionSummary[]>();
    try {
      for (const [hour, sources] of byHour) for (const [id, list] of await rejectionSummaries(env.DB, sources, hour)) breakdowns.set(id, list);
    } catch (err) {
      // No episode was told of any claim: all are given back, as after a failed write.
      await releaseClaims(env.DB, [...bySource.values()].flat()).catch((e: unknown) => console.error("giving back claimed refusals failed", { error: String(e) }));
      throw err;
    }
    for (const [sourceId, list] of bySource) {
      await safely("rejections", async () => {
        const count = list.reduce((n, c) => n + c.claimed, 0);
        // A new episode is opened only by hours that have not counted in one, and counts only them.
        const fresh = list.filter((c) => !c.alerted);
        const initialCount = fresh.reduce((n, c) => n + c.claimed, 0);
        const reasons = Object.fromEntries((breakdowns.get(sourceId) ?? []).filter((r) => r.thisHour > 0).map((r) => [r.reason, r.thisHour]));
        const data: AlertData = { sourceId, thisHour: latest.get(sourceId)?.total ?? count, reasons };
        const action = { kind: "open", type: "source.rejecting", subject: sourceId, count, initialCount, data } as const;
        const also = [markHoursAlertedStatement(env.DB, action.type, sourceId, list.map((c) => c.hour))];
        try {
          await open(env, action, now, { also, mayOpen: fresh.length > 0 });
        } catch (err) {
          await releaseClaims(env.DB, list).catch((e: unknown) => console.error("giving back claimed refusals failed", { sourceId, error: String(e) }));
          throw err;
        }
      });
    }
  });
}

/**
 * Closes episodes quiet for an hour (QUIET_CLOSES_PER_RUN drawn from up to QUIET_PER_RUN of each
 * query: ingest dead letters and rejection spikes together, a webhook's dead letters apart),
 * announcing each; returns how many closed. Ingest dead letters and rejection spikes close on the quiet alone;
 * a webhook's dead letters once it has also delivered since the last, so a flaky downstream
 * makes one episode while it keeps dead-lettering, not one per dead letter.
 */
export async function closeQuietAlerts(env: Env, now = Date.now()): Promise<number> {
  const cutoff = now - QUIET_CLOSE_MS;
  const quiet = drawn(
    [
      ...(await quietEpisodes(env.DB, ["ingest.dead_lettered", "source.rejecting"], cutoff, QUIET_PER_RUN)),
      ...(await deliveringAgainEpisodes(env.DB, cutoff, QUIET_PER_RUN)),
    ],
    QUIET_CLOSES_PER_RUN,
  );
  if (quiet.length === 0) return 0;
  // Read once for all of them, as the auto-disable does.
  const endpoints = await notificationEndpoints(env.DB);
  let closed = 0;
  for (const e of quiet) {
    await safely("quiet", async () => {
      await close(env, e, now, endpoints);
      closed++;
    });
  }
  return closed;
}

/**
 * Opens, announced, the `webhook.failing` episodes of the streaks the re-open cool-down passed over
 * (attemptEpisodes) once they have lasted FAILING_LASTED_MS: of enabled webhooks at their
 * failingAfterAttempts with none open, LASTING_OPENS_PER_RUN drawn from up to QUIET_PER_RUN read.
 * Only webhooks whose episode closed within twice the cool-down: one passed over reached the
 * threshold within the cool-down of the close, so it is due within it and FAILING_LASTED_MS; the
 * rest is slack for runs missed (the reads do not grow with webhooks failing, announced at once,
 * nor with those that recovered long ago). Returns how many opened.
 */
export async function openLastingFailures(env: Env, now = Date.now()): Promise<number> {
  const range = { closedFrom: now - 2 * REFAILING_COOLDOWN_MS, lastedFrom: now - FAILING_LASTED_MS };
  const due = drawn(await unannouncedFailures(env.DB, range, QUIET_PER_RUN), LASTING_OPENS_PER_RUN);
  if (due.length === 0) return 0;
  const endpoints = await notificationEndpoints(env.DB);
  let opened = 0;
  for (const f of due) {
    await safely("lasting failure", async () => {
      const e: NewEpisode = { id: newEpisodeId(), type: "webhook.failing", subject: f.uid, openedAt: now, lastAt: now, count: f.consecutiveFailures, data: failingData(f, f) };
      await announce(env, e, null, [openLastingFailureStatement(env.DB, e, f.failingSince)], endpoints);
      opened++;
    });
  }
  return opened;
}
