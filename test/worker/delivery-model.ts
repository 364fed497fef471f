// What the model tests (lifecycle-model, fifo-model) keep of the world and check it
// against: webhooks in slots, the events stored and how many deliveries each webhook is
// owed of each, and the steps both take (disable, enable, delete, retries, replays, time
// passing). After each step `check` holds the store and the API to the model; `finish`
// enables everything, answers ok and lets time pass until nothing is owed.
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import type { Env } from "../../src/env";
import { settings } from "../../src/domain/settings";
import { runMaintenance } from "../../src/maintenance/cron";
import { REDRIVE_GRACE_MS } from "../../src/pipeline/commands";
import { dedupeKeySql } from "../../src/store/names";
import { pipeline, received, uniqueKey } from "./pipeline";
import { kept, recounted } from "./recount";

export const HOUR = 3_600_000;

/**
 * What a downstream answers: ok, 500, 429 asking for an hour (the flow pauses that long),
 * or nothing within the webhook's timeout (a hook answering `timeout` is given TIMEOUT_MS).
 */
export type Answer = "ok" | "fail" | "retry-after" | "timeout";
export const TIMEOUT_MS = 100;

/**
 * The webhook's timeout for an answer: TIMEOUT_MS for `timeout`, else the default. An answer
 * in time must stay in time on a busy machine: given TIMEOUT_MS, an "ok" that took longer on
 * the loopback became a timeout the model never asked for, and the property failed.
 */
const timeoutFor = (answer: Answer) => (answer === "timeout" ? TIMEOUT_MS : settings(env).deliveryTimeoutMs);

/** The fake downstream's address answering `answer`, under `key`. */
export function answerUrl(answer: Answer, key: string): string {
  if (answer === "retry-after") return `https://downstream.test/retry-after/${key}?s=3600`;
  // Far past the timeout, so that only a stall of the Worker's abort of over a second could hear it in time.
  if (answer === "timeout") return `https://downstream.test/slow/${key}?ms=${20 * TIMEOUT_MS}`;
  return `https://downstream.test/${answer}/${key}`;
}

/** A webhook of one slot as it is made. */
export interface HookSpec {
  types: string[];
  maxAttempts: number;
  /** More of its settings (ordering, timeoutMs). */
  settings?: Record<string, unknown>;
  /** Made this long ago (ms): owed events received since. */
  age?: number;
}

export interface ModelHook {
  uid: string;
  key: string;
  types: string[];
  maxAttempts: number;
  answer: Answer;
  disabled: boolean;
  deleted: boolean;
  /** What its downstream had received when it was disabled or deleted (null while enabled). */
  frozenAt: number | null;
  settings: Record<string, unknown>;
  createdAt: number;
}

export interface ModelEvent {
  id: string;
  body: string;
  type: string;
  dedupeKey: string;
  /** When the ingress received it (the copy stored), if the test says: only webhooks made by then are owed it. */
  receivedAt?: number;
  /** Received longer ago than the retention: what it is owed is stored expired (never sent), and a maintenance run may purge it. */
  pastRetention?: boolean;
}

export interface ApiAttempt {
  number: number;
  startedAt: string;
  durationMs: number;
  statusCode: number | null;
}

export interface ApiDelivery {
  id: string;
  eventId: string;
  webhookUid: string;
  status: string;
  attemptCount: number;
  nextAttemptAt: string | null;
  updatedAt: string;
  attempts: ApiAttempt[];
}

export const typeMatches = (types: string[], type: string) =>
  types.some((t) => t === "*" || t === type || (t.endsWith(".*") && type.startsWith(t.slice(0, -1))));

export const isOwed = (d: { status: string }) => d.status === "held" || d.status === "pending";

export type DeliveryModel = Awaited<ReturnType<typeof deliveryModel>>;

/**
 * A pipeline (pipeline.ts, with `overrides` of its env) and webhooks of one new
 * organization, one per spec, with the model of what they are owed.
 */
export async function deliveryModel(specs: HookSpec[], overrides: Partial<Env> = {}) {
  let p = pipeline(overrides);
  /** The API, with the schedulers' wake-ups lost while `lost` is set (their Durable Objects unreachable). */
  const elsewhere = pipeline(overrides, { unreachable: () => true });
  let lost = false;
  const api: typeof p.api = (...args) => (lost ? elsewhere : p).api(...args);
  const run = uniqueKey();
  const org = `org-${run}`;
  const hooks: ModelHook[] = [];
  const every: ModelHook[] = [];
  const events: ModelEvent[] = [];
  /** Deliveries owed per event and webhook, as the model counts them. */
  const owed = new Map<string, Map<string, number>>();
  /** The most attempts a delivery may have: its webhook's maxAttempts, and one more after each retry by hand. */
  const cap = new Map<string, number>();
  let made = 0;

  const byUid = (uid: string) => every.find((h) => h.uid === uid);
  const eventOf = (id: string) => events.find((e) => e.id === id);

  async function newHook(i: number, spec: HookSpec) {
    const key = uniqueKey();
    const created = await p.createWebhook({ url: answerUrl("ok", key), eventTypes: spec.types, organizationUid: org, maxAttempts: spec.maxAttempts, ...spec.settings });
    const age = spec.age ?? 0;
    // Older behind the store's back: only routing reads when a webhook was made.
    if (age > 0) await env.DB.prepare("UPDATE webhooks SET created_at = created_at - ? WHERE uid = ?").bind(age, created.uid).run();
    const h: ModelHook = {
      uid: created.uid,
      key,
      types: spec.types,
      maxAttempts: spec.maxAttempts,
      answer: "ok",
      disabled: false,
      deleted: false,
      frozenAt: null,
      settings: { ...spec.settings },
      createdAt: Date.parse(created.createdAt) - age,
    };
    hooks[i] = h;
    every.push(h);
  }
  for (const [i, spec] of specs.entries()) await newHook(i, spec);

  function owe(e: ModelEvent, w: ModelHook) {
    const m = owed.get(e.id) ?? new Map<string, number>();
    m.set(w.uid, (m.get(w.uid) ?? 0) + 1);
    owed.set(e.id, m);
  }

  /** A stored event, owed to every webhook of a slot whose types it matches (and, if the test says when it was received, made by then). */
  function stored(e: ModelEvent) {
    events.push(e);
    owed.set(e.id, new Map());
    for (const h of hooks) if (typeMatches(h.types, e.type) && h.createdAt <= (e.receivedAt ?? Infinity)) owe(e, h);
  }

  async function deliveriesOf(e: ModelEvent): Promise<ApiDelivery[]> {
    const res = await api("GET", `/v1/events/${e.id}`);
    expect(res.status).toBe(200);
    return res.json.deliveries;
  }

  async function allDeliveries(): Promise<ApiDelivery[]> {
    return [...(await deliveriesByEvent()).values()].flat();
  }

  /** Each event's deliveries, by event id (check takes them back: `read`). */
  async function deliveriesByEvent(): Promise<Map<string, ApiDelivery[]>> {
    const read = await Promise.all(events.map(deliveriesOf));
    return new Map(events.map((e, i) => [e.id, read[i]!]));
  }

  /**
   * A retry by hand of these deliveries may give each one more attempt; `out`: one more, an attempt
   * being out (not recorded yet) when it was asked for, which then does not settle it (recordAttempts).
   */
  function allowRetry(ds: ApiDelivery[], out = 0) {
    for (const d of ds) cap.set(d.id, Math.max(cap.get(d.id) ?? 0, d.attemptCount + 1 + out));
  }

  const storedCountStatement = (e: ModelEvent) =>
    env.DB.prepare(`SELECT COUNT(*) AS n FROM events WHERE source = (SELECT id FROM names WHERE name = 'podium') AND dedupe = ${dedupeKeySql("?1")}`).bind(e.dedupeKey);

  async function storedCount(e: ModelEvent): Promise<number> {
    return (await storedCountStatement(e).first<number>("n")) ?? 0;
  }

  /** The same for several events, in one round trip (a D1 call costs several times what its statement does). */
  async function storedCounts(es: ModelEvent[]): Promise<number[]> {
    if (es.length === 0) return [];
    const results = await env.DB.batch<{ n: number }>(es.map(storedCountStatement));
    return results.map((r) => r.results[0]?.n ?? 0);
  }

  /**
   * `read`: each event's deliveries as the API answered them just now, nothing written since
   * (the caller's own read, right before: the same answers again).
   */
  async function check(step: string, read?: Map<string, ApiDelivery[]>) {
    // Every read at once (nothing runs meanwhile: they all see the same store), then the
    // same assertions, in the same order, as when each read waited for the one before.
    const [perEvent, sent, counters, stats, byStatus] = await Promise.all([
      Promise.all([storedCounts(events), Promise.all(events.map((e) => read?.get(e.id) ?? deliveriesOf(e)))]).then(([n, ds]) => events.map((_, i) => [n[i]!, ds[i]!] as const)),
      Promise.all(every.map((h) => (h.frozenAt === null ? null : received(h.key).then((r) => r.length)))),
      Promise.all([kept(env.DB), recounted(env.DB)]),
      api("GET", "/v1/stats").then((r) => r.json),
      env.DB.prepare("SELECT status, COUNT(*) AS n FROM deliveries GROUP BY status").all<{ status: number; n: number }>(),
    ]);
    for (const [i, e] of events.entries()) {
      const [storedTimes, ds] = perEvent[i]!;
      expect(storedTimes, `${step}: event ${e.dedupeKey} stored once`).toBe(1);
      const per = new Map<string, number>();
      for (const d of ds) per.set(d.webhookUid, (per.get(d.webhookUid) ?? 0) + 1);
      expect(Object.fromEntries(per), `${step}: deliveries of ${e.id}`).toEqual(Object.fromEntries(owed.get(e.id) ?? []));
      for (const d of ds) {
        const w = byUid(d.webhookUid)!;
        const where = `${step}: ${d.id} of ${w.deleted ? "deleted" : w.disabled ? "disabled" : "enabled"} webhook ${d.webhookUid}`;
        if (d.status === "held") expect(w.disabled && !w.deleted, where).toBe(true);
        if (d.status === "pending") {
          expect(d.nextAttemptAt, where).not.toBeNull();
          expect(w.disabled || w.deleted, `${where}: pending`).toBe(false);
        }
        if (d.status === "succeeded") expect(d.attempts.some((a) => a.statusCode !== null && a.statusCode >= 200 && a.statusCode < 300), where).toBe(true);
        if (d.status === "expired") expect(w.deleted || e.pastRetention === true, where).toBe(true);
        expect(d.attempts, where).toHaveLength(d.attemptCount);
        expect(d.attemptCount, `${where}: attempts`).toBeLessThanOrEqual(Math.max(w.maxAttempts, cap.get(d.id) ?? 0));
      }
    }
    for (const [i, h] of every.entries()) {
      if (h.frozenAt !== null) expect(sent[i], `${step}: sent to ${h.deleted ? "deleted" : "disabled"} ${h.uid}`).toBe(h.frozenAt);
    }
    expect(counters[0], `${step}: counters`).toEqual(counters[1]);
    const statuses = ["held", "pending", "succeeded", "failed", "expired"];
    expect(stats.deliveries, `${step}: stats`).toEqual(Object.fromEntries(statuses.map((s, i) => [s, byStatus.results.find((r) => r.status === i)?.n ?? 0])));
  }

  /**
   * Time passes (an hour and more): every retry comes due and every pause is over. The
   * schedulers start afresh, told of nothing but what was woken: the maintenance run's
   * redrive and release must wake the rest. Events past the retention are then owed
   * nothing; those it purged leave the model.
   */
  async function timePasses() {
    const mine = every.map((h) => h.uid);
    await env.DB.prepare(
      `UPDATE deliveries SET next_attempt_at = next_attempt_at - ${2 * HOUR}
       WHERE next_attempt_at IS NOT NULL AND webhook IN (SELECT id FROM names WHERE name IN (${mine.map(() => "?").join(", ")}))`,
    )
      .bind(...mine)
      .run();
    const woken = p.woken.splice(0);
    p = pipeline(overrides);
    p.woken.push(...woken);
    await maintain(Date.now() + REDRIVE_GRACE_MS);
  }

  /** The maintenance run at `now`, by the schedulers as they are (no time passed: nothing is overdue yet, the retention goes on). */
  async function maintain(now = Date.now()) {
    const report = await runMaintenance(p.env, now);
    expect(report.failed).toEqual([]);
    for (const e of events.filter((x) => x.pastRetention)) {
      if ((await storedCount(e)) === 0) {
        events.splice(events.indexOf(e), 1);
        owed.delete(e.id);
        continue;
      }
      expect((await deliveriesOf(e)).filter(isOwed), `event ${e.id}, past the retention, owes nothing after maintenance`).toEqual([]);
    }
  }

  async function setDisabled(h: ModelHook, disabled: boolean) {
    expect((await api("PATCH", `/v1/webhooks/${h.uid}`, { disabled })).status).toBe(200);
    h.disabled = disabled;
    h.frozenAt = disabled ? (await received(h.key)).length : null;
  }

  async function setAnswer(h: ModelHook, answer: Answer) {
    if (h.answer === answer) return;
    expect((await api("PATCH", `/v1/webhooks/${h.uid}`, { url: answerUrl(answer, h.key), timeoutMs: timeoutFor(answer) })).status).toBe(200);
    h.answer = answer;
  }

  return {
    get p() {
      return p;
    },
    org,
    run,
    hooks,
    every,
    events,
    byUid,
    eventOf,
    owe,
    stored,
    deliveriesOf,
    allDeliveries,
    deliveriesByEvent,
    allowRetry,
    check,
    timePasses,
    maintain,
    setAnswer,
    /** A new event's dedupe key, unique to this run. */
    nextDedupeKey: () => `${run}-${made++}`,

    setDisabled,

    /** Does what `changes` does, the wake-ups it owes the schedulers lost: only the maintenance run's redrive finds them. */
    async wakesLost<T>(changes: () => Promise<T>): Promise<T> {
      lost = true;
      try {
        return await changes();
      } finally {
        lost = false;
      }
    },

    /** Disables one of the webhooks enabled (`kind` disable), or enables one of those disabled; `w` picks which. */
    async toggle(kind: "disable" | "enable", w: number) {
      // One of those it changes, so that an enable finds what its disable held.
      const among = hooks.filter((h) => h.disabled !== (kind === "disable"));
      const h = among[w % Math.max(1, among.length)];
      if (h) await setDisabled(h, kind === "disable");
    },

    /** Deletes the webhook of slot `w`; a new one like it takes the slot. */
    async remove(w: number) {
      const h = hooks[w]!;
      expect((await api("DELETE", `/v1/webhooks/${h.uid}`)).status).toBe(204);
      h.deleted = true;
      h.frozenAt = (await received(h.key)).length;
      await newHook(w, { types: h.types, maxAttempts: h.maxAttempts, settings: h.settings, age: specs[w]?.age });
    },

    /** Retries one delivery by hand (of those `among` picks), `pick` choosing which. */
    async retryOne(pick: number, step: string, among: (d: ApiDelivery) => boolean = () => true, out = 0) {
      const ds = (await allDeliveries()).filter(among);
      if (ds.length === 0) return;
      const d = ds[pick % ds.length]!;
      allowRetry([d], out);
      const res = await api("POST", `/v1/deliveries/${d.id}/retry`);
      // A deleted webhook's delivery has nowhere to go; nothing is sent for an event past the retention.
      expect(res.status, step).toBe(byUid(d.webhookUid)!.deleted || eventOf(d.eventId)?.pastRetention ? 409 : 202);
    },

    /** Retries the deliveries in a status, of one slot's webhook or of all. */
    async bulkRetry(status: string, w: number | null, out = 0) {
      const uid = w === null ? undefined : hooks[w]!.uid;
      allowRetry((await allDeliveries()).filter((d) => d.status === status && (uid === undefined || d.webhookUid === uid)), out);
      expect((await api("POST", "/v1/deliveries/retry", { status, webhookUid: uid })).status).toBe(202);
    },

    /**
     * Replays a stored event, `pick` choosing which, to every webhook owed it; or to `only`, one
     * of the events of its types (another it is not subscribed to, and the API answers 409).
     * Returns it (null: none stored yet).
     */
    async replay(pick: number, step: string, only?: ModelHook): Promise<ModelEvent | null> {
      const among = only ? events.filter((e) => typeMatches(only.types, e.type)) : events;
      if (among.length === 0) return null;
      const e = among[pick % among.length]!;
      const targets = (only ? [only] : hooks).filter((h) => typeMatches(h.types, e.type));
      const res = await api("POST", `/v1/events/${e.id}/replay`, only ? { webhookUid: only.uid } : {});
      if (e.pastRetention) {
        // Nothing is sent for an event past the retention: its replay is refused, and owes nothing.
        expect(res.status, step).toBe(409);
        expect(res.json.error.details, step).toEqual({ reason: "past_retention" });
        return null;
      }
      expect(res.status, step).toBe(202);
      expect(res.json, step).toEqual({ deliveries: targets.length });
      for (const h of targets) owe(e, h);
      return e;
    },

    /**
     * Everything enabled, every downstream answering ok, time passing until nothing is owed:
     * what was owed (but to events past the retention) has succeeded. `deliver` runs the
     * schedulers and checks, once a round.
     */
    async finish(deliver: (step: string) => Promise<void> = async (step) => (await p.deliver(), await check(step))): Promise<{ owedAtEnd: ApiDelivery[] }> {
      for (const h of hooks) {
        if (h.disabled) {
          expect((await api("PATCH", `/v1/webhooks/${h.uid}`, { disabled: false })).status).toBe(200);
          h.disabled = false;
          h.frozenAt = null;
        }
        await setAnswer(h, "ok");
      }
      const owedAtEnd = (await allDeliveries()).filter((d) => isOwed(d) && !eventOf(d.eventId)?.pastRetention);
      for (let round = 0; round < 5; round++) {
        await timePasses();
        await deliver(`final round ${round}`);
        if (!(await allDeliveries()).some(isOwed)) break;
      }
      const owedIds = new Set(owedAtEnd.map((d) => d.id));
      for (const d of await allDeliveries()) {
        if (byUid(d.webhookUid)!.deleted) continue;
        const settled = ["succeeded", "failed", ...(eventOf(d.eventId)?.pastRetention ? ["expired"] : [])];
        expect(settled, `${d.id} at the end`).toContain(d.status);
        if (owedIds.has(d.id)) expect(d.status, `${d.id}, owed, at the end`).toBe("succeeded");
      }
      return { owedAtEnd };
    },

    /** Gone, so no later run's maintenance (which looks at every webhook) finds them. */
    async cleanUp() {
      for (const h of hooks) if (!h.deleted) await api("DELETE", `/v1/webhooks/${h.uid}`);
    },
  };
}
