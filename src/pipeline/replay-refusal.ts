// Why a dead letter's delivery was not retried by its replay: found after the refusal, so a
// replay that goes through reads nothing more.
import { confinementAllows } from "../domain/access";
import type { DeadLetter } from "../store/dead-letters";
import { getDelivery } from "../store/delivery-reads";
import { getEventMeta } from "../store/events";
import { getWebhook } from "../store/webhooks";

/**
 * What kept a replay from retrying its letter's delivery (`details.cause` of `nothing_to_retry`),
 * each a condition of the retry (store/delivery-retry.ts) that failed:
 * - `delivery_gone`: no delivery of its id is stored (a letter parked by an earlier version, recorded
 *   after the retention purged its delivery with its event; the retention drops the letters it purges);
 * - `webhook_deleted`: its webhook was deleted, nowhere to send it;
 * - `outside_grant`: its webhook was confined to an organization since, and the event is not that organization's;
 * - `held`: held while its webhook is disabled (a retry takes none held; enabling the webhook sends it);
 * - `changed`: none of these once read again, so the delivery changed between the retry and the reads: try again.
 */
export type NothingToRetry =
  | { cause: "delivery_gone" }
  | { cause: "webhook_deleted"; webhookUid: string }
  | { cause: "outside_grant"; webhookUid: string; organizationUid: string }
  | { cause: "held"; webhookUid: string }
  | { cause: "changed" };

/**
 * Why the retry of a delivery letter's delivery took nothing: `past_retention` (its event is past
 * `horizon`: said first, as before causes were told apart), else the cause. Three reads by key
 * (the delivery, its event, its webhook), however much is stored.
 */
export async function whyNothingToRetry(db: D1Database, letter: Pick<DeadLetter, "eventId"> & { deliveryId: string }, horizon: number): Promise<"past_retention" | NothingToRetry> {
  const delivery = await getDelivery(db, letter.deliveryId);
  const eventId = letter.eventId ?? delivery?.eventId ?? null;
  const [event, webhook] = await Promise.all([eventId === null ? null : getEventMeta(db, eventId), delivery ? getWebhook(db, delivery.webhookUid) : null]);
  if (event && event.receivedAt < horizon) return "past_retention";
  if (!delivery) return { cause: "delivery_gone" };
  if (!webhook) return { cause: "webhook_deleted", webhookUid: delivery.webhookUid };
  // (A delivery whose event is gone is owed still as far as confinement goes: STILL_OWED.)
  if (event && webhook.grantOrganizationUid !== null && !confinementAllows(webhook, event)) {
    return { cause: "outside_grant", webhookUid: webhook.uid, organizationUid: webhook.grantOrganizationUid };
  }
  if (delivery.status === "held") return { cause: "held", webhookUid: webhook.uid };
  return { cause: "changed" };
}
