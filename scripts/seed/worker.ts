// The volume seed runs inside the local runtime, next to its D1 (scripts/seed.mjs starts it).
import { seedVolume, type SeedOptions } from "./volume";

export default {
  async fetch(request: Request, env: { DB: D1Database }): Promise<Response> {
    // GET: the database's size as D1 reports it (its pages, wherever the local runtime keeps them).
    if (request.method === "GET") return Response.json({ bytes: (await env.DB.prepare("SELECT 1").run()).meta.size_after });
    const opts: SeedOptions = await request.json();
    return Response.json(await seedVolume(env.DB, opts));
  },
};
