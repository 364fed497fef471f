import type { EventFacts, Webhook } from "../domain/types";

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

/** The webhooks owed an event: those it matches that existed when it was received. */
export function owedWebhooks(webhooks: Webhook[], e: RoutedEvent & { receivedAt: number }): Webhook[] {
  return webhooks.filter((w) => w.createdAt <= e.receivedAt && matches(w, e));
}
