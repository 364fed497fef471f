import { DATA_SCOPE_OF_OBJECT, dataScopesForPattern } from "./event-types";
import { AppError } from "./errors";
import { hasScope, type Principal } from "./scopes";

/**
 * What part of the data a principal may see: event objects it lacks the data
 * scope for are hidden, and a token limited to some organizations or locations
 * sees only theirs. null: everything.
 */
export interface Access {
  hiddenObjects: string[];
  organizationUids: string[] | null;
  locationUids: string[] | null;
}

export function isLimited(p: Principal): boolean {
  return p.organizationUids !== null || p.locationUids !== null;
}

export function accessOf(p: Principal): Access | null {
  if (p.scopes.has("admin")) return null;
  const hiddenObjects = Object.entries(DATA_SCOPE_OF_OBJECT)
    .filter(([, scope]) => !p.scopes.has(scope))
    .map(([object]) => object);
  if (hiddenObjects.length === 0 && !isLimited(p)) return null;
  return { hiddenObjects, organizationUids: p.organizationUids, locationUids: p.locationUids };
}

/** Whether an organization/location pair falls within the principal's grant. */
export function inGrant(p: Principal, target: { organizationUid: string | null; locationUid: string | null }): boolean {
  if (!isLimited(p)) return true;
  return (
    (target.organizationUid !== null && (p.organizationUids ?? []).includes(target.organizationUid)) ||
    (target.locationUid !== null && (p.locationUids ?? []).includes(target.locationUid))
  );
}

/** Whether the principal may see an event. */
export function canSeeEvent(p: Principal, e: { eventType: string; organizationUid: string | null; locationUid: string | null }): boolean {
  const access = accessOf(p);
  if (!access) return true;
  if (access.hiddenObjects.includes(e.eventType.split(".")[0]!)) return false;
  return inGrant(p, e);
}

/**
 * Subscribing needs the data scope of every event type (as in Podium), and a
 * limited token may only subscribe for an organization or location it holds.
 */
export function assertMaySubscribe(
  p: Principal,
  w: { eventTypes: string[]; organizationUid: string | null; locationUid: string | null },
): void {
  for (const pattern of w.eventTypes) {
    for (const scope of dataScopesForPattern(pattern)) {
      if (!hasScope(p, scope)) {
        throw new AppError(403, "forbidden", `Subscribing to "${pattern}" needs the scope "${scope}".`, { missingScope: scope });
      }
    }
  }
  if (!inGrant(p, w)) {
    throw new AppError(
      403,
      "forbidden",
      "This token is limited to some organizations or locations; give the webhook an organizationUid or locationUid it holds.",
    );
  }
}
