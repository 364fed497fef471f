// The volume seed runs inside the local runtime, next to its D1 (scripts/seed.mjs starts it).
import { seedVolume, type SeedOptions } from "./volume";

export default {
  async fetch(request: Request, env: { DB: D1Database }): Promise<Response> {
    const opts: SeedOptions = await request.json();
    return Response.json(await seedVolume(env.DB, opts));
  },
};
