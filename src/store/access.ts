import type { Access } from "../domain/access";

/** A SQL condition on an `events` row (under `alias`) that keeps what `access` may see. */
export function eventAccessSql(access: Access | null, alias = "events"): { sql: string; binds: unknown[] } {
  if (!access) return { sql: "1 = 1", binds: [] };
  const clauses: string[] = [];
  const binds: unknown[] = [];
  for (const object of access.hiddenObjects) {
    clauses.push(`${alias}.event_type NOT LIKE ?`);
    binds.push(`${object}.%`);
  }
  if (access.organizationUids !== null || access.locationUids !== null) {
    clauses.push(
      `(${alias}.organization_uid IN (SELECT value FROM json_each(?)) OR ${alias}.location_uid IN (SELECT value FROM json_each(?)))`,
    );
    binds.push(JSON.stringify(access.organizationUids ?? []), JSON.stringify(access.locationUids ?? []));
  }
  return { sql: clauses.length ? clauses.join(" AND ") : "1 = 1", binds };
}

/** A SQL condition on a `webhooks` row that keeps those within a limited token's grant. */
export function webhookAccessSql(access: Access | null, alias = "webhooks"): { sql: string; binds: unknown[] } {
  if (!access || (access.organizationUids === null && access.locationUids === null)) return { sql: "1 = 1", binds: [] };
  return {
    sql: `(${alias}.organization_uid IN (SELECT value FROM json_each(?)) OR ${alias}.location_uid IN (SELECT value FROM json_each(?)))`,
    binds: [JSON.stringify(access.organizationUids ?? []), JSON.stringify(access.locationUids ?? [])],
  };
}
