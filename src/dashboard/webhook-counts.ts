import { StatsSchema } from "../api/schemas/stats";
import { isRecord, isStringArray } from "../domain/guards";
import { callApi } from "./api-client";
import type { WebhookCounts } from "./pages/webhooks";
import { can, type C } from "./respond";

/**
 * Per-webhook counts from /v1/stats of the webhooks shown (a page at most), when the token may read them. Stats
 * refuse (404) a list naming one the token may not see, or gone since it was shown (an alert's webhook, deleted):
 * asked again once without those the refusal lists, which are left without counts.
 */
export async function webhookCounts(c: C, uids: string[]): Promise<Map<string, WebhookCounts>> {
  if (!can(c, "events:read")) return new Map();
  let stats = await namedStats(c, uids);
  const refused = stats?.ok === false && stats.status === 404 && isRecord(stats.details) && isStringArray(stats.details.webhookUids) ? stats.details.webhookUids : [];
  if (refused.length > 0) stats = await namedStats(c, uids.filter((uid) => !refused.includes(uid)));
  return new Map((stats?.ok ? stats.json.webhooks : []).map((w) => [w.uid, { held: w.held, failed: w.failed }]));
}

/** /v1/stats of the webhooks `uids` (null: none named, nothing asked). */
const namedStats = (c: C, uids: string[]) =>
  uids.length > 0 ? callApi(c, "GET", `/stats?${new URLSearchParams({ webhookUids: uids.join(",") })}`, StatsSchema) : Promise.resolve(null);
