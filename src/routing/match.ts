import { sha256Hex } from "../domain/ids";
import type { EventFacts, Webhook } from "../domain/types";
import type { NewDelivery } from "../store/deliveries";

/** An entry of `eventTypes` matches an exact type, every type of an object (`message.*`), or all (`*`). */
export function typeMatches(pattern: string, eventType: string): boolean {
  if (pattern === "*") return true;
  if (pattern.endsWith(".*")) return eventType.startsWith(pattern.slice(0, -1));
  return pattern === eventType;
}

export type RoutedEvent = Pick<EventFacts, "eventType" | "locationUid" | "organizationUid"> & { sourceId: string };

/**
 * Whether a webhook is owed an event, ignoring time: the types match, the
 * organization (which wins, as in Podium) or else the location matches, and the
 * source is one it listens to.
 */
export function matches(w: Webhook, e: RoutedEvent): boolean {
  if (!w.eventTypes.some((p) => typeMatches(p, e.eventType))) return false;
  if (w.organizationUid !== null) {
    if (e.organizationUid !== w.organizationUid) return false;
  } else if (w.locationUid !== null && e.locationUid !== w.locationUid) {
    return false;
  }
  return w.sourceIds === null || w.sourceIds.includes(e.sourceId);
}

/** Routing's delivery id: the same event and webhook always give the same delivery. */
export async function deliveryIdFor(eventId: string, webhookUid: string): Promise<string> {
  return `dlv_${(await sha256Hex(`${eventId}\n${webhookUid}`)).slice(0, 32)}`;
}

/**
 * The deliveries an event is owed: one per matching webhook that existed when the
 * event was received, held while the webhook is disabled.
 */
export async function route(
  webhooks: Webhook[],
  e: RoutedEvent & { eventId: string; receivedAt: number },
  now = Date.now(),
): Promise<NewDelivery[]> {
  const owed = webhooks.filter((w) => w.createdAt <= e.receivedAt && matches(w, e));
  return Promise.all(
    owed.map(async (w) => ({
      id: await deliveryIdFor(e.eventId, w.uid),
      eventId: e.eventId,
      webhookUid: w.uid,
      status: w.disabled ? ("held" as const) : ("pending" as const),
      createdAt: now,
    })),
  );
}
