// The delivery lifecycle where a change lands while something else is under way: an
// attempt in flight, an ingest between its read of the webhooks and its commit, a
// queue message delivered again after its batch committed.
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { kept, recounted } from "./recount";
import { pipeline, received, webhookSetup } from "./pipeline";
import { webhookDeliveryRows } from "./rows";

/** A webhook's deliveries as (status, attempts), in the order it is owed them. */
const states = async (webhookUid: string) => (await webhookDeliveryRows(webhookUid, "owed")).map((d) => [d.status, d.attempt_count]);

/** The open dead letters of an event. */
async function openDeadLetters(p: ReturnType<typeof pipeline>, eventId: string): Promise<unknown[]> {
  return (await p.api("GET", "/v1/dead-letters?open=true&limit=100")).json.data.filter((d: { eventId: string }) => d.eventId === eventId);
}

describe("an attempt in flight when its webhook is disabled", () => {
  // "the scheduler's own hold": its flow is woken by the disable while the attempt is out, and holds too.
  for (const hold of ["the API's hold", "the scheduler's own hold as well"]) {
    it.each([
      { outcome: "succeeds", behaviour: "slow?ms=300", hook: {}, status: "succeeded", deadLetters: 0 },
      { outcome: "fails for good", behaviour: "record?ms=300&fail=1", hook: { maxAttempts: 1 }, status: "failed", deadLetters: 1 },
    ])(`that $outcome settles its delivery (${hold}): it is not sent again once the webhook is enabled`, async ({ behaviour, hook, status, deadLetters }) => {
      const { p, key, webhook, event } = await webhookSetup(behaviour, hook);
      const eventId = await p.ingest(event());
      const sending = p.deliver();
      await vi.waitFor(async () => expect(await received(key)).toHaveLength(1), { timeout: 5_000, interval: 20 });
      expect((await p.api("PATCH", `/v1/webhooks/${webhook.uid}`, { disabled: true })).status).toBe(200);
      await Promise.all([sending, ...(hold === "the API's hold" ? [] : [p.deliver()])]);

      expect(await states(webhook.uid)).toEqual([[status, 1]]);
      expect(await openDeadLetters(p, eventId)).toHaveLength(deadLetters);
      const counts = (await p.api("GET", "/v1/stats")).json.webhooks.find((w: { uid: string }) => w.uid === webhook.uid);
      expect(counts).toMatchObject({ held: 0, pending: 0, [status]: 1 });

      await p.api("PATCH", `/v1/webhooks/${webhook.uid}`, { disabled: false });
      await p.deliver();
      expect(await received(key)).toHaveLength(1);
      expect(await states(webhook.uid)).toEqual([[status, 1]]);
      expect(await kept(env.DB)).toEqual(await recounted(env.DB));
    });
  }

  it("that fails with retries left stays held, its attempt recorded; enabled, it goes again", async () => {
    // Retries up to an hour away: none comes due within the test.
    const { p, key, webhook, event } = await webhookSetup("record?ms=300&fail=1", { maxAttempts: 3 }, { RETRY_BASE_SECONDS: "3600" });
    const eventId = await p.ingest(event());
    const sending = p.deliver();
    await vi.waitFor(async () => expect(await received(key)).toHaveLength(1), { timeout: 5_000, interval: 20 });
    await p.api("PATCH", `/v1/webhooks/${webhook.uid}`, { disabled: true });
    await Promise.all([sending, p.deliver()]);
    expect(await states(webhook.uid)).toEqual([["held", 1]]);
    expect(await openDeadLetters(p, eventId)).toHaveLength(0);

    await p.api("PATCH", `/v1/webhooks/${webhook.uid}`, { disabled: false });
    await p.deliver();
    expect(await received(key)).toHaveLength(2);
    expect(await states(webhook.uid)).toEqual([["pending", 2]]);
    expect(await kept(env.DB)).toEqual(await recounted(env.DB));
  });
});
