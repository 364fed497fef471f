import { Hono } from "hono";
import { StatsSchema } from "../../api/schemas/stats";
import { callApi } from "../api-client";
import { LISTS } from "../navigation";
import { Overview } from "../pages/overview";
import { apiRefusal } from "../refusal";
import { can, limited, page } from "../respond";
import type { DashEnv } from "../session";

export const overviewRoutes = new Hono<DashEnv>();

overviewRoutes.get("/", async (c) => {
  // Failing webhooks first, wherever they are by uid: a page by uid alone would leave out one past the first.
  const stats = await callApi(c, "GET", "/stats?failingFirst=true", StatsSchema);
  if (!stats.ok) return apiRefusal(c, "Overview", LISTS.overview, stats);
  return page(c, "Overview", "/dashboard", <Overview stats={stats.json} canReadWebhooks={can(c, "webhooks:read")} principal={c.get("principal")} limited={limited(c)} now={Date.now()} />);
});
