// The volume seed runs inside the local runtime, next to its D1 (scripts/seed.mjs starts it).
import { stats } from "../../src/store/stats";
import { SEED_RETENTION_DAYS, seedVolume, type SeedOptions } from "./volume";

export default {
  async fetch(request: Request, env: { DB: D1Database }): Promise<Response> {
    // GET: what the database holds, as /v1/stats counts it for the admin, and its size as D1 reports it (its
    // pages, wherever the local runtime keeps them): the seed prints what it wrote as the difference.
    if (request.method === "GET") {
      const counted = await stats(env.DB, null, { webhooks: false });
      if (counted.kind !== "counted") throw new Error("the stats of no webhook named answered a webhook unseen");
      const { events, deliveries, deadLetters } = counted.stats;
      const bytes = (await env.DB.prepare("SELECT 1").run()).meta.size_after;
      // The oldest stored event (an earlier run's, maybe): when it leaves the retention, the API counts fewer.
      const oldest = (await env.DB.prepare("SELECT MIN(received_at) AS at FROM events").first<{ at: number | null }>())?.at ?? null;
      const leavesRetentionAt = oldest === null ? null : oldest + SEED_RETENTION_DAYS * 86_400_000;
      return Response.json({ bytes, events: events.total, deliveries, deadLetters, oldest, leavesRetentionAt });
    }
    const opts: SeedOptions = await request.json();
    return Response.json(await seedVolume(env.DB, opts));
  },
};
