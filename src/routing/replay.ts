import type { Webhook } from "../domain/types";
import type { NewDelivery } from "../store/deliveries";
import { matches, type RoutedEvent } from "./match";

/**
 * The new deliveries that replay events to target webhooks: one per event and
 * target owed it (types, owner and sources match, whenever the webhook was made),
 * held while the webhook is disabled. Replaying one event and a time range both
 * build them here.
 */
export function replayDeliveries(targets: Webhook[], events: (RoutedEvent & { id: string })[], now = Date.now()): NewDelivery[] {
  return events.flatMap((e) =>
    targets
      .filter((w) => matches(w, e))
      .map((w) => ({
        id: `dlv_${crypto.randomUUID().replace(/-/g, "")}`,
        eventId: e.id,
        webhookUid: w.uid,
        status: w.disabled ? ("held" as const) : ("pending" as const),
        createdAt: now,
      })),
  );
}
