// GET /v1/deliveries/{id}: what a downstream that has only a request's edgehook-delivery-id can look up.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { meteredD1 } from "../../bench/d1-meter";
import { meteredApiCall } from "./helpers";
import { received, webhookSetup } from "./pipeline";
import { as, makeToken } from "./tokens";

/** Rows one call reads: the delivery and its attempts by its key, its event's row (not its contents: the check needs no body), its webhook (16 measured; 21 with the contents), whatever else is stored. */
const DETAIL_ROWS = 20;

describe("GET /v1/deliveries/{id}", () => {
  it("answers the delivery a forwarded request names: as the list shows it, with its attempts as the event page does, its rows read by key", async () => {
    const { p, key, event } = await webhookSetup("fail", { maxAttempts: 1 });
    const eventId = await p.ingest(event());
    await p.deliver();
    const id = (await received(key))[0]!.headers["edgehook-delivery-id"]!;
    expect((await p.api("POST", `/v1/deliveries/${id}/retry`)).status).toBe(202);
    await p.deliver();
    expect((await received(key)).map((r) => r.headers["edgehook-delivery-id"])).toEqual([id, id]);

    const meter = meteredD1(env.DB);
    const got = await meteredApiCall(meter, "GET", `/v1/deliveries/${id}`);
    expect(got.status).toBe(200);
    expect(got.rows, JSON.stringify(meter.usage.bySql)).toBeLessThanOrEqual(DETAIL_ROWS);
    const [listed] = (await p.api("GET", `/v1/deliveries?eventId=${eventId}`)).json.data;
    const [shown] = (await p.api("GET", `/v1/events/${eventId}`)).json.deliveries;
    expect(got.json).toEqual(shown);
    expect(got.json).toEqual({ ...listed, webhookDeleted: false, attempts: expect.any(Array) });
    expect(got.json).toMatchObject({ id, eventId, status: "failed", attemptCount: 2 });
    expect(got.json.attempts.map((a: { number: number; statusCode: number }) => [a.number, a.statusCode])).toEqual([
      [1, 500],
      [2, 500],
    ]);
  });

  it("answers 404 for an id nobody has, and a delivery whose webhook was deleted to the admin alone, marked so", async () => {
    const { p, org, webhook, event } = await webhookSetup("ok");
    const eventId = await p.ingest(event());
    await p.deliver();
    const [delivery] = (await p.api("GET", `/v1/deliveries?eventId=${eventId}`)).json.data;
    const t = await makeToken(p, ["events:read", "read_messages"], { organizationUids: [org] });
    expect((await as(p, t.token, "GET", `/v1/deliveries/${delivery.id}`)).json).toMatchObject({ id: delivery.id, status: "succeeded", webhookDeleted: false });

    const nobody = delivery.id.replace(/.{6}$/, "000000");
    const none = await p.api("GET", `/v1/deliveries/${nobody}`);
    expect(none.status).toBe(404);
    expect(none.json.error).toMatchObject({ code: "not_found", message: `No delivery "${nobody}".` });

    expect((await p.api("DELETE", `/v1/webhooks/${webhook.uid}`)).status).toBe(204);
    expect((await p.api("GET", `/v1/deliveries/${delivery.id}`)).json).toMatchObject({ id: delivery.id, webhookDeleted: true, attempts: [expect.objectContaining({ number: 1 })] });
    // A retry has nowhere to send it, and says so as a reason a client can branch on.
    const retry = await p.api("POST", `/v1/deliveries/${delivery.id}/retry`);
    expect(retry.status).toBe(409);
    expect(retry.json.error).toMatchObject({ code: "conflict", details: { reason: "webhook_deleted" } });
    // A deleted webhook is within no limited token's grant.
    expect((await as(p, t.token, "GET", `/v1/deliveries/${delivery.id}`)).status).toBe(404);
  });

  it("lists an event's deliveries, or 404 for an event id the token sees none of (mistyped, not its, not stored yet), saying so: not an empty page", async () => {
    const { p, org, event } = await webhookSetup("ok", { eventTypes: ["message.received"] });
    const eventId = await p.ingest(event());
    const mine = await makeToken(p, ["events:read", "read_messages"], { organizationUids: [org] });
    const theirs = await makeToken(p, ["events:read", "read_messages"], { organizationUids: [`${org}-other`] });
    expect((await as(p, mine.token, "GET", `/v1/deliveries?eventId=${eventId}`)).json.data).toHaveLength(1);
    for (const [token, id] of [[theirs.token, eventId], [mine.token, eventId.replace(/.{6}$/, "000000")]] as const) {
      const res = await as(p, token, "GET", `/v1/deliveries?eventId=${id}`);
      expect(res.status).toBe(404);
      // The same words whichever: one just sent is not stored until the queue has run.
      expect(res.json.error).toMatchObject({ code: "not_found", message: `No event "${id}" (mistyped, purged, not stored yet, or not one this token may see).` });
    }
    // An event owed nothing is still the token's: an empty page.
    const unowed = await p.ingest(event("message.sent"));
    const none = await as(p, mine.token, "GET", `/v1/deliveries?eventId=${unowed}`);
    expect(none).toMatchObject({ status: 200, json: { data: [], nextCursor: null } });
  });
});
