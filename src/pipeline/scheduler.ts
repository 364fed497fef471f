import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env";
import { IDLE_STATUS, WebhookFlow, type FlowStatus, type WakeReason } from "./flow";

/**
 * A run sends for at most this long, or this many attempts, then the next alarm
 * goes on: CPU time and subrequests are counted per invocation.
 */
const RUN_BUDGET_MS = 30_000;
const RUN_MAX_STARTS = 2_000;
/**
 * Nor does it start one once its transformations took this many evaluation steps: an attempt's
 * body and header expressions together may take 50,000 (TRANSFORM_LIMITS.steps, up to ~1 s of
 * CPU on a 250 KB body, ~20 µs a step at worst), so 2,000 costly attempts could pass a Durable
 * Object's 30 s of CPU and be killed mid-run, their unrecorded attempts made again by the next
 * alarm, over and over. 500,000 steps are ~10 s at worst; transformations run one at a time and
 * each start sees what those before it took, so the last one started below it adds at most one
 * attempt's 50,000 (~1 s): ~11 s in all, the rest left for the run's other work. Small transformations (tens of steps an attempt)
 * never come near it.
 */
const RUN_TRANSFORM_STEPS = 500_000;
/** Within a run, a wait this short (pacing, a pause, a retry due soon) is waited out; a longer one becomes the alarm. */
const IN_RUN_WAIT_MS = 2_000;
/** After a run failed (D1 unreachable), the next one. */
const FAILED_RUN_RETRY_MS = 5_000;

const UID_KEY = "webhookUid";
const PAUSE_KEY = "pausedUntil";
const SILENCE_KEY = "unanswered";

/**
 * The one sender of one webhook's deliveries (`idFromName(webhook uid)`). A
 * Durable Object is a single instance with a single thread, wherever and however
 * often it is called, so the limits its flow keeps are the webhook's limits, not
 * one isolate's. It keeps in storage only its webhook's uid, a pause and the
 * deliveries its downstream left unanswered since it last answered (at most two), and
 * nothing once its webhook is deleted; the deliveries are in D1. Work happens in the alarm: a wake stores an alarm for
 * now (durable once `wake` returned), a run sends what is due and sets the alarm
 * for the next due time, and the alarm is retried if the object is lost mid-run.
 */
export class WebhookScheduler extends DurableObject<Env> {
  private flow: WebhookFlow | null = null;
  private running = false;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const uid = ctx.storage.kv.get(UID_KEY);
    // Its webhook's uid stored: an instance before this one ran (a deploy, an eviction, idle a while).
    if (typeof uid === "string") this.flow = this.flowFor(uid, true);
  }

  /** `restarted`: another instance of this object may have started requests just before this one came to be. */
  private flowFor(uid: string, restarted: boolean): WebhookFlow {
    const paused = this.ctx.storage.kv.get(PAUSE_KEY);
    const unanswered = this.ctx.storage.kv.get(SILENCE_KEY);
    return new WebhookFlow(this.env, uid, {
      until: typeof paused === "number" ? paused : 0,
      paused: (until) => this.ctx.storage.kv.put(PAUSE_KEY, until),
      // Written only when a silence starts, grows or ends: not per attempt.
      unanswered: Array.isArray(unanswered) ? unanswered.filter((id): id is string => typeof id === "string") : [],
      silenced: (ids) => {
        if (ids.length > 0) this.ctx.storage.kv.put(SILENCE_KEY, ids);
        else this.ctx.storage.kv.delete(SILENCE_KEY);
      },
      // A restarted instance cannot tell whether the one before it just started a request; the first ever has none before it.
      restarted: restarted ? Date.now() : undefined,
    });
  }

  /**
   * Something changed for the webhook (new pending deliveries, deliveries owed again, its settings): a run follows.
   * `resume`: its pause ends. `why`: what changed (WakeReason, WebhookFlow.wake).
   */
  async wake(webhookUid: string, resume = false, why: WakeReason = "changed"): Promise<void> {
    if (!this.flow) {
      this.ctx.storage.kv.put(UID_KEY, webhookUid);
      // The first wake of this webhook's scheduler ever: the uid is stored before anything is sent.
      this.flow = this.flowFor(webhookUid, false);
    }
    if (resume) this.flow.resume();
    this.flow.wake(why);
    if (this.running) return; // the run under way sees the wake
    const at = await this.ctx.storage.getAlarm();
    const now = Date.now();
    if (at === null || at > now) await this.ctx.storage.setAlarm(now);
  }

  /** In flight, paused, how fast it is going and, idle, when it runs next (its alarm: durable), for the webhook's backlog view. */
  async status(): Promise<FlowStatus> {
    const status = { ...(this.flow?.status() ?? IDLE_STATUS), nextRunAt: null };
    if (this.running || status.inFlight > 0) return status;
    const at = await this.ctx.storage.getAlarm();
    return { ...status, nextRunAt: at !== null && at > Date.now() ? at : null };
  }

  async alarm(): Promise<void> {
    const flow = this.flow;
    if (!flow || this.running) return;
    this.running = true;
    try {
      for (;;) {
        let next: number | null;
        try {
          next = await flow.run({ deadline: Date.now() + RUN_BUDGET_MS, maxStarts: RUN_MAX_STARTS, maxTransformSteps: RUN_TRANSFORM_STEPS, maxWaitMs: IN_RUN_WAIT_MS });
        } catch (err) {
          // Later, whatever woke it: a failed run keeps its wake for the next (flow.ts), and
          // running again at once would hit what failed (D1, say) in a loop.
          console.error("delivery scheduler run failed; trying again", { webhookUid: flow.uid, error: String(err) });
          await this.ctx.storage.setAlarm(Date.now() + FAILED_RUN_RETRY_MS);
          return;
        }
        if (flow.woken) continue;
        if (flow.gone) {
          // A deleted webhook's scheduler keeps nothing (uids are never reused); a later wake starts afresh.
          this.flow = null;
          await this.ctx.storage.deleteAll();
          return;
        }
        if (next !== null) await this.ctx.storage.setAlarm(next);
        // A wake that came while the alarm was being stored found this run still going.
        if (!flow.woken) return;
      }
    } finally {
      this.running = false;
    }
  }
}
