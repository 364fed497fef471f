// The seed's chunks run again: a file of its own, since the other seed tests count what is stored.
import { env } from "cloudflare:workers";
import { expect, it } from "vitest";
import { seedVolume } from "../../scripts/seed/volume";
import { insertWebhook } from "../../src/store/webhooks";
import { ADMIN, aWebhook, meteredApiCall } from "./helpers";
import { meteredD1 } from "../../bench/d1-meter";
import { kept, recounted } from "./recount";

const meter = meteredD1(env.DB);
const read = <P extends string>(path: P) => meteredApiCall(meter, "GET", path, undefined, ADMIN);

// What does not move with the clock: the series and the last 24 h would, between two reads.
const stored = async () => {
  const stats = (await read("/v1/stats")).json;
  const webhooks = stats.webhooks.map(({ uid, succeeded, failed, pending, held }: Record<string, unknown>) => ({ uid, succeeded, failed, pending, held }));
  return { events: stats.events.total, deliveries: stats.deliveries, deadLetters: stats.deadLetters, webhooks, kept: await kept(env.DB) };
};
/** When the oldest and newest events stored were received. */
const receivedRange = () => env.DB.prepare("SELECT MIN(received_at) AS \"from\", MAX(received_at) AS \"to\" FROM events").first<{ from: number; to: number }>();

it("writes a chunk run again as it was, the first one (which makes the webhooks) too, and reports writing nothing: npm run seed runs a failed chunk again", async () => {
  const chunk = { events: 400, count: 200, batch: 100, seed: 9, now: Date.now() };
  const first = await seedVolume(env.DB, chunk);
  const before = await stored();
  expect(before.events).toBe(200);
  expect(before.webhooks).toHaveLength(5);
  expect(first).toMatchObject({ events: 200, alreadyStored: 0, otherWebhooks: 0 });
  // Its range is the events it wrote: the newest one's time, not a step of the spread past it.
  expect({ from: first.from, to: first.to }).toEqual(await receivedRange());

  const again = await seedVolume(env.DB, { ...chunk, now: chunk.now + 60_000 });
  const nothing = { events: 0, bodyBytes: 0, deliveries: { held: 0, pending: 0, succeeded: 0, failed: 0 }, attempts: 0, deadLetters: 0 };
  expect(again).toEqual({ ...first, ...nothing, alreadyStored: 200, from: null, to: null, leavesRetentionAt: null });
  expect(await stored()).toEqual(before);
  expect(await kept(env.DB)).toEqual(await recounted(env.DB));
}, 60_000);

it("reports, where a run overlaps what is stored, only the events it wrote and theirs: what the API counts more", async () => {
  const now = Date.now();
  await seedVolume(env.DB, { events: 400, count: 200, batch: 100, seed: 9, now });
  const before = await stored();
  const wider = await seedVolume(env.DB, { events: 400, count: 300, batch: 100, seed: 9, now });
  const after = await stored();
  expect(wider).toMatchObject({ events: 100, alreadyStored: 200 });
  expect(after.events - before.events).toBe(wider.events);
  for (const status of ["held", "pending", "succeeded", "failed"] as const) {
    expect(after.deliveries[status] - before.deliveries[status], status).toBe(wider.deliveries[status]);
  }
  expect(after.deadLetters - before.deadLetters).toBe(wider.deadLetters);
  expect(wider.to).toBe((await receivedRange())?.to);
  expect(await kept(env.DB)).toEqual(await recounted(env.DB));
}, 60_000);

it("counts the webhooks it did not make, which its events are owed nothing by", async () => {
  await insertWebhook(env.DB, aWebhook({ eventTypes: ["*"] }));
  const report = await seedVolume(env.DB, { events: 100, batch: 100, seed: 9 });
  expect(report).toMatchObject({ webhooks: 5, otherWebhooks: 1 });
}, 60_000);
