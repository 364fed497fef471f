// D1 allows 1,000 queries per Worker invocation (docs/scale-and-cost.md's limits): a maintenance
// run's steps that loop over webhooks make a bounded number of D1 calls however many webhooks
// have work for them, and what a run leaves is done by the runs after it.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { meteredD1 } from "../../bench/d1-meter";
import { MINUTE_MS } from "../../src/domain/time";
import { runMaintenance } from "../../src/maintenance/cron";
import { DELIVERY_STATUSES } from "../../src/domain/delivery";
import { LASTING_OPENS_PER_RUN, QUIET_CLOSES_PER_RUN } from "../../src/pipeline/alerts";
import { MAINTENANCE_DISABLES, MAINTENANCE_RELEASES } from "../../src/pipeline/commands";
import { ingestMessage, podiumBody } from "./helpers";
import { copyWebhook } from "./rows";
import { pipeline, uniqueKey } from "./pipeline";

/**
 * D1 statements a run makes at most (each statement of a batch counted), with room to spare
 * under the 1,000: 12,882 (1,442 calls) before the per-run bounds, with 600 of each (~470 since
 * the run also opens the webhook.failing episodes of lasting streaks, LASTING_OPENS_PER_RUN).
 */
const MAX_STATEMENTS = 500;

/** D1 calls a run made: each call (a batch is one); each statement (a batch's each); and both (`strict`: a batch counts once more). */
function callsOf(meter: ReturnType<typeof meteredD1>) {
  const calls = meter.calls.length;
  const statements = meter.calls.reduce((n, c) => n + c.statements.length, 0);
  const batches = meter.calls.filter((c) => c.batch).length;
  return { calls, statements, strict: statements + batches };
}

/**
 * `n` webhooks of a fresh organization (copies of one made through the API, `hook` its
 * settings), each owed one event of it: held when `hook` disables them, else pending.
 */
async function webhooksOwed(p: ReturnType<typeof pipeline>, n: number, hook: Record<string, unknown>): Promise<string[]> {
  const key = uniqueKey();
  const org = `org-${key}`;
  const first = await p.createWebhook({ url: `https://downstream.test/ok/${key}`, eventTypes: ["*"], organizationUid: org, ...hook });
  await copyWebhook(first.uid, n);
  await p.runIngest([ingestMessage({ organizationUid: org, body: podiumBody({ organizationUid: org }) })]);
  const uids = (await env.DB.prepare("SELECT uid FROM webhooks WHERE organization_uid = ?").bind(org).all<{ uid: string }>()).results.map((r) => r.uid);
  expect(uids).toHaveLength(n);
  return uids;
}

/**
 * Work for every step that loops over webhooks, `n` of each (`n.episodes` quiet episodes of
 * each kind): enabled webhooks holding
 * deliveries (release), disabled ones with pending deliveries (hold-disabled), deleted ones still
 * owed some (expire-deleted), failing ones due to be disabled (auto-disable) and failing again since
 * their last `webhook.failing` episode recovered, none open (lasting-failures), and quiet episodes of
 * webhooks' dead letters and sources' refusals (quiet-alerts), each announced to an endpoint.
 */
async function seed(now: number, n: { webhooks: number; episodes: number }) {
  const p = pipeline();
  const key = uniqueKey();
  const endpoint = await p.api("POST", "/v1/notification-endpoints", {
    url: `https://downstream.test/ok/${key}-alerts`,
    alertTypes: ["webhook.failing", "webhook.disabled", "delivery.dead_lettered", "source.rejecting"],
  });
  expect(endpoint.status).toBe(201);
  const held = await webhooksOwed(p, n.webhooks, { disabled: true });
  await env.DB.prepare("UPDATE webhooks SET disabled = 0 WHERE uid IN (SELECT value FROM json_each(?))").bind(JSON.stringify(held)).run();
  const disabled = await webhooksOwed(p, n.webhooks, {});
  await env.DB.prepare("UPDATE webhooks SET disabled = 1 WHERE uid IN (SELECT value FROM json_each(?))").bind(JSON.stringify(disabled)).run();
  const deleted = await webhooksOwed(p, n.webhooks, {});
  await env.DB.prepare("DELETE FROM webhooks WHERE uid IN (SELECT value FROM json_each(?))").bind(JSON.stringify(deleted)).run();
  const failing = await webhooksOwed(p, n.webhooks, { failingAfterAttempts: 1, autoDisableAfterMinutes: 1 });
  await env.DB.prepare(
    // Failing again a minute after their last episode recovered: the catch-up reads them.
    "INSERT INTO webhook_health (webhook_uid, consecutive_failures, failing_since, last_failure_at, last_error, failing_alert_closed_at) SELECT value, 5, ?2, ?2, 'HTTP 500', ?2 - 60000 FROM json_each(?1)",
  )
    .bind(JSON.stringify(failing), now - 60 * MINUTE_MS)
    .run();
  const quiet = await webhooksOwed(p, n.webhooks, {});
  await env.DB.prepare("INSERT INTO webhook_health (webhook_uid, consecutive_failures, last_success_at) SELECT value, 0, ?2 FROM json_each(?1)")
    .bind(JSON.stringify(quiet), now - 60 * MINUTE_MS)
    .run();
  const episodes = `INSERT INTO alerts (id, type, subject, opened_at, last_at, count, data)
    SELECT 'alt_' || ?2 || '_' || key, ?3, CASE WHEN ?3 = 'source.rejecting' THEN 'src-' || ?2 || '-' || key ELSE value END, ?4, ?4, 1, '{}' FROM json_each(?1)`;
  for (const type of ["delivery.dead_lettered", "source.rejecting"]) {
    await env.DB.prepare(episodes).bind(JSON.stringify(quiet.slice(0, n.episodes)), uniqueKey(), type, now - 120 * MINUTE_MS).run();
  }
  return { p, held, disabled, deleted, failing, quiet };
}

/** What of the seeded work is still to do: webhooks holding deliveries, failing ones enabled, open episodes. */
async function left(s: Awaited<ReturnType<typeof seed>>) {
  const count = async (sql: string, uids: string[]) => (await env.DB.prepare(sql).bind(JSON.stringify(uids)).first<number>("n")) ?? 0;
  return {
    holding: await count(
      `SELECT count(DISTINCT d.webhook) AS n FROM deliveries d JOIN names w ON w.id = d.webhook
       WHERE w.name IN (SELECT value FROM json_each(?)) AND d.status = ${DELIVERY_STATUSES.indexOf("held")}`,
      s.held,
    ),
    failing: await count("SELECT count(*) AS n FROM webhooks WHERE disabled = 0 AND uid IN (SELECT value FROM json_each(?))", s.failing),
    episodes: await count(
      "SELECT count(*) AS n FROM alerts WHERE closed_at IS NULL AND type <> 'webhook.disabled' AND (subject IN (SELECT value FROM json_each(?1)) OR subject LIKE 'src-%')",
      s.quiet,
    ),
  };
}

const metered = () => meteredD1(env.DB, { record: true });

// The first test runs on a database with no other work: each run draws what it does from all there is.
describe("the maintenance run's work over many webhooks", () => {
  it("is done within a bounded number a run, and what a run leaves by the runs after it", async () => {
    const now = Date.now() + 2 * MINUTE_MS;
    const caps = { holding: MAINTENANCE_RELEASES, failing: MAINTENANCE_DISABLES, episodes: QUIET_CLOSES_PER_RUN };
    // More than two runs' worth of each: three runs do it all.
    const seeded = await seed(now, { webhooks: 2 * MAINTENANCE_RELEASES + 1, episodes: QUIET_CLOSES_PER_RUN + 1 });
    // Of the failing, as many enabled.
    await env.DB.prepare("UPDATE webhooks SET disabled = 1 WHERE uid IN (SELECT value FROM json_each(?))")
      .bind(JSON.stringify(seeded.failing.slice(2 * caps.failing + 1)))
      .run();
    let before = await left(seeded);
    expect(before).toEqual({ holding: 2 * caps.holding + 1, failing: 2 * caps.failing + 1, episodes: 2 * (caps.episodes + 1) });
    for (let run = 1; run <= 3; run++) {
      const report = await runMaintenance(seeded.p.env, now);
      expect(report.failed).toEqual([]);
      const after = await left(seeded);
      for (const k of ["holding", "failing", "episodes"] as const) expect(before[k] - after[k], `${k}, run ${run}`).toBe(Math.min(caps[k], before[k]));
      before = after;
    }
    expect(before).toEqual({ holding: 0, failing: 0, episodes: 0 });
  }, 120_000);

  it(`makes at most ${MAX_STATEMENTS} D1 statements a run with 600 webhooks of each kind of work, and the next run goes on`, async () => {
    const now = Date.now() + 2 * MINUTE_MS;
    const seeded = await seed(now, { webhooks: 600, episodes: 600 });
    let before = await left(seeded);
    for (let run = 1; run <= 2; run++) {
      const meter = metered();
      const report = await runMaintenance({ ...seeded.p.env, DB: meter.db }, now);
      const made = callsOf(meter);
      console.log(`D1 calls of maintenance run ${run} over 600 webhooks of each kind`, made);
      expect(report.failed).toEqual([]);
      expect(made.statements).toBeLessThanOrEqual(MAX_STATEMENTS);
      const after = await left(seeded);
      expect(before.holding - after.holding).toBe(MAINTENANCE_RELEASES);
      expect(before.failing - after.failing).toBe(MAINTENANCE_DISABLES);
      expect(before.episodes - after.episodes).toBe(QUIET_CLOSES_PER_RUN);
      expect(report.alertsOpened).toBe(LASTING_OPENS_PER_RUN);
      expect(report.held).toBeGreaterThan(0);
      expect(report.expired).toBeGreaterThan(0);
      before = after;
    }
  }, 300_000);
});
