// How an event's deliveries are found without an index by event (migration 0034): each
// delivery's id starts with its event's receipt time (domain/delivery.ts), so the deliveries
// of the events received from one time to another lie in one range of the id index. Those
// stored before with an id outside it are listed in stray_deliveries, read beside the range.

/** The index of deliveries.id: its UNIQUE constraint's (migration 0014's table, renamed). */
const BY_ID = "sqlite_autoindex_deliveries_1";

/** The first or last id a delivery of an event received at `ms` (SQL, epoch ms) can have: its time, 12 hex digits, then 20. */
const idBound = (ms: string, tail: "0" | "f") => `unhex(printf('%012x', max(0, ${ms})) || '${tail.repeat(20)}')`;

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

/** Whether the event `event` (SQL: its seq), received at `receivedAt` (SQL), has a delivery (deliveries `d`) meeting `condition`. */
export const anyDeliveryOf = (event: string, receivedAt: string, condition: string) => `EXISTS (${eventsWithDelivery(event, receivedAt, receivedAt, condition)})`;

/** Forgets the strays of `events` (SQL: a list or subquery of events.seq), purged with them. */
export const dropStraysSql = (events: string) => `DELETE FROM stray_deliveries WHERE event IN (${events})`;
