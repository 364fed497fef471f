// How an event's deliveries are found without an index by event (migration 0034): each
// delivery's id starts with its event's receipt time and the first two bytes of its event's id
// (domain/delivery.ts), so one event's deliveries lie in one narrow range of the id index, and
// those of the events received from one time to another in one wider range. Those stored before
// with an id outside their event's range are listed in stray_deliveries, read beside it.

/** The index of deliveries.id: its UNIQUE constraint's (migration 0014's table, renamed). */
const BY_ID = "sqlite_autoindex_deliveries_1";

/**
 * The first or last id (`tail` 0 or f) a delivery can have: its event's receipt time `ms` (SQL,
 * epoch ms) as 12 hex digits, then, for one event, the hex of the first two bytes of its stored
 * id `key` (SQL; 0000 for an id kept as text), then the rest of the 16 bytes. Without `key`, the
 * bound of every event received at `ms`.
 */
const idBound = (ms: string, tail: "0" | "f", key?: string) => {
  const mark = key ? ` || (CASE WHEN typeof(${key}) = 'blob' THEN hex(substr(${key}, 1, 2)) ELSE '0000' END)` : "";
  return `unhex(printf('%012x', max(0, ${ms}))${mark} || '${tail.repeat(key ? 16 : 20)}')`;
};

/** An event's deliveries `d` along the id index: its own range (idBound with its key). */
const ofOneEvent = (d: string, ms: string, key: string) => `${d}.id BETWEEN ${idBound(ms, "0", key)} AND ${idBound(ms, "f", key)}`;

/**
 * The seqs of the deliveries of one event (SQL: its seq), received at `ms` (SQL) with the stored
 * id `key` (SQL): its narrow id range and its strays. Read it through `seq IN`.
 */
export const deliverySeqsOfEvent = (event: string, ms: string, key: string) =>
  `SELECT r.seq FROM deliveries r INDEXED BY ${BY_ID} WHERE ${ofOneEvent("r", ms, key)} AND r.event = ${event}
   UNION ALL SELECT s.delivery FROM stray_deliveries s WHERE s.event = ${event}`;

/**
 * How many deliveries the event `event` (SQL: its seq), received at `ms` (SQL) with the stored id
 * `key` (SQL), has in its range and its strays, counted up to `upTo`: index entries alone, at most
 * `upTo` of them, so it says whether reading them all stays within a budget. Those
 * of another event sharing the range count too (1 in 65,536 events received in one millisecond).
 */
export const deliveriesOfEventUpTo = (event: string, ms: string, key: string, upTo: number) =>
  `(SELECT count(*) FROM (SELECT 1 FROM deliveries r INDEXED BY ${BY_ID} WHERE ${ofOneEvent("r", ms, key)}
     UNION ALL SELECT 1 FROM stray_deliveries s WHERE s.event = ${event} LIMIT ${upTo}))`;

/**
 * The seqs of the deliveries of `events` (SQL: a list or subquery of events.seq), all received
 * from `from` to `to` (SQL, epoch ms): their id range, read along the id index, and their strays.
 * A delivery may come twice (a stray whose id falls in another event's range): read it through `seq IN`.
 */
export const deliverySeqsOf = (events: string, from: string, to: string = from) =>
  `SELECT r.seq FROM deliveries r INDEXED BY ${BY_ID} WHERE r.id BETWEEN ${idBound(from, "0")} AND ${idBound(to, "f")} AND r.event IN (${events})
   UNION ALL SELECT s.delivery FROM stray_deliveries s WHERE s.event IN (${events})`;

/**
 * The events among `events` (SQL: a list or subquery of events.seq), all received from `from`
 * to `to` (SQL, epoch ms), with a delivery (deliveries `d`) meeting `condition`: their id range
 * read once, then their strays. An event may come more than once.
 */
export const eventsWithDelivery = (events: string, from: string, to: string, condition: string) =>
  `SELECT d.event FROM deliveries d INDEXED BY ${BY_ID}
     WHERE d.id BETWEEN ${idBound(from, "0")} AND ${idBound(to, "f")} AND d.event IN (${events}) AND ${condition}
   UNION ALL SELECT s.event FROM stray_deliveries s CROSS JOIN deliveries d NOT INDEXED WHERE s.event IN (${events}) AND d.seq = s.delivery AND ${condition}`;

/**
 * Whether the event `event` (SQL: its seq), received at `ms` (SQL) with the stored id `key`
 * (SQL), has a delivery (deliveries `d`) meeting `condition`: its narrow range, then its strays.
 */
export const anyDeliveryOf = (event: string, ms: string, key: string, condition: string) =>
  `EXISTS (SELECT 1 FROM deliveries d INDEXED BY ${BY_ID} WHERE ${ofOneEvent("d", ms, key)} AND d.event = ${event} AND ${condition}
    UNION ALL SELECT 1 FROM stray_deliveries s CROSS JOIN deliveries d NOT INDEXED WHERE s.event = ${event} AND d.seq = s.delivery AND ${condition})`;

/**
 * anyDeliveryOf read at most `cap` deliveries deep, so that an event costs a bounded number of rows
 * however many deliveries it has (a list checks many events in one call): 1 when one of the first
 * `cap` entries of its range, or of its first deliveryVerdictStrays(cap) strays, meets `condition`; 0 when
 * there are fewer of each and none does; 2 when none does and either was cut (not decided).
 * Those of another event sharing the range count toward `cap` (it may answer 2 early, never
 * wrongly 0). Reads at most deliveryVerdictRows(cap) rows, its event's own row included.
 */
export const deliveryVerdictOf = (event: string, ms: string, key: string, condition: string, cap: number) => {
  const [inRange, strays] = [Math.trunc(cap), deliveryVerdictStrays(cap)];
  return `(SELECT CASE WHEN max(hit) THEN 1 WHEN sum(stray) >= ${strays} OR sum(1 - stray) >= ${inRange} THEN 2 ELSE 0 END FROM
    (SELECT * FROM (SELECT d.event = ${event} AND (${condition}) AS hit, 0 AS stray FROM deliveries d INDEXED BY ${BY_ID} WHERE ${ofOneEvent("d", ms, key)} LIMIT ${inRange})
     UNION ALL SELECT * FROM (SELECT (${condition}) AS hit, 1 AS stray FROM stray_deliveries s CROSS JOIN deliveries d NOT INDEXED WHERE s.event = ${event} AND d.seq = s.delivery LIMIT ${strays})))`;
};

/**
 * The strays a verdict of `cap` reads: fewer, as each costs two rows (its entry, its delivery),
 * and only deliveries stored before migration 0034 are strays (gone within the retention), so
 * that the cheapest verdicts, which decide an event of a few deliveries, stay cheap.
 */
export const deliveryVerdictStrays = (cap: number) => Math.max(1, Math.floor(cap / 4));

/**
 * The D1 rows a deliveryVerdictOf of `cap` and its event's row read at most: one a delivery in
 * the range, two a stray (its entry, its delivery), one each to find where the range and the
 * strays end; and `probes` more a delivery its condition reads (D1 counts one for each probe of
 * an IN list of literals, such as a limited token's webhooks). Measured in
 * test/worker/event-status-fanout.test.ts.
 */
export const deliveryVerdictRows = (cap: number, probes = 0) =>
  3 + Math.trunc(cap) * (1 + probes) + deliveryVerdictStrays(cap) * (2 + probes);

/** The largest cap whose deliveryVerdictOf reads at most `rows` rows with its event's row (0: none does). */
export function deliveryVerdictCap(rows: number, probes = 0): number {
  let [low, high] = [0, Math.max(0, Math.floor(rows))];
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (deliveryVerdictRows(mid, probes) <= rows) low = mid;
    else high = mid - 1;
  }
  return low;
}

/** Forgets the strays of `events` (SQL: a list or subquery of events.seq), purged with them. */
export const dropStraysSql = (events: string) => `DELETE FROM stray_deliveries WHERE event IN (${events})`;
