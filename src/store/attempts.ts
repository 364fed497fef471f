// Attempts live in their delivery's row (`deliveries.attempts`, a JSON array of
// [number, started_at, duration_ms, status_code, error, response_snippet]) since
// migration 0023: recording one rewrites the row its status change rewrites anyway,
// where a row of its own cost a write to store and another to purge. Those recorded
// before stay in the `attempts` table, read alongside, until the retention takes them.

/**
 * Past this many characters of attempts in its row (up to ~1 MB of UTF-8), a delivery's
 * further attempts are kept without their response snippet (under ~1 KB each, most ~100
 * bytes): retried again and again, its row stays below D1's 2 MB, where a write would fail.
 */
export const ATTEMPTS_FULL_CHARS = 262_144;

type AttemptFields = [number: string, startedAt: string, durationMs: string, statusCode: string, error: string, snippet: string];

/** Delivery row `d`'s attempts with one more added last, from SQL expressions for its fields. */
export function withAttemptSql(d: string, fields: AttemptFields): string {
  const [number, startedAt, durationMs, statusCode, error] = fields;
  const entry = `CASE WHEN length(${d}.attempts) > ${ATTEMPTS_FULL_CHARS}
      THEN json_array(${number}, ${startedAt}, ${durationMs}, ${statusCode}, ${error}, NULL)
      ELSE json_array(${fields.join(", ")}) END`;
  return `json_insert(COALESCE(${d}.attempts, '[]'), '$[#]', ${entry})`;
}

/** Whether delivery row `d` has attempt number `n` recorded, in either place. */
export const attemptRecordedSql = (d: string, n: string) =>
  `(EXISTS (SELECT 1 FROM json_each(${d}.attempts) x WHERE x.value->>0 = ${n})
    OR EXISTS (SELECT 1 FROM attempts a WHERE a.delivery = ${d}.seq AND a.number = ${n}))`;

/**
 * The attempts of the deliveries a query selects (`deliveries`: a SELECT of delivery rows
 * with `seq`, `attempts` and the `columns` named), one row each: those columns, then
 * number, started_at, duration_ms, status_code, error and response_snippet. CROSS JOIN keeps
 * the deliveries outside (SQLite does not reorder it): otherwise the planner may walk every
 * stored attempt and look each up among them.
 */
export function attemptsOfSql(deliveries: string, columns: string[]): string {
  const cols = columns.map((c) => `dd.${c}`).join(", ");
  return `WITH dd AS MATERIALIZED (${deliveries})
    SELECT ${cols}, x.value->>0 AS number, x.value->>1 AS started_at, x.value->>2 AS duration_ms, x.value->>3 AS status_code,
      x.value->>4 AS error, x.value->>5 AS response_snippet
    FROM dd, json_each(dd.attempts) x
    UNION ALL
    SELECT ${cols}, a.number, a.started_at, a.duration_ms, a.status_code, a.error, a.response_snippet
    FROM dd CROSS JOIN attempts a ON a.delivery = dd.seq`;
}
