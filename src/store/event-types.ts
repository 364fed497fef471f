interface SeenType {
  sourceId: string;
  eventType: string;
}

/**
 * Records, for the ingest transaction, which types each source has received (once each): only
 * for a source that exists, stored or `declared` by configuration. An event acknowledged before
 * its source was deleted is still stored, but teaches nothing: its type would count as received
 * again, and a source made again under its id would inherit it (deleteSource forgets them).
 */
export function recordEventTypes(db: D1Database, seen: SeenType[], declared: string[], now = Date.now()): D1PreparedStatement | null {
  const pairs = [...new Set(seen.map((s) => JSON.stringify([s.eventType, s.sourceId])))];
  if (pairs.length === 0) return null;
  return db
    .prepare(
      `INSERT INTO source_event_types (event_type, source_id, first_seen_at)
       SELECT value->>0, value->>1, ? FROM json_each(?)
       WHERE value->>1 IN (SELECT value FROM json_each(?)) OR EXISTS (SELECT 1 FROM sources WHERE id = value->>1)
       ON CONFLICT DO NOTHING`,
    )
    .bind(now, `[${pairs.join(",")}]`, JSON.stringify(declared));
}

/**
 * Of these subscription patterns (exact types or `object.*`), those some source
 * has received (one of `sourceIds`, or any when null). Each is one lookup on the
 * table's key: a type, or the range of types under an object.
 */
export async function seenPatterns(db: D1Database, patterns: string[], sourceIds: string[] | null): Promise<Set<string>> {
  if (patterns.length === 0) return new Set();
  const bySource = sourceIds === null ? "" : " AND source_id IN (SELECT value FROM json_each(?))";
  const sources = sourceIds === null ? [] : [JSON.stringify(sourceIds)];
  const results = await db.batch(
    patterns.map((p) =>
      p.endsWith(".*")
        ? // Types under `object.`: from "object." up to "object/" ('/' follows '.' in code order).
          db.prepare(`SELECT 1 FROM source_event_types WHERE event_type >= ? AND event_type < ?${bySource} LIMIT 1`).bind(
            p.slice(0, -1),
            `${p.slice(0, -2)}/`,
            ...sources,
          )
        : db.prepare(`SELECT 1 FROM source_event_types WHERE event_type = ?${bySource} LIMIT 1`).bind(p, ...sources),
    ),
  );
  return new Set(patterns.filter((_, i) => (results[i]?.results.length ?? 0) > 0));
}
