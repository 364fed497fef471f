// Every counter recounted from the rows it counts, for the tests to compare with
// what the store kept (store/counters.ts): each as a map "key → count", zeros left out.
import { HOUR_MS } from "../../src/domain/time";
import { attemptsOfSql } from "../../src/store/attempts";
import { ATTEMPT_COLUMNS, ATTEMPT_OK_COLUMNS, DELIVERY_COLUMNS, EVENT_COLUMNS, OBJECT_GROUPS, PENDING_CELLS, PURGED_CELLS, TENTH_MS, TENTHS } from "../../src/store/counters";

type Counts = Record<string, number>;

/** Every attempt stored, in its delivery's row or (recorded before migration 0023) the attempts table. */
const EVERY_ATTEMPT = attemptsOfSql("SELECT seq, attempts, webhook, object FROM deliveries", ["webhook", "object"]);

function unpivot(rows: Record<string, unknown>[], keys: string[], columns: string[]): Counts {
  const out: Counts = {};
  for (const r of rows) {
    for (const c of columns) {
      const n = Number(r[c] ?? 0);
      if (n !== 0) out[[...keys.map((k) => r[k]), c].join("/")] = n;
    }
  }
  return out;
}

function grouped(rows: { k: string; n: number }[]): Counts {
  return Object.fromEntries(rows.filter((r) => r.n !== 0).map((r) => [r.k, r.n]));
}

/**
 * What the counters hold: for events, each hour row, and each scope's total as the
 * reads take it (its total row and its hour rows outside the folded range), ingest's
 * pending deltas added to both and the retention's waiting purges taken off both.
 */
export async function kept(db: D1Database) {
  const sums = EVENT_COLUMNS.map((c) => `SUM(${c}) AS ${c}`).join(", ");
  const [events, pending, deliveries, attempts, dead] = await db.batch<Record<string, unknown>>([
    db.prepare(
      `SELECT * FROM event_counts WHERE hour >= 0
       UNION ALL SELECT scope, -1 AS hour, owner, ${sums} FROM event_counts, event_count_marks m
         WHERE hour = -1 OR hour <= m.after OR hour > m.through GROUP BY scope, owner`,
    ),
    db.prepare(
      `SELECT scope, hour, owner, col, SUM(n) AS n FROM (${PENDING_CELLS} UNION ALL SELECT scope, hour, owner, col, -n FROM (${PURGED_CELLS})) GROUP BY scope, hour, owner, col`,
    ),
    db.prepare("SELECT * FROM delivery_counts"),
    db.prepare("SELECT * FROM attempt_counts"),
    db.prepare("SELECT open FROM dead_letter_counts"),
  ]);
  const eventCounts = unpivot(events!.results, ["scope", "hour", "owner"], EVENT_COLUMNS);
  for (const { scope, hour, owner, col, n } of pending!.results) {
    for (const key of [`${scope}/${hour}/${owner}/n${col}`, `${scope}/-1/${owner}/n${col}`]) {
      eventCounts[key] = (eventCounts[key] ?? 0) + Number(n);
      if (eventCounts[key] === 0) delete eventCounts[key]; // (a purge waiting for the last of a cell's events)
    }
  }
  return {
    events: eventCounts,
    deliveries: unpivot(deliveries!.results, ["webhook"], DELIVERY_COLUMNS),
    attempts: unpivot(attempts!.results, ["hour", "webhook"], [...ATTEMPT_COLUMNS, ...ATTEMPT_OK_COLUMNS]),
    openDeadLetters: Number(dead!.results[0]?.open ?? 0),
  };
}

/** Counter rows holding nothing, in event_counts and attempt_counts (the retention deletes them with their last event). */
export async function emptyCounterRows(db: D1Database): Promise<number> {
  const zero = (cols: string[]) => `max(${cols.join(", ")}) = 0`;
  const row = await db
    .prepare(
      `SELECT (SELECT COUNT(*) FROM event_counts WHERE ${zero(EVENT_COLUMNS)})
         + (SELECT COUNT(*) FROM attempt_counts WHERE ${zero([...ATTEMPT_COLUMNS, ...ATTEMPT_OK_COLUMNS])}) AS n`,
    )
    .first<{ n: number }>();
  return row?.n ?? 0;
}

/** The same, counted from the events, deliveries, attempts and dead letters stored. */
export async function recounted(db: D1Database) {
  const cell = (at: string) => `(${at} % ${HOUR_MS}) / ${TENTH_MS}`;
  const [events, deliveries, attempts, oks, dead] = await db.batch<{ k: string; n: number }>([
    db.prepare(
      `WITH k AS (
         SELECT 0 AS scope, CASE WHEN source = (SELECT id FROM names WHERE name = 'edgehook') THEN -1 ELSE 0 END AS owner, received_at, object FROM events
         UNION ALL SELECT organization, 0, received_at, object FROM events WHERE organization IS NOT NULL
         UNION ALL SELECT -location, COALESCE(organization, 0), received_at, object FROM events WHERE location IS NOT NULL),
       c AS (
         SELECT scope, owner, received_at / ${HOUR_MS} AS hour, object * ${TENTHS} + ${cell("received_at")} AS col FROM k
         UNION ALL SELECT scope, owner, -1, object * ${TENTHS} + ${cell("received_at")} FROM k)
       SELECT scope || '/' || hour || '/' || owner || '/n' || col AS k, COUNT(*) AS n FROM c GROUP BY scope, hour, owner, col`,
    ),
    db.prepare(`SELECT webhook || '/s' || (status * ${OBJECT_GROUPS} + object) AS k, COUNT(*) AS n FROM deliveries GROUP BY webhook, status, object`),
    db.prepare(
      `SELECT (a.started_at / ${HOUR_MS}) || '/' || a.webhook || '/a' || (a.object * ${TENTHS} + ${cell("a.started_at")}) AS k, COUNT(*) AS n
       FROM (${EVERY_ATTEMPT}) a GROUP BY 1`,
    ),
    db.prepare(
      `SELECT (a.started_at / ${HOUR_MS}) || '/' || a.webhook || '/ok' || (a.object * ${TENTHS} + ${cell("a.started_at")}) AS k, SUM(a.error IS NULL) AS n
       FROM (${EVERY_ATTEMPT}) a GROUP BY 1`,
    ),
    db.prepare("SELECT 'open' AS k, COUNT(*) AS n FROM dead_letters WHERE replayed_at IS NULL"),
  ]);
  return {
    events: grouped(events!.results),
    deliveries: grouped(deliveries!.results),
    attempts: { ...grouped(attempts!.results), ...grouped(oks!.results) },
    openDeadLetters: Number(dead!.results[0]?.n ?? 0),
  };
}

// The places rows (store/event-places.ts): what is stored, and a recount from the events.
type Places = Record<string, number[]>;
interface PlacesRow {
  seq: number;
  last: number;
  locations: Places | null;
  organizations: Places | null;
}

const sorted = (p: Places | null) => (p === null ? null : Object.fromEntries(Object.entries(p).map(([k, v]) => [k, [...v].sort((a, b) => a - b)])));

/** The places rows stored, their offsets in order. */
export async function placesStored(db: D1Database): Promise<PlacesRow[]> {
  const { results } = await db.prepare("SELECT seq, last, locations, organizations FROM event_places ORDER BY seq").all<{ seq: number; last: number; locations: string | null; organizations: string | null }>();
  return results.map((r) => ({
    seq: r.seq,
    last: r.last,
    locations: sorted(r.locations === null ? null : JSON.parse(r.locations)),
    organizations: sorted(r.organizations === null ? null : JSON.parse(r.organizations)),
  }));
}

/**
 * The places rows recounted from the events stored, over the ranges the stored rows span (ingest
 * joins groups into one row: event-places.ts). Throws when the ranges overlap, or an event at a
 * place lies in none of them; a range with no event at a place left recounts as an empty row.
 */
export async function placesRecounted(db: D1Database): Promise<PlacesRow[]> {
  const [ranges, events] = await db.batch<{ seq: number; last: number; location: number | null; organization: number | null }>([
    db.prepare("SELECT seq, last FROM event_places ORDER BY seq"),
    db.prepare("SELECT seq, location, organization FROM events ORDER BY seq"),
  ]);
  const rows: PlacesRow[] = [];
  for (const [i, g] of ranges!.results.entries()) {
    const before = ranges!.results[i - 1];
    if (before && before.last >= g.seq) throw new Error(`places rows overlap: ${before.seq}..${before.last} and ${g.seq}..${g.last}`);
    const row: PlacesRow = { seq: g.seq, last: g.last, locations: null, organizations: null };
    for (const e of events!.results.filter((e) => e.seq >= g.seq && e.seq <= g.last)) {
      if (e.location !== null) ((row.locations ??= {})[String(e.location)] ??= []).push(e.seq - g.seq);
      if (e.organization !== null) ((row.organizations ??= {})[String(e.organization)] ??= []).push(e.seq - g.seq);
    }
    rows.push(row);
  }
  const placed = events!.results.filter((e) => e.location !== null || e.organization !== null);
  const outside = placed.filter((e) => !ranges!.results.some((g) => e.seq >= g.seq && e.seq <= g.last));
  if (outside.length > 0) throw new Error(`events at a place outside every places row: ${outside.map((e) => e.seq).join(", ")}`);
  return rows;
}
