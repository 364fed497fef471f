// A disabled webhook's pending backlog is held a chunk at a time (D1 stops a statement after 30 s),
// never all in one statement, and none of it is sent meanwhile; enabled, its held backlog goes out
// oldest first, before the newer events that keep arriving.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { meteredD1 } from "../../bench/d1-meter";
import { DELIVERY_STATUSES } from "../../src/domain/delivery";
import { runMaintenance } from "../../src/maintenance/cron";
import { holdDisabledPending, holdWebhook } from "../../src/pipeline/commands";
import { WebhookFlow } from "../../src/pipeline/flow";
import { releaseHeld } from "../../src/store/deliveries";
import { retryDeliveries } from "../../src/store/delivery-retry";
import { duePending, firstOwed, heldFrom, owedInOrder, pendingOutlook } from "../../src/store/scheduler-reads";
import { disableWebhookStatements, getWebhook, updateWebhook } from "../../src/store/webhooks";
import { indexOf, message } from "./flow/scheduler-support";
import { pipeline, received, RUN, webhookSetup } from "./pipeline";
import { kept, recounted } from "./recount";
import { racingDb } from "./racing";
import { setWebhookDeliveries, webhookDeliveryRows } from "./rows";

/** How many of the webhook's deliveries are in each status. */
async function tally(webhookUid: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const d of await webhookDeliveryRows(webhookUid)) out[d.status] = (out[d.status] ?? 0) + 1;
  return out;
}

/** A webhook with `n` pending deliveries (its scheduler not run yet). */
async function withPending(n: number) {
  const s = await webhookSetup("ok");
  for (let i = 0; i < n; i++) await s.p.ingest(s.event());
  expect(await tally(s.webhook.uid)).toEqual({ pending: n });
  return s;
}

describe("disabling a webhook with more pending than a chunk", () => {
  it("holds a chunk in the disable's transaction and the rest with its scheduler; nothing is sent, the counts equal a recount", async () => {
    const { p, key, webhook } = await withPending(25);
    const before = (await getWebhook(env.DB, webhook.uid))!;
    expect(await updateWebhook(env.DB, { ...before, disabled: true, updatedAt: before.updatedAt + 1 }, before, 10)).toBe("saved");
    expect(await tally(webhook.uid)).toEqual({ held: 10, pending: 15 });
    expect(await kept(env.DB)).toEqual(await recounted(env.DB));

    // A scheduler that read the webhook before the disable finds nothing to send of it.
    expect(await duePending(env.DB, webhook.uid, { now: Date.now(), limit: 50, exclude: [] })).toEqual([]);
    expect(await owedInOrder(env.DB, webhook.uid, 20)).toEqual([]);
    expect((await pendingOutlook(env.DB, webhook.uid, [])).nextDueAt).toBeNull();

    // Its scheduler (woken by the ingests, and by the disable through the API) holds the rest.
    await p.deliver();
    expect(await tally(webhook.uid)).toEqual({ held: 25 });
    expect(await received(key)).toHaveLength(0);
    expect(await kept(env.DB)).toEqual(await recounted(env.DB));
  });

  it("is held by the scheduler a chunk a transaction, until none is pending or its run's time is up", async () => {
    const { webhook } = await withPending(15);
    await env.DB.prepare("UPDATE webhooks SET disabled = 1, updated_at = updated_at + 1 WHERE uid = ?").bind(webhook.uid).run();
    const w = (await getWebhook(env.DB, webhook.uid))!;
    // Its run's time is up: one chunk, and it says more may be pending.
    expect(await holdWebhook(d1Env(), w, { chunk: 4, deadline: 0 })).toBe(true);
    expect(await tally(webhook.uid)).toEqual({ held: 4, pending: 11 });
    expect(await holdWebhook(d1Env(), w, { chunk: 4 })).toBe(false);
    expect(await tally(webhook.uid)).toEqual({ held: 15 });
    expect(await kept(env.DB)).toEqual(await recounted(env.DB));
  });

  it("auto-disabled, is held by the maintenance run a bounded number of chunks a run, the counts equal a recount", async () => {
    const { p, key, webhook } = await withPending(25);
    const w = (await getWebhook(env.DB, webhook.uid))!;
    await env.DB.batch(disableWebhookStatements(env.DB, webhook.uid, "failing", Date.now(), w.updatedAt, undefined, 10));
    expect(await tally(webhook.uid)).toEqual({ held: 10, pending: 15 });

    // Two chunks of four a call here: eight more.
    expect(await holdDisabledPending(p.env, { chunk: 4, chunks: 2 })).toBe(8);
    expect(await tally(webhook.uid)).toEqual({ held: 18, pending: 7 });
    expect(await kept(env.DB)).toEqual(await recounted(env.DB));

    // The maintenance run's step takes the rest, and then has nothing to do.
    const report = await runMaintenance(p.env);
    expect(report.failed).toEqual([]);
    expect(report.held).toBe(7);
    expect(await tally(webhook.uid)).toEqual({ held: 25 });
    expect(await holdDisabledPending(p.env, { chunk: 4, chunks: 2 })).toBe(0);
    expect(await kept(env.DB)).toEqual(await recounted(env.DB));
    await p.deliver();
    expect(await received(key)).toHaveLength(0);
  });
});

describe("an enabled webhook holding more than a release", () => {
  it.each([
    ["fresh ones", null],
    // Each had been tried once before its webhook was disabled (failing, say): held, not fresh.
    ["ones waiting for a retry (an auto-disable's backlog)", "attempt_count = 1"],
  ] as const)("sends the held %s, oldest first, before the newer events that keep arriving", async (_, tried) => {
    const p = pipeline();
    const { key, org, webhook } = await p.webhookOn("ok", { disabled: true, maxConcurrency: 1 });
    const start = Date.now();
    await p.runIngest(Array.from({ length: 7 }, (_, i) => message(key, org, i, start + i)));
    expect(await tally(webhook.uid)).toEqual({ held: 7 });
    if (tried !== null) await setWebhookDeliveries(webhook.uid, "held", tried);
    // Enabled, and its first release (RELEASE_LIMIT, oldest first) took three: four are still held.
    await env.DB.prepare("UPDATE webhooks SET disabled = 0, updated_at = updated_at + 1 WHERE uid = ?").bind(webhook.uid).run();
    await releaseHeld(env.DB, webhook.uid, 3);
    expect(await tally(webhook.uid)).toEqual({ held: 4, pending: 3 });

    // A new event before each run of two starts: there is always something newer pending.
    const flow = new WebhookFlow(p.env, webhook.uid, {}, 3);
    for (let i = 7; i < 13; i++) {
      await p.runIngest([message(key, org, i, Math.max(Date.now(), start + i))]);
      await flow.run({ ...RUN, maxStarts: 2 });
    }
    await flow.run(RUN);
    expect((await received(key)).map(indexOf)).toEqual(Array.from({ length: 13 }, (_, i) => i));
    expect(await tally(webhook.uid)).toEqual({ succeeded: 13 });
    // (An attempt made up by `tried` has no row to recount.)
    if (tried === null) expect(await kept(env.DB)).toEqual(await recounted(env.DB));
  });

  it("sends each release of ones tried before ahead of a page's worth of newer retries due before it, and only then releases the next", async () => {
    const p = pipeline();
    const { key, org, webhook } = await p.webhookOn("ok", { disabled: true, maxConcurrency: 1 });
    const start = Date.now();
    // 120 held, each tried once before its webhook was disabled (an auto-disable's backlog).
    await p.runIngest(Array.from({ length: 120 }, (_, i) => message(key, org, i, start + i)));
    await setWebhookDeliveries(webhook.uid, "held", "attempt_count = 1");
    await env.DB.prepare("UPDATE webhooks SET disabled = 0, updated_at = updated_at + 1 WHERE uid = ?").bind(webhook.uid).run();
    // Newer events since, 60 of them failed once and due again at the same moment: before the release.
    await p.runIngest(Array.from({ length: 60 }, (_, i) => message(key, org, 120 + i, start + 120 + i)));
    const due = start + 300;
    await setWebhookDeliveries(webhook.uid, "pending", "attempt_count = 1, next_attempt_at = ?1, updated_at = ?1 - 60000", due);
    while (Date.now() <= due) await new Promise((r) => setTimeout(r, 10)); // (their due time passed: not a check)
    // Enabled: its first release (RELEASE_LIMIT here: 50) takes the oldest 50.
    expect((await releaseHeld(env.DB, webhook.uid, 50)).released).toBe(50);

    const flow = new WebhookFlow(p.env, webhook.uid, {}, 50);
    await flow.run({ ...RUN, maxStarts: 1 });
    // The page it sends is the release's (older than every retry): nothing more is released for it.
    expect(await tally(webhook.uid)).toEqual({ held: 70, pending: 109, succeeded: 1 });
    await flow.run(RUN);
    expect((await received(key)).map(indexOf)).toEqual(Array.from({ length: 180 }, (_, i) => i));
  });
});

describe("a retry by hand of deliveries tried before", () => {
  it("sends them by their events' receipt, ahead of a page's worth of newer retries due before the retry", async () => {
    const p = pipeline();
    const { key, org, webhook } = await p.webhookOn("ok", { maxConcurrency: 1 });
    const start = Date.now();
    // 60 failed for good after a try, then 60 newer ones failed once, due again at the same moment.
    await p.runIngest(Array.from({ length: 60 }, (_, i) => message(key, org, i, start + i)));
    await setWebhookDeliveries(webhook.uid, "pending", "status = ?1, attempt_count = 1, next_attempt_at = NULL", DELIVERY_STATUSES.indexOf("failed"));
    await p.runIngest(Array.from({ length: 60 }, (_, i) => message(key, org, 60 + i, start + 60 + i)));
    const due = start + 300;
    await setWebhookDeliveries(webhook.uid, "pending", "attempt_count = 1, next_attempt_at = ?1, updated_at = ?1 - 60000", due);
    while (Date.now() <= due) await new Promise((r) => setTimeout(r, 10)); // (their due time passed: not a check)
    const failed = (await webhookDeliveryRows(webhook.uid)).filter((d) => d.status === "failed").map((d) => d.id);
    expect((await retryDeliveries(env.DB, { ids: failed }, { limit: 100 }, start - 86_400_000)).pending).toHaveLength(60);

    await new WebhookFlow(p.env, webhook.uid, {}, 50).run(RUN);
    expect((await received(key)).map(indexOf)).toEqual(Array.from({ length: 120 }, (_, i) => i));
  });
});

/**
 * A webhook enabled again with 300 held deliveries, the oldest 250 released and each failed once:
 * waiting for a retry an hour away, ahead of the 50 still held.
 */
async function retriesAheadOfHeld(hook: Record<string, unknown> = {}) {
  const p = pipeline();
  const { key, org, webhook } = await p.webhookOn("ok", { disabled: true, ...hook });
  const start = Date.now();
  for (let b = 0; b < 3; b++) await p.runIngest(Array.from({ length: 100 }, (_, i) => message(key, org, b * 100 + i, start + b * 100 + i)));
  await env.DB.prepare("UPDATE webhooks SET disabled = 0, updated_at = updated_at + 1 WHERE uid = ?").bind(webhook.uid).run();
  await releaseHeld(env.DB, webhook.uid, 250);
  await setWebhookDeliveries(webhook.uid, "pending", "attempt_count = 1, next_attempt_at = ?1", Date.now() + 3_600_000);
  return { p, key, webhook, start };
}

describe("the scheduler's look at what is held", () => {
  it("reads its counts row alone when nothing is held, and a page at most however many retries precede the held ones", async () => {
    const { webhook, start } = await retriesAheadOfHeld();
    const meter = meteredD1(env.DB);
    meter.reset();
    // (All 50 read are retries: the bound is the last one's receipt, and every held one is newer.)
    expect(await heldFrom(meter.db, webhook.uid, 50)).toBe(start + 49);
    expect(meter.usage.rowsRead).toBeLessThanOrEqual(60);
    expect(await heldFrom(env.DB, webhook.uid, 300)).toBe(start + 250);

    await releaseHeld(env.DB, webhook.uid, 50);
    meter.reset();
    expect(await heldFrom(meter.db, webhook.uid, 50)).toBeNull();
    expect(meter.usage.rowsRead).toBeLessThanOrEqual(2);
  });

  it("releases what it holds a batch at a time from where the held ones start, not through the retries waiting ahead of them", async () => {
    const { p, key, webhook } = await retriesAheadOfHeld({ maxConcurrency: 1 });

    const meter = meteredD1(env.DB);
    const flow = new WebhookFlow({ ...p.env, DB: meter.db }, webhook.uid, {}, 10);
    // Its scheduler's first run releases ten, and sends them (it knows nothing of where the held ones start yet).
    await flow.run({ ...RUN, maxStarts: 10 });
    expect(await tally(webhook.uid)).toEqual({ held: 40, pending: 250, succeeded: 10 });
    // Its next runs release ten each (the held ones start at the newest released, or later) and send them.
    meter.reset();
    for (let run = 0; run < 4; run++) await flow.run({ ...RUN, maxStarts: 10 });
    expect((await received(key)).map(indexOf)).toEqual(Array.from({ length: 50 }, (_, i) => 250 + i));
    expect(await tally(webhook.uid)).toEqual({ pending: 250, succeeded: 50 });
    // Each release's two statements (its counts, and the update) read about what it releases (~100 rows for
    // ten: their index entries, rows and counts), not the 250 retries ahead too (each statement walked them).
    const releases = Object.entries(meter.usage.bySql).filter(([sql]) => RELEASE_SQL.test(sql));
    expect(releases.map(([, s]) => s.runs)).toEqual([4, 4]);
    expect(releases.reduce((n, [, s]) => n + s.rowsRead, 0)).toBeLessThanOrEqual(4 * 150);
  });

  it("reads none of a disabled webhook's pending deliveries, however many its disable left pending", async () => {
    const p = pipeline();
    const { key, org, webhook } = await p.webhookOn("ok");
    const start = Date.now();
    for (let b = 0; b < 3; b++) await p.runIngest(Array.from({ length: 100 }, (_, i) => message(key, org, b * 100 + i, start + b * 100 + i)));
    // Disabled, none of it held yet (its disable's chunk, then its scheduler's): a scheduler that read it enabled looks.
    await env.DB.prepare("UPDATE webhooks SET disabled = 1, updated_at = updated_at + 1 WHERE uid = ?").bind(webhook.uid).run();
    const meter = meteredD1(env.DB);
    const reads: Record<string, number> = {};
    const read = async (name: string, f: () => Promise<unknown>) => {
      meter.reset();
      await f();
      reads[name] = meter.usage.rowsRead;
    };
    await read("duePending", () => duePending(meter.db, webhook.uid, { now: Date.now(), limit: 50, exclude: [] }));
    await read("pendingOutlook", async () => expect((await pendingOutlook(meter.db, webhook.uid, [])).nextDueAt).toBeNull());
    await read("owedInOrder", () => owedInOrder(meter.db, webhook.uid, 20));
    await read("firstOwed", async () => expect(await firstOwed(meter.db, webhook.uid)).toBeNull());
    for (const [name, rows] of Object.entries(reads)) expect({ name, rows: rows <= 10 }).toEqual({ name, rows: true });
  });
});

/** The first lines of a release's statements (its counts', and the update's), as meteredD1 keys them. */
const RELEASE_SQL = /^(WITH r AS \(SELECT webhook, object, status AS old_status, 1 AS new_status|UPDATE deliveries SET status = 1, next_attempt_at = min\()/;

/** An env for commands that touch D1 alone. */
const d1Env = () => pipeline().env;

describe("a FIFO scheduler whose webhook is disabled while it runs", () => {
  it("sends no pending delivery the disable's chunk left, though it is still the head it read ahead", async () => {
    const armed = { disable: null as null | (() => Promise<void>) };
    // D1 as the scheduler sees it: the disable commits just before its look at whether its next head is still next.
    const db = new Proxy(env.DB, {
      get(target, key) {
        if (key !== "prepare") {
          const v = Reflect.get(target, key) as unknown;
          return typeof v === "function" ? v.bind(target) : v;
        }
        return (sql: string) => {
          const statement = target.prepare(sql);
          const disable = armed.disable;
          if (!disable || !sql.includes("d.event_received_at AS r, d.seq")) return statement;
          armed.disable = null;
          return {
            bind: (...binds: unknown[]) => {
              const bound = statement.bind(...binds);
              return { first: async () => (await disable(), bound.first()), all: async () => (await disable(), bound.all()) };
            },
          };
        };
      },
    });
    const p = pipeline();
    const { key, org, webhook } = await p.webhookOn("ok", { ordering: "fifo" });
    const start = Date.now();
    await p.runIngest(Array.from({ length: 5 }, (_, i) => message(key, org, i, start + i)));
    // The newer three wait for a retry: a disable's chunk of three holds them (retries first), not the head's next.
    await env.DB.prepare(`UPDATE deliveries SET attempt_count = 1, next_attempt_at = ?1 WHERE event_received_at >= ?2 AND webhook = (SELECT id FROM names WHERE name = ?3)`)
      .bind(Date.now() + 3_600_000, start + 2, webhook.uid)
      .run();
    armed.disable = async () => {
      const before = (await getWebhook(env.DB, webhook.uid))!;
      expect(await updateWebhook(env.DB, { ...before, disabled: true, updatedAt: before.updatedAt + 1 }, before, 3)).toBe("saved");
      expect(await tally(webhook.uid)).toEqual({ held: 3, pending: 1, succeeded: 1 });
    };
    await new WebhookFlow({ ...p.env, DB: db as D1Database }, webhook.uid).run(RUN);
    expect(armed.disable).toBeNull();
    expect((await received(key)).map(indexOf)).toEqual([0]);
  });
});

describe("an unordered scheduler draining a held backlog whose webhook is disabled and enabled again, its wake-ups lost", () => {
  it("releases what the disable held, older than the held ones it knew of, before those", async () => {
    const p = pipeline();
    const { key, org, webhook } = await p.webhookOn("ok", { disabled: true, maxConcurrency: 1 });
    const start = Date.now();
    await p.runIngest(Array.from({ length: 40 }, (_, i) => message(key, org, i, start + i)));
    await env.DB.prepare("UPDATE webhooks SET disabled = 0, updated_at = updated_at + 1 WHERE uid = ?").bind(webhook.uid).run();
    // The oldest ten released and each failed once, waiting for a retry an hour away; the newer 30 still held.
    await releaseHeld(env.DB, webhook.uid, 10);
    await setWebhookDeliveries(webhook.uid, "pending", "attempt_count = 1, next_attempt_at = ?1", Date.now() + 3_600_000);
    // Its scheduler releases ten (10..19) and sends them; just before its next release the webhook is
    // disabled (the ten retries held with the rest) and enabled again, its enable's release failed and
    // neither wake-up reached the scheduler.
    let releases = 0;
    const race = racingDb((statements) => statements.some((s) => RELEASE_SQL.test(s.sql)) && ++releases === 2);
    race.before(async () => {
      const before = (await getWebhook(env.DB, webhook.uid))!;
      const off = { ...before, disabled: true, updatedAt: before.updatedAt + 1 };
      expect(await updateWebhook(env.DB, off, before)).toBe("saved");
      expect(await updateWebhook(env.DB, { ...off, disabled: false, updatedAt: off.updatedAt + 1 }, off)).toBe("saved");
    });
    await new WebhookFlow({ ...p.env, DB: race.db }, webhook.uid, {}, 10).run(RUN);
    expect(race.ran()).toBe(true);
    // Oldest first: the ten the disable held go before the 20 held since the start.
    expect((await received(key)).map(indexOf)).toEqual([...Array.from({ length: 10 }, (_, i) => 10 + i), ...Array.from({ length: 10 }, (_, i) => i), ...Array.from({ length: 20 }, (_, i) => 20 + i)]);
  });
});
