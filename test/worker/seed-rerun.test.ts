// The seed's chunks run again: a file of its own, since the other seed tests count what is stored.
import { env } from "cloudflare:workers";
import { expect, it } from "vitest";
import { seedVolume } from "../../scripts/seed/volume";
import { ADMIN, meteredApiCall } from "./helpers";
import { meteredD1 } from "../../bench/d1-meter";
import { kept, recounted } from "./recount";

const meter = meteredD1(env.DB);
const read = <P extends string>(path: P) => meteredApiCall(meter, "GET", path, undefined, ADMIN);

it("writes a chunk run again as it was, the first one (which makes the webhooks) too: npm run seed runs a failed chunk again", async () => {
  const chunk = { events: 400, count: 200, batch: 100, seed: 9, now: Date.now() };
  const first = await seedVolume(env.DB, chunk);
  // What does not move with the clock: the series and the last 24 h would, between two reads.
  const stored = async () => {
    const stats = (await read("/v1/stats")).json;
    const webhooks = stats.webhooks.map(({ uid, succeeded, failed, pending, held }: Record<string, unknown>) => ({ uid, succeeded, failed, pending, held }));
    return { events: stats.events.total, deliveries: stats.deliveries, deadLetters: stats.deadLetters, webhooks, kept: await kept(env.DB) };
  };
  const before = await stored();
  expect(before.events).toBe(200);
  expect(before.webhooks).toHaveLength(5);
  const again = await seedVolume(env.DB, chunk);
  expect(again).toEqual(first);
  expect(await stored()).toEqual(before);
  expect(await kept(env.DB)).toEqual(await recounted(env.DB));
}, 60_000);
