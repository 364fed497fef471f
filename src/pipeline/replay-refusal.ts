// Why a dead letter's delivery was not retried by its replay: found after the refusal, so a
// replay that goes through reads nothing more.
import { retryBlock } from "../domain/delivery";
import type { DeadLetter } from "../store/dead-letters";
import { getDelivery } from "../store/delivery-reads";
import { getEventMeta } from "../store/events";
import { getWebhook } from "../store/webhooks";

/**
 * What kept a replay from retrying its letter's delivery (`details.cause` of `nothing_to_retry`):
 * its delivery gone, what keeps any delivery from being sent again (retryBlock, domain/delivery.ts),
 * or its status:
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
 * `horizon`, a reason of its own), else the cause, as a retry by hand would be refused. At most
 * three reads by key (the delivery, its event, its webhook), however much is stored.
 */
export async function whyNothingToRetry(db: D1Database, letter: Pick<DeadLetter, "eventId"> & { deliveryId: string }, horizon: number): Promise<"past_retention" | NothingToRetry> {
  const delivery = await getDelivery(db, letter.deliveryId);
  if (!delivery) return { cause: "delivery_gone" };
  const [event, webhook] = await Promise.all([getEventMeta(db, letter.eventId ?? delivery.eventId), getWebhook(db, delivery.webhookUid)]);
  const blocked = retryBlock(webhook, event, horizon);
  if (blocked?.cause === "past_retention") return "past_retention";
  if (blocked) return { ...blocked, webhookUid: delivery.webhookUid };
  if (delivery.status === "held") return { cause: "held", webhookUid: delivery.webhookUid };
  return { cause: "changed" };
}
