// Seeded histories of the whole pipeline with faults everywhere at once: D1 failing a batch,
// a statement, or committing one and losing its answer; R2 failing to read or delete a
// claim-checked body; schedulers failing to wake; ingest messages retried, and delivered again
// after their ack; a downstream failing a share of requests. Meanwhile disables, enables, a
// delete, retries, replays, maintenance runs and days passing. Once the faults stop and the
// queue, the maintenance and the schedulers have caught up: every event is stored once, every
// delivery owed to a live webhook succeeded (or expired at the retention, never held, pending
// or failed), and every counter equals a recount. faults.test.ts and lost-answers.test.ts
// take one fault at a time.
import { env } from "cloudflare:workers";
import { describe, expect, it, onTestFinished, vi } from "vitest";
import { DAY_MS } from "../../src/domain/time";
import type { IngestMessage } from "../../src/domain/types";
import { runMaintenance } from "../../src/maintenance/cron";
import { d1Double } from "./d1-double";
import { podiumBody } from "./helpers";
import { pipeline, uniqueKey } from "./pipeline";
import { kept, recounted } from "./recount";
import { eventsDeliveryRows, eventStored } from "./rows";
import { fork, rng, type Rng } from "./seeded";

// Retries due at once (no wait within a test's run); a retention that days passing can reach.
const SETTINGS = { RETRY_BASE_SECONDS: "0", RETRY_CAP_SECONDS: "0", RETENTION_DAYS: "2" };
// Twelve: as many deletes, replays and days past the retention among them as six drew from one generator.
const SEEDS = Array.from({ length: 12 }, (_, i) => 1001 + i);
const STEPS = 60;

/**
 * A history's generators, all from its one seed: the faults' own, and each step's own. How many
 * faults were drawn, or how many draws a step made (an empty queue's skipped branch), shifts no
 * later step, so histories of one seed compare across fault settings.
 */
function streams(seed: number): { faults: Rng; step: () => Rng } {
  const root = rng(seed);
  const faults = fork(root);
  const stepSeeds = fork(root);
  return { faults, step: () => fork(stepSeeds) };
}

/** The test bucket, get() and delete() failing when `fails()` says so. */
function flakyBucket(fails: () => boolean): R2Bucket {
  return new Proxy(env.BODIES, {
    get(target, prop) {
      if ((prop === "get" || prop === "delete") && fails()) return async () => Promise.reject(new Error(`R2 ${prop} failed (test)`));
      const v = Reflect.get(target, prop);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}

/** A Podium body of `org`, a share of them too large for a queue message (claim-checked in R2). */
function bodyOf(r: Rng, org: string): string {
  const body = podiumBody({ organizationUid: org });
  return r.chance(0.3) ? body.replace('"body":"hello"', `"body":"${"x".repeat(150_000)}"`) : body;
}

describe("a history with faults everywhere", () => {
  it("draws each step apart from the faults and from the steps before it", () => {
    // Each step's first draw, with `extra` more draws of the step's and of the faults' after it.
    const firsts = (extra: number) => {
      const draws = streams(SEEDS[0]!);
      return Array.from({ length: STEPS }, () => {
        const r = draws.step();
        const x = r.next();
        for (let i = 0; i < extra; i++) {
          r.next();
          draws.faults.next();
        }
        return x;
      });
    };
    expect(firsts(3)).toEqual(firsts(0));
  });

  for (const seed of SEEDS) {
    it(`(seed ${seed}) stores every event once, delivers or expires every owed delivery, and keeps the counters true`, async () => {
      // Hundreds of failure lines, each expected here.
      for (const level of ["log", "warn", "error"] as const) {
        const spy = vi.spyOn(console, level).mockImplementation(() => {});
        onTestFinished(() => spy.mockRestore());
      }
      const draws = streams(seed);
      const faults = { on: true, p: seed % 2 === 0 ? 0.25 : 0.12 };
      const fails = () => faults.on && draws.faults.chance(faults.p);
      const { db } = d1Double({ loseAnswer: fails, failBatch: fails, failStatement: () => faults.on && draws.faults.chance(faults.p / 4) });
      const setup = pipeline(SETTINGS);
      const key = uniqueKey();
      const org = `org-${key}`;
      const url = `https://downstream.test/record/${key}?fail=0.3`;
      const hooks = [
        await setup.createWebhook({ url, eventTypes: ["*"], organizationUid: org, maxAttempts: 50 }),
        await setup.createWebhook({ url, eventTypes: ["*"], organizationUid: org, maxAttempts: 50, ordering: "fifo" }),
        await setup.createWebhook({ url, eventTypes: ["*"], organizationUid: org, maxAttempts: 50, maxConcurrency: 2 }),
      ];
      const p = pipeline({ ...SETTINGS, DB: db, BODIES: flakyBucket(fails) }, { unreachable: fails });
      const queue: IngestMessage[] = [];
      const bodies: string[] = [];
      const eventIds = new Set<string>();
      let deleted = false;
      let clock = Date.now();
      let pastRetention = false;

      for (let step = 0; step < STEPS; step++) {
        const r = draws.step();
        const x = r.next();
        if (x < 0.3) {
          // A provider's second copy now and then.
          const again = bodies.length > 0 && r.chance(0.3);
          const body = again ? r.pick(bodies) : bodyOf(r, org);
          if (!again) bodies.push(body);
          eventIds.add(await p.receive(body));
          queue.push(...p.queues.ingest.sent.splice(0));
        } else if (x < 0.45 && queue.length > 0) {
          const res = await p.runIngest(queue.splice(0, 1 + r.int(queue.length)));
          queue.push(...res.retried);
          if (r.chance(0.2)) queue.push(...res.acked.slice(0, 1)); // at least once: an acked message may come again
        } else if (x < 0.7) {
          await p.deliver().catch(() => {});
        } else if (x < 0.8) {
          if (seed % 3 === 0 && r.chance(0.3)) {
            clock += DAY_MS * (0.5 + r.next());
            pastRetention = true;
          }
          clock = Math.max(clock, Date.now()) + 60_000;
          await runMaintenance(p.env, clock);
        } else if (x < 0.9) {
          await p.api("PATCH", `/v1/webhooks/${r.pick(hooks).uid}`, { disabled: r.chance(0.5) });
        } else if (x < 0.92 && !deleted) {
          deleted = true;
          await p.api("DELETE", `/v1/webhooks/${hooks[2]!.uid}`);
        } else if (x < 0.95 && eventIds.size > 0) {
          await p.api("POST", `/v1/events/${r.pick([...eventIds])}/replay`, {});
        } else {
          const made = await eventsDeliveryRows([...eventIds]);
          if (made.length > 0) await p.api("POST", `/v1/deliveries/${r.pick(made).id}/retry`);
        }
      }

      faults.on = false;
      while (queue.length > 0) queue.push(...(await p.runIngest(queue.splice(0))).retried);
      const live = deleted ? hooks.slice(0, 2) : hooks;
      if (deleted) expect([204, 404]).toContain((await p.api("DELETE", `/v1/webhooks/${hooks[2]!.uid}`)).status);
      for (const h of live) expect((await p.api("PATCH", `/v1/webhooks/${h.uid}`, { disabled: false })).status).toBe(200);
      for (let round = 1; round <= 4; round++) {
        await runMaintenance(p.env, Math.max(clock, Date.now()) + round * 10 * 60_000);
        p.woken.push(...live.map((h) => h.uid)); // as their alarms would
        await p.deliver();
      }

      const rows = await eventsDeliveryRows([...eventIds]);
      const settled = pastRetention ? ["succeeded", "expired"] : ["succeeded"];
      for (const d of rows) {
        const isLive = live.some((h) => h.uid === d.webhook_uid);
        expect(isLive ? settled : ["succeeded", "expired"], JSON.stringify(d)).toContain(d.status);
      }
      if (!pastRetention) {
        for (const id of eventIds) {
          expect(await eventStored(id), id).toBe(true);
          for (const h of live) expect(rows.some((d) => d.event_id === id && d.webhook_uid === h.uid), `${id} owed to ${h.uid}`).toBe(true);
        }
      }
      expect(await kept(env.DB)).toEqual(await recounted(env.DB));
    }, 60_000);
  }
});
