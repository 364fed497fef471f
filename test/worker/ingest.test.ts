import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { IngestMessage } from "../../src/domain/types";
import type { Env } from "../../src/env";
import worker from "../../src/index";
import { scheduledDelay } from "../../src/pipeline/retry-schedule";
import { getEvent } from "../../src/store/events";
import { d1Double } from "./d1-double";
import { call, createSource, podiumBody, podiumHeaders, post, recordingQueue, testEnv } from "./helpers";
import { pipeline } from "./pipeline";
import { eventStored } from "./rows";

/** Runs the ingress for a signed Podium body and returns the message it queued. */
async function ingressMessage(body = podiumBody()): Promise<IngestMessage> {
  const queue = recordingQueue();
  const res = await call(post("/webhooks/podium", body, await podiumHeaders(body)), { INGEST: queue });
  expect(res.status).toBe(202);
  return queue.sent[0]!;
}

let seq = 0;
async function consume(messages: IngestMessage[], overrides: Partial<Env> = {}) {
  const batch = createMessageBatch<IngestMessage>(
    "edgehook-ingest",
    messages.map((body) => ({ id: `m${++seq}`, timestamp: new Date(), attempts: 1, body })),
  );
  const ctx = createExecutionContext();
  await worker.queue(batch, testEnv(overrides).env);
  const result = await getQueueResult(batch, ctx);
  return { result, ids: batch.messages.map((m) => m.id) };
}

async function countRows(id: string): Promise<number> {
  return (await eventStored(id)) ? 1 : 0;
}

/** The test D1 with batch() failing when a statement's values say it would store a poisoned event. */
const failingDb = (poisoned: (bound: unknown[]) => boolean) => d1Double({ failBatch: (stmts) => stmts.some((st) => poisoned(st.values)) }).db;

describe("ingest consumer", () => {
  it("stores an event with its facts, headers and body byte for byte, then acks", async () => {
    const body = podiumBody({ type: "message.sent", locationUid: "loc-a", organizationUid: "org-a" });
    const msg = await ingressMessage(body);
    const { result, ids } = await consume([msg]);
    expect(result.explicitAcks).toEqual(ids);
    expect(result.retryMessages).toEqual([]);
    const stored = await getEvent(env.DB, msg.eventId);
    expect(stored).toMatchObject({
      id: msg.eventId,
      sourceId: "podium",
      eventType: "message.sent",
      locationUid: "loc-a",
      organizationUid: "org-a",
      receivedAt: msg.receivedAt,
      body,
    });
    expect(stored?.headers["content-type"]).toBe("application/json");
    expect(stored?.headers["podium-signature"]).toBeUndefined();
  });

  it("stores an event once however often it arrives, within a batch and across batches", async () => {
    const msg = await ingressMessage();
    const again = { ...msg, receivedAt: msg.receivedAt + 5 };
    const first = await consume([msg, again, msg]);
    expect(first.result.explicitAcks).toHaveLength(3);
    const second = await consume([msg]);
    expect(second.result.explicitAcks).toHaveLength(1);
    expect(await countRows(msg.eventId)).toBe(1);
    expect((await getEvent(env.DB, msg.eventId))?.receivedAt).toBe(msg.receivedAt);
  });

  it("answers a second request with the same eventUid but another body with the same id, and keeps the copy stored first", async () => {
    // docs/providers.md: a dedupe key already stored changes nothing, whatever the body says.
    const eventUid = crypto.randomUUID();
    const first = await ingressMessage(podiumBody({ eventUid, type: "message.sent", locationUid: "loc-first", organizationUid: "org-first" }));
    await consume([first]);
    const other = podiumBody({ eventUid, type: "message.failed", locationUid: "loc-other", organizationUid: "org-other" });
    const second = await ingressMessage(other);
    expect(second.eventId).toBe(first.eventId);
    expect((await consume([second])).result.retryMessages).toEqual([]);
    expect(await getEvent(env.DB, first.eventId)).toMatchObject({
      eventType: "message.sent",
      locationUid: "loc-first",
      organizationUid: "org-first",
      body: first.body,
      receivedAt: first.receivedAt,
    });
  });

  it("stores an event once per source: another source given the same provider event id keeps its own event", async () => {
    // Two Podium accounts (or a test and a live endpoint) may both send an event with one eventUid.
    const p = pipeline();
    const secret = "a-second-podium-account";
    const other = await createSource({ secrets: [secret] });
    const eventUid = crypto.randomUUID();
    const body = podiumBody({ eventUid });
    const here = await p.ingest(body);
    const there = await p.ingest(body, { source: other, secret });
    expect(there).not.toBe(here);
    // Redelivered to either, it is the same event again.
    expect(await p.ingest(body, { source: other, secret })).toBe(there);
    expect(await p.ingest(body)).toBe(here);
    for (const [id, sourceId] of [[here, "podium"], [there, other]] as const) {
      const { status, json } = await p.api("GET", `/v1/events/${id}`);
      expect(status).toBe(200);
      expect(json).toMatchObject({ id, sourceId, dedupeKey: eventUid, body });
    }
  });

  it("writes a whole batch in one D1 transaction", async () => {
    const msgs = await Promise.all([1, 2, 3, 4, 5].map(() => ingressMessage()));
    const { db, calls: { batches: statements } } = d1Double();
    await consume(msgs, { DB: db });
    // One transaction: the names they use, their bodies in one row, the five events in one
    // statement and where they are (their places row), their counts (a row, and the fold that
    // runs once enough wait: two statements), then what they teach (locations, event types).
    expect(statements).toEqual([9]);
    for (const m of msgs) expect(await countRows(m.eventId)).toBe(1);
  });

  it("stores bodies and headers byte for byte whatever characters they hold", async () => {
    const bodies = ['a\u0000b', '"quoted" \\ back\\slash', "line\nbreak\r\ttab", "😀 é € \u2028\u2029", "\u0001\u001f", "x".repeat(70_000)];
    const msgs = await Promise.all(
      bodies.map(async (body) => ({ ...(await ingressMessage()), body, headers: { "x-odd": 'a"b\\c\u0000' } })),
    );
    const { result } = await consume(msgs);
    expect(result.explicitAcks).toHaveLength(bodies.length);
    for (const [i, m] of msgs.entries()) {
      const stored = await getEvent(env.DB, m.eventId);
      expect(stored?.body).toBe(bodies[i]);
      expect(stored?.headers).toEqual(m.headers);
      expect(stored?.receivedAt).toBe(m.receivedAt);
    }
  });

  it("writes a batch too large for one statement in several, still in one transaction and in batch order", async () => {
    const big = (c: string) => podiumBody().replace('"body":"hello"', `"body":"hello","pad":"${c.repeat(100_000)}"`);
    const msgs = await Promise.all(Array.from({ length: 12 }, (_, i) => ingressMessage(big("abcdefghijkl"[i]!))));
    expect(msgs.every((m) => m.body !== undefined)).toBe(true);
    const { db, calls: { batches: statements } } = d1Double();
    const { result } = await consume(msgs, { DB: db });
    expect(result.explicitAcks).toHaveLength(12);
    expect(statements).toHaveLength(1);
    expect(statements[0]).toBeGreaterThan(1);
    const seqs = [];
    for (const m of msgs) {
      const stored = await getEvent(env.DB, m.eventId);
      expect(stored?.body).toBe(m.body);
      seqs.push(stored!.seq);
    }
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
  });

  it("stores bodies at the 256 KiB limit whose JSON is six times larger, several in one batch", async () => {
    const bodies = ["\u0001", "\u001f", "€"].map((c) => c.repeat(c === "€" ? 87_381 : 256 * 1024));
    const msgs = await Promise.all(bodies.map(async (body) => ({ ...(await ingressMessage()), body })));
    const { db, calls: { batches: statements } } = d1Double();
    const { result } = await consume(msgs, { DB: db });
    expect(result.explicitAcks).toHaveLength(3);
    expect(statements).toHaveLength(1); // one transaction, no one-by-one fallback
    for (const [i, m] of msgs.entries()) expect((await getEvent(env.DB, m.eventId))?.body).toBe(bodies[i]);
  });

  it("retries, and never acks, a message whose write fails", async () => {
    const msg = await ingressMessage();
    const { result, ids } = await consume([msg], { DB: failingDb(() => true) });
    expect(result.explicitAcks).toEqual([]);
    expect(result.retryMessages.map((r) => r.msgId)).toEqual(ids);
    expect(await countRows(msg.eventId)).toBe(0);
    // Once D1 is back, the retried message is stored.
    await consume([msg]);
    expect(await countRows(msg.eventId)).toBe(1);
  });

  it("stores the rest of a batch when one event cannot be written", async () => {
    const [good1, bad, good2] = await Promise.all([ingressMessage(), ingressMessage(), ingressMessage()]);
    const { result, ids } = await consume([good1!, bad!, good2!], {
      DB: failingDb((values) => values.some((v) => String(v).includes(bad!.eventId))),
    });
    expect(result.explicitAcks.sort()).toEqual([ids[0], ids[2]].sort());
    expect(result.retryMessages.map((r) => r.msgId)).toEqual([ids[1]]);
    expect(await countRows(good1!.eventId)).toBe(1);
    expect(await countRows(good2!.eventId)).toBe(1);
    expect(await countRows(bad!.eventId)).toBe(0);
  });

  it("reads a claim-checked 200 KiB body back from R2, stores it byte for byte and drops the object", async () => {
    const shell = podiumBody();
    const body = shell.replace('"body":"hello"', `"body":"hello","pad":"${"é".repeat(100 * 1024)}"`);
    expect(new TextEncoder().encode(body).byteLength).toBeGreaterThan(200 * 1024);
    const msg = await ingressMessage(body);
    expect(msg.bodyKey).toBeDefined();
    const { result } = await consume([msg]);
    expect(result.explicitAcks).toHaveLength(1);
    expect((await getEvent(env.DB, msg.eventId))?.body).toBe(body);
    expect(await env.BODIES.get(msg.bodyKey!)).toBeNull();
    // A redelivery after the object is gone is recognised as stored.
    const again = await consume([msg]);
    expect(again.result.explicitAcks).toHaveLength(1);
    expect(await countRows(msg.eventId)).toBe(1);
  });

  it("keeps a claim-checked body's leading byte order mark", async () => {
    const shell = podiumBody();
    const body = `\uFEFF${shell.replace('"body":"hello"', `"body":"hello","pad":"${"é".repeat(100 * 1024)}"`)}`;
    const msg = await ingressMessage(body);
    expect(msg.bodyKey).toBeDefined();
    const { result } = await consume([msg]);
    expect(result.explicitAcks).toHaveLength(1);
    const stored = (await getEvent(env.DB, msg.eventId))?.body;
    expect(stored?.charCodeAt(0)).toBe(0xfeff);
    expect(stored === body).toBe(true);
  });

  it("retries a message that is no ingest message with a delay, and stores the rest of its batch", async () => {
    const good = await ingressMessage();
    const p = pipeline();
    const r = await p.runQueue<unknown>("edgehook-ingest", [null, good, "not a message", { eventId: 5 }]);
    expect(r.acked).toEqual([good]);
    expect(r.retried).toEqual([null, "not a message", { eventId: 5 }]);
    // Retried on the schedule, as a failed store is, not at once.
    const first = scheduledDelay(1);
    expect(first).toBeGreaterThan(0);
    expect(r.retryDelays).toEqual([first, first, first]);
    expect(await countRows(good.eventId)).toBe(1);
  });

  it("retries a claim-checked message whose body is missing and whose event is not stored", async () => {
    const msg = await ingressMessage();
    const lost = { ...msg, body: undefined, bodyKey: "ingest/none/missing" };
    const { result } = await consume([lost]);
    expect(result.explicitAcks).toEqual([]);
    expect(result.retryMessages).toHaveLength(1);
  });
});
