/**
 * One webhook's deliveries, sent within its limits: at most maxConcurrency in
 * flight (one for FIFO), starts spaced to keep rateLimit, a pause after a 429/503
 * with Retry-After or a downstream that does not answer, and for FIFO strictly
 * the owed deliveries in the order their events were received. D1 stays the
 * truth: what to send is read from it a page at a time, each attempt is recorded
 * in it (several at once under load), and nothing here is lost with the object
 * but the attempts not yet recorded, which are then simply made again.
 *
 * The Durable Object WebhookScheduler (scheduler.ts) is the only runner of a
 * webhook's flow, which is what makes its limits hold across every isolate.
 */
import { isPastRetention } from "../domain/delivery";
import { concurrencyOf, Pacer, pauseAfter, RateMeter, Silence } from "../domain/flow";
import { retentionHorizon, settings, type Settings } from "../domain/settings";
import type { Webhook } from "../domain/types";
import type { Env } from "../env";
import { announceAttempts } from "../listen/announce";
import { duePastRetention, duePending, firstOwed, heldFrom, owedInOrder, pendingOutlook, type FlowJob, type OwedHead } from "../store/scheduler-reads";
import { getWebhook } from "../store/webhooks";
import type { AttemptAlertContext } from "../store/alerts";
import { alertAfterAttempts } from "./alerts";
import { attemptDelivery, type Attempted } from "./attempt";
import { transforms } from "./outbound";
import { expireUnsent, holdWebhook, recordAttempts, RELEASE_LIMIT, releaseNext } from "./commands";

/** Due deliveries read at a time (unordered), and owed ones looked ahead at (FIFO). */
const PAGE = 50;
const FIFO_PAGE = 20;
/** Attempts recorded in one D1 transaction, at most; a steady flow records this many at a time. */
const RECORD_BATCH = 50;
/**
 * An attempt waits at most this long for others to join its transaction: a steady flow below
 * RECORD_BATCH a second, whose requests overlap, would otherwise leave every answer unrecorded
 * (the delivery pending in the API, tail and health silent) until the run ends, up to 30 s.
 */
const RECORD_WITHIN_MS = 1_000;
/** When D1 refused to record attempts (or to expire a delivery past the retention), the next try. */
const RECORD_RETRY_MS = 5_000;
/**
 * During a pause, what is due past the retention is looked for at most this often: every wake (an
 * ingest's) starts a run, and a read a run would be one per ingest batch (the maintenance run's grid
 * is ten minutes).
 */
const PAUSE_SWEEP_MS = 60_000;
/**
 * Attempts held unrecorded at most: past this no attempt starts until some are recorded. While D1
 * refused every recording (its writes failing, its reads not), an unordered webhook went on sending
 * its whole backlog, each attempt kept in the object's memory (and its id in every read's exclusion
 * list), however large the backlog. A healthy flow records 50 at a time.
 */
export const MAX_UNRECORDED = 4 * RECORD_BATCH;

interface RunOptions {
  /** No attempt starts after this time. */
  deadline: number;
  /** Nor more than this many in one run. */
  maxStarts: number;
  /** Nor once the run's transformations took this many evaluation steps in all (their CPU counts per invocation too). */
  maxTransformSteps: number;
  /** A start that must wait (pacing, a pause, a due time) is waited for within the run if it is this close; else the run ends and says when. */
  maxWaitMs: number;
}

/** What the scheduler can say about its webhook right now. */
export interface FlowStatus {
  inFlight: number;
  /** Epoch ms until which nothing starts (a 429/503 Retry-After, or a downstream that did not answer), or null. */
  pausedUntil: number | null;
  attemptsPerSecond: number;
  /** Deliveries settled (succeeded, or failed for good) per second. */
  settledPerSecond: number;
  /**
   * Epoch ms of its next run (the scheduler's alarm) when none is under way and nothing is in flight, or null: nothing
   * starts before it (a retry's due time, a FIFO head's, which holds everything behind it, a pause's end).
   */
  nextRunAt: number | null;
}

export const IDLE_STATUS: FlowStatus = { inFlight: 0, pausedUntil: null, attemptsPerSecond: 0, settledPerSecond: 0, nextRunAt: null };

type Next = { kind: "start"; job: FlowJob } | { kind: "wait"; at: number } | { kind: "none" };

/**
 * Why a scheduler is woken. `added`: only new deliveries were made (events stored), which leaves what
 * was read ahead first. `owedAnew`: deliveries it had already are owed again (a retry by hand, a release
 * of held ones), perhaps one whose attempt is out. `changed`: anything else (the webhook changed, older
 * events' new deliveries (a replay), an expiry, a redrive), which has it read again what is due.
 */
export type WakeReason = "added" | "owedAnew" | "changed";

export class WebhookFlow {
  private webhook: Webhook | null = null;
  /** A wake arrived: read the webhook and the store again before the next start. */
  private stale = true;
  /** A wake that may have changed what the page read ahead holds (anything but new deliveries): read it again. */
  private reread = true;
  /** Read ahead from D1: due deliveries (unordered), or the owed ones in order, head first (FIFO). */
  private buffer: FlowJob[] = [];
  /**
   * Unordered: no held delivery's event was received before this (null: none is held; undefined: not
   * known, read before the next page is sent): a page with a newer delivery releases the next held ones first.
   */
  private heldFrom: number | null | undefined = undefined;
  /** FIFO: whether the page read ahead still comes next is checked against D1 before the next start (its head settled, say). */
  private recheck = false;
  private readonly inFlight = new Map<string, Promise<void>>();
  /**
   * The delivery whose transformation is running, if one is: nothing starts until it ended, so that
   * each start knows what the run's transformations took so far (they share one thread anyway).
   */
  private transforming: string | null = null;
  /** Evaluation steps the run's transformations took, counted against its maxTransformSteps. */
  private transformSteps = 0;
  /** Attempts made and not recorded yet; their deliveries are never picked again meanwhile. */
  private readonly unrecorded: Attempted[] = [];
  /**
   * Deliveries of unrecorded attempts (short of success) someone may have asked for again while the attempt was out (an
   * `owedAnew` wake: a retry by hand, a release): owed anew, due since their event's receipt, they go before newer events,
   * which a pick leaving them out (unrecorded) would start first. Nothing is picked until they are recorded.
   */
  private readonly askedAgain = new Set<string>();
  /** Counts `owedAnew` wakes, so an attempt tells whether one came while it was out. */
  private asks = 0;
  private recording: Promise<void> | null = null;
  private recordRetryAt = 0;
  private recordTimer: ReturnType<typeof setTimeout> | null = null;
  /** Deliveries past the retention whose expiry D1 refused, and when it is tried again: not picked before. */
  private readonly expiryRetries = new Map<string, number>();
  private readonly pacer: Pacer;
  private pausedUntil: number;
  /** When a pause next looks for deliveries due past the retention (PAUSE_SWEEP_MS). */
  private sweepAfter = 0;
  /** The part of the pause the downstream asked for (Retry-After); the rest of pausedUntil is for a downstream that looked down, which an answer ends. */
  private askedUntil: number;
  /** Deliveries unanswered since the downstream last answered (unordered: FIFO keeps none): one slow delivery alone pauses nothing. */
  private readonly silence: Silence;
  /** How many times someone asked for the deliveries now (`resume`). */
  private resumes = 0;
  private readonly meter = new RateMeter();
  private running: Promise<number | null> | null = null;
  private poke: (() => void) | null = null;
  /** Counts completions, recordings and wakes, so a run notices one that happened while it awaited D1. */
  private changes = 0;

  constructor(
    private readonly env: Env,
    readonly uid: string,
    /**
     * The pause survives the object: it is given back here and reported through `paused`; so do
     * the deliveries unanswered since the downstream last answered (`unanswered`, `silenced`: Silence).
     * `restarted`: when this flow's object came to be, another instance of it having perhaps
     * started requests just before (its first start keeps their spacing: Pacer).
     */
    private readonly pause: {
      until?: number;
      paused?(until: number): void;
      unanswered?: readonly string[];
      silenced?(unanswered: string[]): void;
      restarted?: number;
    } = {},
    /** Held deliveries one release takes (RELEASE_LIMIT; tests take fewer). */
    private readonly releaseLimit = RELEASE_LIMIT,
  ) {
    this.pacer = new Pacer(pause.restarted ?? null);
    this.silence = new Silence(pause.unanswered, pause.silenced);
    this.pausedUntil = pause.until ?? 0;
    // Why a stored pause was set is not kept: it lasts as if asked for.
    this.askedUntil = this.pausedUntil;
  }

  /** Ends a pause a downstream asked for (Retry-After): someone asked for its deliveries now. */
  resume(): void {
    // An answer to an attempt started before the ask (perhaps to the URL it replaced) pauses nothing.
    this.resumes++;
    this.askedUntil = 0;
    // The silence counted before (of the URL it replaced, perhaps) does not make the next unanswered delivery a second one.
    this.silence.forget();
    if (this.pausedUntil === 0) return;
    this.pausedUntil = 0;
    this.pause.paused?.(0);
  }

  /**
   * New deliveries, deliveries owed again, or the webhook changed: look again (`why`: WakeReason). New
   * deliveries alone leave what was read ahead first (FIFO: its head is checked); anything else reads it
   * again, and only deliveries owed anew may be ones whose attempt is out (askedAgain).
   */
  wake(why: WakeReason = "changed"): void {
    if (why !== "added") this.reread = true;
    if (why === "owedAnew") {
      this.asks++;
      // An attempt answered already but not recorded was out too when the ask was made (its wake-up follows the commit).
      for (const a of this.unrecorded) if (a.outcome.status !== "succeeded") this.askedAgain.add(a.outcome.attempt.deliveryId);
    }
    this.stale = true;
    this.nudge();
  }

  /** A wake that no run has acted on yet. */
  get woken(): boolean {
    return this.stale;
  }

  /** Its webhook was read and is deleted, and nothing it started is left in flight or unrecorded: it has no more to do. */
  get gone(): boolean {
    return !this.stale && this.webhook === null && this.inFlight.size === 0 && this.unrecorded.length === 0;
  }

  /** What the flow itself knows; its next run is its scheduler's (WebhookScheduler.status). */
  status(now = Date.now()): Omit<FlowStatus, "nextRunAt"> {
    return { inFlight: this.inFlight.size, pausedUntil: this.pausedUntil > now ? this.pausedUntil : null, ...this.meter.rates(now) };
  }

  /**
   * Sends what is due, within the limits, until nothing more can start now (or
   * the run's bounds are reached) and what is in flight is recorded. Returns when
   * to run again: the next due time, the end of a pause, or null when nothing is
   * owed. One run at a time: a second caller shares the first's.
   */
  run(opts: RunOptions): Promise<number | null> {
    this.running ??= this.loop(opts).finally(() => (this.running = null));
    return this.running;
  }

  private async loop(opts: RunOptions): Promise<number | null> {
    const s = settings(this.env);
    let starts = 0;
    this.transformSteps = 0;
    this.record(); // a new run is also the next try of a recording that failed
    // Each run reads its webhook again: a change whose wake-up was lost (the call failed after the
    // change committed) reaches the sends within a run, not only at the next change.
    this.stale = true;
    this.reread = true;
    for (;;) {
      if (this.stale) {
        this.stale = false;
        const reread = this.reread;
        this.reread = false;
        const before = this.webhook;
        try {
          this.webhook = await getWebhook(this.env.DB, this.uid);
        } catch (err) {
          // The wake is not used up: the next run reads the webhook again.
          this.stale = true;
          this.reread = true;
          throw err;
        }
        // New deliveries (most wakes of a busy webhook: an ingest's) come after the page read ahead
        // (due later, received later, but for a late one FIFO's head check finds): it is kept, so a
        // steady flow does not read a page (bodies and all) again per wake. Any other wake (a
        // retention's expiry, say), a change of the webhook or a new run reads it again.
        const w = this.webhook;
        const changed = !w || !before || w.updatedAt !== before.updatedAt || w.disabled;
        if (reread || changed) this.buffer = [];
        // Deliveries are held only while the webhook is disabled, and it is enabled again by a change: at the
        // version read before, what is held only shrank (released, expired, settled) and heldFrom still holds,
        // so a run's first release does not walk again the retries waiting ahead of the held ones (releaseMore).
        if (changed) this.heldFrom = undefined;
        // FIFO: an older delivery owed again (a retry, a replay), or its head retried, goes first: checked before the next start.
        else if (w.ordering === "fifo") this.recheck = true;
        continue;
      }
      const w = this.webhook;
      if (!w || w.disabled) {
        // Deleted: what it was owed expires (with it, the rest by the maintenance run). Disabled: what is pending waits, held,
        // once what is in flight is recorded (a delivery it settles is not owed again).
        await this.settle();
        // A chunk a transaction (HOLD_CHUNK): what the run's time leaves pending, the next run (at once) holds.
        const more = w ? await holdWebhook(this.env, w, { deadline: opts.deadline }) : false;
        if (this.stale) continue;
        if (more) return Date.now();
        // Attempts D1 refused to record are still owed their recording: the next run tries again.
        return this.unrecorded.length > 0 ? this.recordRetryAt || Date.now() + RECORD_RETRY_MS : null;
      }

      const seen = this.changes;
      const now = Date.now();
      const blocked = this.blockedUntil(w, now);
      if (this.pausedUntil > now && now >= this.sweepAfter) {
        // A pause holds back what goes to the downstream, not an expiry, which sends nothing: what is due past
        // the retention is expired now (once a minute), not once all that is owed before it went out, which a
        // downstream pausing it again at each end never lets happen (the maintenance run's grid expired it).
        this.sweepAfter = now + PAUSE_SWEEP_MS;
        await this.expirePastDue(s, now);
        continue;
      }
      const open = now < opts.deadline && starts < opts.maxStarts && this.transformSteps < opts.maxTransformSteps;
      // FIFO moves past a delivery only once its attempt is recorded, so that no later
      // one goes out while a restart could still send it again; unordered, once fewer than
      // MAX_UNRECORDED wait to be recorded. Neither starts one while a delivery perhaps asked
      // for again is unrecorded (askedAgain), which is recorded at once (unless D1 refused it).
      const waitsForRecord = this.askedAgain.size > 0 || (w.ordering === "fifo" ? this.unrecorded.length > 0 : this.unrecorded.length >= MAX_UNRECORDED);
      if (this.askedAgain.size > 0 && this.recordRetryAt === 0) this.record();
      let due: number | null = null;
      if (blocked === 0 && !waitsForRecord && open && this.transforming === null && this.inFlight.size < concurrencyOf(w)) {
        const next = await this.next(w, now);
        if (this.stale) continue;
        if (next.kind === "start") {
          this.start(s, w, next.job);
          starts++;
          continue;
        }
        due = next.kind === "wait" ? next.at : null;
      }
      if (this.changes !== seen) continue; // something settled meanwhile: look again

      if (this.inFlight.size > 0 || this.recording) {
        // A completion, a recording, a wake, or the end of what blocks starts.
        await this.nap(blocked > now && open ? blocked - now : null);
        continue;
      }
      const retryRecording = this.unrecorded.length > 0 ? this.recordRetryAt : null;
      if (retryRecording !== null && retryRecording <= now) {
        this.record();
        continue;
      }
      const wakeAt = earliest(!open ? now : blocked > now ? blocked : due, retryRecording);
      if (wakeAt !== null && open && wakeAt - now <= opts.maxWaitMs) {
        await this.nap(wakeAt - now);
        continue;
      }
      if (this.stale) continue;
      return wakeAt;
    }
  }

  /** Until when nothing may start (0: now): a pause, or the rate's pacing. */
  private blockedUntil(w: Webhook, now: number): number {
    const until = Math.max(this.pausedUntil, w.rateLimit === null ? 0 : this.pacer.next(w.rateLimit));
    return until > now ? until : 0;
  }

  /** The next delivery to start, or when one will be due, or nothing owed. */
  private async next(w: Webhook, now: number): Promise<Next> {
    return w.ordering === "fifo" ? this.nextInOrder(now) : this.nextDue(now);
  }

  private async nextInOrder(now: number): Promise<Next> {
    let looked = false;
    for (;;) {
      if (this.buffer.length === 0 || this.recheck) {
        // Whether the page read ahead still comes next: an older delivery owed again (a retry, a
        // replay) whose wake-up was lost goes first. (The head tried last is recorded by now.)
        const stillNext = this.buffer.length > 0 && sameHead(await firstOwed(this.env.DB, this.uid), this.buffer[0]);
        this.recheck = false;
        looked = true;
        if (!stillNext) this.buffer = await owedInOrder(this.env.DB, this.uid, FIFO_PAGE);
      }
      const head = this.buffer[0];
      if (!head || this.stale) return { kind: "none" };
      if (head.delivery.status === "held") {
        // Older than anything pending: the held backlog goes first, oldest first.
        if (!(await this.releaseMore(now))) return { kind: "none" };
        continue;
      }
      const at = Math.max(head.delivery.nextAttemptAt ?? now, this.expiryRetryAt(head.delivery.id, now) ?? now);
      if (at > now) return { kind: "wait", at };
      // A head read before this look (due again after its retry's wait, at an alarm) is checked the same way.
      if (!looked) {
        this.recheck = true;
        continue;
      }
      return { kind: "start", job: head };
    }
  }

  private async nextDue(now: number): Promise<Next> {
    for (;;) {
      const job = this.buffer.shift();
      if (job) return { kind: "start", job };
      const backingOff = this.backingOff(now);
      const exclude = this.notToPick(backingOff);
      this.buffer = await duePending(this.env.DB, this.uid, { now, limit: PAGE, exclude });
      if (this.stale) return { kind: "none" };
      if (this.buffer.length > 0) {
        // Held deliveries go out before newer ones (oldest first): released before the page is sent.
        if (await this.olderHeld(this.buffer)) {
          if (!(await this.releaseMore(now))) return { kind: "none" };
        }
        continue;
      }
      const outlook = await pendingOutlook(this.env.DB, this.uid, exclude);
      if (this.stale) return { kind: "none" };
      if (outlook.held) {
        if (!(await this.releaseMore(now))) return { kind: "none" };
        continue;
      }
      const at = earliest(outlook.nextDueAt, ...backingOff.map((id) => this.expiryRetries.get(id) ?? null));
      return at === null ? { kind: "none" } : { kind: "wait", at };
    }
  }

  /** The deliveries whose expiry D1 refused, not tried again yet. */
  private backingOff(now: number): string[] {
    return [...this.expiryRetries.keys()].filter((id) => this.expiryRetryAt(id, now) !== null);
  }

  /** What a read of what to start leaves out: in flight, attempted and not recorded, or an expiry backing off. */
  private notToPick(backingOff: string[]): string[] {
    return [...this.inFlight.keys(), ...this.unrecorded.map((a) => a.outcome.attempt.deliveryId), ...backingOff];
  }

  /** Expires the deliveries due whose event is past the retention (a page of them), whatever holds the sends back. */
  private async expirePastDue(s: Settings, now: number): Promise<void> {
    const horizon = retentionHorizon(s, now);
    const ids = await duePastRetention(this.env.DB, this.uid, { now, horizon, limit: PAGE, exclude: this.notToPick(this.backingOff(now)) });
    // Expired even if a wake came meanwhile: the expiry checks each one's status and event again.
    if (ids.length > 0) this.expire(ids, horizon, now);
  }

  /** When the expiry D1 refused of `deliveryId` is tried again, if later than `now` (forgotten once due). */
  private expiryRetryAt(deliveryId: string, now: number): number | null {
    const at = this.expiryRetries.get(deliveryId);
    if (at === undefined) return null;
    if (at > now) return at;
    this.expiryRetries.delete(deliveryId);
    return null;
  }

  /**
   * Whether the webhook holds a delivery older than one of `page`'s: known from its last release, else
   * read (heldFrom: a bounded read, again only once the webhook changed or a release found none), so a
   * steady flow of new events never keeps it waiting.
   */
  private async olderHeld(page: FlowJob[]): Promise<boolean> {
    this.heldFrom ??= await heldFrom(this.env.DB, this.uid, PAGE);
    const from = this.heldFrom;
    return from !== null && page.some((job) => job.event.receivedAt > from);
  }

  /**
   * Releases the next held deliveries, due by `now` (since their events' receipt; `now` is the time the caller
   * reads what is due by: due later, they would not be found due, and the next would be released too, and so on);
   * none released means the webhook changed (disabled meanwhile): read it again.
   */
  private async releaseMore(now: number): Promise<boolean> {
    this.buffer = [];
    // From where none is held before, if known (its last release's `through`): not through the retries ahead of the held ones.
    // Known at the version read: a disable and an enable whose wake-ups were lost may have held older ones since (none is released then).
    const from = typeof this.heldFrom === "number" && this.webhook ? { heldFrom: this.heldFrom, version: this.webhook.updatedAt } : null;
    const { released, through } = await releaseNext(this.env, this.uid, now, this.releaseLimit, from);
    // Those still held are no older than the newest released; fewer than asked for: none is left.
    this.heldFrom = released < this.releaseLimit ? null : through;
    if (released > 0) return true;
    this.heldFrom = undefined;
    this.stale = true;
    return false;
  }

  private start(s: Settings, w: Webhook, job: FlowJob): void {
    const now = Date.now();
    const horizon = retentionHorizon(s, now);
    if (isPastRetention(job.event.receivedAt, horizon)) return this.expire([job.delivery.id], horizon, now);
    this.pacer.take(now);
    const id = job.delivery.id;
    const resumes = this.resumes;
    const asks = this.asks;
    if (transforms(w)) this.transforming = id;
    const done = attemptDelivery(s, job, w, now, (steps) => this.transformed(id, steps))
      .then((a) => this.finished(s, w, job, a, resumes === this.resumes, asks !== this.asks))
      .catch((err) => console.error("a delivery attempt failed unexpectedly; it stays pending", { deliveryId: id, error: String(err) }))
      .finally(() => {
        this.inFlight.delete(id);
        // Its transformation never ended (the destination was refused, or the attempt failed unexpectedly).
        if (this.transforming === id) this.transforming = null;
        // While others are still in flight their attempts join this one's transaction (each
        // costs a few counter rows however many attempts it records): the last to finish,
        // or a full batch, records them all.
        if (this.inFlight.size === 0 || this.unrecorded.length >= RECORD_BATCH) this.record();
        else this.recordSoon();
        this.nudge();
      });
    this.inFlight.set(id, done);
  }

  /** The transformation of `id`'s attempt ended, after `steps` evaluation steps: the next start may follow. */
  private transformed(id: string, steps: number): void {
    this.transformSteps += steps;
    if (this.transforming !== id) return;
    this.transforming = null;
    this.nudge();
  }

  /**
   * Deliveries whose event is past the retention are expired instead of sent, whatever owed them
   * again (a retry, a release) before the maintenance run expired them. Taken as a start (one
   * delivery found at a start, or a page of them found due during a pause), so a run's bounds hold
   * however many there are.
   */
  private expire(ids: string[], horizon: number, now: number): void {
    const done = expireUnsent(this.env, ids, horizon, now)
      .then((expired) => {
        for (const id of ids) this.expiryRetries.delete(id);
        for (const id of expired) console.warn("a delivery past the retention expired unsent", { webhookUid: this.uid, deliveryId: id });
        // Not started from the page read ahead (FIFO: the head, if it was one: the next comes from D1 again).
        const settled = new Set(ids);
        this.buffer = this.buffer.filter((job) => !settled.has(job.delivery.id));
        this.recheck = true;
      })
      .catch((err) => {
        // Tried again later, as a recording D1 refused is: at once, it would fail again, a start each, up to the run's bound.
        for (const id of ids) this.expiryRetries.set(id, Date.now() + RECORD_RETRY_MS);
        console.error("expiring a delivery past the retention failed; it stays pending, unsent, and is tried again later", { deliveryIds: ids, error: String(err) });
      })
      .finally(() => {
        for (const id of ids) this.inFlight.delete(id);
        this.nudge();
      });
    for (const id of ids) this.inFlight.set(id, done);
  }

  /** `mayPause`: no one asked for the deliveries since the attempt started; `asked`: an `owedAnew` wake came meanwhile. */
  private finished(s: Settings, w: Webhook, job: FlowJob, a: Attempted, mayPause: boolean, asked: boolean): void {
    const { attempt } = a.outcome;
    const end = attempt.startedAt + attempt.durationMs;
    const answered = attempt.statusCode !== null;
    // An attempt started before someone asked for the deliveries (to the URL a change replaced, say) is not counted:
    // the ask started the count again (resume). FIFO never pauses for a silence (its head waits for its own retry): it
    // keeps none, so its scheduler's storage is not written for one; an answer ends one kept from before (unordered then).
    let othersUnanswered = false;
    if (mayPause && w.ordering === "unordered") othersUnanswered = this.silence.ended(job.delivery.id, answered);
    else if (mayPause && answered) this.silence.forget();
    if (answered && this.pausedUntil > this.askedUntil) {
      // The downstream answers: it is not down, so a pause set because it looked down ends (what a Retry-After asked for stays).
      this.pausedUntil = this.askedUntil;
      this.pause.paused?.(this.pausedUntil);
    }
    const pause = pauseAfter(
      { statusCode: attempt.statusCode, retryAfterSeconds: a.retryAfterSeconds, retryInSeconds: a.retryIn, othersUnanswered },
      w.ordering,
      s.retryCapSeconds,
    );
    if (mayPause && pause > 0 && end + pause > this.pausedUntil) {
      this.pausedUntil = end + pause;
      this.pause.paused?.(this.pausedUntil);
    }
    if (mayPause && pause > 0 && answered) this.askedUntil = Math.max(this.askedUntil, end + pause);
    this.meter.record(end, a.retryIn === null);
    const head = this.buffer[0];
    if (w.ordering === "fifo" && head?.delivery.id === job.delivery.id) {
      // The head moves on once settled; until then it stays the head, due again later.
      if (a.retryIn === null) {
        this.buffer.shift();
        this.recheck = true;
      } else {
        // (updatedAt as recording the attempt writes it: the next attempt's read version.)
        head.delivery = { ...head.delivery, attemptCount: attempt.number, nextAttemptAt: a.outcome.nextAttemptAt, updatedAt: end };
      }
    }
    this.unrecorded.push(a);
    if (asked && a.outcome.status !== "succeeded") this.askedAgain.add(job.delivery.id);
  }

  /** Records what was attempted, a batch per D1 transaction, while more keeps coming; a failure waits RECORD_RETRY_MS. */
  private record(): void {
    if (this.recording || this.unrecorded.length === 0) return;
    this.recording = (async () => {
      while (this.unrecorded.length > 0) {
        const batch = this.unrecorded.slice(0, RECORD_BATCH).map((a) => a.outcome);
        let context: AttemptAlertContext | null;
        try {
          context = await recordAttempts(this.env, this.uid, batch);
        } catch (err) {
          console.error("recording delivery attempts failed; trying again", { webhookUid: this.uid, attempts: batch.length, error: String(err) });
          this.recordRetryAt = Date.now() + RECORD_RETRY_MS;
          return;
        }
        this.unrecorded.splice(0, batch.length);
        this.recordRetryAt = 0;
        // Those perhaps asked for again are read from D1 as it stands now: a page read while they were left out is not sent.
        const asked = batch.filter((o) => this.askedAgain.delete(o.attempt.deliveryId));
        if (asked.length > 0) {
          this.reread = true;
          this.stale = true;
        }
        await announceAttempts(this.env, batch); // never throws, and skipped while nobody tails
        if (this.webhook) await alertAfterAttempts(this.env, this.webhook, batch, context); // never throws
      }
    })().finally(() => {
      this.recording = null;
      this.nudge();
    });
  }

  /** Records what is unrecorded within RECORD_WITHIN_MS, whatever is still in flight (not while D1 refused: that waits RECORD_RETRY_MS). */
  private recordSoon(): void {
    if (this.recordTimer !== null) return;
    this.recordTimer = setTimeout(() => {
      this.recordTimer = null;
      if (this.recordRetryAt === 0) this.record();
    }, RECORD_WITHIN_MS);
  }

  /** Waits for what is in flight and its recording. */
  private async settle(): Promise<void> {
    while (this.inFlight.size > 0 || this.recording) await Promise.all([...this.inFlight.values(), this.recording]);
  }

  /** Sleeps until nudged (a completion, a recording, a wake) or `ms` passed (null: until nudged). */
  private nap(ms: number | null): Promise<void> {
    return new Promise((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const wake = () => {
        clearTimeout(timer);
        if (this.poke === wake) this.poke = null;
        resolve();
      };
      if (ms !== null) timer = setTimeout(wake, Math.max(0, ms));
      this.poke = wake;
    });
  }

  private nudge(): void {
    this.changes++;
    this.poke?.();
  }
}

/** Whether the head read ahead is D1's first owed delivery as it stands: the same one, in the same status, due at the same time. */
function sameHead(head: OwedHead | null, job: FlowJob | undefined): boolean {
  if (!head || !job) return false;
  const d = job.delivery;
  return head.id === d.id && head.status === d.status && head.nextAttemptAt === d.nextAttemptAt;
}

function earliest(...times: (number | null)[]): number | null {
  const set = times.filter((t): t is number => t !== null);
  return set.length === 0 ? null : Math.min(...set);
}
