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
  const { orgs, locs } = grantNameIds(access, ids);
  clauses.push(`(organization IN (${orgs.join(", ")}) OR location IN (${locs.join(", ")}))`);
  return {
    sql: clauses.join(" AND "),
    places: { organizations: orgs, locations: locs },
    none: orgs.length + locs.length === 0,
  };
}

/** The names ids (`ids`, looked up in store/names.ts) of a grant's organizations and locations: those never stored have none. */
export function grantNameIds(access: Access, ids: ReadonlyMap<string, number>): { orgs: number[]; locs: number[] } {
  const known = (names: string[] | null) =>
    (names ?? []).flatMap((n) => {
      const id = ids.get(n);
      return id === undefined ? [] : [id];
    });
  return { orgs: known(access.organizationUids), locs: known(access.locationUids) };
}

/** A limited token's organizations and locations as JSON, each once (so that each webhook is found once): grant_of's orgs and locs (grantParts). */
export const grantLists = (access: Access): [string, string] => [
  JSON.stringify([...new Set(access.organizationUids ?? [])]),
  JSON.stringify([...new Set(access.locationUids ?? [])]),
];

/**
 * The webhooks within a limited token's grant (the same rule as `webhookInGrant`,
 * domain/access.ts), found by their owners' indexes (migration 0040) so that a token reads
 * about its own webhooks only, never every webhook of the deployment. Disjoint parts, so that
 * each webhook is in one (a UNION's deduplication would read each again): those of its
 * organizations; of its locations; of the other location webhooks, those confined to one of its
 * organizations (0028) and those not confined at a location known to belong to one (by the
 * organization kept on their rows, 0057, never a walk of its locations: the rows read are those
 * webhooks, however many locations it has). Each is the FROM and WHERE of a webhooks row `w` from
 * `grant_of` (a row holding grantLists' orgs and locs, bound at ?1 and ?2);
 * `pick(alias, index, key, owner)` says how the part's rows are taken along `index`, where
 * `key` is `owner` (by default all of them).
 */
export function grantParts(
  w: string,
  pick: (i: string, index: string, key: string, owner: string, where: (i: string) => string) => string = (i, index, key, owner, where) =>
    `webhooks ${i} INDEXED BY ${index} ON ${i}.${key} = ${owner} AND ${where(i)}`,
): string[] {
  // (Checked on the rows the part finds, never an index of theirs: "+".) The locations as their bound ?2, not
  // grant_of's column: a list no row's value names is read once a statement, not once a row it checks (100 rows a
  // webhook for a token of 100 locations: search-status-fanout.test.ts).
  const others = (i: string) => `+${i}.organization_uid IS NULL AND +${i}.location_uid IS NOT NULL AND +${i}.location_uid NOT IN (SELECT value FROM json_each(?2))`;
  return [
    `FROM grant_of CROSS JOIN json_each(grant_of.orgs) o CROSS JOIN ${pick(w, "webhooks_organization", "organization_uid", "o.value", () => "1")}`,
    `FROM grant_of CROSS JOIN json_each(grant_of.locs) o CROSS JOIN ${pick(w, "webhooks_location", "location_uid", "o.value", (i) => `+${i}.organization_uid IS NULL`)}`,
    `FROM grant_of CROSS JOIN json_each(grant_of.orgs) o CROSS JOIN ${pick(w, "webhooks_grant_organization", "grant_organization_uid", "o.value", others)}`,
    `FROM grant_of CROSS JOIN json_each(grant_of.orgs) o CROSS JOIN ${pick(w, "webhooks_location_organization", "location_organization_uid", "o.value", (i) => `${others(i)} AND +${i}.grant_organization_uid IS NULL`)}`,
  ];
}

/** SQL for the uid, kind and created_at of the webhooks within a limited token's grant (grantParts), each once. */
export function grantedWebhookUidsSql(access: Access): Sql {
  const parts = grantParts("gw").map((part) => `SELECT gw.uid, gw.kind, gw.created_at ${part}`);
  return { sql: `WITH grant_of AS (SELECT ?1 AS orgs, ?2 AS locs) ${parts.join(" UNION ALL ")}`, binds: grantLists(access) };
}

/**
 * A SQL condition on a `webhooks` row `w` and an `events` row `e`: a webhook confined to an
 * organization (grant_organization_uid) is owed only the events naming it, as
 * confinementAllows (domain/access.ts) says. Checked in the write itself wherever a webhook read earlier may have
 * been confined since (deliveries made, retried). True or false, never NULL (an event naming no
 * organization): its negation (a retry's STILL_OWED) must not let such an event through.
 */
export const confinementAllowsSql = (w: string, e: string) =>
  `(${w}.grant_organization_uid IS NULL OR COALESCE(${e}.organization = ${nameIdSql(`${w}.grant_organization_uid`)}, 0))`;

/** SQL for the names.id of the webhooks within `access`'s grant (grantedWebhookUidsSql's, each looked up by name). */
function grantedWebhookIdsSql(access: Access): Sql {
  const g = grantedWebhookUidsSql(access);
  return { sql: `SELECT gn.id FROM (${g.sql}) AS gw CROSS JOIN names gn ON gn.name = gw.uid`, binds: g.binds };
}

/**
 * A SQL condition: the webhook whose names.id is `webhook` (SQL) lies within a limited token's grant (the
 * rule of `webhookInGrant`, domain/access.ts, and of grantParts), given as ?`param`, bound to grantListsJson's
 * value. Read from the webhook's row (its location's organization kept on it, 0057): a few rows a check, however many webhooks the grant holds, where a list of
 * their ids is read whole by each statement that probes it. A webhook gone is outside.
 */
export const webhookInGrantSql = (webhook: string, param: number) =>
  `EXISTS (SELECT 1 FROM names gn CROSS JOIN webhooks gw ON gw.uid = gn.name WHERE gn.id = ${webhook} AND ${webhookRowInGrantSql("gw", param)})`;

/** webhookInGrantSql's test on a `webhooks` row already read (under `w`): its location's organization is on it (0057). */
export const webhookRowInGrantSql = (w: string, param: number) => {
  const [orgs, locs] = [`(SELECT value FROM json_each(?${param}, '$[0]'))`, `(SELECT value FROM json_each(?${param}, '$[1]'))`];
  return `CASE
    WHEN ${w}.organization_uid IS NOT NULL THEN ${w}.organization_uid IN ${orgs}
    WHEN ${w}.location_uid IS NULL THEN 0
    WHEN ${w}.location_uid IN ${locs} THEN 1
    ELSE coalesce(${w}.grant_organization_uid, ${w}.location_organization_uid) IN ${orgs} END`;
};

/**
 * The rows webhookInGrantSql reads a check at most, as D1 counts them: its webhook's name, its row (by uid),
 * the lists' probes; 3 for any webhook, its location's organization being on its row (0057; a location's
 * was 4: measured in test/worker/event-status-fanout.test.ts).
 */
export const GRANT_PROBE_ROWS = 3;

/** webhookInGrantSql's parameter: a limited token's organizations and locations, as one JSON value. */
export const grantListsJson = (access: Access): string => `[${grantLists(access).join(",")}]`;

/** The rows webhookInGrantSql's lists cost a statement, in each place of it that probes them: its organizations twice, its locations once. */
export const grantListsRows = (access: Access): number => {
  const [orgs, locs] = [new Set(access.organizationUids ?? []).size, new Set(access.locationUids ?? []).size];
  return 2 * orgs + locs;
};

/**
 * The webhooks of a limited token's grant its reads take as a list of their ids (two rows each to read, and its
 * length again in each statement that probes it); past them, each row's webhook is tested against the grant itself
 * (webhookInGrantSql), whatever the webhooks. A few (the usual token) keep the list, cheaper a delivery: with
 * events owed a hundred webhooks each, a token of 250 paged events by status in about a third of the calls with its
 * list, and one of 500 passed the bound with it (measured 2026-12-02, docs/scale-and-cost.md).
 */
export const LISTED_WEBHOOKS = 200;

/**
 * The names.id of the webhooks within a limited token's grant when there are at most `most` of them, else
 * null (read no further: two rows a webhook); null for an unlimited token (every webhook). With the rows read.
 */
export async function grantedWebhookIdsUpTo(db: D1Database, access: Access | null, most: number): Promise<{ ids: number[] | null; rowsRead: number }> {
  if (!isLimited(access)) return { ids: null, rowsRead: 0 };
  const g = grantedWebhookIdsSql(access);
  const { results, meta } = await db.prepare(`${g.sql} LIMIT ${Math.trunc(most) + 1}`).bind(...g.binds).all<{ id: number }>();
  return { ids: results.length > most ? null : results.map((r) => r.id), rowsRead: meta.rows_read };
}
