import { isLimited, webhookInGrant, type LocationOrganizations } from "../domain/access";
import type { Principal } from "../domain/scopes";
import type { Webhook } from "../domain/types";
import { locationOrganizations } from "../store/locations";

type Scoped = Pick<Webhook, "organizationUid" | "locationUid">;

/**
 * What the grant check of these webhooks needs to know about locations: read
 * only for a limited token, and only for location webhooks it does not hold by name.
 */
export async function locationsFor(db: D1Database, p: Principal, webhooks: Scoped[]): Promise<LocationOrganizations> {
  if (!isLimited(p)) return new Map();
  const held = new Set(p.locationUids ?? []);
  const unknown = webhooks.flatMap((w) => (w.organizationUid === null && w.locationUid !== null && !held.has(w.locationUid) ? [w.locationUid] : []));
  return locationOrganizations(db, unknown);
}

/** The webhooks within the principal's grant. */
export async function grantedWebhooks<W extends Scoped>(db: D1Database, p: Principal, webhooks: W[]): Promise<W[]> {
  const locations = await locationsFor(db, p, webhooks);
  return webhooks.filter((w) => webhookInGrant(p, w, locations));
}
