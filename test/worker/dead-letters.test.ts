import { describe, expect, it } from "vitest";
import type { IngestMessage } from "../../src/domain/types";
import { ingestMessage, podiumBody } from "./helpers";
import { pipeline, received, uniqueKey } from "./pipeline";

describe("dead letters are never silent", () => {
  it("records a delivery that failed for good, shows it in the API and stats, and replays it", async () => {
    const p = pipeline({ RETRY_BASE_SECONDS: "0" });
    const key = uniqueKey();
    const org = `org-${key}`;
    const hook = await p.createWebhook({ url: `https://downstream.test/flaky/${key}?fails=1`, eventTypes: ["*"], organizationUid: org, maxAttempts: 1 });
    const before = (await p.api("GET", "/v1/stats")).json.deadLetters;
    const eventId = await p.ingest(podiumBody({ organizationUid: org }));
    await p.deliver();
    // Failed for good: its one dead letter is recorded with the attempt; its scheduler woken again changes nothing.
    await p.deliver();
    const list = (await p.api("GET", "/v1/dead-letters?open=true")).json.data.filter((d: { eventId: string }) => d.eventId === eventId);
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ queue: "edgehook-deliveries-dlq", reason: expect.stringContaining("HTTP 503"), replayedAt: null });
    expect(list[0].message).toMatchObject({ webhookUid: hook.uid, attempts: 1 });
    expect((await p.api("GET", "/v1/stats")).json.deadLetters).toBe(before + 1);

    // Replayed by an operator: the delivery goes out again and succeeds.
    const replayed = await p.api("POST", `/v1/dead-letters/${list[0].id}/replay`);
    expect(replayed.status).toBe(202);
    expect(replayed.json.replayedAt).toEqual(expect.any(String));
    await p.deliver();
    expect(await received(key)).toHaveLength(2);
    expect((await p.api("GET", "/v1/stats")).json.deadLetters).toBe(before);
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

  it("parks a dead letter it cannot record in R2 rather than dropping it (see reliability.test.ts)", async () => {
    const p = pipeline({ DB: { batch: async () => Promise.reject(new Error("D1 down (test)")) } as never });
    const msg = { v: 1, eventId: `evt_x_${uniqueKey()}`, sourceId: "podium", dedupeKey: "x", eventType: "message.received" };
    const res = await p.runQueue("edgehook-ingest-dlq", [msg], 1, "dead-x");
    expect(res.acked).toHaveLength(1);
    expect(await p.env.BODIES.head("dead-letters/edgehook-ingest-dlq/dead-x-0")).not.toBeNull();
  });

  it("keeps /v1/dead-letters to admins", async () => {
    const p = pipeline();
    const t = (await p.api("POST", "/v1/tokens", { name: "r", scopes: ["events:read", "events:replay"] })).json.token;
    const { call } = await import("./helpers");
    const res = await call(new Request("https://edgehook.test/v1/dead-letters", { headers: { authorization: `Bearer ${t}` } }));
    expect(res.status).toBe(403);
  });
});
