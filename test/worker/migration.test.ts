import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { eventIdFor } from "../../src/domain/ids";
import { HOUR_MS } from "../../src/domain/time";
import { attemptCountsStatement, EVENT_COLUMNS, foldEventCountDeltas, foldEventCounts } from "../../src/store/counters";
import type { NewDelivery } from "../../src/domain/delivery";
import { insertDeliveries, recordAttempts } from "../../src/store/deliveries";
import { apiIdSql, idKeySql } from "../../src/store/names";
import { duePending, owedInOrder } from "../../src/store/scheduler-reads";
import { storeEvents, type EventRow } from "../../src/store/events";
import { RETENTION_START, retentionStep } from "../../src/store/retention";
import toTable from "../../scripts/attempts-to-table.sql?raw";
import { placeLocations } from "../../src/store/locations";
import { ADMIN, call, type Answered } from "./helpers";
import { pipeline, received } from "./pipeline";
import { kept, recounted } from "./recount";
import { eventSeqSql } from "./rows";
import { as, makeToken } from "./tokens";

const VOLUME = "0014_volume.sql";

async function api<P extends string>(path: P): Promise<Answered<"GET", P>> {
  const res = await call(new Request(`https://edgehook.test${path}`, { headers: ADMIN }), { DB: env.MIGRATION_DB });
  return { status: res.status, json: await res.json() };
}

/** What sqlite_master says of a database's own objects (not SQLite's, D1's or the migrations' record). */
async function schemaOf(db: D1Database) {
  const { results } = await db
    .prepare("SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' AND name != 'd1_migrations' ORDER BY type, name")
    .all();
  return results;
}

describe("migration 0014 (volume)", () => {
  it("converts a database of the old layout without losing an event, a delivery, an attempt or a byte of a body", async () => {
    const db = env.MIGRATION_DB;
    await applyD1Migrations(db, env.TEST_MIGRATIONS.filter((m) => m.name < VOLUME));
    const hour = 3_600_000;
    const t0 = Date.now() - 2 * hour;
    const bodies = ['{"data":{"body":"héllo ✓ 𝄞"},"metadata":{"eventUid":"u1"}}', "not json at all\nsecond line", '{"x":1}'];
    const ids = await Promise.all(["5b6c7d8e-9f0a-4b1c-8d2e-3f4a5b6c7d8e", "plain-key", "u3"].map((k) => eventIdFor({ id: "podium", eventSalt: null }, { given: k })));
    const old = [
      [ids[0], "podium", "5b6c7d8e-9f0a-4b1c-8d2e-3f4a5b6c7d8e", "message.received", "loc-a", "org-a", t0, '{"content-type":"application/json"}', bodies[0]],
      [ids[1], "podium", "plain-key", "review.created", "loc-b", null, t0 + hour, "{}", bodies[1]],
      ["evt_legacy-id", "src-x", "u3", "unknown", null, "org-a", t0 + 2 * hour - 1, '{"user-agent":"x"}', bodies[2]],
    ];
    const stmts = old.map((r) =>
      db
        .prepare(
          `INSERT INTO events (id, source_id, dedupe_key, event_type, location_uid, organization_uid, received_at, headers, body, filtered_out)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .bind(...r, r[0] === ids[1] ? '["wh-1"]' : null),
    );
    await db.batch([
      ...stmts,
      db.prepare(`INSERT INTO webhooks (uid, url, event_types, organization_uid, secret, disabled, timeout_ms, max_attempts, created_at, updated_at)
                  VALUES ('wh-1', 'https://downstream.test/ok/m', '["*"]', 'org-a', 's', 0, 5000, 3, 0, 0)`),
      db.prepare(`INSERT INTO deliveries (id, event_id, webhook_uid, status, attempt_count, next_attempt_at, created_at, updated_at, event_received_at) VALUES
        ('dlv_0123456789abcdef0123456789abcdef', ?1, 'wh-1', 'failed', 2, NULL, ?3, ?3, NULL),
        ('dlv_legacy', ?2, 'wh-1', 'pending', 0, ?3, ?3, ?3, ?4)`).bind(ids[0], "evt_legacy-id", t0, t0 + 2 * hour - 1),
      db.prepare(`INSERT INTO attempts (delivery_id, number, started_at, duration_ms, status_code, error, response_snippet) VALUES
        ('dlv_0123456789abcdef0123456789abcdef', 1, ?1, 10, 500, 'HTTP 500', 'no'),
        ('dlv_0123456789abcdef0123456789abcdef', 2, ?1 + 1000, 12, 500, 'HTTP 500', 'still no')`).bind(t0 + 5),
      db.prepare(`INSERT INTO dead_letters (queue, message_id, event_id, delivery_id, body, attempts, received_at)
                  VALUES ('edgehook-deliveries-dlq', 'm1', ?, 'dlv_0123456789abcdef0123456789abcdef', '{}', 2, ?)`).bind(ids[0], t0),
      // A delivery whose event row is gone (a replay that raced the retention's purge, in releases before): its body went
      // with its event, so it could never be sent. 0014 leaves it out with its attempts, 0020 its open dead letter.
      db.prepare(`INSERT INTO deliveries (id, event_id, webhook_uid, status, attempt_count, next_attempt_at, created_at, updated_at, event_received_at) VALUES
        ('dlv_fedcba9876543210fedcba9876543210', 'evt_purged', 'wh-1', 'failed', 1, NULL, ?1, ?1, NULL)`).bind(t0),
      db.prepare(`INSERT INTO attempts (delivery_id, number, started_at, duration_ms, status_code, error, response_snippet) VALUES
        ('dlv_fedcba9876543210fedcba9876543210', 1, ?1, 10, 500, 'HTTP 500', 'gone')`).bind(t0 + 5),
      db.prepare(`INSERT INTO dead_letters (queue, message_id, event_id, delivery_id, body, attempts, received_at)
                  VALUES ('edgehook-deliveries-dlq', 'm2', 'evt_purged', 'dlv_fedcba9876543210fedcba9876543210', '{}', 1, ?)`).bind(t0),
    ]);

    await applyD1Migrations(db, env.TEST_MIGRATIONS);
    // The same schema as a database made afresh (env.DB, test/worker/setup.ts): every table, column, index and trigger.
    expect(await schemaOf(db)).toEqual(await schemaOf(env.DB));

    // Every event reads back as before, bodies byte for byte, in the same order.
    const list = await api("/v1/events?limit=10");
    expect(list.json.data.map((e: { id: string }) => e.id)).toEqual([...old].reverse().map((r) => r[0]));
    for (const r of old) {
      const e = (await api(`/v1/events/${r[0]}`)).json;
      expect(e).toMatchObject({ id: r[0], sourceId: r[1], dedupeKey: r[2], eventType: r[3], locationUid: r[4], organizationUid: r[5] });
      expect(e.body).toBe(r[8]);
      expect(e.headers).toEqual(JSON.parse(String(r[7])));
      expect(Date.parse(e.receivedAt)).toBe(r[6]);
    }
    // What a webhook's filter excluded stays recorded on its event.
    expect((await api(`/v1/events/${ids[1]}`)).json.filteredOut).toEqual(["wh-1"]);
    const first = (await api(`/v1/events/${ids[0]}`)).json;
    expect(first.deliveries).toHaveLength(1);
    expect(first.deliveries[0]).toMatchObject({ id: "dlv_0123456789abcdef0123456789abcdef", webhookUid: "wh-1", status: "failed", attemptCount: 2 });
    expect(first.deliveries[0].attempts.map((a: { responseSnippet: string }) => a.responseSnippet)).toEqual(["no", "still no"]);
    expect((await api("/v1/deliveries?status=pending")).json.data.map((d: { id: string }) => d.id)).toEqual(["dlv_legacy"]);
    expect((await api("/v1/events?organizationUid=org-a")).json.data.map((e: { id: string }) => e.id)).toEqual(["evt_legacy-id", ids[0]]);
    // The webhook's scheduler finds what it is owed, in its events' order, with the body to send.
    const due = await duePending(db, "wh-1", { now: Date.now(), limit: 10, exclude: [] });
    expect(due.map((j) => [j.delivery.id, j.event.id, j.event.body])).toEqual([["dlv_legacy", "evt_legacy-id", bodies[2]]]);
    expect((await owedInOrder(db, "wh-1", 10)).map((j) => j.delivery.id)).toEqual(["dlv_legacy"]);

    // The counters start equal to what is stored, and the stats read them.
    expect(await kept(db)).toEqual(await recounted(db));
    const stats = (await api("/v1/stats")).json;
    expect(stats.events.total).toBe(3);
    expect(stats.deliveries).toMatchObject({ failed: 1, pending: 1 });
    expect(stats.deadLetters).toBe(1);
    expect(stats.webhooks[0]).toMatchObject({ uid: "wh-1", failed: 1, pending: 1, lastError: "HTTP 500" });
    // The delivery whose event was gone is not carried over, nor its attempt or dead letter (counted above: none of them).
    expect((await api("/v1/deliveries?status=failed")).json.data.map((d: { id: string }) => d.id)).toEqual(["dlv_0123456789abcdef0123456789abcdef"]);
    expect((await api("/v1/dead-letters")).json.data.map((d: { deliveryId: string }) => d.deliveryId)).toEqual(["dlv_0123456789abcdef0123456789abcdef"]);
  });
});

describe("migration 0016 (alert counts)", () => {
  it("moves the alerts counted so far into their own rows", async () => {
    const db = env.MIGRATION_DB;
    // The database the test above migrated (every migration is applied to it by now).
    await applyD1Migrations(db, env.TEST_MIGRATIONS);
    const at = Date.UTC(2026, 10, 1, 0, 30);
    const row = (i: number, sourceId: string, eventType: string): EventRow => ({
      eventId: `evt_m17_${i}`,
      sourceId,
      dedupeKey: `m17-${i}`,
      eventType,
      locationUid: null,
      organizationUid: sourceId === "edgehook" ? null : "org-m17",
      receivedAt: at + i * 60_000,
      headers: {},
      body: "{}",
    });
    await storeEvents(db, [row(1, "podium", "message.received"), row(2, "edgehook", "webhook.failing"), row(3, "edgehook", "webhook.recovered")]);
    await foldEventCountDeltas(db); // (the rows 0016 moves are event_counts')
    // As counted before 0016: the alerts in everyone's rows with the rest (owner 0).
    const { results: apart } = await db.prepare("SELECT * FROM event_counts WHERE scope = 0 AND owner = -1").all<Record<string, number>>();
    expect(apart.length).toBeGreaterThan(0);
    for (const r of apart) {
      await db
        .prepare(
          `INSERT INTO event_counts (scope, hour, owner, ${EVENT_COLUMNS.join(", ")}) VALUES (0, ?, 0, ${EVENT_COLUMNS.map(() => "?").join(", ")})
           ON CONFLICT (scope, hour, owner) DO UPDATE SET ${EVENT_COLUMNS.map((c) => `${c} = ${c} + excluded.${c}`).join(", ")}`,
        )
        .bind(r.hour, ...EVENT_COLUMNS.map((c) => r[c]))
        .run();
    }
    await db.prepare("DELETE FROM event_counts WHERE owner = -1").run();
    expect(await kept(db)).not.toEqual(await recounted(db));

    const migration = env.TEST_MIGRATIONS.find((m) => m.name.startsWith("0016_"))!;
    await db.batch(migration.queries.map((q) => db.prepare(q)));
    expect(await kept(db)).toEqual(await recounted(db));
    const total = (await api("/v1/stats")).json.events.total;
    expect(total).toBe((await db.prepare("SELECT COUNT(*) AS n FROM events").first<{ n: number }>())!.n);
  });
});

describe("migration 0022 (event count marks)", () => {
  it("keeps every hour in the totals until this release's maintenance run starts folding", async () => {
    const db = env.MIGRATION_DB;
    await applyD1Migrations(db, env.TEST_MIGRATIONS);
    const hour = Math.floor(Date.now() / HOUR_MS);
    const marks = () => db.prepare("SELECT after, through FROM event_count_marks").first<{ after: number; through: number }>();
    // Far ahead, as the previous release counts (it writes every event into the totals too).
    expect((await marks())!.after).toBe(-1);
    expect((await marks())!.through).toBeGreaterThan(hour + 24 * 365);
    // The first run brings it to the clock: the current hour and the next stay in, nothing is taken out yet.
    await foldEventCounts(db, hour, hour - 240);
    expect(await marks()).toEqual({ after: -1, through: hour + 1 });
    expect(await kept(db)).toEqual(await recounted(db));
  });
});

describe("migration 0023 (attempts in deliveries)", () => {
  it("reads the attempts recorded before it from their table with the new ones, and the retention purges both with their counts", async () => {
    const db = env.MIGRATION_DB;
    await applyD1Migrations(db, env.TEST_MIGRATIONS);
    // dlv_legacy (the 0014 test's): pending, not attempted. Its first attempt as a release before
    // 0023 recorded it, a row of its own with its counts; its second as this release does.
    const legacy = "(SELECT seq FROM deliveries WHERE id = 'dlv_legacy')";
    const t = Date.now() - 60_000;
    await db.batch([
      attemptCountsStatement(db, `SELECT webhook, object, ?1 AS started_at, 0 AS ok FROM deliveries WHERE id = 'dlv_legacy'`, [t], 1),
      db.prepare(`INSERT INTO attempts (delivery, number, started_at, duration_ms, status_code, error, response_snippet)
                  VALUES (${legacy}, 1, ?1, 7, 503, 'HTTP 503', 'busy')`).bind(t),
      db.prepare("UPDATE deliveries SET attempt_count = 1 WHERE id = 'dlv_legacy'"),
    ]);
    const second = { deliveryId: "dlv_legacy", number: 2, startedAt: t + 30_000, durationMs: 9, statusCode: 200, error: null, responseSnippet: "ok" };
    // A transaction recording #1 again (retried across the deploy) adds nothing: the table has it.
    const again = { ...second, number: 1, startedAt: t, statusCode: 503, error: "HTTP 503" };
    await recordAttempts(db, "wh-1", [{ attempt: again, status: "pending", nextAttemptAt: t + 60_000, deadLetter: null }]);
    expect(await db.prepare("SELECT attempts FROM deliveries WHERE id = 'dlv_legacy'").first("attempts")).toBeNull();
    expect(await kept(db)).toEqual(await recounted(db));
    await recordAttempts(db, "wh-1", [{ attempt: second, status: "succeeded", nextAttemptAt: null, deadLetter: null }]);
    expect(await db.prepare(`SELECT COUNT(*) AS n FROM attempts WHERE delivery = ${legacy}`).first("n")).toBe(1);

    const event = (await api("/v1/events/evt_legacy-id")).json;
    expect(event.deliveries[0]).toMatchObject({ id: "dlv_legacy", status: "succeeded", attemptCount: 2 });
    expect(event.deliveries[0].attempts.map((a: { number: number; statusCode: number; responseSnippet: string }) => [a.number, a.statusCode, a.responseSnippet]))
      .toEqual([[1, 503, "busy"], [2, 200, "ok"]]);
    expect(await kept(db)).toEqual(await recounted(db));

    // The retention takes the event, its delivery and both attempts, and their counts.
    await retentionStep(db, { cutoff: Date.now(), graceCutoff: Date.now(), from: RETENTION_START, limit: 100, now: Date.now() });
    expect((await api("/v1/events/evt_legacy-id")).status).toBe(404);
    expect(await db.prepare("SELECT COUNT(*) AS n FROM attempts").first("n")).toBe(0);
    expect(await kept(db)).toEqual(await recounted(db));
    expect(await db.prepare("SELECT COUNT(*) AS n FROM attempt_counts").first("n")).toBe(0);
  });

  it("puts every attempt back in its table for a release before it (scripts/attempts-to-table.sql), run twice", async () => {
    // A backoff of 0 s: the failed attempt's retry is due at once.
    const p = pipeline({ DB: env.MIGRATION_DB, RETRY_BASE_SECONDS: "0" });
    const { event } = await p.webhookOn("flaky?fails=1");
    const id = await p.ingest(event());
    await p.deliver();
    const before = (await api(`/v1/events/${id}`)).json.deliveries[0].attempts;
    expect(before.map((a: { number: number }) => a.number)).toEqual([1, 2]);
    const statements = toTable.split(/;\s*\n/).filter((q) => /^(INSERT|UPDATE)/m.test(q));
    expect(statements).toHaveLength(2);
    const last = (await env.MIGRATION_DB.prepare("SELECT MAX(seq) AS n FROM deliveries").first<number>("n"))!;
    for (let run = 0; run < 2; run++) {
      // A range of one delivery at a time, as the documented loop takes 50,000.
      for (let from = 0; from <= last; from++) {
        const range = statements.map((q) => q.replaceAll(":from", String(from)).replaceAll(":to", String(from + 1)));
        await env.MIGRATION_DB.batch(range.map((q) => env.MIGRATION_DB.prepare(q)));
      }
      // As a release before 0023 reads them: from the table alone, the same attempts.
      const { results } = await env.MIGRATION_DB.prepare(
        `SELECT a.number, a.started_at, a.duration_ms, a.status_code, a.error, a.response_snippet FROM attempts a
         JOIN deliveries d ON d.seq = a.delivery JOIN events e ON e.seq = d.event WHERE e.id = unhex(substr(?, 5)) ORDER BY a.number`,
      ).bind(id).all();
      const asStored = (a: Record<string, unknown>) => [a.number, Date.parse(String(a.startedAt)), a.durationMs, a.statusCode, a.error, a.responseSnippet];
      expect(results.map((r) => Object.values(r))).toEqual(before.map(asStored));
      expect(await env.MIGRATION_DB.prepare("SELECT COUNT(*) AS n FROM deliveries WHERE attempts IS NOT NULL").first("n")).toBe(0);
      // And this release reads them once each, with its counts still right.
      expect((await api(`/v1/events/${id}`)).json.deliveries[0].attempts).toEqual(before);
      expect(await kept(env.MIGRATION_DB)).toEqual(await recounted(env.MIGRATION_DB));
    }
  });
});

describe("migration 0032 (deliveries by webhook)", () => {
  it("replaces the (webhook, status, seq) index by (webhook, seq), failed deliveries by a partial one: a status change moves no entry of either", async () => {
    const db = env.MIGRATION_DB;
    await applyD1Migrations(db, env.TEST_MIGRATIONS);
    const { results } = await db.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'deliveries' AND sql IS NOT NULL ORDER BY name").all<{ name: string; sql: string }>();
    // (0038 replaced (webhook, seq) in turn by packed rows: test/worker/delivery-webhooks.test.ts.)
    expect(results.map((r) => r.name)).toEqual(["deliveries_failed", "deliveries_owed_in_order", "deliveries_pending_due"]);
    expect(results.find((r) => r.name === "deliveries_failed")!.sql).toMatch(/\(webhook, seq\) WHERE status = 3$/);
  });
});

describe("migration 0033 (fresh deliveries)", () => {
  it("keeps delivering what an existing database owes: new deliveries, retries and held ones", async () => {
    const db = env.MIGRATION_DB;
    await applyD1Migrations(db, env.TEST_MIGRATIONS);
    // The scheduler's indexes as before it.
    await db.batch(
      [
        "DROP INDEX deliveries_owed_in_order",
        "DROP INDEX deliveries_pending_due",
        "CREATE INDEX deliveries_owed_in_order ON deliveries (webhook, event_received_at) WHERE status IN (0, 1)",
        "CREATE INDEX deliveries_pending_due ON deliveries (webhook, next_attempt_at) WHERE status = 1",
      ].map((q) => db.prepare(q)),
    );
    // Retries an hour away at most: none comes due within the test unless it says so.
    const p = pipeline({ DB: db, RETRY_BASE_SECONDS: "3600" });
    const retrying = await p.webhookOn("flaky?fails=1");
    const retried = await p.ingest(retrying.event());
    await p.deliver();
    expect((await api(`/v1/events/${retried}`)).json.deliveries[0]).toMatchObject({ status: "pending", attemptCount: 1 });
    const fresh = await p.webhookOn("ok");
    const made = await p.ingest(fresh.event());
    const holding = await p.webhookOn("ok", { disabled: true });
    const held = await p.ingest(holding.event());
    expect((await api(`/v1/events/${held}`)).json.deliveries[0]).toMatchObject({ status: "held" });

    const migration = env.TEST_MIGRATIONS.find((m) => m.name.startsWith("0033_"))!;
    await db.batch(migration.queries.map((q) => db.prepare(q)));
    const { results } = await db.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND name IN ('deliveries_owed_in_order', 'deliveries_pending_due') ORDER BY name").all<{ sql: string }>();
    expect(results.map((r) => r.sql)).toEqual([
      expect.stringMatching(/\(webhook, \(status = 1 AND attempt_count = 0\), event_received_at\) WHERE status IN \(0, 1\)$/),
      expect.stringMatching(/\(webhook, next_attempt_at\) WHERE status = 1 AND attempt_count > 0$/),
    ]);

    // The new one is due at once; the retry once its time comes; the held one once its webhook is enabled.
    expect((await duePending(db, fresh.webhook.uid, { now: Date.now(), limit: 10, exclude: [] })).map((j) => j.event.id)).toEqual([made]);
    expect(await duePending(db, retrying.webhook.uid, { now: Date.now(), limit: 10, exclude: [] })).toEqual([]);
    await db.prepare(`UPDATE deliveries SET next_attempt_at = ?1 WHERE event = ${eventSeqSql("?2")}`).bind(Date.now() - 1, retried).run();
    expect((await p.api("PATCH", `/v1/webhooks/${holding.webhook.uid}`, { disabled: false })).status).toBe(200);
    await p.deliver();
    for (const [hook, event] of [[retrying, retried], [fresh, made], [holding, held]] as const) {
      expect((await api(`/v1/events/${event}`)).json.deliveries[0]).toMatchObject({ status: "succeeded" });
      expect((await received(hook.key)).map((r) => r.headers["edgehook-event-id"])).toContain(event);
    }
    expect(await kept(db)).toEqual(await recounted(db));
  });
});

describe("migration 0034 (deliveries by their id range)", () => {
  it("finds, expires and purges with their events the deliveries stored before whose ids do not follow their event's receipt time", async () => {
    const db = env.MIGRATION_DB;
    await applyD1Migrations(db, env.TEST_MIGRATIONS);
    // The database as before it: an index by event, no strays.
    await db.batch(["DROP TABLE stray_deliveries", "CREATE INDEX deliveries_event ON deliveries (event)"].map((q) => db.prepare(q)));
    const p = pipeline({ DB: db });
    const hook = await p.webhookOn("ok");
    const [routed, replayed, texted] = [await p.ingest(hook.event()), await p.ingest(hook.event()), await p.ingest(hook.event())];
    await p.deliver();
    const receivedAt = async (id: string) => (await db.prepare(`SELECT received_at FROM events WHERE id = ${idKeySql("evt_", "?1")}`).bind(id).first<number>("received_at"))!;
    // As a replay made before this release: its id starts with the time it was asked for.
    const asked = (await receivedAt(replayed)) + 60_000;
    const oldReplay = `dlv_${asked.toString(16).padStart(12, "0")}${"ab".repeat(10)}`;
    const replay = (eventId: string, id: string, at: number): NewDelivery => ({ id, kind: "replay", eventId, eventReceivedAt: at, webhookUid: hook.webhook.uid, createdAt: asked });
    const textId = `dlv_${"cd".repeat(16)}`;
    expect(await insertDeliveries(db, [replay(replayed, oldReplay, await receivedAt(replayed)), replay(texted, textId, await receivedAt(texted))])).toHaveLength(2);
    // And one whose id is text (migration 0014 kept ids it could not read as bytes so).
    await db.prepare("UPDATE deliveries SET id = 'dlv_text-id' WHERE id = unhex(?)").bind(textId.slice(4)).run();

    const migration = env.TEST_MIGRATIONS.find((m) => m.name.startsWith("0034_"))!;
    await db.batch(migration.queries.map((q) => db.prepare(q)));
    const indexes = await db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'deliveries' AND sql IS NOT NULL").all<{ name: string }>();
    expect(indexes.results.map((r) => r.name)).not.toContain("deliveries_event");
    const strays = await db.prepare(`SELECT ${apiIdSql("dlv_", "d.id")} AS id FROM stray_deliveries s JOIN deliveries d ON d.seq = s.delivery ORDER BY d.seq`).all<{ id: string }>();
    expect(strays.results.map((r) => r.id)).toEqual(expect.arrayContaining([oldReplay, "dlv_text-id"]));
    // (An event's deliveries are newest first: the routed one, made first, is last.)
    const routedIds = await Promise.all([routed, replayed, texted].map(async (id) => (await api(`/v1/events/${id}`)).json.deliveries.at(-1).id));
    expect(strays.results.map((r) => r.id).filter((id) => routedIds.includes(id))).toEqual([]);

    // Each reader of an event's deliveries finds them all: the event page, the list by event, the events by status.
    const ofEvent = async (id: string) => (await api(`/v1/events/${id}`)).json.deliveries.map((d: { id: string; status: string }) => [d.id.length === 36 ? "by id" : d.id, d.status]);
    expect(await ofEvent(routed)).toEqual([["by id", "succeeded"]]);
    expect(await ofEvent(replayed)).toEqual([["by id", "pending"], ["by id", "succeeded"]]);
    expect((await api(`/v1/events/${replayed}`)).json.deliveries[0].id).toBe(oldReplay);
    expect(await ofEvent(texted)).toEqual([["dlv_text-id", "pending"], ["by id", "succeeded"]]);
    const listed = async (id: string) => (await api(`/v1/deliveries?eventId=${id}`)).json.data.map((d: { id: string }) => d.id);
    expect(await listed(replayed)).toHaveLength(2);
    expect(await listed(replayed)).toContain(oldReplay);
    expect(await listed(texted)).toContain("dlv_text-id");
    expect((await api(`/v1/events?status=pending&organizationUid=${hook.org}`)).json.data.map((e: { id: string }) => e.id)).toEqual([texted, replayed]);
    // Run again (docs/operations.md), it lists what a release before it made meanwhile, and nothing else.
    const meanwhile = `dlv_${asked.toString(16).padStart(12, "0")}${"ef".repeat(10)}`;
    expect(await insertDeliveries(db, [replay(routed, meanwhile, await receivedAt(routed))])).toHaveLength(1);
    expect(await ofEvent(routed)).toEqual([["by id", "succeeded"]]);
    await db.batch(migration.queries.map((q) => db.prepare(q)));
    expect(await ofEvent(routed)).toEqual([["by id", "pending"], ["by id", "succeeded"]]);
    expect(await db.prepare("SELECT COUNT(*) AS n FROM stray_deliveries").first<number>("n")).toBe(strays.results.length + 1);
    // ...and forgets the strays of events an older release's retention purged without them.
    await db.prepare("INSERT INTO stray_deliveries (event, delivery) VALUES ((SELECT max(seq) FROM events) + 1000, 1)").run();
    await db.batch(migration.queries.map((q) => db.prepare(q)));
    expect(await db.prepare("SELECT COUNT(*) AS n FROM stray_deliveries").first<number>("n")).toBe(strays.results.length + 1);
    // A replay now lies in its event's range, beside the stray.
    expect((await p.api("POST", `/v1/events/${replayed}/replay`, {})).status).toBe(202);
    expect(await listed(replayed)).toHaveLength(3);
    expect(await db.prepare("SELECT COUNT(*) AS n FROM stray_deliveries").first<number>("n")).toBe(strays.results.length + 1);

    // The retention expires what is owed, then purges every event with its deliveries, strays included.
    const later = Date.now() + HOUR_MS;
    const pass = async (graceCutoff: number) => {
      for (let from = RETENTION_START, step; (step = await retentionStep(db, { cutoff: later, graceCutoff, from, limit: 2, now: Date.now() })).next; from = step.next);
    };
    await pass(0);
    expect(await ofEvent(texted)).toEqual([["dlv_text-id", "expired"], ["by id", "succeeded"]]);
    expect(await ofEvent(routed)).toEqual([["by id", "expired"], ["by id", "succeeded"]]);
    expect((await api(`/v1/events/${replayed}`)).json.deliveries.map((d: { status: string }) => d.status)).toEqual(["expired", "expired", "succeeded"]);
    await pass(later);
    for (const id of [routed, replayed, texted]) expect((await api(`/v1/events/${id}`)).status).toBe(404);
    expect(await db.prepare("SELECT (SELECT COUNT(*) FROM deliveries) + (SELECT COUNT(*) FROM stray_deliveries) AS n").first<number>("n")).toBe(0);
    expect(await kept(db)).toEqual(await recounted(db));
  });
});

describe("migration 0043 (health disabled)", () => {
  it("takes the failing streaks of webhooks disabled before it out of the auto-disable's walk, and leaves those of enabled ones in", async () => {
    const db = env.MIGRATION_DB;
    await applyD1Migrations(db, env.TEST_MIGRATIONS);
    // webhook_health as before it (and 0059's index on its column, made again after it).
    await db.batch(["DROP INDEX webhook_health_refailing", "DROP INDEX webhook_health_due", "ALTER TABLE webhook_health DROP COLUMN disabled"].map((q) => db.prepare(q)));
    const p = pipeline({ DB: db });
    const enabled = (await p.webhookOn("fail", { failingAfterAttempts: 1, autoDisableAfterMinutes: 1 })).webhook.uid;
    const disabled = (await p.webhookOn("fail", { failingAfterAttempts: 1, autoDisableAfterMinutes: 1, disabled: true })).webhook.uid;
    await db
      .prepare("INSERT INTO webhook_health (webhook_uid, consecutive_failures, failing_since, last_failure_at, last_error) SELECT value, 5, ?2, ?2, 'HTTP 500' FROM json_each(?1)")
      .bind(JSON.stringify([enabled, disabled]), Date.now() - HOUR_MS)
      .run();

    for (const n of ["0043_", "0059_"]) {
      const migration = env.TEST_MIGRATIONS.find((m) => m.name.startsWith(n))!;
      await db.batch(migration.queries.map((q) => db.prepare(q)));
    }
    const { results } = await db
      .prepare("SELECT webhook_uid FROM webhook_health INDEXED BY webhook_health_due WHERE failing_since IS NOT NULL AND disabled = 0 AND webhook_uid IN (?1, ?2)")
      .bind(enabled, disabled)
      .all<{ webhook_uid: string }>();
    expect(results.map((r) => r.webhook_uid)).toEqual([enabled]);
    // Enabled, the one disabled before it is walked again.
    expect((await p.api("PATCH", `/v1/webhooks/${disabled}`, { disabled: false })).status).toBe(200);
    expect((await db.prepare("SELECT disabled FROM webhook_health WHERE webhook_uid = ?").bind(disabled).first<{ disabled: number }>())?.disabled).toBe(0);
  });
});

describe("migration 0047 (deleted webhooks' counts)", () => {
  it("deletes the counts rows of deleted webhooks that count nothing, and keeps those still counting and those of webhooks still there", async () => {
    const db = env.MIGRATION_DB;
    await applyD1Migrations(db, env.TEST_MIGRATIONS);
    const p = pipeline({ DB: db });
    const live = (await p.webhookOn("ok")).webhook.uid;
    const [goneEmpty, goneCounting] = [`wh_gone_${crypto.randomUUID()}`, `wh_gone_${crypto.randomUUID()}`];
    // As a release before it left them: a row each, the deleted webhooks' with their deliveries purged or not.
    await db
      .prepare("INSERT INTO names (name) SELECT value FROM json_each(?1) WHERE true ON CONFLICT DO NOTHING")
      .bind(JSON.stringify([live, goneEmpty, goneCounting]))
      .run();
    await db
      .prepare(
        `INSERT INTO delivery_counts (webhook, s20) SELECT n.id, j.value->>1 FROM json_each(?1) j JOIN names n ON n.name = j.value->>0 WHERE true
         ON CONFLICT (webhook) DO UPDATE SET s20 = excluded.s20`,
      )
      .bind(JSON.stringify([[live, 0], [goneEmpty, 0], [goneCounting, 3]]))
      .run();
    const totals = () => db.prepare("SELECT s20 FROM delivery_totals").first<number>("s20");
    const totalsBefore = await totals();
    const migration = env.TEST_MIGRATIONS.find((m) => m.name.startsWith("0047_"))!;
    await db.batch(migration.queries.map((q) => db.prepare(q)));
    const { results } = await db
      .prepare("SELECT n.name FROM delivery_counts c JOIN names n ON n.id = c.webhook WHERE n.name IN (SELECT value FROM json_each(?1)) ORDER BY n.name")
      .bind(JSON.stringify([live, goneEmpty, goneCounting]))
      .all<{ name: string }>();
    expect(results.map((r) => r.name)).toEqual([goneCounting, live].sort());
    expect(await totals()).toBe(totalsBefore);
  });
});

describe("migration 0048 (webhook previous secret)", () => {
  it("reads a webhook made before it as keeping no previous secret, and lets it rotate", async () => {
    const db = env.MIGRATION_DB;
    await applyD1Migrations(db, env.TEST_MIGRATIONS);
    // webhooks as before it (and 0049's index on its columns).
    await db.batch([
      db.prepare("DROP INDEX webhooks_previous_secret_expiry"),
      ...["previous_secret", "previous_secret_expires_at"].map((c) => db.prepare(`ALTER TABLE webhooks DROP COLUMN ${c}`)),
    ]);
    const [uid, secret] = [crypto.randomUUID(), "whsec_" + btoa("a secret made before 0048, 24+ bytes")];
    await db
      .prepare(
        `INSERT INTO webhooks (uid, url, event_types, organization_uid, secret, disabled, timeout_ms, max_attempts, created_at, updated_at)
         VALUES (?1, 'https://downstream.test/ok/m48', '["*"]', 'org-48', ?2, 0, 5000, 3, 1, 1)`,
      )
      .bind(uid, secret)
      .run();
    for (const name of ["0048_", "0049_"]) {
      const migration = env.TEST_MIGRATIONS.find((m) => m.name.startsWith(name))!;
      await db.batch(migration.queries.map((q) => db.prepare(q)));
    }
    const p = pipeline({ DB: db });
    expect((await p.api("GET", `/v1/webhooks/${uid}`)).json).toMatchObject({ uid, previousSecretExpiresAt: null });
    const rotated = await p.api("PATCH", `/v1/webhooks/${uid}`, { secret: "whsec_" + btoa("its new secret, 24 bytes or more") });
    expect(rotated.json.previousSecretExpiresAt).toEqual(expect.any(String));
    expect(await db.prepare("SELECT previous_secret FROM webhooks WHERE uid = ?").bind(uid).first<string>("previous_secret")).toBe(secret);
  });
});

describe("migration 0050 (deleted notification endpoints' alert_webhooks rows)", () => {
  it("deletes the rows of endpoints deleted whose counts are gone, keeps the others, and later ones go with their counts", async () => {
    const db = env.MIGRATION_DB;
    await applyD1Migrations(db, env.TEST_MIGRATIONS);
    await db.prepare("DROP TRIGGER alert_webhooks_forgotten").run();
    const p = pipeline({ DB: db });
    const live = (await p.api("POST", "/v1/notification-endpoints", { url: "https://downstream.test/ok/m50", alertTypes: ["webhook.disabled"] })).json.uid as string;
    const [goneEmpty, goneCounting] = [`wh_gone_${crypto.randomUUID()}`, `wh_gone_${crypto.randomUUID()}`];
    // As a release before it left them: a deleted endpoint's row kept, with its counts gone or not.
    await db.prepare("INSERT INTO names (name) SELECT value FROM json_each(?1) WHERE true ON CONFLICT DO NOTHING").bind(JSON.stringify([goneEmpty, goneCounting])).run();
    await db.prepare("INSERT INTO alert_webhooks (webhook) SELECT id FROM names WHERE name IN (?1, ?2)").bind(goneEmpty, goneCounting).run();
    await db.prepare("INSERT INTO delivery_counts (webhook, s20) SELECT id, 1 FROM names WHERE name = ?1").bind(goneCounting).run();
    const kept = async () =>
      (await db.prepare("SELECT n.name FROM alert_webhooks a JOIN names n ON n.id = a.webhook WHERE n.name IN (?1, ?2, ?3) ORDER BY n.name").bind(live, goneEmpty, goneCounting).all<{ name: string }>()).results.map((r) => r.name);
    const migration = env.TEST_MIGRATIONS.find((m) => m.name.startsWith("0050_"))!;
    await db.batch(migration.queries.map((q) => db.prepare(q)));
    expect(await kept()).toEqual([goneCounting, live].sort());
    // The counting one's row goes with its counts row (as the retention drops it with its last delivery).
    await db.batch([
      db.prepare("UPDATE delivery_counts SET s20 = 0 WHERE webhook = (SELECT id FROM names WHERE name = ?1)").bind(goneCounting),
      db.prepare("DELETE FROM delivery_counts WHERE webhook = (SELECT id FROM names WHERE name = ?1)").bind(goneCounting),
    ]);
    expect(await kept()).toEqual([live]);
  });
});

describe("migration 0052 (notification endpoints FIFO)", () => {
  it("makes the notification endpoints made before it FIFO, their version kept, and leaves webhooks' ordering alone", async () => {
    const db = env.MIGRATION_DB;
    await applyD1Migrations(db, env.TEST_MIGRATIONS);
    const p = pipeline({ DB: db });
    const endpoint = (await p.api("POST", "/v1/notification-endpoints", { url: "https://downstream.test/ok/m52", alertTypes: ["webhook.failing"] })).json.uid as string;
    const webhook = (await p.webhookOn("ok")).webhook.uid;
    // As a release before it made endpoints: unordered.
    await db.prepare("UPDATE webhooks SET ordering = 'unordered' WHERE uid = ?1").bind(endpoint).run();
    const version = (await p.api("GET", `/v1/notification-endpoints/${endpoint}`)).json.updatedAt;
    const migration = env.TEST_MIGRATIONS.find((m) => m.name.startsWith("0052_"))!;
    await db.batch(migration.queries.map((q) => db.prepare(q)));
    const ordering = (uid: string) => db.prepare("SELECT ordering FROM webhooks WHERE uid = ?1").bind(uid).first<string>("ordering");
    expect(await ordering(endpoint)).toBe("fifo");
    expect(await ordering(webhook)).toBe("unordered");
    expect((await p.api("GET", `/v1/notification-endpoints/${endpoint}`)).json.updatedAt).toBe(version);
  });
});

describe("migration 0056 (pinned sources teach nothing)", () => {
  it("records the admin's sources pinned before it as teaching nothing, as they behaved, and leaves ownerless ones teaching", async () => {
    const db = env.MIGRATION_DB;
    await applyD1Migrations(db, env.TEST_MIGRATIONS);
    const p = pipeline({ DB: db });
    const key = crypto.randomUUID().slice(0, 8);
    const pinned = (await p.api("POST", "/v1/sources", { name: "pinned", provider: "podium", secrets: [`pinned-${key}`], organizationUid: `org-${key}` })).json.id;
    const ownerless = (await p.api("POST", "/v1/sources", { name: "ownerless", provider: "podium", secrets: [`ownerless-${key}`] })).json.id;
    // As a release before it stored the admin's pinned source: teaching.
    await db.prepare("UPDATE sources SET teaches_locations = 1 WHERE id = ?1").bind(pinned).run();
    const before = (await p.api("GET", `/v1/sources/${pinned}`)).json;
    expect(before.teachesLocations).toBe(true);
    const version = before.updatedAt;
    const migration = env.TEST_MIGRATIONS.find((m) => m.name.startsWith("0056_"))!;
    await db.batch(migration.queries.map((q) => db.prepare(q)));
    expect((await p.api("GET", `/v1/sources/${pinned}`)).json).toMatchObject({ teachesLocations: false, updatedAt: version });
    expect((await p.api("GET", `/v1/sources/${ownerless}`)).json.teachesLocations).toBe(true);
  });
});

describe("migration 0057 (the organization of a location webhook's location)", () => {
  it("keeps on each location webhook its location's organization, its version untouched, and follows the locations placed and moved after it", async () => {
    const db = env.MIGRATION_DB;
    await applyD1Migrations(db, env.TEST_MIGRATIONS);
    // webhooks as before it.
    await db.batch([
      ...["webhooks_location_placed", "webhooks_location_moved", "webhooks_location_forgotten", "webhook_location_organization_added", "webhook_location_organization_changed"].map((t) =>
        db.prepare(`DROP TRIGGER ${t}`),
      ),
      db.prepare("DROP INDEX webhooks_location_organization"),
      db.prepare("ALTER TABLE webhooks DROP COLUMN location_organization_uid"),
    ]);
    const key = crypto.randomUUID().slice(0, 8);
    const [org, other, placed, unknown] = [`org-${key}`, `org-${key}-other`, `loc-${key}`, `loc-${key}-unknown`];
    await placeLocations(db, [{ locationUid: placed, organizationUid: org }], 1).run();
    const insert = (uid: string, owner: "location_uid" | "organization_uid", value: string) =>
      db
        .prepare(
          `INSERT INTO webhooks (uid, url, event_types, ${owner}, secret, disabled, timeout_ms, max_attempts, created_at, updated_at)
           VALUES (?1, 'https://downstream.test/ok/m57', '["*"]', ?2, 'whsec_x', 0, 5000, 3, 1, 7)`,
        )
        .bind(uid, value);
    const [atPlaced, atUnknown, ofOrg] = [`wh-${key}-placed`, `wh-${key}-unknown`, `wh-${key}-org`];
    await db.batch([insert(atPlaced, "location_uid", placed), insert(atUnknown, "location_uid", unknown), insert(ofOrg, "organization_uid", org)]);
    const migration = env.TEST_MIGRATIONS.find((m) => m.name.startsWith("0057_"))!;
    await db.batch(migration.queries.map((q) => db.prepare(q)));
    const rows = async () =>
      (
        await db
          .prepare("SELECT uid, location_organization_uid AS o, updated_at FROM webhooks WHERE uid IN (?1, ?2, ?3) ORDER BY uid")
          .bind(atPlaced, atUnknown, ofOrg)
          .all<{ uid: string; o: string | null; updated_at: number }>()
      ).results.map((r) => [r.uid, r.o, r.updated_at]);
    expect(await rows()).toEqual([[ofOrg, null, 7], [atPlaced, org, 7], [atUnknown, null, 7]]);

    const p = pipeline({ DB: db });
    const { token } = await makeToken(p, ["webhooks:read"], { organizationUids: [org] });
    const listed = async () => ((await as(p, token, "GET", "/v1/webhooks?limit=100")).json.data as { uid: string }[]).map((w) => w.uid).sort();
    expect(await listed()).toEqual([atPlaced, ofOrg].sort());
    // Placed after it, moved after it: the rows follow, their versions still untouched.
    await placeLocations(db, [{ locationUid: unknown, organizationUid: org }, { locationUid: placed, organizationUid: other }], 2).run();
    expect(await rows()).toEqual([[ofOrg, null, 7], [atPlaced, other, 7], [atUnknown, org, 7]]);
    expect(await listed()).toEqual([atUnknown, ofOrg].sort());
  });
});
