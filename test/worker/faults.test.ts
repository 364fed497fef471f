// Fault injection inside workerd: break one piece at a time, then check that
// every event is stored once and every owed delivery ends succeeded once the
// fault clears, and that nothing was acknowledged before it was durable.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { DeliveryMessage } from "../../src/domain/types";
import { runMaintenance } from "../../src/maintenance/cron";
import { REDRIVE_GRACE_MS } from "../../src/pipeline/commands";
import { insertWebhook } from "../../src/store/webhooks";
import { podiumBody } from "./helpers";
import { pipeline, received, uniqueKey } from "./pipeline";

/** A D1 binding whose batch() fails, while `broken()` says so, when one of its statements' SQL matches. */
function flakyDb(sqlPattern: RegExp, broken: () => boolean): D1Database {
  const sqlOf = new WeakMap<object, string>();
  return new Proxy(env.DB, {
    get(target, prop) {
      if (prop === "batch") {
        return async (stmts: D1PreparedStatement[]) => {
          if (broken() && stmts.some((s) => sqlPattern.test(sqlOf.get(s) ?? ""))) throw new Error(`D1 unavailable (test): ${sqlPattern}`);
          return target.batch(stmts);
        };
      }
      if (prop === "prepare") {
        return (sql: string) => {
          const stmt = target.prepare(sql);
          const bind = stmt.bind.bind(stmt);
          return Object.assign(stmt, {
            bind: (...values: unknown[]) => {
              const bound = bind(...values);
              sqlOf.set(bound, sql);
              return bound;
            },
          });
        };
      }
      const v = Reflect.get(target, prop);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}

const statuses = async (eventId: string) =>
  (await env.DB.prepare("SELECT status FROM deliveries WHERE event_id = ?").bind(eventId).all<{ status: string }>()).results.map(
    (r) => r.status,
  );

describe("fault injection in the delivery consumer", () => {
  for (const [name, pattern] of [
    ["the attempt record", /INSERT INTO attempts/],
    ["the status update", /UPDATE deliveries SET status/],
  ] as const) {
    it(`retries when D1 fails at ${name}, and the delivery ends succeeded`, async () => {
      let broken = true;
      const p = pipeline({ DB: flakyDb(pattern, () => broken) });
      const key = uniqueKey();
      const org = `org-${key}`;
      await p.createWebhook({ url: `https://downstream.test/ok/${key}`, eventTypes: ["*"], organizationUid: org });
      const eventId = await p.ingest(podiumBody({ organizationUid: org }));
      const first = await p.deliver();
      expect(first.acked).toHaveLength(0);
      expect(first.retried).toHaveLength(1);
      expect(await statuses(eventId)).toEqual(["pending"]);
      broken = false;
      const second = await p.deliver(first.retried);
      expect(second.acked).toHaveLength(1);
      expect(await statuses(eventId)).toEqual(["succeeded"]);
      // At least once: the downstream may see it twice, never zero times.
      expect((await received(key)).length).toBeGreaterThanOrEqual(1);
    });
  }

  it("lets the whole batch be retried when the consumer throws before settling anything", async () => {
    let broken = true;
    const p = pipeline({
      DB: new Proxy(env.DB, {
        get(target, prop) {
          if (prop === "prepare" && broken) return () => ({ bind: () => ({ all: async () => Promise.reject(new Error("D1 read failed (test)")) }) });
          const v = Reflect.get(target, prop);
          return typeof v === "function" ? v.bind(target) : v;
        },
      }),
    });
    const ok = pipeline();
    const key = uniqueKey();
    const org = `org-${key}`;
    await ok.createWebhook({ url: `https://downstream.test/ok/${key}`, eventTypes: ["*"], organizationUid: org });
    const eventId = await ok.ingest(podiumBody({ organizationUid: org }));
    const msgs: DeliveryMessage[] = ok.queues.deliveries.sent.splice(0);
    await expect(p.deliver(msgs)).rejects.toThrow(/D1 read failed/);
    expect(await received(key)).toHaveLength(0);
    broken = false;
    await ok.deliver(msgs);
    expect(await statuses(eventId)).toEqual(["succeeded"]);
  });
});

describe("fault injection in the ingest consumer", () => {
  it("survives sendBatch failing half-way: what was not queued is re-driven, and every owed delivery goes out once", async () => {
    const key = uniqueKey();
    const org = `org-${key}`;
    const now = Date.now() - 1000;
    // 130 webhooks owed the same event: more than one sendBatch of 100.
    for (let i = 0; i < 130; i++) {
      await insertWebhook(env.DB, {
        uid: `wh-${key}-${i}`,
        url: `https://downstream.test/ok/${key}`,
        eventTypes: ["*"],
        locationUid: null,
        organizationUid: org,
        sourceIds: null,
        secret: "whsec_dGVzdA==",
        disabled: false,
        timeoutMs: 5000,
        maxAttempts: 15,
        createdAt: now,
        updatedAt: now,
        filter: null,
        transform: null,
        transformHeaders: null,
      });
    }
    let calls = 0;
    const sent: DeliveryMessage[] = [];
    const halfBroken = pipeline({
      DELIVERIES: {
        async sendBatch(msgs: { body: DeliveryMessage }[]) {
          if (++calls === 2) throw new Error("deliveries queue failed half-way (test)");
          for (const m of msgs) sent.push(m.body);
        },
      } as never,
    });
    const body = podiumBody({ organizationUid: org });
    // Stored with its 130 deliveries (the commit): acked, though only the first 100 were queued.
    const first = await halfBroken.ingestWithResult(body);
    expect(first.acked).toHaveLength(1);
    expect(sent).toHaveLength(100);
    // Once overdue, the maintenance run queues the 30 left behind, and only those.
    await env.DB.prepare("UPDATE deliveries SET next_attempt_at = ? WHERE event_id = ? AND attempt_count = 0")
      .bind(Date.now() - REDRIVE_GRACE_MS - 60_000, first.eventId)
      .run();
    const p = pipeline();
    await p.deliver(sent);
    await runMaintenance(p.env);
    const redriven = p.queues.deliveries.sent.splice(0);
    expect(redriven).toHaveLength(30);
    expect(new Set([...sent, ...redriven].map((m) => m.deliveryId)).size).toBe(130);
    await p.deliver(redriven);
    expect(await statuses(first.eventId)).toEqual(Array(130).fill("succeeded"));
    expect(await received(key)).toHaveLength(130);
  });

});
