import { StatsSchema } from "../api/schemas/stats";
import { callApi } from "./api-client";
import type { WebhookCounts } from "./pages/webhooks";
import { can, type C } from "./respond";

/** Per-webhook counts from /v1/stats of the webhooks shown (a page at most), when the token may read them. */
export async function webhookCounts(c: C, uids: string[]): Promise<Map<string, WebhookCounts>> {
  const named = uids.length > 0 ? `/stats?${new URLSearchParams({ webhookUids: uids.join(",") })}` : null;
  const stats = can(c, "events:read") && named !== null ? await callApi(c, "GET", named, StatsSchema) : null;
  return new Map((stats?.ok ? stats.json.webhooks : []).map((w) => [w.uid, { held: w.held, failed: w.failed }]));
}
