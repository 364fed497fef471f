// The deliveries' packed rows by webhook (store/delivery-webhooks.ts, migration 0038): one per
// insert group, or small groups joined, saying whose the deliveries are; a webhook's lists, and
// the bulk retry of a status, walk them.
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { meteredD1 } from "../../bench/d1-meter";
import { newDelivery } from "../../src/domain/delivery";
import { eventIdFor } from "../../src/domain/ids";
import { retentionHorizon, settings } from "../../src/domain/settings";
import type { IngestMessage } from "../../src/domain/types";
import { deliveryCountsStatement } from "../../src/store/counters";
import { insertDeliveries } from "../../src/store/deliveries";
import { DELIVERY_WEBHOOKS } from "../../src/store/delivery-webhooks";
import { RETRY_PACKED_ROWS } from "../../src/store/delivery-retry";
import { PACKED_SPAN } from "../../src/store/packed";
import { ADMIN, ingestMessage, meteredApiCall, pagedList, podiumBody, type Answered } from "./helpers";
import { DAY, histories, ingestAction, purgeAction, purgeAll } from "./histories";
import { pipeline, uniqueKey } from "./pipeline";
import { packedRecounted, packedStored } from "./recount";
import { makeToken } from "./tokens";

/** The most D1 rows any operator read may read. */
const MAX_ROWS = 10_000;

const stored = () => packedStored(env.DB, DELIVERY_WEBHOOKS);
const recounted = () => packedRecounted(env.DB, DELIVERY_WEBHOOKS);


/** Deliveries change status behind the store's back (as if tried), with their counts: the lists and retries by status read them. */
const setStatus = (where: string, to: string) =>
  env.DB.batch([
    deliveryCountsStatement(env.DB, `SELECT webhook, object, status AS old_status, ${to} AS new_status FROM deliveries WHERE ${where}`, []),
    env.DB.prepare(`UPDATE deliveries SET status = ${to}, next_attempt_at = NULL WHERE ${where}`),
  ]);

/** A number from 1 to 16 of a delivery row, as random as its id (a hash, or random bytes): picks some of a webhook's deliveries. */
const idDigit = "instr('0123456789ABCDEF', substr(hex(id), 32, 1))";

/** Every delivery settles: only settled ones are purged. */
const settleAll = () => setStatus("status IN (0, 1)", "2");

/** Replays of stored events to webhooks, made by the store: deliveries of old events at new positions. */
async function replays(events: { id: string; receivedAt: number }[], webhookUids: string[]) {
  const made = await Promise.all(events.flatMap((e) => webhookUids.map((uid) => newDelivery("replay", e, { uid }, Date.now()))));
  return insertDeliveries(env.DB, made);
}

describe("deliveries' packed rows by webhook", () => {
  it("equal a recount from the deliveries after any mix of ingests (several webhooks and groups a batch, redeliveries), replays and purges, and the migration writes the same", async () => {
    const p = pipeline();
    const key = uniqueKey();
    const orgs = [0, 1].map((i) => `org-${key}-${i}`);
    // Webhooks owed some of the events: by organization, by type, one of everything.
    await p.createWebhook({ url: `https://example.com/${key}/a`, eventTypes: ["*"], organizationUid: orgs[0] });
    await p.createWebhook({ url: `https://example.com/${key}/b`, eventTypes: ["message.received"], organizationUid: orgs[1] });
    const c = await p.createWebhook({ url: `https://example.com/${key}/c`, eventTypes: ["*"] });
    const sent: { id: string; receivedAt: number }[] = [];
    const redelivered: IngestMessage[] = [];
    let made = 0;
    const action = fc.oneof(
      { arbitrary: ingestAction, weight: 4 },
      { arbitrary: fc.record({ kind: fc.constant("replay" as const), n: fc.integer({ min: 1, max: 3 }) }), weight: 1 },
      { arbitrary: purgeAction, weight: 1 },
    );
    await histories(
      action,
      async (a, now) => {
        if (a.kind === "purge") {
          await settleAll();
          return purgeAll(now);
        }
        if (a.kind === "replay") {
          await replays(sent.slice(-a.n), [c.uid]);
          return;
        }
        const msgs: IngestMessage[] = [];
        for (let i = 0; i < a.n; i++) {
          const eventUid = `${key}-${made++}`;
          const org = (a.at + i) % 3 === 2 ? null : orgs[(a.at + i) % 2]!;
          const type = (a.at + i) % 4 === 0 ? "contact.updated" : "message.received";
          msgs.push({
            ...ingestMessage({ eventType: type, body: podiumBody({ type, eventUid, organizationUid: org ?? undefined }) }),
            eventId: await eventIdFor({ id: "podium", eventSalt: null }, { given: eventUid }),
            dedupeKey: eventUid,
            organizationUid: org,
            receivedAt: i < a.old ? now - 11 * DAY - i : now - i,
          });
        }
        // A redelivered event, in the batch and later, is stored once: its deliveries' positions have no entry.
        await p.runIngest(a.again && redelivered.length > 0 ? [redelivered[0]!, ...msgs, msgs[0]!] : msgs);
        redelivered.push(...msgs);
        sent.push(...msgs.map((m) => ({ id: m.eventId, receivedAt: m.receivedAt })));
      },
      async () => expect(await stored()).toEqual(await recounted()),
    );
    expect(await stored()).not.toEqual([]);

    // Migration 0038 backfills the deliveries no row spans, each row what a recount says, and
    // drops the (webhook, seq) index; run again it adds only what is missing (what an older
    // release stored meanwhile) and forgets rows whose deliveries are gone.
    const migration = env.TEST_MIGRATIONS.find((m) => m.name.startsWith("0038_"))!;
    const rerun = () => env.DB.batch(migration.queries.map((q) => env.DB.prepare(q)));
    // The database as before it: no packed rows, the index (0032).
    await env.DB.batch(["DROP TABLE delivery_webhooks", "CREATE INDEX deliveries_webhook ON deliveries (webhook, seq)"].map((q) => env.DB.prepare(q)));
    await rerun();
    const backfilled = await stored();
    expect(backfilled).toEqual(await recounted());
    for (const r of backfilled) expect(r.last - r.seq + 1).toBeLessThanOrEqual(PACKED_SPAN);
    const indexes = await env.DB.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'deliveries'").all<{ name: string }>();
    expect(indexes.results.map((r) => r.name).sort()).toEqual(["deliveries_failed", "deliveries_owed_in_order", "deliveries_pending_due", "sqlite_autoindex_deliveries_1"]);
    // A row lost (its deliveries stored by an older release), one whose deliveries are gone.
    await env.DB.prepare("DELETE FROM delivery_webhooks WHERE seq = ?").bind(backfilled[0]!.seq).run();
    await env.DB.prepare("INSERT INTO delivery_webhooks (seq, last, webhooks) VALUES ((SELECT max(seq) FROM deliveries) + 10, (SELECT max(seq) FROM deliveries) + 12, '{\"1\":[0]}')").run();
    await rerun();
    expect(await stored()).toEqual(await recounted());
    expect((await stored()).map((r) => r.seq)).toContain(backfilled[0]!.seq);
  }, 120_000); // random histories of D1 transactions: a busy machine takes longer than 5 s (nothing here is timed)

  it("join small groups into rows of up to PACKED_SPAN positions, never across deliveries an older release stored, which the migration packs again", async () => {
    const p = pipeline();
    const { org, webhook } = await p.webhookOn("ok");
    const before = (await stored()).length;
    const count = () => env.DB.prepare("SELECT count(*) AS n FROM deliveries").first<number>("n");
    const deliveriesBefore = (await count())!;
    const three = () => Array.from({ length: 3 }, () => ingestMessage({ organizationUid: org, body: podiumBody({ organizationUid: org }) }));
    // 100 batches of 3 events (light traffic), a few deliveries each: one row written per batch, rows of up to PACKED_SPAN positions.
    for (let b = 0; b < 100; b++) await p.runIngest(three());
    const rows = (await stored()).slice(before);
    const made = (await count())! - deliveriesBefore;
    expect(rows.length).toBeLessThanOrEqual(Math.ceil(made / (PACKED_SPAN - made / 100)) + 1);
    for (const r of rows) expect(r.last - r.seq + 1).toBeLessThanOrEqual(PACKED_SPAN);
    expect(await stored()).toEqual(await recounted());
    const listed = await p.api("GET", `/v1/deliveries?webhookUid=${webhook.uid}&limit=100`);
    expect(listed.json.data).toHaveLength(100);

    // A group an older release stored (its deliveries, no packed row) is not spanned by a join, so
    // running the migration again packs it. A starts a row (far past the newest), B joins it and is
    // then taken out of it again, as if an older release had stored B; C must not join across B.
    await env.DB.prepare(`UPDATE sqlite_sequence SET seq = seq + ${PACKED_SPAN} WHERE name = 'deliveries'`).run();
    await p.runIngest(three());
    const a = (await env.DB.prepare("SELECT seq, last, webhooks FROM delivery_webhooks ORDER BY seq DESC LIMIT 1").first<Record<string, unknown>>())!;
    await p.runIngest(three());
    await env.DB.prepare("UPDATE delivery_webhooks SET last = ?2, webhooks = ?3 WHERE seq = ?1").bind(a.seq, a.last, a.webhooks).run();
    await p.runIngest(three());
    await expect(recounted()).rejects.toThrow(/outside every delivery_webhooks row/);
    const migration = env.TEST_MIGRATIONS.find((m) => m.name.startsWith("0038_"))!;
    await env.DB.batch(migration.queries.map((q) => env.DB.prepare(q)));
    expect(await stored()).toEqual(await recounted());
  });

  it("page a busy and a rare webhook's deliveries to the end newest first, each once, each call within its bound; a limited token sees only its granted webhooks'", async () => {
    const p = pipeline();
    const key = uniqueKey();
    const [mine, theirs] = [`org-${key}-mine`, `org-${key}-theirs`];
    const busy = await p.createWebhook({ url: `https://example.com/${key}/busy`, eventTypes: ["message.received"] });
    // Rare: a type few events have. Mine: one organization's. Theirs: the other's.
    const rare = await p.createWebhook({ url: `https://example.com/${key}/rare`, eventTypes: ["contact.updated"] });
    const own = await p.createWebhook({ url: `https://example.com/${key}/mine`, eventTypes: ["*"], organizationUid: mine });
    await p.createWebhook({ url: `https://example.com/${key}/theirs`, eventTypes: ["*"], organizationUid: theirs });
    const batch = (n: number, rareAt: number | null) =>
      Array.from({ length: n }, (_, i) => {
        const type = i === rareAt ? "contact.updated" : "message.received";
        const org = i % 2 === 0 ? mine : theirs;
        return ingestMessage({ eventType: type, organizationUid: org, body: podiumBody({ type, organizationUid: org }) });
      });
    await p.runIngest(batch(100, 3));
    for (let i = 0; i < 30; i++) await p.runIngest(batch(1, i === 10 ? 0 : null));
    for (let i = 0; i < 40; i++) await p.runIngest(batch(100, i % 13 === 0 ? 50 : null));
    // More packed rows than a call walks, of other webhooks' deliveries (gone): the walk is cut by its bound there, not by its end.
    await env.DB.batch([
      env.DB.prepare(
        `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 4500)
         INSERT INTO delivery_webhooks (seq, last, webhooks) SELECT s.seq + i, s.seq + i, '{"999999":[0]}' FROM n, sqlite_sequence s WHERE s.name = 'deliveries'`,
      ),
      env.DB.prepare("UPDATE sqlite_sequence SET seq = seq + 4500 WHERE name = 'deliveries'"),
    ]);
    await p.runIngest(batch(100, 99));
    // Some of each in another status: the list by status checks it on the rows.
    await setStatus(`${idDigit} % 3 = 0 AND status = 1`, "2");

    const meter = meteredD1(env.DB);
    const pageThrough = async (path: string, headers: Record<string, string> = ADMIN) => {
      const { data, rows, calls } = await pagedList<{ id: string; webhookUid: string }>(meter, path, { maxRows: MAX_ROWS, maxCalls: 300, headers });
      return { ids: data.map((d) => d.id), webhooks: new Set(data.map((d) => d.webhookUid)), rows, calls };
    };
    const truth = async (where: string, ...binds: unknown[]) =>
      (
        await env.DB.prepare(
          `SELECT 'dlv_' || lower(hex(d.id)) AS id FROM deliveries d JOIN names w ON w.id = d.webhook WHERE ${where} ORDER BY d.seq DESC`,
        )
          .bind(...binds)
          .all<{ id: string }>()
      ).results.map((r) => r.id);

    const rareFound = await pageThrough(`/v1/deliveries?webhookUid=${rare.uid}&limit=2`);
    expect(rareFound.ids).toEqual(await truth("w.name = ?", rare.uid));
    expect(rareFound.ids.length).toBe(7);
    expect(rareFound.calls).toBeGreaterThan(3); // the bound cut the walk at least once
    console.log("rows read paging a rare webhook:", rareFound.rows);
    const busyFound = await pageThrough(`/v1/deliveries?webhookUid=${busy.uid}&limit=100`);
    expect(busyFound.ids).toEqual(await truth("w.name = ?", busy.uid));
    const succeeded = await pageThrough(`/v1/deliveries?webhookUid=${busy.uid}&status=succeeded&limit=100`);
    expect(succeeded.ids).toEqual(await truth("w.name = ? AND d.status = 2", busy.uid));
    expect(succeeded.ids.length).toBeGreaterThan(1000);
    const pendingAll = await pageThrough("/v1/deliveries?status=pending&limit=100");
    expect(pendingAll.ids).toEqual(await truth("d.status = 1"));

    // A token of one organization: only its webhook's deliveries (of its events), never another's by name.
    const token = (await makeToken(p, ["events:read", "read_messages", "read_contacts"], { organizationUids: [mine] })).token;
    const auth = { authorization: `Bearer ${token}` };
    const ownFound = await pageThrough("/v1/deliveries?limit=100", auth);
    expect(ownFound.webhooks).toEqual(new Set([own.uid]));
    expect(ownFound.ids).toEqual(await truth("w.name = ?", own.uid));
    expect(await meteredApiCall(meter, "GET", `/v1/deliveries?webhookUid=${busy.uid}&limit=100`, undefined, auth)).toMatchObject({ status: 404, json: { error: { code: "not_found" } } });
  }, 120_000);

  it("let a bulk retry by webhook and status retry exactly its matches, oldest first, passing many packed rows within its bound a call", async () => {
    const p = pipeline();
    const key = uniqueKey();
    const org = `org-${key}`;
    const busy = await p.createWebhook({ url: `https://example.com/${key}/busy`, eventTypes: ["message.received"], organizationUid: org });
    const rare = await p.createWebhook({ url: `https://example.com/${key}/rare`, eventTypes: ["contact.updated"], organizationUid: org });
    const batch = (n: number, rareAt: number | null) =>
      Array.from({ length: n }, (_, i) => {
        const type = i === rareAt ? "contact.updated" : "message.received";
        return ingestMessage({ eventType: type, organizationUid: org, body: podiumBody({ type, organizationUid: org }) });
      });
    await p.runIngest(batch(50, 7));
    for (let i = 0; i < 30; i++) await p.runIngest(batch(100, i % 11 === 5 ? 20 : null));
    // Packed rows of others, more than a retry call walks, between the rare webhook's deliveries.
    await env.DB.batch([
      env.DB.prepare(
        `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${RETRY_PACKED_ROWS + 300})
         INSERT INTO delivery_webhooks (seq, last, webhooks) SELECT s.seq + i, s.seq + i, '{"999999":[0]}' FROM n, sqlite_sequence s WHERE s.name = 'deliveries'`,
      ),
      env.DB.prepare(`UPDATE sqlite_sequence SET seq = seq + ${RETRY_PACKED_ROWS + 300} WHERE name = 'deliveries'`),
    ]);
    await p.runIngest(batch(100, 60));
    // Some expired (the status retried), the rest succeeded.
    // (The rare webhook's all but its newest.)
    const rareId = `(SELECT id FROM names WHERE name = '${rare.uid}')`;
    await setStatus("status = 1", `CASE WHEN ${idDigit} % 4 = 1 OR (webhook = ${rareId} AND seq < (SELECT max(seq) FROM deliveries WHERE webhook = ${rareId})) THEN 4 ELSE 2 END`);
    const expiredOf = async (uid: string) =>
      (await env.DB.prepare("SELECT d.seq FROM deliveries d JOIN names w ON w.id = d.webhook WHERE w.name = ? AND d.status = 4 ORDER BY d.seq").bind(uid).all<{ seq: number }>()).results.map((r) => r.seq);
    const statusOf = async (uid: string) =>
      (await env.DB.prepare("SELECT d.status FROM deliveries d JOIN names w ON w.id = d.webhook WHERE w.name = ? ORDER BY d.seq").bind(uid).all<{ status: number }>()).results.map((r) => r.status);

    const meter = meteredD1(env.DB);
    /** A bulk retry called with its cursors to the end, each call within its bound: how many it retried, in how many calls. */
    const retryAll = async (body: Record<string, unknown>, maxCalls: number) => {
      let retried = 0;
      let cursor: string | null = null;
      for (let calls = 1; calls <= maxCalls; calls++) {
        const r: Answered<"POST", "/v1/deliveries/retry"> & { rows: number } = await meteredApiCall(meter, "POST", "/v1/deliveries/retry", { ...body, ...(cursor ? { cursor } : {}) });
        expect(r.status).toBe(202);
        expect(r.rows).toBeLessThanOrEqual(22 * 1000 + RETRY_PACKED_ROWS + 100);
        retried += r.json.count;
        cursor = r.json.nextCursor;
        if (!cursor) return { retried, calls };
      }
      throw new Error(`more than ${maxCalls} calls`);
    };
    for (const hook of [rare, busy]) {
      const expected = (await statusOf(hook.uid)).map((s) => (s === 4 ? 1 : s));
      const count = (await expiredOf(hook.uid)).length;
      expect(count).toBeGreaterThan(0);
      const { retried, calls } = await retryAll({ status: "expired", webhookUid: hook.uid }, 20);
      // Exactly its expired ones, now pending; every other delivery as it was.
      expect(retried).toBe(count);
      expect(await statusOf(hook.uid)).toEqual(expected);
      if (hook === rare) expect(calls).toBeGreaterThan(1); // its walk passed more packed rows than a call takes
    }

    // Of every webhook, webhook by webhook: some of each expired again, every one retried once.
    await setStatus(`status = 2 AND ${idDigit} % 4 = 2`, "4");
    // (Of events within the retention: another test's, past it, are passed over by a retry.)
    const horizon = retentionHorizon(settings(p.env), Date.now());
    const expired = async () =>
      (await env.DB.prepare("SELECT d.seq FROM deliveries d JOIN events e ON e.seq = d.event WHERE d.status = 4 AND e.received_at >= ? ORDER BY d.seq").bind(horizon).all<{ seq: number }>()).results.map((r) => r.seq);
    const all = await expired();
    expect(all.length).toBeGreaterThan(100);
    // (A webhook's walk starts from the oldest packed row: ~a call each here.)
    const { retried } = await retryAll({ status: "expired" }, 60);
    expect(retried).toBe(all.length);
    expect(await expired()).toEqual([]);
  }, 120_000);
});
