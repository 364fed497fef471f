import type { EventRow } from "../store/events";
import type { KnownPlace, LocationClaim } from "../store/locations";

/** The locations whose organization must be known to settle these events' owners. */
export function locationsToLookUp(rows: EventRow[]): string[] {
  return rows.flatMap((r) => (r.locationUid !== null && (r.sourceOwner !== undefined || r.organizationUid === null) ? [r.locationUid] : []));
}

/** Whether an event says where its location belongs: one of configuration's or the admin's sources, naming both. */
function claimOf(r: EventRow): LocationClaim | null {
  return r.sourceOwner === undefined && r.teaches !== false && r.locationUid !== null && r.organizationUid !== null
    ? { locationUid: r.locationUid, organizationUid: r.organizationUid, eventId: r.eventId, receivedAt: r.receivedAt }
    : null;
}

/**
 * The events whose claims another event of the batch depends on (its location is looked up): whether
 * they are stored already is asked before settling, so a redelivery's claim settles nothing.
 */
export function claimsToCheck(rows: EventRow[]): string[] {
  const looked = new Set(locationsToLookUp(rows));
  return rows.flatMap((r) => {
    const c = claimOf(r);
    return c && looked.has(c.locationUid) ? [c.eventId] : [];
  });
}

/**
 * Settles who owns each event of a batch, and what the batch teaches about where
 * locations belong. Only events of configuration's and the admin's sources teach:
 * another's could claim someone's location and widen a grant. Such an event without
 * an organization gets the one its location is known to belong to, counting the batch's
 * own claims as learnLocations will record them: not a redelivery's (`stored` before), nor
 * one received before the location's last move. An event of a tenant's source (already
 * pinned to the owner at the ingress) keeps its location only if it is known to be the owner's.
 */
export function settleOwners(
  rows: EventRow[],
  known: ReadonlyMap<string, KnownPlace>,
  stored: ReadonlySet<string> = new Set(),
): { rows: EventRow[]; learned: LocationClaim[] } {
  const learned = rows.flatMap((r) => claimOf(r) ?? []);
  const where = new Map(known);
  for (const c of [...learned].sort((a, b) => a.receivedAt - b.receivedAt)) {
    if (stored.has(c.eventId) || c.receivedAt < (where.get(c.locationUid)?.since ?? -Infinity)) continue;
    where.set(c.locationUid, { organizationUid: c.organizationUid, since: c.receivedAt });
  }
  const settled = rows.map((r) => {
    if (r.locationUid === null) return r;
    const locationOrg = where.get(r.locationUid)?.organizationUid;
    if (r.sourceOwner !== undefined) return locationOrg === r.sourceOwner ? r : { ...r, locationUid: null };
    return r.organizationUid === null && locationOrg !== undefined ? { ...r, organizationUid: locationOrg } : r;
  });
  return { rows: settled, learned };
}
