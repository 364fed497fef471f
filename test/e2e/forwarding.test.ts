import { randomUUID } from "node:crypto";
import { Webhook as StandardWebhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { startDownstream, type Downstream } from "./downstream";
import { podiumEvent, sendPodium, timestampedHmac } from "./podium";
import { eventually, refusedPort, useLocalStack, type Stack } from "./stack";
import type { components } from "../../cli/src/api";

/** A delivery of an event as `GET /v1/events/{id}` shows it, and one of its attempts. */
type Delivery = components["schemas"]["Event"]["deliveries"][number];
type Attempt = Delivery["attempts"][number];

let stack: Stack;
let down: Downstream;
// Short backoff so retries happen within the test.
useLocalStack({ RETRY_BASE_SECONDS: "1", RETRY_CAP_SECONDS: "2" }, (s, d) => ((stack = s), (down = d)));

const api = <M extends string, P extends string>(method: M, path: P, body?: unknown) => stack.api(method, path, body);

/** A webhook scoped to a fresh organization, pointed at a behaviour of the local downstream. */
async function subscribe(behaviour: string, extra: Record<string, unknown> = {}) {
  const key = randomUUID().slice(0, 8);
  const org = `org-${key}`;
  const path = behaviour.includes("?") ? behaviour.replace("?", `/${key}?`) : `${behaviour}/${key}`;
  const res = await api("POST", "/v1/webhooks", { url: `${down.url}/${path}`, eventTypes: ["*"], organizationUid: org, ...extra });
  expect(res.status).toBe(201);
  return { key, org, webhook: res.json as { uid: string; secret: string } };
}

async function send(body: string): Promise<string> {
  const res = await sendPodium(`${stack.url}/webhooks/podium`, body, stack.vars.PODIUM_WEBHOOK_SECRET!.split(" ")[0]!);
  expect(res.status).toBe(202);
  return ((await res.json()) as { eventId: string }).eventId;
}

const arrived = (key: string, n: number, ms = 30_000) =>
  eventually(async () => {
    const r = await down.requests(key);
    return r.length >= n ? r : null;
  }, ms, `${n} request(s) under ${key}`);

/** An event once stored, with its deliveries: routing decided them at storage, so none can appear later. */
const stored = (eventId: string) =>
  eventually(async () => {
    const { status, json } = await api("GET", `/v1/events/${eventId}`);
    return status === 200 ? json : null;
  }, 30_000, `event ${eventId} stored`);

/** Waits until a webhook's delivery of an event has settled. */
const settled = (eventId: string, status = "succeeded") =>
  eventually(async () => {
    const { json } = await api("GET", `/v1/events/${eventId}`);
    return json.deliveries?.[0]?.status === status ? json : null;
  }, 30_000, `the delivery of ${eventId} to be ${status}`);

describe("forwarding through the local stack", () => {
  it("delivers matching events, verifiable with the standardwebhooks package and Podium-style", async () => {
    const { key, org, webhook } = await subscribe("ok", { eventTypes: ["message.*"] });
    const body = podiumEvent({ type: "message.received", organizationUid: org });
    const eventId = await send(body);
    const others = [
      await send(podiumEvent({ type: "contact.updated", organizationUid: org })), // another type
      await send(podiumEvent({ type: "message.received", organizationUid: `${org}-other` })), // another organization
    ];
    const [req] = await arrived(key, 1);
    await settled(eventId);
    // The others are stored and owed nothing to this webhook: nothing more can arrive.
    for (const id of others) expect((await stored(id)).deliveries.filter((d: Delivery) => d.webhookUid === webhook.uid)).toEqual([]);
    expect(await down.requests(key)).toHaveLength(1);

    expect(req!.body).toBe(body);
    expect(req!.headers["edgehook-event-id"]).toBe(eventId);
    expect(() => new StandardWebhook(webhook.secret).verify(req!.body, req!.headers)).not.toThrow();
    const ts = req!.headers["podium-timestamp"]!;
    const expected = timestampedHmac(webhook.secret, ts, req!.body);
    expect(req!.headers["podium-signature"]).toBe(expected);
  });

  it("retries a downstream that fails twice, then delivers", async () => {
    const { key, org } = await subscribe("flaky?fails=2");
    const eventId = await send(podiumEvent({ organizationUid: org }));
    const reqs = await arrived(key, 3);
    expect(reqs.map((r) => r.headers["edgehook-attempt"])).toEqual(["1", "2", "3"]);
    const event = await eventually(async () => {
      const { json } = await api("GET", `/v1/events/${eventId}`);
      return json.deliveries[0]?.status === "succeeded" ? json : null;
    }, 10_000, "the delivery to succeed");
    expect(event.deliveries[0].attempts.map((a: Attempt) => a.statusCode)).toEqual([503, 503, 200]);
  });

  it("retries a downstream slower than timeoutMs", async () => {
    const { key, org } = await subscribe("slow-once?ms=4000", { timeoutMs: 1000 });
    const eventId = await send(podiumEvent({ organizationUid: org }));
    await arrived(key, 2);
    const event = await eventually(async () => {
      const { json } = await api("GET", `/v1/events/${eventId}`);
      return json.deliveries[0]?.status === "succeeded" ? json : null;
    }, 15_000, "the delivery to succeed");
    expect(event.deliveries[0].attempts[0].error).toBe("timed out after 1000 ms");
    expect(event.deliveries[0].attempts[1].statusCode).toBe(200);
  });

  it("holds events for a disabled webhook, then delivers them in order once enabled", async () => {
    // In order, whatever the timing: FIFO (unordered, they start oldest first but in parallel).
    const { key, org, webhook } = await subscribe("ok", { disabled: true, ordering: "fifo" });
    const bodies = [1, 2, 3].map((i) => podiumEvent({ organizationUid: org, type: `message.n${i}` }));
    const ids: string[] = [];
    for (const b of bodies) ids.push(await send(b));
    // Each is stored with its delivery held: nothing goes out while the webhook is disabled.
    for (const id of ids) expect((await stored(id)).deliveries.map((d: Delivery) => d.status)).toEqual(["held"]);
    expect(await down.requests(key)).toHaveLength(0);
    expect((await api("GET", `/v1/webhooks/${webhook.uid}`)).json.heldDeliveries).toBe(3);
    await api("PATCH", `/v1/webhooks/${webhook.uid}`, { disabled: false });
    const reqs = await arrived(key, 3);
    expect(reqs.map((r) => r.body)).toEqual(bodies);
  });

  it("delivers again on replay and on a manual retry", async () => {
    const { key, org } = await subscribe("ok");
    const eventId = await send(podiumEvent({ organizationUid: org }));
    await arrived(key, 1);
    expect((await api("POST", `/v1/events/${eventId}/replay`, {})).json).toEqual({ deliveries: 1 });
    await arrived(key, 2);
    const deliveries = (await api("GET", `/v1/deliveries?eventId=${eventId}`)).json.data;
    expect(deliveries).toHaveLength(2);
    expect((await api("POST", `/v1/deliveries/${deliveries[0].id}/retry`)).status).toBe(202);
    await arrived(key, 3);
  });

  it("delivers an event sent three times once", async () => {
    const { key, org } = await subscribe("ok");
    const body = podiumEvent({ organizationUid: org });
    const ids = [await send(body), await send(body), await send(body)];
    expect(new Set(ids).size).toBe(1);
    await arrived(key, 1);
    await settled(ids[0]!);
    // A later event through the same queues and webhook: once it has arrived, the duplicates ahead of it were consumed.
    const sentinel = await send(podiumEvent({ organizationUid: org }));
    await settled(sentinel);
    const requests = await down.requests(key);
    expect(requests).toHaveLength(2);
    expect(requests.filter((r) => r.headers["edgehook-event-id"] === ids[0])).toHaveLength(1);
  });

  it("keeps what a trickling answer sent within a second of its status, without waiting for the rest", async () => {
    // 30 s to answer: awaiting the body to its end, the attempt would take the whole timeout and lose what arrived.
    const ok = await subscribe("trickle", { timeoutMs: 30_000 });
    const okId = await send(podiumEvent({ organizationUid: ok.org }));
    // Cut off by the timeout before that second ends, a failure keeps what arrived too.
    const cut = await subscribe("trickle?status=500", { timeoutMs: 300, maxAttempts: 1 });
    const cutId = await send(podiumEvent({ organizationUid: cut.org }));
    expect((await settled(okId)).deliveries[0].attempts[0]).toMatchObject({ statusCode: 200, error: null, responseSnippet: "partial" });
    expect((await settled(cutId, "failed")).deliveries[0].attempts[0]).toMatchObject({ statusCode: 500, error: "HTTP 500", responseSnippet: "partial" });
  });

  it("runs the maintenance cron locally without error", async () => {
    const res = await fetch(`${stack.url}/cdn-cgi/local/scheduled?cron=*+*+*+*+*`);
    expect(res.status).toBe(200); // answered once the run ended (the handler awaits it)
    expect(stack.logs()).not.toMatch(/Uncaught|unhandled error|maintenance step failed/i);
  });

  it("records a refused connection and a reset as failed attempts, and delivers once the downstream is back", async () => {
    const key = randomUUID().slice(0, 8);
    const org = `org-${key}`;
    const port = await refusedPort();
    const refused = await api("POST", "/v1/webhooks", { url: `http://127.0.0.1:${port}/ok/${key}`, eventTypes: ["*"], organizationUid: org, maxAttempts: 2 });
    const reset = await api("POST", "/v1/webhooks", { url: `${down.url}/reset/${key}?times=1`, eventTypes: ["*"], organizationUid: org });
    const eventId = await send(podiumEvent({ organizationUid: org }));
    const event = await eventually(async () => {
      const { json } = await api("GET", `/v1/events/${eventId}`);
      const byHook = (uid: string) => json.deliveries?.find((d: Delivery) => d.webhookUid === uid);
      return byHook(refused.json.uid)?.status === "failed" && byHook(reset.json.uid)?.status === "succeeded" ? json : null;
    }, 30_000, "the refused delivery to fail and the reset one to succeed on retry");
    const refusedDelivery = event.deliveries.find((d: Delivery) => d.webhookUid === refused.json.uid);
    expect(refusedDelivery.attempts.map((a: Attempt) => [a.statusCode, a.error !== null && /request failed/.test(a.error)])).toEqual([[null, true], [null, true]]);
    const resetDelivery = event.deliveries.find((d: Delivery) => d.webhookUid === reset.json.uid);
    expect(resetDelivery.attempts[0]).toMatchObject({ statusCode: null, error: expect.stringMatching(/request failed/) });
    expect(resetDelivery.attempts.at(-1).statusCode).toBe(200);

    // The fault clears: a downstream appears on that port, and a retry by hand delivers.
    const back = await startDownstream(port);
    try {
      expect((await api("POST", `/v1/deliveries/${refusedDelivery.id}/retry`)).status).toBe(202);
      await eventually(async () => (await back.requests(key)).length === 1, 15_000, "the retried delivery");
    } finally {
      await back.close();
    }
  });
});
