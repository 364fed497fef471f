// Months of running: once traffic is older than the retention (and than every longer window,
// such as a closed alert's or dead letter's), the maintenance run has left nothing of it. Every
// table of the schema, read from sqlite_master, is either empty of it or named below with what
// bounds it, so a table added without a purge fails here. (setup.ts gives each file the database
// as the migrations leave it and an empty bucket, so every row found was made by this file.)
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { IngestMessage, RejectionsMessage } from "../../src/domain/types";
import { DAY_MS } from "../../src/domain/time";
import { runMaintenance } from "../../src/maintenance/cron";
import { park } from "../../src/store/parked";
import { keepReveal } from "../../src/store/sessions";
import { call, dashboardCookie, ingestMessage, podiumBody, podiumHeaders, post, recordingQueue } from "./helpers";
import { pipeline, received, uniqueKey } from "./pipeline";

/** Tables whose rows are bounded by what is configured, not by traffic: each with what bounds it. */
const CONFIGURED: Record<string, string> = {
  sources: "one per source made",
  webhooks: "one per webhook or notification endpoint (a rotation's previous secret is cleared: checked below)",
  webhook_health: "one per webhook, deleted with it (checked below)",
  delivery_counts: "one per webhook; a deleted one's goes with its last delivery (checked below)",
  alert_webhooks: "one per notification endpoint; a deleted one's goes with its counts (checked below)",
  tokens: "one per token made; a revoked one is kept, shown as revoked",
  names: "one per name seen (source, event type, location, organization, webhook uid)",
  locations: "one per location, with its organization",
  source_event_types: "one per source and event type it has received; a deleted source's go with it",
  retention_marks: "one row (id = 0)",
  event_count_marks: "one row (id = 0)",
  dead_letter_counts: "one row (id = 0)",
  delivery_totals: "one row (id = 0)",
  filter_program_total: "one row (id = 0)",
  filter_program_shares: "one per organization or location whose webhooks' filters count something (a row falling to 0 is deleted)",
};

/** Rows of a table that may stay however old, by design: which (SQL), and why. */
const KEPT: Record<string, [where: string, why: string]> = {
  dead_letters: ["queue = 'edgehook-ingest-dlq' AND replayed_at IS NULL", "an open ingest dead letter holds an event never stored: kept until replayed or deleted"],
  alerts: ["closed_at IS NULL", "an open episode: at most one per subject and type (alerts_open)"],
};

async function tables(): Promise<string[]> {
  const { results } = await env.DB.prepare(
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\' AND name <> 'd1_migrations' ORDER BY name",
  ).all<{ name: string }>();
  return results.map((r) => r.name);
}

/** Rows per table; without `all`, those KEPT left out. */
async function counts(names: string[], all = false): Promise<Record<string, number>> {
  const read = await env.DB.batch<{ n: number }>(
    names.map((t) => env.DB.prepare(`SELECT COUNT(*) AS n FROM "${t}"${KEPT[t] && !all ? ` WHERE NOT (${KEPT[t][0]})` : ""}`)),
  );
  return Object.fromEntries(names.map((t, i) => [t, read[i]?.results[0]?.n ?? -1]));
}

async function bucketKeys(): Promise<string[]> {
  return (await env.BODIES.list({ limit: 1000 })).objects.map((o) => o.key);
}

describe("what Edgehook stores", () => {
  it("holds nothing of traffic older than the retention once the maintenance run has passed it", { timeout: 120_000 }, async () => {
    const p = pipeline({ RETRY_BASE_SECONDS: "0" });
    const start = Date.now();
    const key = uniqueKey();
    const endpoint = async (suffix: string, alertTypes = ["webhook.failing", "webhook.disabled", "webhook.recovered", "delivery.dead_lettered", "ingest.dead_lettered", "source.rejecting"]) => {
      const res = await p.api("POST", "/v1/notification-endpoints", { url: `https://downstream.test/ok/${key}-${suffix}`, alertTypes });
      expect(res.status).toBe(201);
      return res.json as { uid: string };
    };
    const kept = await endpoint("kept");
    const dropped = await endpoint("dropped");
    const unused = await endpoint("unused", ["webhook.recovered"]);

    // Webhooks: one delivering, one failing (2 attempts, then a dead letter), one disabled (held), one deleted later.
    const ok = await p.webhookOn("ok");
    const failing = await p.webhookOn("fail", { maxAttempts: 2 });
    const held = await p.webhookOn("ok", { disabled: true });
    const gone = await p.webhookOn("ok");
    expect((await p.api("POST", "/v1/tokens", { name: `t-${key}`, scopes: ["events:read"] })).status).toBe(201);

    // Traffic: events with a location, a body claim-checked in R2, a late event stored past its retention.
    await p.ingest(podiumBody({ organizationUid: ok.org, locationUid: `loc-${key}` }));
    await p.ingest(ok.event("contact.created"));
    const large = JSON.stringify({ ...JSON.parse(ok.event()), padding: "x".repeat(200_000) });
    await p.ingest(large);
    const late = ingestMessage({ body: podiumBody({ organizationUid: ok.org }), organizationUid: ok.org, receivedAt: start - 12 * DAY_MS });
    expect((await p.runIngest([late])).acked).toHaveLength(1);
    const failed = await p.ingest(failing.event());
    await p.ingest(held.event());
    await p.ingest(gone.event());
    await p.deliver();
    await p.deliver();
    // A retry of the failed delivery, failing again.
    const [delivery] = (await p.api("GET", `/v1/events/${failed}`)).json.deliveries;
    expect(delivery.status).toBe("failed");
    expect((await p.api("POST", `/v1/deliveries/${delivery.id}/retry`)).status).toBe(202);
    await p.deliver();
    await p.deliver();
    expect(await received(`${key}-kept`)).not.toHaveLength(0);

    // A rotated secret, a refused request, ingest dead letters (one replayed, one parked in R2 and taken back).
    expect((await p.api("PATCH", `/v1/webhooks/${ok.webhook.uid}`, { secret: `whsec_${btoa("a-new-secret-of-32-bytes-at-least")}` })).status).toBe(200);
    const rejections = recordingQueue<RejectionsMessage>();
    const refused = podiumBody();
    expect((await call(post("/webhooks/podium", refused, await podiumHeaders(refused, "a-wrong-secret")), { REJECTIONS: rejections })).status).toBe(401);
    expect((await p.runQueue("edgehook-rejections", rejections.sent)).acked).toHaveLength(rejections.sent.length);
    const lettered = [ingestMessage({ body: podiumBody({ organizationUid: ok.org }), organizationUid: ok.org }), ingestMessage()];
    expect((await p.runQueue<IngestMessage>("edgehook-ingest-dlq", lettered)).acked).toHaveLength(2);
    const letters = (await p.api("GET", "/v1/dead-letters?open=true")).json.data;
    const replay = letters.find((l) => l.eventId === lettered[0]!.eventId)!;
    expect((await p.api("POST", `/v1/dead-letters/${replay.id}/replay`)).status).toBe(202);
    await park(env.BODIES, { queue: "edgehook-ingest-dlq", messageId: `parked-${key}`, attempts: 30, parkedAt: start, body: ingestMessage() });
    expect((await runMaintenance(p.env, Date.now())).unparked).toBe(1);
    await p.runIngest(p.queues.ingest.sent.splice(0));
    await p.deliver();

    // A dashboard session, with a secret waiting for its page.
    await dashboardCookie();
    await keepReveal(env.DB, `session-${key}`, `reveal-${key}`, { title: "t", nav: "n", what: "webhook", href: "/", secret: "sealed", until: start + 600_000 });

    // A webhook and a notification endpoint deleted with their history still stored, and an endpoint sent nothing.
    expect((await p.api("DELETE", `/v1/webhooks/${gone.webhook.uid}`)).status).toBe(204);
    expect((await p.api("DELETE", `/v1/notification-endpoints/${dropped.uid}`)).status).toBe(204);
    expect(await received(`${key}-unused`)).toHaveLength(0);
    expect((await p.api("DELETE", `/v1/notification-endpoints/${unused.uid}`)).status).toBe(204);

    const all = await tables();
    const before = await counts(all, true);
    for (const t of ["events", "deliveries", "contents", "event_counts", "attempt_counts", "rejections", "rejection_counts", "sessions", "session_reveals", "alerts", "dead_letters"]) {
      expect(before[t], t).toBeGreaterThan(0);
    }

    // Months go by with no traffic: a run, again until nothing changes, every 11 days (past the
    // retention, and past a day's grace and the windows counted from a closing at the last step).
    for (let step = 1; step <= 4; step++) {
      const now = start + step * 11 * DAY_MS;
      let last = "";
      for (let run = 0; run < 40; run++) {
        expect((await runMaintenance(p.env, now + run * 60_000)).failed).toEqual([]);
        const state = JSON.stringify([await counts(all), await env.DB.prepare("SELECT * FROM event_count_marks").first()]);
        if (state === last) break;
        last = state;
      }
    }

    const after = await counts(all);
    const left = Object.fromEntries(Object.entries(after).filter(([t, n]) => n > 0 && !(t in CONFIGURED)));
    expect(left).toEqual({});
    // What the configured tables hold is of what is configured now.
    const orphans = await env.DB.batch<{ n: number }>([
      env.DB.prepare("SELECT COUNT(*) AS n FROM webhook_health h WHERE NOT EXISTS (SELECT 1 FROM webhooks w WHERE w.uid = h.webhook_uid)"),
      env.DB.prepare("SELECT COUNT(*) AS n FROM delivery_counts c WHERE NOT EXISTS (SELECT 1 FROM names n JOIN webhooks w ON w.uid = n.name WHERE n.id = c.webhook)"),
      env.DB.prepare("SELECT COUNT(*) AS n FROM alert_webhooks a WHERE NOT EXISTS (SELECT 1 FROM names n JOIN webhooks w ON w.uid = n.name WHERE n.id = a.webhook)"),
      env.DB.prepare("SELECT COUNT(*) AS n FROM webhooks WHERE previous_secret IS NOT NULL"),
    ]);
    expect(orphans.map((o) => o.results[0]?.n)).toEqual([0, 0, 0, 0]);
    expect(await env.DB.prepare("SELECT n.name FROM alert_webhooks a JOIN names n ON n.id = a.webhook").all()).toMatchObject({ results: [{ name: kept.uid }] });
    // The one row kept by design: the ingest dead letter nobody replayed.
    const open = await env.DB.prepare(`SELECT event_id FROM dead_letters WHERE ${KEPT.dead_letters![0]}`).all<{ event_id: string }>();
    expect(open.results.map((r) => r.event_id)).toEqual([lettered[1]!.eventId]);
    // R2: claim-checked bodies went with their stored events, parked letters with their re-ingest.
    expect(await bucketKeys()).toEqual([]);
  });
});
