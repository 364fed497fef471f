import { isLimited, type Access } from "../domain/access";
import { ALERT_SOURCE } from "../domain/alerts";
import { COUNTED_OBJECTS } from "./counters";
import type { PlacesDriver } from "./event-places";
import { nameIdSql } from "./names";

type Sql = { sql: string; binds: unknown[] };
const ALL: Sql = { sql: "1 = 1", binds: [] };

/** The object groups (store/counters.ts) a token may not see. */
export const hiddenGroups = (access: Access | null): number[] =>
  (access?.hiddenObjects ?? []).map((o) => COUNTED_OBJECTS.indexOf(o)).filter((i) => i >= 0);

const NAMES_IN = "(SELECT id FROM names WHERE name IN (SELECT value FROM json_each(?)))";

/** A SQL condition on an `events` row (under `alias`) that keeps what `access` may see: alerts are for admins only. */
export function eventAccessSql(access: Access | null, alias = "events"): Sql {
  if (!access) return ALL;
  const clauses: string[] = [`${alias}.source IS NOT (SELECT id FROM names WHERE name = ?)`];
  const binds: unknown[] = [ALERT_SOURCE];
  const hidden = hiddenGroups(access);
  if (hidden.length > 0) clauses.push(`${alias}.object NOT IN (${hidden.join(", ")})`);
  if (isLimited(access)) {
    clauses.push(`(${alias}.organization IN ${NAMES_IN} OR ${alias}.location IN ${NAMES_IN})`);
    binds.push(JSON.stringify(access.organizationUids ?? []), JSON.stringify(access.locationUids ?? []));
  }
  return { sql: clauses.join(" AND "), binds };
}

/** The names to look up (store/names.ts) for what `access` may see of events: `eventAccessIds` takes them. */
export const accessNames = (access: Access | null): string[] =>
  access ? [ALERT_SOURCE, ...(access.organizationUids ?? []), ...(access.locationUids ?? [])] : [];

/**
 * What `access` may see of events, with its names already looked up (`ids`, from
 * `accessNames`): a condition on an events row (empty: everything), the ids of the places
 * a limited token's events lie at (its organizations and locations stored), and whether
 * it can see nothing stored at all. Alerts (events of the reserved source) are for
 * admins only.
 */
export function eventAccessIds(
  access: Access | null,
  ids: ReadonlyMap<string, number>,
): { sql: string; places: PlacesDriver; none: boolean } {
  const nowhere: PlacesDriver = { locations: [], organizations: [] };
  if (!access) return { sql: "", places: nowhere, none: false };
  const alerts = ids.get(ALERT_SOURCE);
  const clauses: string[] = alerts === undefined ? [] : [`source <> ${alerts}`];
  const hidden = hiddenGroups(access);
  if (hidden.length > 0) clauses.push(`object NOT IN (${hidden.join(", ")})`);
  if (!isLimited(access)) return { sql: clauses.join(" AND "), places: nowhere, none: false };
  const known = (names: string[] | null) => (names ?? []).flatMap((n) => (ids.has(n) ? [ids.get(n)!] : []));
  const orgs = known(access.organizationUids);
  const locs = known(access.locationUids);
  clauses.push(`(organization IN (${orgs.join(", ")}) OR location IN (${locs.join(", ")}))`);
  return {
    sql: clauses.join(" AND "),
    places: { organizations: orgs, locations: locs },
    none: orgs.length + locs.length === 0,
  };
}

/**
 * SQL for the uid, kind, created_at of the webhooks within a limited token's grant (the same rule as
 * `webhookInGrant`, domain/access.ts), found by their owners' indexes (migration 0040), so that a token reads about its own
 * webhooks only, not every webhook of the deployment: those of its organizations, those of its
 * locations, and of the other location webhooks, those confined to one of its organizations or
 * (not confined) at a location of one. Each webhook once.
 */
export function grantedWebhookUidsSql(access: Access): Sql {
  const orgs = JSON.stringify(access.organizationUids ?? []);
  const locs = JSON.stringify(access.locationUids ?? []);
  const columns = "uid, kind, created_at";
  return {
    sql: `SELECT ${columns} FROM webhooks INDEXED BY webhooks_organization WHERE organization_uid IN (SELECT value FROM json_each(?))
      UNION SELECT ${columns} FROM webhooks INDEXED BY webhooks_location
        WHERE location_uid IN (SELECT value FROM json_each(?)) AND organization_uid IS NULL
      UNION SELECT ${columns} FROM webhooks INDEXED BY webhooks_grant_organization
        WHERE grant_organization_uid IN (SELECT value FROM json_each(?)) AND organization_uid IS NULL AND location_uid IS NOT NULL
      UNION SELECT lw.uid, lw.kind, lw.created_at FROM locations INDEXED BY locations_organization
        CROSS JOIN webhooks lw INDEXED BY webhooks_location ON lw.location_uid = locations.location_uid
        WHERE locations.organization_uid IN (SELECT value FROM json_each(?)) AND lw.organization_uid IS NULL AND lw.grant_organization_uid IS NULL`,
    binds: [orgs, locs, orgs, orgs],
  };
}

/**
 * A SQL condition on a `webhooks` row `w` and an `events` row `e`: a webhook confined to an
 * organization (grant_organization_uid) is owed only the events naming it, as
 * confinementAllows (domain/access.ts) says. Checked in the write itself wherever a webhook read earlier may have
 * been confined since (deliveries made, retried).
 */
export const confinementAllowsSql = (w: string, e: string) =>
  `(${w}.grant_organization_uid IS NULL OR ${e}.organization = ${nameIdSql(`${w}.grant_organization_uid`)})`;

/** The names.id of the webhooks within a limited token's grant; null for an unlimited one (every webhook). */
export async function grantedWebhookIds(db: D1Database, access: Access | null): Promise<number[] | null> {
  if (!isLimited(access)) return null;
  const g = grantedWebhookIdsSql(access);
  const { results } = await db.prepare(g.sql).bind(...g.binds).all<{ id: number }>();
  return results.map((r) => r.id);
}

/** SQL for the names.id of the webhooks within `access`'s grant (grantedWebhookUidsSql's, each looked up by name). */
export function grantedWebhookIdsSql(access: Access): Sql {
  const g = grantedWebhookUidsSql(access);
  return { sql: `SELECT gn.id FROM (${g.sql}) AS gw CROSS JOIN names gn ON gn.name = gw.uid`, binds: g.binds };
}
