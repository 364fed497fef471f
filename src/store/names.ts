// Strings that repeat on every row (source ids, event types, organization and
// location uids, webhook uids) are stored once here and referred to by integer.

/** Records names for a transaction's later statements to refer to (nothing when all are known). */
export function learnNamesStatement(db: D1Database, names: Iterable<string | null | undefined>): D1PreparedStatement | null {
  const distinct = [...new Set([...names].filter((n): n is string => typeof n === "string"))];
  if (distinct.length === 0) return null;
  return db
    .prepare("INSERT INTO names (name) SELECT value FROM json_each(?) WHERE true ON CONFLICT DO NOTHING")
    .bind(JSON.stringify(distinct));
}

/** SQL for the id of the name an expression holds (NULL when unknown). */
export const nameIdSql = (expr: string) => `(SELECT id FROM names WHERE name = ${expr})`;

/** The ids of some names; unknown names are absent. */
export async function nameIds(db: D1Database, names: Iterable<string>): Promise<Map<string, number>> {
  const distinct = [...new Set(names)];
  if (distinct.length === 0) return new Map();
  const { results } = await db
    .prepare("SELECT id, name FROM names WHERE name IN (SELECT value FROM json_each(?))")
    .bind(JSON.stringify(distinct))
    .all<{ id: number; name: string }>();
  return new Map(results.map((r) => [r.name, r.id]));
}

/**
 * SQL for the stored key of an API id (`evt_…`, `dlv_…`) that an expression holds:
 * the 16 bytes behind its 32 lower-case hex digits, or the id itself as text when it
 * is not of that form (so any id round-trips).
 */
export const idKeySql = (prefix: "evt_" | "dlv_", expr: string) =>
  `(CASE WHEN length(${expr}) = 36 AND substr(${expr}, 1, 4) = '${prefix}' AND substr(${expr}, 5) NOT GLOB '*[^0-9a-f]*'
     THEN unhex(substr(${expr}, 5)) ELSE ${expr} END)`;

/** SQL for the API id of a stored key column. */
export const apiIdSql = (prefix: "evt_" | "dlv_", column: string) =>
  `(CASE WHEN typeof(${column}) = 'blob' THEN '${prefix}' || lower(hex(${column})) ELSE ${column} END)`;

/** SQL for the stored form of a dedupe key: the 16 bytes of a lower-case UUID, or the key itself as text. */
export const dedupeKeySql = (expr: string) =>
  `(CASE WHEN length(${expr}) = 36 AND substr(${expr}, 9, 1) = '-' AND substr(${expr}, 14, 1) = '-' AND substr(${expr}, 19, 1) = '-'
       AND substr(${expr}, 24, 1) = '-' AND length(replace(${expr}, '-', '')) = 32 AND replace(${expr}, '-', '') NOT GLOB '*[^0-9a-f]*'
     THEN unhex(replace(${expr}, '-', '')) ELSE ${expr} END)`;

/** SQL for a stored dedupe key as the provider gave it. */
export const dedupeTextSql = (column: string) =>
  `(CASE WHEN typeof(${column}) = 'blob' THEN lower(substr(hex(${column}), 1, 8) || '-' || substr(hex(${column}), 9, 4) || '-' ||
     substr(hex(${column}), 13, 4) || '-' || substr(hex(${column}), 17, 4) || '-' || substr(hex(${column}), 21)) ELSE ${column} END)`;
