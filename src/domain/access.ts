import { ALERT_SOURCE } from "./alerts";
import { DATA_SCOPE_OF_OBJECT, dataScopesForPattern, eventObjectOf } from "./event-types";
import { AppError } from "./errors";
import { hasScope, type Principal } from "./scopes";

/**
 * What part of the data a principal may see: event objects it lacks the data
 * scope for are hidden, and a token limited to some organizations or locations
 * sees only theirs; alerts are the admin's alone. null (the admin's): everything.
 */
export interface Access {
  hiddenObjects: string[];
  organizationUids: string[] | null;
  locationUids: string[] | null;
}

/** The organization each known location belongs to (learned at ingest). */
export type LocationOrganizations = ReadonlyMap<string, string>;

type Owner = { organizationUid: string | null; locationUid: string | null };

type Grant = { organizationUids: string[] | null; locationUids: string[] | null };
type LimitedGrant = { organizationUids: string[]; locationUids: string[] | null } | { organizationUids: string[] | null; locationUids: string[] };

/** Whether a principal's (or an access's) grant is limited to some organizations or locations. */
export function isLimited<T extends Grant>(p: T | null): p is T & LimitedGrant {
  return p !== null && (p.organizationUids !== null || p.locationUids !== null);
}

export function accessOf(p: Principal): Access | null {
  if (p.scopes.has("admin")) return null;
  const hiddenObjects = Object.entries(DATA_SCOPE_OF_OBJECT)
    .filter(([, scope]) => !p.scopes.has(scope))
    .map(([object]) => object);
  // Never null for a token without the admin scope, however wide its grant: alerts are the admin's.
  return { hiddenObjects, organizationUids: p.organizationUids, locationUids: p.locationUids };
}

/** Whether `access` hides events of this type: a data scope it lacks guards the type's object (whatever its case, as its stored object group says). */
export function hidesType(access: Access | null, eventType: string): boolean {
  return access !== null && access.hiddenObjects.includes(eventObjectOf(eventType));
}

/** Whether an event's organization/location pair falls within the principal's grant. */
function eventInGrant(p: Principal, e: Owner): boolean {
  if (!isLimited(p)) return true;
  return (
    (e.organizationUid !== null && (p.organizationUids ?? []).includes(e.organizationUid)) ||
    (e.locationUid !== null && (p.locationUids ?? []).includes(e.locationUid))
  );
}

/** Where a webhook listens: `grantOrganizationUid` confines a location webhook made under an organization's grant. */
export type WebhookOwner = Owner & { grantOrganizationUid: string | null };

/**
 * Whether a webhook lies within the principal's grant: its organization is one
 * the token holds; or (for a location webhook) its location is, or it was made
 * within one of the token's organizations, or (made by the admin, an unlimited token or
 * a token holding the location itself: not confined) its location is known to belong to
 * one of them. The organization decides when a
 * (legacy) row names both, as routing does; a catch-all is for unlimited tokens.
 * `grantedWebhookUidsSql` (store/access.ts) says the same in SQL.
 */
export function webhookInGrant(p: Principal, w: WebhookOwner, locations: LocationOrganizations): boolean {
  if (!isLimited(p)) return true;
  const orgs = p.organizationUids ?? [];
  if (w.organizationUid !== null) return orgs.includes(w.organizationUid);
  if (w.locationUid === null) return false;
  if ((p.locationUids ?? []).includes(w.locationUid)) return true;
  const owner = w.grantOrganizationUid ?? locations.get(w.locationUid);
  return owner !== undefined && orgs.includes(owner);
}

/**
 * The organization a new location webhook is confined to: the one through which
 * a token limited to organizations holds its location (it would otherwise follow
 * the location into another organization, beyond that grant). null when the
 * token holds the location itself, is unlimited, or the webhook is not a location's.
 */
export function grantOrganizationOf(p: Principal, w: Owner, locations: LocationOrganizations): string | null {
  if (!isLimited(p) || w.organizationUid !== null || w.locationUid === null) return null;
  if ((p.locationUids ?? []).includes(w.locationUid)) return null;
  return locations.get(w.locationUid) ?? null;
}

/**
 * Whether a webhook's confinement lets it be owed an event: one confined to an organization
 * (`grantOrganizationUid`) only that organization's events (store/access.ts confinementAllowsSql
 * says the same in SQL).
 */
export function confinementAllows(w: { grantOrganizationUid: string | null }, e: { organizationUid: string | null }): boolean {
  return w.grantOrganizationUid === null || e.organizationUid === w.grantOrganizationUid;
}

/** Whether the principal may see an event. */
export function canSeeEvent(p: Principal, e: Owner & { eventType: string; sourceId: string }): boolean {
  const access = accessOf(p);
  if (!access) return true;
  // Alerts are for admins only (store/access.ts says the same in SQL).
  if (e.sourceId === ALERT_SOURCE) return false;
  // Whatever the type's case, as its stored object group (store/counters.ts objectGroupOf) says to the SQL reads.
  if (hidesType(access, e.eventType)) return false;
  return eventInGrant(p, e);
}

/** What a token does to a webhook that needs the data scopes of its event types. */
type WebhookAct = "subscribe" | "change" | "delete" | "listen" | "hear";

/**
 * Subscribing a webhook to event types, changing one (even only enabling or disabling it: it
 * could send those events elsewhere) and deleting one (what it was owed of them expires) each
 * need the data scope of every type, as subscribing does in Podium.
 */
export function assertDataScopes(p: Principal, eventTypes: string[], act: WebhookAct): void {
  const refusal = dataScopeRefusal(p, eventTypes, act);
  if (refusal) throw refusal;
}

/** assertDataScopes's 403, not thrown (the dashboard's confirm page says it before its post would), else null. */
export function dataScopeRefusal(p: Principal, eventTypes: string[], act: WebhookAct): AppError | null {
  const missing = missingDataScope(p, eventTypes);
  if (missing === null) return null;
  // A change or delete is refused for the types the webhook has, which the caller may not have chosen.
  const what = {
    subscribe: `Subscribing to "${missing.pattern}"`,
    change: `Changing a webhook subscribed to "${missing.pattern}", even only enabling or disabling it,`,
    delete: `Deleting a webhook subscribed to "${missing.pattern}"`,
    listen: `Listening as a webhook subscribed to "${missing.pattern}"`,
    hear: `Hearing "${missing.pattern}"`,
  }[act];
  // Every scope it lacks is named at once (details keeps the first): `*` lacking three was
  // otherwise refused three times, a scope at a time.
  const others = missingDataScopes(p, eventTypes).filter((scope) => scope !== missing.scope);
  const also = others.length === 0 ? "" : ` It lacks ${others.map((scope) => `"${scope}"`).join(" and ")} too, which these types also need.`;
  // A subscription's type at fault named as a 400's issue, so a form marks its field.
  const issues = act === "subscribe" ? { issues: [{ path: `eventTypes.${eventTypes.indexOf(missing.pattern)}`, message: `needs the scope "${missing.scope}"` }] } : {};
  return new AppError("forbidden", `${what} needs the scope "${missing.scope}".${also}`, { missingScope: missing.scope, ...issues });
}

/**
 * A listener's filter names only what it may hear: a pattern whose every event needs a data scope
 * the token lacks (`contact.*` without `read_contacts`) would open a socket that hears nothing of
 * it, without a word. `*` (or a provider's own type) hears whatever the token may read, as no filter does.
 */
export function assertMayHear(p: Principal, eventTypes: string[]): void {
  // `*` also matches types no scope guards (other providers'): never deaf.
  assertDataScopes(p, eventTypes.filter((pattern) => pattern !== "*"), "hear");
}

/** Every data scope the types need that the token lacks, each once, in the order they are met. */
function missingDataScopes(p: Principal, eventTypes: string[]): string[] {
  return [...new Set(Array.from(lackedScopes(p, eventTypes), (m) => m.scope))];
}

/** Each data scope a type needs that the token lacks, with the type that needs it. */
function* lackedScopes(p: Principal, eventTypes: string[]): Generator<{ pattern: string; scope: string }, void> {
  for (const pattern of eventTypes) {
    for (const scope of dataScopesForPattern(pattern)) if (!hasScope(p, scope)) yield { pattern, scope };
  }
}

/**
 * The first data scope the types need that the token lacks, with the type that needs it; null
 * when it holds them all. A webhook's activity (what it holds, its health) counts events of all
 * its types: a token lacking one of their scopes sees the webhook, not its activity.
 */
export function missingDataScope(p: Principal, eventTypes: string[]): { pattern: string; scope: string } | null {
  return lackedScopes(p, eventTypes).next().value ?? null;
}

/**
 * Subscribing needs the data scope of every event type (as in Podium), and a
 * limited token may only subscribe for an organization or location in its grant.
 */
export function assertMaySubscribe(p: Principal, w: WebhookOwner & { eventTypes: string[] }, locations: LocationOrganizations): void {
  // On a change the types it had were checked first ("change"): a type refused here is one it
  // would newly subscribe to, which the refusal says.
  assertDataScopes(p, w.eventTypes, "subscribe");
  if (!webhookInGrant(p, w, locations)) {
    // The field at fault in `issues`, as a 400's, so a form marks it: the organization (which
    // decides when both are given, and is asked for first when neither is), else the location;
    // neither given by a token of no organization, the location (its form has no organization field).
    const path = w.organizationUid !== null || (w.locationUid === null && (p.organizationUids ?? []).length > 0) ? "organizationUid" : "locationUid";
    const message =
      w.organizationUid === null && w.locationUid === null
        ? "A webhook with neither organizationUid nor locationUid is a catch-all, which only an unlimited token may create; give it an organization or location this token holds."
        : "This token is limited to some organizations or locations; give the webhook an organizationUid it holds, or a locationUid it holds or known to belong to one of its organizations.";
    throw new AppError("forbidden", message, { issues: [{ path, message: "not within this token's organizations or locations" }] });
  }
}
