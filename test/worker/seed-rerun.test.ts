// The seed's chunks run again: a file of its own, since the other seed tests count what is stored.
import { env } from "cloudflare:workers";
import { expect, it } from "vitest";
import { seedVolume } from "../../scripts/seed/volume";
import { getEvent } from "../../src/store/events";
import { placeLocations } from "../../src/store/locations";
import { apiIdSql } from "../../src/store/names";
import { insertWebhook } from "../../src/store/webhooks";
import { podium } from "../../src/ingress/providers/podium";
import { declaredSource } from "../../src/ingress/sources";
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

it("settles a batch's owners as the ingest consumer does: the claims of its events stored already, by an earlier run, count for nothing", async () => {
  const now = Date.now();
  const opts = { events: 400, batch: 100, seed: 23, now, locations: 12, organizations: 4 };
  // (The other tests' events stay in the database.)
  const ids = async () => (await env.DB.prepare(`SELECT ${apiIdSql("evt_", "id")} AS id FROM events ORDER BY received_at`).all<{ id: string }>()).results.map((r) => r.id);
  const others = new Set(await ids());
  // The second run's one batch holds 90 events the first run stored and 10 it writes.
  await seedVolume(env.DB, { ...opts, count: 90 });
  // Every location placed in another organization, before any event: only the batch's new claims move one from there.
  const places = (await env.DB.prepare("SELECT location_uid FROM locations").all<{ location_uid: string }>()).results;
  await placeLocations(env.DB, places.map((p) => ({ locationUid: p.location_uid, organizationUid: "org-z" })), now - 30 * 86_400_000).run();
  await seedVolume(env.DB, { ...opts, count: 100 });
  const batch = (await ids()).filter((id) => !others.has(id));
  expect(batch).toHaveLength(100);
  const source = declaredSource({ id: "podium", name: "podium", provider: "podium" }, [], 300);
  const events = await Promise.all(
    // Oldest first: the first 90 the first run stored.
    batch.map(async (id, i) => {
      const e = await getEvent(env.DB, id);
      if (!e) throw new Error(`event ${id} not stored`);
      // What the event's body names, before its owner was settled.
      const facts = await podium.facts({ headers: new Headers(), raw: new TextEncoder().encode(e.body), now: e.receivedAt }, e.body, source);
      return { stored: i < 90, organizationUid: e.organizationUid, named: facts };
    }),
  );
  const claimed = new Map<string, string>();
  for (const { stored, named: f } of events) if (!stored && f.locationUid && f.organizationUid && f.teaches !== false) claimed.set(f.locationUid, f.organizationUid);
  // An event without an organization gets the one of the last new claim of its location in the batch, else the placed one, if any.
  const placed = new Set(places.map((p) => p.location_uid));
  const settled = events.filter((e) => !e.stored && e.named.locationUid !== null && e.named.organizationUid === null);
  const expected = (l: string) => claimed.get(l) ?? (placed.has(l) ? "org-z" : null);
  // (Seed 23 has one at a location only the batch's stored events claim: a stored claim would settle it in their organization.)
  expect(settled.map((e) => e.organizationUid)).toEqual(settled.map((e) => expected(e.named.locationUid ?? "")));
}, 60_000);
