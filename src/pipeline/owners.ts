import type { LocationOrganizations } from "../domain/access";
import type { EventRow } from "../store/events";
import type { LocationClaim } from "../store/locations";

/** The locations whose organization must be known to settle these events' owners. */
export function locationsToLookUp(rows: EventRow[]): string[] {
  return rows.flatMap((r) => (r.locationUid !== null && (r.sourceOwner !== undefined || r.organizationUid === null) ? [r.locationUid] : []));
}

/**
 * Settles who owns each event of a batch, and what the batch teaches about where
 * locations belong. Only events of configuration's and the admin's sources teach:
 * another's could claim someone's location and widen a grant. Such an event without
 * an organization gets the one its location is known to belong to. An event of a tenant's source (already pinned to
 * the owner at the ingress) keeps its location only if it is known to be the owner's.
 */
export function settleOwners(rows: EventRow[], known: LocationOrganizations): { rows: EventRow[]; learned: LocationClaim[] } {
  const learned: LocationClaim[] = rows.flatMap((r) =>
    r.sourceOwner === undefined && r.teaches !== false && r.locationUid !== null && r.organizationUid !== null
      ? [{ locationUid: r.locationUid, organizationUid: r.organizationUid, eventId: r.eventId, receivedAt: r.receivedAt }]
      : [],
  );
  const where = new Map(known);
  for (const l of learned) where.set(l.locationUid, l.organizationUid);
  const settled = rows.map((r) => {
    if (r.locationUid === null) return r;
    const locationOrg = where.get(r.locationUid);
    if (r.sourceOwner !== undefined) return locationOrg === r.sourceOwner ? r : { ...r, locationUid: null };
    return r.organizationUid === null && locationOrg !== undefined ? { ...r, organizationUid: locationOrg } : r;
  });
  return { rows: settled, learned };
}
