import type { Access } from "../domain/access";
import { ALERT_SOURCE } from "../domain/alerts";

type Sql = { sql: string; binds: unknown[] };
const ALL: Sql = { sql: "1 = 1", binds: [] };

const isLimited = (a: Access | null): a is Access => a !== null && (a.organizationUids !== null || a.locationUids !== null);

/** A SQL condition on an `events` row (under `alias`) that keeps what `access` may see. */
export function eventAccessSql(access: Access | null, alias = "events"): Sql {
  if (!access) return ALL;
  // Alerts (events of the reserved source) are for admins only.
  const clauses: string[] = [`${alias}.source_id <> ?`];
  const binds: unknown[] = [ALERT_SOURCE];
  for (const object of access.hiddenObjects) {
    clauses.push(`${alias}.event_type NOT LIKE ?`);
    binds.push(`${object}.%`);
  }
  if (isLimited(access)) {
    clauses.push(
      `(${alias}.organization_uid IN (SELECT value FROM json_each(?)) OR ${alias}.location_uid IN (SELECT value FROM json_each(?)))`,
    );
    binds.push(JSON.stringify(access.organizationUids ?? []), JSON.stringify(access.locationUids ?? []));
  }
  return { sql: clauses.length ? clauses.join(" AND ") : "1 = 1", binds };
}

/**
 * A SQL condition on a `webhooks` row (under `alias`) that keeps those within a
 * limited token's grant: the same rule as `webhookInGrant` (domain/access.ts).
 */
export function webhookAccessSql(access: Access | null, alias = "webhooks"): Sql {
  if (!isLimited(access)) return ALL;
  const orgs = JSON.stringify(access.organizationUids ?? []);
  const locs = JSON.stringify(access.locationUids ?? []);
  return {
    sql: `(CASE
      WHEN ${alias}.organization_uid IS NOT NULL THEN ${alias}.organization_uid IN (SELECT value FROM json_each(?))
      WHEN ${alias}.location_uid IS NOT NULL THEN ${alias}.location_uid IN (SELECT value FROM json_each(?))
        OR (SELECT l.organization_uid FROM locations l WHERE l.location_uid = ${alias}.location_uid) IN (SELECT value FROM json_each(?))
      ELSE 0 END)`,
    binds: [orgs, locs, orgs],
  };
}

/** A SQL condition on a `deliveries` row (under `alias`) that keeps those of webhooks within the grant. */
export function deliveryAccessSql(access: Access | null, alias = "deliveries"): Sql {
  if (!isLimited(access)) return ALL;
  const w = webhookAccessSql(access, "gw");
  return { sql: `${alias}.webhook_uid IN (SELECT gw.uid FROM webhooks gw WHERE ${w.sql})`, binds: w.binds };
}
