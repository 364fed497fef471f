import { isLimited, webhookInGrant, type LocationOrganizations, type WebhookOwner } from "../domain/access";
import type { Principal } from "../domain/scopes";
import { locationOrganizations } from "./locations";

/**
 * What the grant check of these webhooks needs to know about locations: read
 * only for a limited token, and only for location webhooks it does not hold by
 * name and no organization's grant confines.
 */
export async function locationsFor(db: D1Database, p: Principal, webhooks: WebhookOwner[]): Promise<LocationOrganizations> {
  if (!isLimited(p)) return new Map();
  const held = new Set(p.locationUids ?? []);
  const unknown = webhooks.flatMap((w) =>
    w.organizationUid === null && w.grantOrganizationUid === null && w.locationUid !== null && !held.has(w.locationUid) ? [w.locationUid] : [],
  );
  return locationOrganizations(db, unknown);
}

/**
 * The organizations a limited token holds: those it names, and those its locations are known to
 * belong to (their events are those organizations' too). At most one read, of its own locations.
 */
export async function organizationsHeld(db: D1Database, p: Principal): Promise<string[]> {
  const byLocation = p.locationUids?.length ? await locationOrganizations(db, p.locationUids) : new Map<string, string>();
  return [...new Set([...(p.organizationUids ?? []), ...byLocation.values()])];
}

/** The webhooks within the principal's grant. */
export async function grantedWebhooks<W extends WebhookOwner>(db: D1Database, p: Principal, webhooks: W[]): Promise<W[]> {
  const locations = await locationsFor(db, p, webhooks);
  return webhooks.filter((w) => webhookInGrant(p, w, locations));
}
