// The delivery lifecycle against a simple model: random interleavings of ingests (some
// of them the same event again), scheduler runs with each downstream answering ok, 500
// or 429 with Retry-After, disables, enables, event-type changes, retries (one, or in
// bulk by status), replays, maintenance runs with time passed, and deletes. After each
// step the store and the API must agree with the model; at the end, with everything
// enabled and every downstream answering ok, nothing owed to a webhook stays owed.
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it, onTestFinished, vi } from "vitest";
import { REDRIVE_GRACE_MS } from "../../src/pipeline/commands";
import { runMaintenance } from "../../src/maintenance/cron";
import { dedupeKeySql } from "../../src/store/names";
import { podiumBody } from "./helpers";
import { pipeline, received, uniqueKey } from "./pipeline";
import { kept, recounted } from "./recount";

const SEED = 20261130;
const HOUR = 3_600_000;
// Message events: podiumBody gives them the organization their owner is read from.
const TYPES = ["message.received", "message.sent", "message.failed"];
const TYPE_SETS = [["*"], ["message.sent", "message.failed"], ["message.received"], ["message.*"]];
/** What a downstream answers: ok, 500, or 429 asking for an hour (the flow pauses that long). */
const ANSWERS = ["ok", "fail", "retry-after"] as const;
type Answer = (typeof ANSWERS)[number];
const SLOTS = 3;

const slot = fc.integer({ min: 0, max: SLOTS - 1 });
const op = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({ kind: fc.constant("ingest" as const), type: fc.integer({ min: 0, max: TYPES.length - 1 }), again: fc.option(fc.nat(), { freq: 3 }) }),
  },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("deliver" as const), answers: fc.array(fc.constantFrom(...ANSWERS), { minLength: SLOTS, maxLength: SLOTS }) }) },
  { weight: 2, arbitrary: fc.constant({ kind: "maintenance" as const }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constantFrom("disable" as const, "enable" as const), w: slot }) },
  fc.record({ kind: fc.constant("delete" as const), w: slot }),
  fc.record({ kind: fc.constant("patch" as const), w: slot, types: fc.integer({ min: 0, max: TYPE_SETS.length - 1 }) }),
  fc.record({ kind: fc.constant("retry" as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant("bulk-retry" as const), status: fc.constantFrom("pending", "failed", "expired", "succeeded"), w: fc.option(slot) }),
  fc.record({ kind: fc.constant("replay" as const), pick: fc.nat() }),
);

interface ModelHook {
  uid: string;
  key: string;
  types: string[];
  maxAttempts: number;
  answer: Answer;
  disabled: boolean;
  deleted: boolean;
  /** What its downstream had received when it was disabled or deleted (null while enabled). */
  frozenAt: number | null;
}
interface ModelEvent {
  id: string;
  body: string;
  type: string;
  dedupeKey: string;
}
interface ApiDelivery {
  id: string;
  webhookUid: string;
  status: string;
  attemptCount: number;
  nextAttemptAt: string | null;
  attempts: { statusCode: number | null }[];
}

const typeMatches = (types: string[], type: string) =>
  types.some((t) => t === "*" || t === type || (t.endsWith(".*") && type.startsWith(t.slice(0, -1))));

describe("the delivery lifecycle, against a model", () => {
  it("keeps every event once, every delivery in a legal status within its attempts, the counters true, and owes nothing at the end", async () => {
    // The maintenance runs report what they did on the console: hundreds of lines, nothing checked here.
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    onTestFinished(() => log.mockRestore());
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 2, max: 4 }), { minLength: SLOTS, maxLength: SLOTS }), fc.array(op, { minLength: 10, maxLength: 25 }), async (maxAttempts, ops) => {
        let p = pipeline();
        const run = uniqueKey();
        const org = `org-${run}`;
        const url = (answer: Answer, key: string) =>
          answer === "retry-after" ? `https://downstream.test/retry-after/${key}?s=3600` : `https://downstream.test/${answer}/${key}`;

        const hooks: ModelHook[] = [];
        const every: ModelHook[] = [];
        async function newHook(i: number, types: string[]) {
          const key = uniqueKey();
          const created = await p.createWebhook({ url: url("ok", key), eventTypes: types, organizationUid: org, maxAttempts: maxAttempts[i] });
          const h: ModelHook = { uid: created.uid, key, types, maxAttempts: maxAttempts[i]!, answer: "ok", disabled: false, deleted: false, frozenAt: null };
          hooks[i] = h;
          every.push(h);
        }
        for (let i = 0; i < SLOTS; i++) await newHook(i, TYPE_SETS[i % TYPE_SETS.length]!);
        const byUid = (uid: string) => every.find((h) => h.uid === uid);

        const events: ModelEvent[] = [];
        /** Deliveries owed per event and webhook, as the model counts them. */
        const owed = new Map<string, Map<string, number>>();
        const owe = (e: ModelEvent, w: ModelHook) => {
          const m = owed.get(e.id) ?? new Map<string, number>();
          m.set(w.uid, (m.get(w.uid) ?? 0) + 1);
          owed.set(e.id, m);
        };
        /** The most attempts a delivery may have: its webhook's maxAttempts, and one more after each retry by hand. */
        const cap = new Map<string, number>();

        async function deliveriesOf(e: ModelEvent): Promise<ApiDelivery[]> {
          const res = await p.api("GET", `/v1/events/${e.id}`);
          expect(res.status).toBe(200);
          return res.json.deliveries;
        }
        async function allDeliveries(): Promise<ApiDelivery[]> {
          return (await Promise.all(events.map(deliveriesOf))).flat();
        }
        /** A retry by hand of these deliveries may give each one more attempt. */
        function allowRetry(ds: ApiDelivery[]) {
          for (const d of ds) cap.set(d.id, Math.max(cap.get(d.id) ?? 0, d.attemptCount + 1));
        }

        async function check(step: string) {
          for (const e of events) {
            const n = await env.DB.prepare(
              `SELECT COUNT(*) AS n FROM events WHERE source = (SELECT id FROM names WHERE name = 'podium') AND dedupe = ${dedupeKeySql("?1")}`,
            )
              .bind(e.dedupeKey)
              .first<number>("n");
            expect(n, `${step}: event ${e.dedupeKey} stored once`).toBe(1);
            const ds = await deliveriesOf(e);
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
              if (d.status === "expired") expect(w.deleted, where).toBe(true);
              expect(d.attempts, where).toHaveLength(d.attemptCount);
              expect(d.attemptCount, `${where}: attempts`).toBeLessThanOrEqual(Math.max(w.maxAttempts, cap.get(d.id) ?? 0));
            }
          }
          for (const h of every) {
            if (h.frozenAt !== null) expect((await received(h.key)).length, `${step}: sent to ${h.deleted ? "deleted" : "disabled"} ${h.uid}`).toBe(h.frozenAt);
          }
          expect(await kept(env.DB), `${step}: counters`).toEqual(await recounted(env.DB));
          const stats = (await p.api("GET", "/v1/stats")).json;
          const byStatus = await env.DB.prepare("SELECT status, COUNT(*) AS n FROM deliveries GROUP BY status").all<{ status: number; n: number }>();
          const statuses = ["held", "pending", "succeeded", "failed", "expired"];
          expect(stats.deliveries, `${step}: stats`).toEqual(Object.fromEntries(statuses.map((s, i) => [s, byStatus.results.find((r) => r.status === i)?.n ?? 0])));
        }

        /**
         * Time passes (an hour and more): every retry comes due and every pause is over. The
         * schedulers start afresh, told of nothing but what was woken: the maintenance run's
         * redrive and release must wake the rest.
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
          p = pipeline();
          p.woken.push(...woken);
          const report = await runMaintenance(p.env, Date.now() + REDRIVE_GRACE_MS);
          expect(report.failed).toEqual([]);
        }

        async function setAnswer(h: ModelHook, answer: Answer) {
          if (h.answer === answer) return;
          expect((await p.api("PATCH", `/v1/webhooks/${h.uid}`, { url: url(answer, h.key) })).status).toBe(200);
          h.answer = answer;
        }

        let made = 0;
        try {
          for (const [n, a] of ops.entries()) {
            const step = `step ${n} ${JSON.stringify(a)}`;
            switch (a.kind) {
              case "ingest": {
                const again = a.again !== null && events.length > 0 ? events[a.again % events.length]! : null;
                if (again) {
                  expect(await p.ingest(again.body)).toBe(again.id);
                  break;
                }
                const dedupeKey = `${run}-${made++}`;
                const type = TYPES[a.type]!;
                const body = podiumBody({ type, eventUid: dedupeKey, organizationUid: org, locationUid: `loc-${run}` });
                const e: ModelEvent = { id: await p.ingest(body), body, type, dedupeKey };
                events.push(e);
                owed.set(e.id, new Map());
                for (const h of hooks) if (typeMatches(h.types, type)) owe(e, h);
                break;
              }
              case "deliver":
                for (const [i, h] of hooks.entries()) await setAnswer(h, a.answers[i]!);
                await p.deliver();
                break;
              case "disable":
              case "enable": {
                // One of those it changes, so that an enable finds what its disable held.
                const among = hooks.filter((h) => h.disabled !== (a.kind === "disable"));
                const h = among[a.w % Math.max(1, among.length)];
                if (!h) break;
                expect((await p.api("PATCH", `/v1/webhooks/${h.uid}`, { disabled: a.kind === "disable" })).status).toBe(200);
                h.disabled = a.kind === "disable";
                h.frozenAt = h.disabled ? (await received(h.key)).length : null;
                break;
              }
              case "patch": {
                const h = hooks[a.w]!;
                expect((await p.api("PATCH", `/v1/webhooks/${h.uid}`, { eventTypes: TYPE_SETS[a.types] })).status).toBe(200);
                h.types = TYPE_SETS[a.types]!;
                break;
              }
              case "delete": {
                const h = hooks[a.w]!;
                expect((await p.api("DELETE", `/v1/webhooks/${h.uid}`)).status).toBe(204);
                h.deleted = true;
                h.frozenAt = (await received(h.key)).length;
                await newHook(a.w, h.types);
                break;
              }
              case "retry": {
                const ds = await allDeliveries();
                if (ds.length === 0) break;
                const d = ds[a.pick % ds.length]!;
                allowRetry([d]);
                const res = await p.api("POST", `/v1/deliveries/${d.id}/retry`);
                // A deleted webhook's delivery has nowhere to go.
                expect(res.status, step).toBe(byUid(d.webhookUid)!.deleted ? 409 : 202);
                break;
              }
              case "bulk-retry": {
                const w = a.w === null ? undefined : hooks[a.w]!.uid;
                allowRetry((await allDeliveries()).filter((d) => d.status === a.status && (w === undefined || d.webhookUid === w)));
                expect((await p.api("POST", "/v1/deliveries/retry", { status: a.status, webhookUid: w })).status).toBe(202);
                break;
              }
              case "replay": {
                if (events.length === 0) break;
                const e = events[a.pick % events.length]!;
                const targets = hooks.filter((h) => typeMatches(h.types, e.type));
                const res = await p.api("POST", `/v1/events/${e.id}/replay`, {});
                expect(res.status, step).toBe(202);
                expect(res.json, step).toEqual({ deliveries: targets.length });
                for (const h of targets) owe(e, h);
                break;
              }
              case "maintenance":
                await timePasses();
                break;
            }
            await check(step);
          }

          // Everything enabled, every downstream answering ok, time passing until nothing is owed.
          for (const h of hooks) {
            if (h.disabled) {
              expect((await p.api("PATCH", `/v1/webhooks/${h.uid}`, { disabled: false })).status).toBe(200);
              h.disabled = false;
              h.frozenAt = null;
            }
            await setAnswer(h, "ok");
          }
          const owedAtEnd = new Set((await allDeliveries()).filter((d) => d.status === "held" || d.status === "pending").map((d) => d.id));
          for (let round = 0; round < 5; round++) {
            await timePasses();
            await p.deliver();
            await check(`final round ${round}`);
            if (!(await allDeliveries()).some((d) => d.status === "held" || d.status === "pending")) break;
          }
          for (const d of await allDeliveries()) {
            if (byUid(d.webhookUid)!.deleted) continue;
            expect(["succeeded", "failed"], `${d.id} at the end`).toContain(d.status);
            if (owedAtEnd.has(d.id)) expect(d.status, `${d.id}, owed, at the end`).toBe("succeeded");
          }
        } finally {
          // Gone, so no later run's maintenance (which looks at every webhook) finds them.
          for (const h of hooks) if (!h.deleted) await p.api("DELETE", `/v1/webhooks/${h.uid}`);
        }
      }),
      { seed: SEED, numRuns: 40 },
    );
  }, 120_000); // 40 histories of up to 25 steps, each checked against the API and a recount: ~20 s, more on a busy machine
});

