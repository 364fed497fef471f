// Every counter recounted from the rows it counts, for the tests to compare with
// what the store kept (store/counters.ts): each as a map "key → count", zeros left out.
import { HOUR_MS } from "../../src/domain/time";
import { attemptsOfSql } from "../../src/store/attempts";
import { ATTEMPT_COLUMNS, ATTEMPT_OK_COLUMNS, DELIVERY_COLUMNS, EVENT_COLUMNS, OBJECT_GROUPS, PENDING_CELLS, PURGED_CELLS, TENTH_MS, TENTHS } from "../../src/store/counters";
import { EVENT_PLACES } from "../../src/store/event-places";
import type { Packing } from "../../src/store/packed";

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
  const [events, pending, deliveries, attempts, dead, deliveryTotals, attemptTotals] = await db.batch<Record<string, unknown>>([
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
    // Every webhook's, kept by triggers on the two above (migration 0041).
    db.prepare("SELECT * FROM delivery_totals"),
    db.prepare("SELECT * FROM attempt_totals"),
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
    deliveryTotals: unpivot(deliveryTotals!.results, [], DELIVERY_COLUMNS),
    attemptTotals: unpivot(attemptTotals!.results, ["hour"], [...ATTEMPT_COLUMNS, ...ATTEMPT_OK_COLUMNS]),
  };
}

/**
 * Counter rows holding nothing, in event_counts, attempt_counts and attempt_totals (the retention deletes them with
 * their last event; an hour's totals row with the hour's last attempt_counts row, else a row an hour forever).
 */
export async function emptyCounterRows(db: D1Database): Promise<number> {
  const zero = (cols: string[]) => `max(${cols.join(", ")}) = 0`;
  const row = await db
    .prepare(
      `SELECT (SELECT COUNT(*) FROM event_counts WHERE ${zero(EVENT_COLUMNS)})
         + (SELECT COUNT(*) FROM attempt_counts WHERE ${zero([...ATTEMPT_COLUMNS, ...ATTEMPT_OK_COLUMNS])})
         + (SELECT COUNT(*) FROM attempt_totals WHERE ${zero([...ATTEMPT_COLUMNS, ...ATTEMPT_OK_COLUMNS])}) AS n`,
    )
    .first<{ n: number }>();
  return row?.n ?? 0;
}

/** The same, counted from the events, deliveries, attempts and dead letters stored. */
export async function recounted(db: D1Database) {
  const cell = (at: string) => `(${at} % ${HOUR_MS}) / ${TENTH_MS}`;
  const [events, deliveries, attempts, oks, dead, deliveryTotals, attemptTotals, okTotals] = await db.batch<{ k: string; n: number }>([
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
    db.prepare(`SELECT 's' || (status * ${OBJECT_GROUPS} + object) AS k, COUNT(*) AS n FROM deliveries GROUP BY status, object`),
    db.prepare(`SELECT (a.started_at / ${HOUR_MS}) || '/a' || (a.object * ${TENTHS} + ${cell("a.started_at")}) AS k, COUNT(*) AS n FROM (${EVERY_ATTEMPT}) a GROUP BY 1`),
    db.prepare(`SELECT (a.started_at / ${HOUR_MS}) || '/ok' || (a.object * ${TENTHS} + ${cell("a.started_at")}) AS k, SUM(a.error IS NULL) AS n FROM (${EVERY_ATTEMPT}) a GROUP BY 1`),
  ]);
  return {
    events: grouped(events!.results),
    deliveries: grouped(deliveries!.results),
    attempts: { ...grouped(attempts!.results), ...grouped(oks!.results) },
    openDeadLetters: Number(dead!.results[0]?.n ?? 0),
    deliveryTotals: grouped(deliveryTotals!.results),
    attemptTotals: { ...grouped(attemptTotals!.results), ...grouped(okTotals!.results) },
  };
}

// Packed rows (store/packed.ts: event_places, delivery_webhooks): what is stored, and a recount from the rows they pack.
type Keyed = Record<string, number[]>;
/** A packed row: its range and, per packed column, key → offsets (null: none). */
export type PackedRows = { seq: number; last: number; keys: Record<string, Keyed | null> }[];

const sorted = (p: Keyed | null) => (p === null ? null : Object.fromEntries(Object.entries(p).map(([k, v]) => [k, [...v].sort((a, b) => a - b)])));

/** The packed rows stored, their offsets in order. */
export async function packedStored(db: D1Database, p: Packing): Promise<PackedRows> {
  const stored = p.columns.map((c) => c.stored);
  const { results } = await db.prepare(`SELECT seq, last, ${stored.join(", ")} FROM ${p.table} ORDER BY seq`).all<Record<string, number | string | null>>();
  return results.map((r) => ({
    seq: Number(r.seq),
    last: Number(r.last),
    keys: Object.fromEntries(stored.map((s) => [s, sorted(typeof r[s] === "string" ? JSON.parse(r[s]) : null)])),
  }));
}

/**
 * The packed rows recounted from the rows stored, over the ranges the stored rows span (ingest
 * joins groups into one row: packed.ts). Throws when the ranges overlap, or a keyed row lies
 * in none of them; a range with no keyed row left recounts as an empty row.
 */
export async function packedRecounted(db: D1Database, p: Packing): Promise<PackedRows> {
  const [ranges, keyed] = await db.batch<Record<string, number | null>>([
    db.prepare(`SELECT seq, last FROM ${p.table} ORDER BY seq`),
    db.prepare(`SELECT seq, ${p.columns.map((c) => c.key).join(", ")} FROM ${p.source} ORDER BY seq`),
  ]);
  const rows: PackedRows = [];
  const seqOf = (r: Record<string, number | null>) => Number(r.seq);
  for (const [i, g] of ranges!.results.entries()) {
    const before = ranges!.results[i - 1];
    if (before && Number(before.last) >= seqOf(g)) throw new Error(`${p.table} rows overlap: ${before.seq}..${before.last} and ${g.seq}..${g.last}`);
    const row: PackedRows[number] = { seq: seqOf(g), last: Number(g.last), keys: Object.fromEntries(p.columns.map((c) => [c.stored, null])) };
    for (const e of keyed!.results.filter((e) => seqOf(e) >= seqOf(g) && seqOf(e) <= Number(g.last))) {
      for (const c of p.columns) {
        const key = e[c.key];
        if (key !== null && key !== undefined) ((row.keys[c.stored] ??= {})[String(key)] ??= []).push(seqOf(e) - seqOf(g));
      }
    }
    rows.push(row);
  }
  const isKeyed = (e: Record<string, number | null>) => p.columns.some((c) => e[c.key] !== null);
  const outside = keyed!.results.filter((e) => isKeyed(e) && !ranges!.results.some((g) => seqOf(e) >= seqOf(g) && seqOf(e) <= Number(g.last)));
  if (outside.length > 0) throw new Error(`${p.source} rows outside every ${p.table} row: ${outside.map(seqOf).join(", ")}`);
  return rows;
}

/** The places rows stored (event-places.ts). */
export const placesStored = (db: D1Database) => packedStored(db, EVENT_PLACES);
/** The places rows recounted from the events. */
export const placesRecounted = (db: D1Database) => packedRecounted(db, EVENT_PLACES);
