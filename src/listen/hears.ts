import { canSeeEvent } from "../domain/access";
import { isScope, type Principal } from "../domain/scopes";
import type { Webhook } from "../domain/types";
import { FilterInput, filterMismatch, matches, typeMatches, type EventContent } from "../routing/match";
import type { ListenEvent } from "../store/listen";
import type { ListenerConfig } from "./protocol";

/** The principal a listener connected as (kept as plain JSON by the hub). */
export function principalOf(c: ListenerConfig): Principal {
  return {
    tokenId: c.principal.tokenId,
    scopes: new Set(c.principal.scopes.filter(isScope)),
    organizationUids: c.principal.organizationUids,
    locationUids: c.principal.locationUids,
  };
}

/**
 * Whether a listener hears an event: its token may see it (scopes and
 * organization/location limits), and it passes the listener's filters and, with
 * `webhookUid`, that webhook's subscription and filter.
 */
export function hears(c: ListenerConfig, p: Principal, e: ListenEvent, webhook: Webhook | null): boolean {
  if (!canSeeEvent(p, e)) return false;
  if (c.sourceIds && !c.sourceIds.includes(e.sourceId)) return false;
  if (c.eventTypes && !c.eventTypes.some((pattern) => typeMatches(pattern, e.eventType))) return false;
  // As a webhook: what it is owed, as routing decided it when the event was stored (its filter included).
  return webhook === null || (matches(webhook, e) && !e.filteredOut.includes(webhook.uid));
}

/**
 * Whether a webhook's filter admits an event a listener as that webhook hears. Routing decided
 * it for the events stored since the webhook exists (`hears`: filteredOut); one stored before
 * was never routed to it (a replay or resume reaches back there), so its current filter decides,
 * as for a replay to it.
 */
export function admitsContent(webhook: Webhook | null, e: Pick<ListenEvent, "receivedAt">, content: EventContent): boolean {
  if (webhook === null || webhook.createdAt <= e.receivedAt) return true;
  return filterMismatch(webhook, new FilterInput(content)) === null;
}
