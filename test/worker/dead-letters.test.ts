import { describe, expect, it, vi } from "vitest";
import type { IngestMessage } from "../../src/domain/types";
import { env } from "cloudflare:workers";
import { DAY_MS } from "../../src/domain/time";
import migration0020 from "../../migrations/0020_orphan_dead_letters.sql?raw";
import { runMaintenance, STALE_CLAIM_MS } from "../../src/maintenance/cron";
import { meteredD1 } from "../../bench/d1-meter";
import { logDeliveryDeadLetters } from "../../src/pipeline/attempt";
import { deadLetterOf } from "../../src/pipeline/dead-letters";
import { recordDeadLetters } from "../../src/store/dead-letters";
import { statusCode } from "../../src/store/transitions";
import { d1Double } from "./d1-double";
import { call, dashboardCookie, dashboardForm, ingestMessage, meteredApiCall, pageBanners, podiumBody, recordingQueue } from "./helpers";
import { pipeline, received, uniqueKey } from "./pipeline";
import { deliveryRow, setDelivery, setEvent } from "./rows";

/** The read of one letter by its seq (its columns and its event's receipt), where the races below are held. */
const readsLetter = (sql: string) => /^SELECT \*.* FROM dead_letters WHERE seq = \?$/s.test(sql);

describe("dead letters are never silent", () => {
  it("records a delivery that failed for good, shows it in the API and stats, and replays it", async () => {
    const p = pipeline({ RETRY_BASE_SECONDS: "0" });
    const { key, org, webhook: hook } = await p.webhookOn("flaky?fails=1", { maxAttempts: 1 });
    const before = (await p.api("GET", "/v1/stats")).json.deadLetters;
    const eventId = await p.ingest(podiumBody({ organizationUid: org }));
    await p.deliver();
    // Failed for good: its one dead letter is recorded with the attempt; its scheduler woken again changes nothing.
    await p.deliver();
    const list = (await p.api("GET", "/v1/dead-letters?open=true")).json.data.filter((d: { eventId: string }) => d.eventId === eventId);
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ queue: "edgehook-deliveries-dlq", reason: expect.stringMatching(/^delivery failed after 1 attempt: .*HTTP 503/), replayedAt: null });
    expect(list[0].message).toMatchObject({ webhookUid: hook.uid, attempts: 1 });
    expect((await p.api("GET", "/v1/stats")).json.deadLetters).toBe(before + 1);

    // Replayed by an operator: the delivery goes out again and succeeds.
    const replayed = await p.api("POST", `/v1/dead-letters/${list[0].id}/replay`);
    expect(replayed.status).toBe(202);
    expect(replayed.json.replayedAt).toEqual(expect.any(String));
    expect(replayed.json.held).toBe(false);
    await p.deliver();
    expect(await received(key)).toHaveLength(2);
    expect((await p.api("GET", "/v1/stats")).json.deadLetters).toBe(before);
  });

  it("says a delivery that failed for good in the log, as an ingest dead letter is said (`dead letter`): ids, webhook, attempts, the error's kind; no body", async () => {
    const said = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      const p = pipeline({ RETRY_BASE_SECONDS: "0" });
      const { org, webhook: hook } = await p.webhookOn("flaky?fails=2", { maxAttempts: 2 });
      const eventId = await p.ingest(podiumBody({ organizationUid: org }));
      await p.deliver();
      await p.deliver();
      const [letter] = (await p.api("GET", "/v1/dead-letters?open=true")).json.data.filter((d: { eventId: string }) => d.eventId === eventId);
      const lines = said.mock.calls.filter((c) => c[0] === "dead letter" && JSON.stringify(c).includes(eventId));
      // Once, though its scheduler was woken again: the first attempt, to be retried, is not one.
      expect(lines).toEqual([
        ["dead letter", { queue: "edgehook-deliveries-dlq", eventId, deliveryId: letter.deliveryId, webhookUid: hook.uid, attempts: 2, lastError: "HTTP 503" }],
      ]);
      expect(JSON.stringify(lines)).not.toContain(org); // (the body's organizationUid)
    } finally {
      said.mockRestore();
    }
    // Of the last error, only its kind: what follows its first colon may quote the URL (a token in it).
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      const attempt = { deliveryId: "dlv_1", number: 3, startedAt: 0, durationMs: 0, statusCode: null, responseSnippet: null, error: "destination refused: the URL must be https: (the scheme is missing: https://h.example/hook?token=s3cret)" };
      logDeliveryDeadLetters("wh_1", [{ attempt, status: "failed", nextAttemptAt: null, deadLetter: { queue: "edgehook-deliveries-dlq", messageId: "dlv_1#3", eventId: "evt_1", deliveryId: "dlv_1", reason: "", body: "{}", attempts: 3, receivedAt: 0 } }]);
      expect(logged.mock.calls).toEqual([["dead letter", { queue: "edgehook-deliveries-dlq", eventId: "evt_1", deliveryId: "dlv_1", webhookUid: "wh_1", attempts: 3, lastError: "destination refused" }]]);
    } finally {
      logged.mockRestore();
    }
  });

  it("replays a dead letter once: a second replay answers 409 already_replayed and sends nothing again", async () => {
    const p = pipeline({ RETRY_BASE_SECONDS: "0" });
    const { key, org } = await p.webhookOn("flaky?fails=1", { maxAttempts: 1 });
    const eventId = await p.ingest(podiumBody({ organizationUid: org }));
    await p.deliver();
    const letter = (await p.api("GET", "/v1/dead-letters?open=true")).json.data.find((d: { eventId: string }) => d.eventId === eventId);
    const first = await p.api("POST", `/v1/dead-letters/${letter.id}/replay`);
    expect(first.status).toBe(202);
    await p.deliver();
    expect(await received(key)).toHaveLength(2);

    const again = await p.api("POST", `/v1/dead-letters/${letter.id}/replay`);
    expect(again.status).toBe(409);
    expect(again.json.error).toMatchObject({
      code: "conflict",
      details: { reason: "already_replayed", replayedAt: first.json.replayedAt, deliveryId: letter.deliveryId },
    });
    expect(again.json.error.message).toContain(`/v1/deliveries/${letter.deliveryId}/retry`);
    await p.deliver();
    expect(await received(key)).toHaveLength(2);
    const delivery = (await p.api("GET", `/v1/events/${eventId}`)).json.deliveries[0];
    expect(delivery).toMatchObject({ status: "succeeded", attemptCount: 2 });
  });

  it("takes one of two replays of a delivery's dead letter made at once", async () => {
    const p = pipeline({ RETRY_BASE_SECONDS: "0" });
    const { key, org } = await p.webhookOn("fail", { maxAttempts: 1 });
    const eventId = await p.ingest(podiumBody({ organizationUid: org }));
    await p.deliver();
    const letter = (await p.api("GET", "/v1/dead-letters?open=true")).json.data.find((d: { eventId: string }) => d.eventId === eventId);
    const answers = await Promise.all([1, 2].map(() => p.api("POST", `/v1/dead-letters/${letter.id}/replay`)));
    expect(answers.map((a) => a.status).sort()).toEqual([202, 409]);
    expect(answers.find((a) => a.status === 409)!.json.error.details).toMatchObject({ reason: "already_replayed" });
    await p.deliver();
    // The one replay made one more attempt, which failed again: the letter is open once more, and replays.
    expect(await received(key)).toHaveLength(2);
    const reopened = (await p.api("GET", "/v1/dead-letters?open=true")).json.data.find((d: { eventId: string }) => d.eventId === eventId);
    expect(reopened).toMatchObject({ id: letter.id, replayedAt: null, attempts: 2 });
    expect((await p.api("POST", `/v1/dead-letters/${letter.id}/replay`)).status).toBe(202);
  });

  it("refuses a second replay of an ingest dead letter: the message goes back on the queue once", async () => {
    const p = pipeline();
    const msg = ingestMessage({ body: podiumBody() });
    await p.runQueue<IngestMessage>("edgehook-ingest-dlq", [msg], 11, `dead-${msg.eventId}`);
    const letter = (await p.api("GET", "/v1/dead-letters")).json.data.find((d: { eventId: string }) => d.eventId === msg.eventId);
    expect((await p.api("POST", `/v1/dead-letters/${letter.id}/replay`)).status).toBe(202);
    const again = await p.api("POST", `/v1/dead-letters/${letter.id}/replay`);
    expect(again.status).toBe(409);
    expect(again.json.error.details).toMatchObject({ reason: "already_replayed", eventId: msg.eventId });
    expect(p.queues.ingest.sent).toEqual([msg]);
  });

  it("records an event the ingest consumer could not store, and replays it onto the ingest queue", async () => {
    const p = pipeline();
    const body = podiumBody();
    const msg = ingestMessage({ body });
    const res = await p.runQueue<IngestMessage>("edgehook-ingest-dlq", [msg], 11, `dead-${msg.eventId}`);
    expect(res.acked).toHaveLength(1);
    const letter = (await p.api("GET", "/v1/dead-letters")).json.data.find((d: { eventId: string }) => d.eventId === msg.eventId);
    expect(letter).toMatchObject({ queue: "edgehook-ingest-dlq", attempts: 11, message: msg });
    expect((await p.api("POST", `/v1/dead-letters/${letter.id}/replay`)).status).toBe(202);
    expect(p.queues.ingest.sent).toEqual([msg]);
    const stored = await p.runIngest(p.queues.ingest.sent.splice(0));
    expect(stored.acked).toHaveLength(1);
    expect((await p.api("GET", `/v1/events/${msg.eventId}`)).json.body).toBe(body);
  });

  it("takes one of two replays of an ingest dead letter made at once: its message goes on the queue once", async () => {
    const p0 = pipeline();
    const msg = ingestMessage({ body: podiumBody() });
    await p0.runQueue<IngestMessage>("edgehook-ingest-dlq", [msg], 11, `dead-${msg.eventId}`);
    const letter = await ingestLetterOf(p0, msg.eventId);
    // Both replays read the letter open before either goes on.
    let reads = 0;
    let bothRead = () => {};
    const met = new Promise<void>((resolve) => (bothRead = resolve));
    const { db } = d1Double({
      afterRun: async (statement) => {
        if (!readsLetter(statement.sql) || reads >= 2) return;
        if (++reads === 2) bothRead();
        await met;
      },
    });
    const p = pipeline({ DB: db });
    const answers = await Promise.all([1, 2].map(() => p.api("POST", `/v1/dead-letters/${letter.id}/replay`)));
    expect(answers.map((a) => a.status).sort()).toEqual([202, 409]);
    const made = answers.find((a) => a.status === 202)!;
    // The other: replayed, or (read before the first settled) a replay under way.
    const other = answers.find((a) => a.status === 409)!.json.error.details;
    if (other.reason === "already_replayed") expect(other).toMatchObject({ replayedAt: made.json.replayedAt, eventId: msg.eventId });
    else expect(other).toEqual({ reason: "replay_in_progress" });
    expect(p.queues.ingest.sent).toEqual([msg]);
    expect(await ingestLetterOf(p0, msg.eventId)).toMatchObject({ replayedAt: made.json.replayedAt });
  });

  it("keeps an ingest dead letter open when the ingest queue refuses its replay (503 queue_unavailable), and replays it once the queue takes it", async () => {
    const p = pipeline();
    const { msg, letter } = await openIngestLetter(p);
    const openBefore = (await p.api("GET", "/v1/stats")).json.deadLetters;
    const down = pipeline({ INGEST: recordingQueue(true) });
    const refused = await down.api("POST", `/v1/dead-letters/${letter.id}/replay`);
    expect(refused.status).toBe(503);
    expect(refused.json.error.code).toBe("queue_unavailable");
    expect(refused.json.error.message).toContain("the letter is open");
    // Its claim let go: open, still counted, and replayable.
    expect(await ingestLetterOf(p, msg.eventId)).toMatchObject({ replayedAt: null });
    expect((await p.api("GET", "/v1/stats")).json.deadLetters).toBe(openBefore);
    expect((await p.api("POST", `/v1/dead-letters/${letter.id}/replay`)).status).toBe(202);
    expect(p.queues.ingest.sent).toEqual([msg]);
  });

  it("answers a replay made while another holds an ingest letter 409 replay_in_progress, not already_replayed: the first may fail and leave it open", async () => {
    const p0 = pipeline();
    const { msg, letter } = await openIngestLetter(p0);
    // The second replay is made between the first's claim and its send, which the queue refuses.
    let second: Promise<{ status: number; json: { error: { details: unknown } } }> | undefined;
    const db = afterClaim(async () => void (await (second = p0.api("POST", `/v1/dead-letters/${letter.id}/replay`))));
    const first = await pipeline({ DB: db, INGEST: recordingQueue(true) }).api("POST", `/v1/dead-letters/${letter.id}/replay`);
    expect(first.status).toBe(503);
    const during = await second!;
    expect([during.status, during.json.error.details]).toEqual([409, { reason: "replay_in_progress" }]);
    await expectOpenAndReplayable(p0, letter.id, msg);
  });

  it("answers a replay whose claim lost to one that then let the letter go 409 replay_in_progress (replayable now), not a 503 for a send it never made", async () => {
    const p0 = pipeline();
    const { msg, letter } = await openIngestLetter(p0);
    const step = () => {
      let done = () => {};
      const reached = new Promise<void>((resolve) => (done = resolve));
      return { done, reached };
    };
    const [bRead, aClaimed, bLost, aDone] = [step(), step(), step(), step()];
    // B reads the letter open; A claims it; B's claim finds it held; A's send fails and lets it go; B reads it again.
    const dbB = d1Double({
      afterRun: async (statement) => {
        if (readsLetter(statement.sql)) {
          bRead.done();
          await aClaimed.reached;
        } else if (statement.sql.startsWith("UPDATE dead_letters SET replayed_at = ?1 WHERE seq = ?2 AND replayed_at IS NULL")) {
          bLost.done();
          await aDone.reached;
        }
      },
    }).db;
    const dbA = afterClaim(async () => {
      aClaimed.done();
      await bLost.reached;
    });
    const b = pipeline({ DB: dbB }).api("POST", `/v1/dead-letters/${letter.id}/replay`);
    await bRead.reached;
    const a = await pipeline({ DB: dbA, INGEST: recordingQueue(true) }).api("POST", `/v1/dead-letters/${letter.id}/replay`);
    aDone.done();
    const lost = await b;
    expect(a.status).toBe(503);
    expect([lost.status, lost.json.error.details]).toEqual([409, { reason: "replay_in_progress" }]);
    await expectOpenAndReplayable(p0, letter.id, msg);
  });

  it("answers a replay whose letter was deleted while it queued the message as replayed then, not as open", async () => {
    const p0 = pipeline();
    const { msg, letter } = await openIngestLetter(p0);
    const db = afterClaim(async () => expect((await p0.api("DELETE", `/v1/dead-letters/${letter.id}`)).status).toBe(204));
    const p = pipeline({ DB: db });
    const replayed = await p.api("POST", `/v1/dead-letters/${letter.id}/replay`);
    expect(replayed.status).toBe(202);
    expect(replayed.json.replayedAt).not.toBeNull();
    expect(replayed.json.held).toBe(false);
    expect(p.queues.ingest.sent).toEqual([msg]);
  });

  it("reopens an ingest letter whose replay claimed it and could not let go (queue and D1 failing): the maintenance run, once the claim is stale", async () => {
    const p = pipeline();
    const { msg, letter } = await openIngestLetter(p);
    const { db } = d1Double({ failStatement: (s) => s.sql.startsWith("UPDATE dead_letters SET replayed_at = NULL WHERE seq") });
    const down = pipeline({ INGEST: recordingQueue(true), DB: db });
    expect((await down.api("POST", `/v1/dead-letters/${letter.id}/replay`)).status).toBe(503);
    // Held by the claim meanwhile: no other replay is made, and none is said to be made.
    expect((await p.api("POST", `/v1/dead-letters/${letter.id}/replay`)).json.error.details).toEqual({ reason: "replay_in_progress" });
    await runMaintenance(p.env);
    expect(await ingestLetterOf(p, msg.eventId)).not.toMatchObject({ replayedAt: null });
    await runMaintenance(p.env, Date.now() + STALE_CLAIM_MS + 1000);
    expect(await ingestLetterOf(p, msg.eventId)).toMatchObject({ replayedAt: null });
    expect((await p.api("POST", `/v1/dead-letters/${letter.id}/replay`)).status).toBe(202);
    expect(p.queues.ingest.sent).toEqual([msg]);
  });

  it("shows a letter whose stored message is not JSON with a null message, without failing the list, and refuses to replay it", async () => {
    const p = pipeline({ RETRY_BASE_SECONDS: "0" });
    const good = ingestMessage({ body: podiumBody() });
    await p.runQueue<IngestMessage>("edgehook-ingest-dlq", [good], 11, `dead-${good.eventId}`);
    // A row written by hand (or cut short): its body is no JSON, and holds what an error must not quote.
    const bad = `evt_bad_${uniqueKey()}`;
    await env.DB.prepare(
      "INSERT INTO dead_letters (queue, message_id, event_id, delivery_id, reason, body, attempts, received_at) VALUES ('edgehook-ingest-dlq', ?1, ?1, NULL, 'test', '{\"secret\": \"stored-secret-text', 1, ?2)",
    )
      .bind(bad, Date.now())
      .run();

    const list = await p.api("GET", "/v1/dead-letters?limit=100");
    expect(list.status).toBe(200);
    const letters = list.json.data as { id: number; eventId: string; message: unknown }[];
    expect(letters.find((d) => d.eventId === good.eventId)?.message).toEqual(good);
    const corrupt = letters.find((d) => d.eventId === bad);
    expect(corrupt).toMatchObject({ message: null });

    const replay = await p.api("POST", `/v1/dead-letters/${corrupt!.id}/replay`);
    expect(replay.status).toBe(409);
    expect(replay.json.error.code).toBe("conflict");
    expect(JSON.stringify(replay.json)).not.toContain("stored-secret-text");
    expect(replay.json.error.message).toContain("DELETE the dead letter");
    expect(p.queues.ingest.sent).toEqual([]);
    // Handled otherwise, it is deleted through the API (the admin's alone), and no longer counted as open.
    const open = async () => (await p.api("GET", "/v1/stats")).json.deadLetters;
    const before = await open();
    const t = (await p.api("POST", "/v1/tokens", { name: "r", scopes: ["events:read", "events:replay"] })).json.token;
    const { call } = await import("./helpers");
    const refused = await call(new Request(`https://edgehook.test/v1/dead-letters/${corrupt!.id}`, { method: "DELETE", headers: { authorization: `Bearer ${t}` } }));
    expect(refused.status).toBe(403);
    expect((await p.api("DELETE", `/v1/dead-letters/${corrupt!.id}`)).status).toBe(204);
    expect(await open()).toBe(before - 1);
    expect((await p.api("GET", "/v1/dead-letters?limit=100")).json.data.map((d: { id: number }) => d.id)).not.toContain(corrupt!.id);
    expect((await p.api("DELETE", `/v1/dead-letters/${corrupt!.id}`)).status).toBe(404);
  });

  it("parks a dead letter it cannot record in R2 rather than dropping it (see reliability.test.ts)", async () => {
    const p = pipeline({ DB: d1Double({ failBatch: () => true }).db });
    const msg = { v: 1, eventId: `evt_x_${uniqueKey()}`, sourceId: "podium", dedupeKey: "x", eventType: "message.received" };
    const res = await p.runQueue("edgehook-ingest-dlq", [msg], 1, "dead-x");
    expect(res.acked).toHaveLength(1);
    expect(await p.env.BODIES.head("dead-letters/edgehook-ingest-dlq/dead-x-0")).not.toBeNull();
  });

  it("closes an ingest letter D1 recorded with its answer lost once its parked copy went back on the queue: not offered for a replay again", async () => {
    // D1 commits the letters, the consumer never hears so, and parks them in R2 as well.
    const lossy = pipeline({ DB: d1Double({ loseAnswer: (s) => s.some((x) => x.sql.includes("INSERT INTO dead_letters")) }).db });
    const msg = ingestMessage({ body: podiumBody() });
    const id = `dead-${msg.eventId}`;
    expect((await lossy.runQueue<IngestMessage>("edgehook-ingest-dlq", [msg], 11, id)).acked).toHaveLength(1);
    expect(await env.BODIES.head(`dead-letters/edgehook-ingest-dlq/${id}-0`)).not.toBeNull();

    // The cron puts the parked copy back on the ingest queue, which stores the event.
    const p = pipeline();
    await runMaintenance(p.env);
    expect(p.queues.ingest.sent).toContainEqual(msg);
    expect((await p.runIngest(p.queues.ingest.sent.filter((m) => m.eventId === msg.eventId))).acked).toHaveLength(1);

    // Replayed by the cron: D1's record of it is closed, not left open for someone to replay again.
    const letter = (await p.api("GET", "/v1/dead-letters?limit=100")).json.data.find((d: { eventId: string }) => d.eventId === msg.eventId);
    expect(letter).toMatchObject({ queue: "edgehook-ingest-dlq", message: msg });
    expect(letter.replayedAt).not.toBeNull();
    const again = await p.api("POST", `/v1/dead-letters/${letter.id}/replay`);
    expect(again.status).toBe(409);
    expect(again.json.error.details).toMatchObject({ reason: "already_replayed" });
  });

  it("keeps /v1/dead-letters to admins", async () => {
    const p = pipeline();
    const t = (await p.api("POST", "/v1/tokens", { name: "r", scopes: ["events:read", "events:replay"] })).json.token;
    const { call } = await import("./helpers");
    const res = await call(new Request("https://edgehook.test/v1/dead-letters", { headers: { authorization: `Bearer ${t}` } }));
    expect(res.status).toBe(403);
  });

  it("go with their delivery's event at the retention, and closed ones after it; an open ingest letter stays", async () => {
    const p = pipeline({ RETRY_BASE_SECONDS: "0" });
    const { org } = await p.webhookOn("fail", { maxAttempts: 1 });
    const eventId = await p.ingest(podiumBody({ organizationUid: org }));
    await p.deliver();
    const letters = async () => (await p.api("GET", "/v1/dead-letters?limit=100")).json.data;
    const [failed] = (await letters()).filter((d) => d.eventId === eventId);
    expect(failed).toMatchObject({ replayedAt: null });
    // A recent failure, whose open letter stays.
    const recent = await p.ingest(podiumBody({ organizationUid: org }));
    await p.deliver();
    // Ingest letters: one replayed (closed) eleven days ago, one still open as old, one replayed just now.
    const closed = ingestMessage({ body: podiumBody() });
    const open = ingestMessage({ body: podiumBody() });
    const closedNow = ingestMessage({ body: podiumBody() });
    for (const m of [closed, open, closedNow]) await p.runQueue<IngestMessage>("edgehook-ingest-dlq", [m], 11, `dead-${m.eventId}`);
    for (const m of [closed, closedNow]) {
      const id = (await letters()).find((d) => d.eventId === m.eventId)!.id;
      expect((await p.api("POST", `/v1/dead-letters/${id}/replay`)).status).toBe(202);
    }
    const old = Date.now() - 11 * DAY_MS;
    await env.DB.prepare("UPDATE dead_letters SET received_at = ?1, replayed_at = CASE WHEN replayed_at IS NULL THEN NULL ELSE ?1 END WHERE event_id IN (?2, ?3)")
      .bind(old, closed.eventId, open.eventId)
      .run();
    await setEvent(eventId, "received_at = received_at - 11 * ?1", DAY_MS);
    const openBefore = (await p.api("GET", "/v1/stats")).json.deadLetters;

    await runMaintenance(p.env);
    const left = (await letters()).map((d) => d.eventId);
    expect(left).not.toContain(eventId); // purged with its event and delivery
    expect(left).not.toContain(closed.eventId);
    expect(left).toContain(open.eventId);
    expect(left).toContain(closedNow.eventId);
    expect(left).toContain(recent);
    expect((await p.api("GET", `/v1/events/${eventId}`)).status).toBe(404);
    expect((await p.api("GET", "/v1/stats")).json.deadLetters).toBe(openBefore - 1); // the delivery's was open
  });

  it("migration 0020 deletes the letters of deliveries an earlier release purged without them, and no other", async () => {
    const p = pipeline({ RETRY_BASE_SECONDS: "0" });
    const { org } = await p.webhookOn("fail", { maxAttempts: 1 });
    const [gone, kept] = [await p.ingest(podiumBody({ organizationUid: org })), await p.ingest(podiumBody({ organizationUid: org }))];
    await p.deliver();
    const ingestOnly = ingestMessage({ body: podiumBody() });
    await p.runQueue<IngestMessage>("edgehook-ingest-dlq", [ingestOnly], 11, `dead-${ingestOnly.eventId}`);
    // As an earlier retention did: the delivery deleted, its dead letter left behind.
    await env.DB.prepare("DELETE FROM deliveries WHERE event = (SELECT seq FROM events WHERE id = unhex(substr(?, 5)))").bind(gone).run();
    const open = async () => (await p.api("GET", "/v1/stats")).json.deadLetters as number;
    const before = await open();
    await env.DB.prepare(migration0020).run();
    const left = ((await p.api("GET", "/v1/dead-letters?limit=100")).json.data as { eventId: string }[]).map((d) => d.eventId);
    expect(left).not.toContain(gone);
    expect(left).toContain(kept);
    expect(left).toContain(ingestOnly.eventId);
    expect(await open()).toBe(before - 1);
  });
});

describe("a replay with nothing to retry says why (details.cause), and what to do", () => {
  /** A letter of a delivery that failed for good (its one attempt), open. */
  async function failedLetter(p: ReturnType<typeof pipeline>) {
    const { org, webhook } = await p.webhookOn("fail", { maxAttempts: 1 });
    const eventId = await p.ingest(podiumBody({ organizationUid: org }));
    await p.deliver();
    const letter = (await p.api("GET", "/v1/dead-letters?open=true&limit=100")).json.data.find((d: { eventId: string }) => d.eventId === eventId);
    expect(letter).toMatchObject({ replayedAt: null, deliveryId: expect.any(String) });
    return { org, webhook, letter: letter as { id: number; deliveryId: string } };
  }

  /**
   * A delivery letter as the maintenance run records one parked in R2 by an earlier version (whose
   * deliveries went through a queue: drainParked), whatever its delivery has come to since.
   */
  async function parkedLetter(p: ReturnType<typeof pipeline>, deliveryId: string, eventId: string) {
    const body = { deliveryId, eventId, webhookUid: "wh_x", attempts: 15, lastError: "HTTP 500" };
    await recordDeadLetters(env.DB, [deadLetterOf({ queue: "edgehook-deliveries-dlq", messageId: `dlq-${uniqueKey()}`, attempts: 1, body }, Date.now())]);
    return (await p.api("GET", "/v1/dead-letters?open=true&limit=100")).json.data.find((d: { deliveryId: string }) => d.deliveryId === deliveryId) as { id: number };
  }

  /** A well-formed id of nothing stored. */
  const unknownId = (prefix: "dlv_" | "evt_") => `${prefix}${crypto.randomUUID().replaceAll("-", "")}`;

  /** The API's refusal of a replay (409 nothing_to_retry, the letter left open), and what the dashboard's Replay button says of it. */
  async function refused(p: ReturnType<typeof pipeline>, id: number, overrides: Partial<Env> = {}) {
    const answer = await p.api("POST", `/v1/dead-letters/${id}/replay`);
    expect(answer.status).toBe(409);
    expect(answer.json.error).toMatchObject({ code: "conflict", details: { reason: "nothing_to_retry" } });
    const cookie = await dashboardCookie();
    const pressed = await dashboardForm(`/dashboard/dead-letters/${id}/replay`, cookie, {}, overrides);
    const page = await call(new Request(new URL(pressed.headers.get("location")!, "https://edgehook.test"), { headers: { cookie } }));
    const open = (await p.api("GET", "/v1/dead-letters?open=true&limit=100")).json.data.some((d: { id: number }) => d.id === id);
    expect(open).toBe(true);
    return { error: answer.json.error, shown: pageBanners(await page.text(), "alert") };
  }

  it("webhook_deleted: its webhook was deleted, nowhere to send it; read by key after the refusal", async () => {
    const p = pipeline({ RETRY_BASE_SECONDS: "0" });
    const { webhook, letter } = await failedLetter(p);
    expect((await p.api("DELETE", `/v1/webhooks/${webhook.uid}`)).status).toBe(204);
    const { error, shown } = await refused(p, letter.id);
    expect(error.details).toEqual({ reason: "nothing_to_retry", cause: "webhook_deleted" });
    expect(error.message).toBe(`Its delivery's webhook ${webhook.uid} was deleted: there is nowhere to send it, nothing to retry. Once handled, DELETE the dead letter.`);
    expect(shown).toEqual(["The delivery's webhook was deleted: there is nowhere to send it, nothing to retry. Once handled, delete this dead letter with its Delete button."]);
    // The cause is read by key (its delivery, event and webhook): a few rows, whatever else is stored.
    const meter = meteredD1(env.DB);
    const again = await meteredApiCall(meter, "POST", `/v1/dead-letters/${letter.id}/replay`);
    expect(again.json.error.details).toEqual({ reason: "nothing_to_retry", cause: "webhook_deleted" });
    expect(again.rows, JSON.stringify(meter.usage.bySql)).toBeLessThanOrEqual(REFUSAL_ROWS);
  });

  it("outside_grant: its webhook was confined to another organization since", async () => {
    const p = pipeline({ RETRY_BASE_SECONDS: "0" });
    const { org, webhook, letter } = await failedLetter(p);
    // Confined since (a token of that organization's grant changed it), as updateWebhook writes it.
    await env.DB.prepare("UPDATE webhooks SET grant_organization_uid = ?, updated_at = updated_at + 1 WHERE uid = ?").bind(`other-${org}`, webhook.uid).run();
    const { error, shown } = await refused(p, letter.id);
    expect(error.details).toEqual({ reason: "nothing_to_retry", cause: "outside_grant" });
    expect(error.message).toBe(
      `Its delivery's webhook ${webhook.uid} was confined to organization other-${org} since, and its event is not that organization's: it is not sent there again, nothing to retry. Once handled, DELETE the dead letter.`,
    );
    expect(shown).toEqual([
      "The delivery's webhook was confined to an organization since, and this event is not that organization's: it is not sent there again, nothing to retry. Once handled, delete this dead letter with its Delete button.",
    ]);
    expect(await deliveryRow(letter.deliveryId)).toMatchObject({ status: "failed", attempt_count: 1 });
  });

  it("held: its delivery is held while its webhook is disabled (a letter an earlier version parked), and goes out once the webhook is enabled", async () => {
    const p = pipeline();
    const { key, org, webhook } = await p.webhookOn("ok", { disabled: true });
    const eventId = await p.ingest(podiumBody({ organizationUid: org }));
    const [delivery] = (await p.api("GET", `/v1/events/${eventId}`)).json.deliveries;
    expect(delivery).toMatchObject({ status: "held" });
    const letter = await parkedLetter(p, delivery.id, eventId);
    const { error, shown } = await refused(p, letter.id);
    expect(error.details).toEqual({ reason: "nothing_to_retry", cause: "held" });
    expect(error.message).toBe(
      `Its delivery is held while its webhook ${webhook.uid} is disabled: nothing to retry, it goes out once the webhook is enabled (PATCH /v1/webhooks/${webhook.uid} with {"disabled": false}). Once handled, DELETE the dead letter.`,
    );
    expect(shown).toEqual([
      "The delivery is held while its webhook is disabled: nothing to retry, it goes out once the webhook is enabled (its Enable button, on the webhook's page). Once handled, delete this dead letter with its Delete button.",
    ]);
    // As it says: enabled, the webhook is sent it.
    expect((await p.api("PATCH", `/v1/webhooks/${webhook.uid}`, { disabled: false })).status).toBe(200);
    await p.deliver();
    expect(await received(key)).toHaveLength(1);
  });

  it("delivery_gone: no delivery of its id is stored (a letter an earlier version parked, recorded after the retention purged it)", async () => {
    const p = pipeline();
    const letter = await parkedLetter(p, unknownId("dlv_"), unknownId("evt_"));
    const { error, shown } = await refused(p, letter.id);
    expect(error.details).toEqual({ reason: "nothing_to_retry", cause: "delivery_gone" });
    expect(error.message).toBe("Its delivery is gone (purged with its event at the retention): nothing to retry. Once handled, DELETE the dead letter.");
    expect(shown).toEqual(["The delivery is gone (purged with its event at the retention): nothing to retry. Once handled, delete this dead letter with its Delete button."]);
  });

  it("changed: its delivery changed between the retry and the reads of why (held, then not): try again", async () => {
    const p0 = pipeline({ RETRY_BASE_SECONDS: "0" });
    const { letter } = await failedLetter(p0);
    // Held as the retry runs (it takes none held), failed again by the time the letter is read again.
    let held = false;
    const { db } = d1Double({
      beforeBatch: async (statements) => {
        if (!statements.some((s) => s.sql.includes("UPDATE dead_letters SET replayed_at = -"))) return;
        held = true;
        await setDelivery(letter.deliveryId, `status = ${statusCode("held")}`);
      },
      afterRun: async (statement) => {
        if (!held || !readsLetter(statement.sql)) return;
        held = false;
        await setDelivery(letter.deliveryId, `status = ${statusCode("failed")}`);
      },
    });
    const p = pipeline({ RETRY_BASE_SECONDS: "0", DB: db });
    const { error, shown } = await refused(p, letter.id, { DB: db });
    expect(error.details).toEqual({ reason: "nothing_to_retry", cause: "changed" });
    expect(error.message).toBe("Its delivery changed meanwhile; try again.");
    expect(shown).toEqual(["The delivery changed meanwhile; try again."]);
    // As it says: tried again, it is retried.
    expect((await p0.api("POST", `/v1/dead-letters/${letter.id}/replay`)).status).toBe(202);
  });
});

/** An open ingest dead letter (its message dead-lettered after 11 attempts). */
async function openIngestLetter(p: ReturnType<typeof pipeline>) {
  const msg = ingestMessage();
  await p.runQueue<IngestMessage>("edgehook-ingest-dlq", [msg], 11, `dead-${msg.eventId}`);
  return { msg, letter: await ingestLetterOf(p, msg.eventId) };
}

/** A D1 that runs `then` once, right after a replay's claim of an ingest letter (claimIngestLetter). */
function afterClaim(then: () => Promise<void>): D1Database {
  let done = false;
  return d1Double({
    afterRun: async (statement) => {
      if (done || !statement.sql.startsWith("UPDATE dead_letters SET replayed_at = ?1 WHERE seq = ?2 AND replayed_at IS NULL")) return;
      done = true;
      await then();
    },
  }).db;
}

/** Nothing of the letter was queued (on `p`'s queue), and it is open: a replay now queues its message. */
async function expectOpenAndReplayable(p: ReturnType<typeof pipeline>, id: number, msg: IngestMessage) {
  expect(p.queues.ingest.sent).toEqual([]);
  expect(await ingestLetterOf(p, msg.eventId)).toMatchObject({ replayedAt: null });
  expect((await p.api("POST", `/v1/dead-letters/${id}/replay`)).status).toBe(202);
  expect(p.queues.ingest.sent).toEqual([msg]);
}

/** The ingest dead letter of an event, as the API lists it. */
async function ingestLetterOf(p: ReturnType<typeof pipeline>, eventId: string) {
  return (await p.api("GET", "/v1/dead-letters?limit=100")).json.data.find((d: { eventId: string }) => d.eventId === eventId);
}

/** Rows a refused replay reads: the letter (twice), the retry's claim and checks, then its delivery, event and webhook by key (27 measured, 8 of them the cause's). */
const REFUSAL_ROWS = 30;
