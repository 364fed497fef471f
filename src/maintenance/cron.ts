import { retentionHorizon, settings } from "../domain/settings";
import { EXPIRED_GRACE_MS } from "../domain/delivery";
import { HOUR_MS, MINUTE_MS } from "../domain/time";
import { isIngestMessage } from "../domain/types";
import type { Env } from "../env";
import { requeue } from "../ingress/enqueue";
import { closeQuietAlerts, openLastingFailures } from "../pipeline/alerts";
import { disableFailing, expireAtRetention, expireDeletedOwed, expireHeld, holdDisabledPending, redrive, release } from "../pipeline/commands";
import { purgeClosedAlerts } from "../store/alerts";
import { deadLetterOf } from "../pipeline/dead-letters";
import { countParked, listParked, setAside, unpark } from "../store/parked";
import { QUEUES } from "../pipeline/queues";
import { foldEventCountDeltas, foldEventCounts } from "../store/counters";
import { markMessagesReplayed, purgeClosedDeadLetters, recordParkedLetters, reopenStaleClaims } from "../store/dead-letters";
import { purgeRejectionCounts, purgeRejectionSamples } from "../store/rejections";
import { purgeExpiredReveals, purgeExpiredSessions } from "../store/sessions";
import { applyRetentionPurges } from "../store/retention";
import { clearExpiredPreviousSecrets } from "../store/webhooks";

/**
 * The retention's cutoff moves on this grid, so at 1,000,000 events a day a run
 * purges ~6,900 events every ten minutes (two chunks) instead of ~700 every minute: a chunk
 * pays one write per hour counter row its events are in (their locations,
 * organizations and everyone's), and a bigger chunk shares those rows among more
 * events. Events go at most this much later than RETENTION_DAYS.
 */
export const RETENTION_GRID_MS = 10 * MINUTE_MS;
/** Bounds per run, so one run stays well inside the cron's limits. */
const RETENTION_CHUNK = 5_000;
const RETENTION_CHUNKS = 4;
/** Parked letters of each kind (ingest, the others) one maintenance run takes out of R2 at most. */
const UNPARK_LIMIT = 50;
/** Rows each purge of what only the operator's views keep deletes at most a run (rejection counts come 2 a source an hour). */
export const PURGE_LIMITS = {
  closedAlerts: 1_000,
  deadLetters: 1_000,
  sessions: 1_000,
  reveals: 1_000,
  rejectionCounts: 5_000,
  rejectionSamples: 1_000,
  previousSecrets: 1_000,
} as const;
/**
 * An ingest letter's replay claims it, queues its message, then settles or lets go of the claim
 * within one request; a claim this old was cut short, and is reopened (reopenStaleClaims).
 */
export const STALE_CLAIM_MS = 10 * MINUTE_MS;
/**
 * Ingest's pending counts (store/counters.ts) are folded once the oldest is this old: a fold
 * writes a counter row per scope and hour its batches touched, so the fewer folds the more
 * batches share each row (at 1,000,000 events a day, ~70 batches a fold); reads add what waits.
 */
export const DELTA_FOLD_AGE_MS = 10 * MINUTE_MS;

interface MaintenanceReport {
  released: number;
  /** Pending deliveries of disabled webhooks held (past the chunk their disable held). */
  held: number;
  /** Held or pending deliveries settled as `expired`: held past the retention, of events reaching it, or owed to deleted webhooks. */
  expired: number;
  purged: number;
  redriven: number;
  /** Dead letters taken out of R2: re-ingested, or recorded in D1. */
  unparked: number;
  /** Dead letters still waiting in R2 after this run (counted up to 1000). */
  parked: number;
  /** Webhooks disabled because every attempt failed for their autoDisableAfterMinutes. */
  disabled: number;
  /** Alert episodes closed after a quiet hour (ingest dead letters, rejection spikes). */
  alertsClosed: number;
  /** `webhook.failing` episodes opened for streaks the re-open cool-down passed over that lasted. */
  alertsOpened: number;
  /** Steps that failed this run (each is retried by the next). */
  failed: string[];
}

/**
 * Takes parked dead letters out of R2: an ingest message goes back on the ingest
 * queue (so its event is stored once D1 is back; its claim-checked body, if any,
 * is still in R2), a delivery's dead letter is recorded in D1. Each object is
 * deleted only after that succeeded.
 */
async function drainParked(env: Env, now: number): Promise<number> {
  // A page of each kind: ingest letters need no D1, the others do, so neither holds the other back
  // (one listing would give the others first, their queue's name sorting first, for as long as D1
  // is down; or the ingest ones, for as long as the ingest queue refuses them).
  const parked = [
    ...(await listParked(env.BODIES, UNPARK_LIMIT, { of: QUEUES.ingestDead })),
    ...(await listParked(env.BODIES, UNPARK_LIMIT, { notOf: QUEUES.ingestDead })),
  ];
  const done: string[] = [];
  const requeued: string[] = [];
  // The two kinds go separately: the queue failing keeps no delivery letter from D1, nor D1 the other way.
  let failure: unknown = null;
  try {
    for (const { key, letter } of parked.filter((p) => p.letter.queue === QUEUES.ingestDead)) {
      try {
        if (!isIngestMessage(letter.body)) {
          await setAside(env.BODIES, key, "not an ingest message");
          continue;
        }
        await requeue(env, letter.body);
      } catch (err) {
        failure = err;
        break;
      }
      console.warn("parked dead letter re-ingested", { eventId: letter.body.eventId });
      done.push(key);
      requeued.push(letter.messageId);
    }
    const others = parked.filter((p) => p.letter.queue !== QUEUES.ingestDead);
    if (others.length > 0) {
      try {
        await recordParkedLetters(
          env.DB,
          others.map((p) => deadLetterOf(p.letter, now)),
        );
        done.push(...others.map((p) => p.key));
      } catch (err) {
        failure ??= err;
      }
    }
  } finally {
    // A letter parked because D1's answer was lost may be recorded there too: replayed now, it is
    // closed there, not left open to be replayed again (D1 still down: it stays open, as before).
    await markMessagesReplayed(env.DB, requeued, now).catch((err) =>
      console.error("closing the records of re-ingested parked letters failed", { count: requeued.length, error: String(err) }),
    );
    // What went through is let go of even when a later letter failed.
    await unpark(env.BODIES, done);
  }
  if (failure !== null) throw failure;
  return done.length;
}

/**
 * The retention of a run (expireAtRetention): what is owed of events older than
 * `retentionDays` (on RETENTION_GRID_MS) expires, and what is settled is purged once its
 * expired deliveries have been visible for EXPIRED_GRACE_MS, in bounded chunks.
 */
export async function retention(
  env: Env,
  now: number,
  retentionDays: number,
  bounds: { chunk: number; chunks: number } = { chunk: RETENTION_CHUNK, chunks: RETENTION_CHUNKS },
  total: { expired: number; purged: number } = { expired: 0, purged: 0 },
): Promise<{ expired: number; purged: number }> {
  const cutoff = Math.floor(retentionHorizon({ retentionDays }, now) / RETENTION_GRID_MS) * RETENTION_GRID_MS;
  return expireAtRetention(env, { cutoff, graceCutoff: now - EXPIRED_GRACE_MS, now }, bounds, total);
}

/** What every step of a run reads: its time, and the retention (what is older than `horizon` is past it). */
interface Run {
  now: number;
  retentionDays: number;
  horizon: number;
}

type Step = (env: Env, run: Run, report: MaintenanceReport) => Promise<void>;

/** The maintenance run, in order: each step is idempotent, and runs even when another failed. */
const STEPS: [name: string, step: Step][] = [
  // First, and without D1: parked dead letters go back on the ingest queue.
  ["unpark", async (env, { now }, r) => void (r.unparked = await drainParked(env, now))],
  ["expire-held", async (env, { now, horizon }, r) => void (r.expired += await expireHeld(env, horizon, now))],
  // The report counts what its chunks committed (`r` itself), even when a later one fails.
  ["expire-deleted", async (env, { now }, r) => void (await expireDeletedOwed(env, now, undefined, r))],
  ["hold-disabled", async (env, _run, r) => void (await holdDisabledPending(env, undefined, r))],
  ["release", async (env, { now }, r) => void (r.released = await release(env, {}, now))],
  // Before the retention, so that it purges hours already out of the totals (their rows only).
  [
    "fold-counts",
    async (env, { now, horizon }) => {
      await foldEventCountDeltas(env.DB, now - DELTA_FOLD_AGE_MS);
      await foldEventCounts(env.DB, Math.floor(now / HOUR_MS), Math.floor(horizon / HOUR_MS));
    },
  ],
  [
    "retention",
    async (env, { now, retentionDays }, r) => void (await retention(env, now, retentionDays, undefined, r)),
  ],
  // After it: the purges of the hours it has passed (this run's included) come off the counters at once.
  ["count-purges", async (env) => void (await applyRetentionPurges(env.DB))],
  ["redrive", async (env, { now }, r) => void (r.redriven = await redrive(env, now))],
  // Before the auto-disable: a streak due for both is announced failing, then disabled.
  ["lasting-failures", async (env, { now }, r) => void (r.alertsOpened = await openLastingFailures(env, now))],
  [
    "auto-disable",
    // Each webhook disabled with its alert, in one transaction; a millisecond after the run's time, so a
    // webhook the step before announced failing has its disable's alert stamped after that one.
    async (env, { now }, r) => void (r.disabled = (await disableFailing(env, now + 1)).length),
  ],
  ["quiet-alerts", async (env, { now }, r) => void (r.alertsClosed = await closeQuietAlerts(env, now))],
  ["closed-alerts", async (env, { horizon }) => void (await purgeClosedAlerts(env.DB, horizon, PURGE_LIMITS.closedAlerts))],
  [
    "dead-letters",
    async (env, { now, horizon }) => {
      const reopened = await reopenStaleClaims(env.DB, now - STALE_CLAIM_MS);
      if (reopened > 0) console.warn("dead letters whose replay was cut short are open again", { letters: reopened });
      await purgeClosedDeadLetters(env.DB, horizon, PURGE_LIMITS.deadLetters);
    },
  ],
  [
    "sessions",
    async (env, { now }) => {
      await purgeExpiredSessions(env.DB, now, PURGE_LIMITS.sessions);
      await purgeExpiredReveals(env.DB, now, PURGE_LIMITS.reveals);
    },
  ],
  [
    "rejections",
    async (env, { horizon }) => {
      await purgeRejectionCounts(env.DB, horizon, PURGE_LIMITS.rejectionCounts);
      await purgeRejectionSamples(env.DB, horizon, PURGE_LIMITS.rejectionSamples);
    },
  ],
  // A rotation's previous secret signs nothing once its window has ended, so it is not kept past it.
  ["previous-secrets", async (env, { now }) => void (await clearExpiredPreviousSecrets(env.DB, now, PURGE_LIMITS.previousSecrets))],
  ["count-parked", async (env, _run, r) => void (r.parked = await countParked(env.BODIES))],
];

/** The every-minute maintenance run. */
export async function runMaintenance(env: Env, now = Date.now()): Promise<MaintenanceReport> {
  const report: MaintenanceReport = {
    released: 0,
    held: 0,
    expired: 0,
    purged: 0,
    redriven: 0,
    unparked: 0,
    parked: 0,
    disabled: 0,
    alertsClosed: 0,
    alertsOpened: 0,
    failed: [],
  };
  const s = settings(env);
  const run: Run = { now, retentionDays: s.retentionDays, horizon: retentionHorizon(s, now) };
  for (const [name, step] of STEPS) {
    try {
      await step(env, run, report);
    } catch (err) {
      report.failed.push(name);
      console.error("maintenance step failed", { step: name, error: String(err) });
    }
  }
  if (report.parked > 0) console.error("dead letters are waiting in R2 for D1", { parked: report.parked });
  const { failed, ...counts } = report;
  if (failed.length > 0 || Object.values(counts).some((n) => n > 0)) console.log("maintenance", report);
  return report;
}
