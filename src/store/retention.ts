// The retention: what is owed of events past it expires, and what is settled is purged, a chunk
// of events at a time, with their deliveries, attempts, contents, packed rows and counts.
import { HOUR_MS } from "../domain/time";
import { attemptsOfSql } from "./attempts";
import { dropGroupsStatement } from "./contents";
import {
  applyEventCountPurges,
  attemptCountsStatement,
  deliveryCountsStatement,
  dropDeletedDeliveryCountsStatement,
  dropEmptyAttemptCountsStatement,
  eventCountPurgeStatement,
} from "./counters";
import { dropDeadLettersStatement } from "./dead-letters";
import { DELIVERY_WEBHOOKS } from "./delivery-webhooks";
import { dropPlacesStatements } from "./event-places";
import { dropPackedStatements } from "./packed";
import { transition } from "./deliveries";
import { deliverySeqsOf, dropStraysSql, eventsWithDelivery } from "./event-deliveries";
import { COUNTED_EVENTS } from "./events";
import { apiIdSql } from "./names";
import { from, to } from "./transitions";

/** Where a retention pass has got to: events are taken in (received_at, seq) order. */
export interface RetentionCursor {
  receivedAt: number;
  seq: number;
}

export const RETENTION_START: RetentionCursor = { receivedAt: -1, seq: 0 };

interface RetentionStep {
  /** Held or pending deliveries of the chunk's events settled as `expired` now. */
  expired: number;
  /** The webhooks those belonged to: their schedulers may hold them, read ahead. */
  expiredFor: string[];
  purged: number;
  /** Where the next chunk starts, or null when no event past the cutoff is left. */
  next: RetentionCursor | null;
}

// An event still owes something while a delivery is held or pending, and stays
// visible while a delivery expired within the grace period (?2 = its cutoff).
const OWED = from("expire", "d.status");
const GRACED = `d.status = ${to("expire")} AND d.updated_at >= ?2`;
/** The events whose seqs ?1 lists (JSON). */
const LISTED = "SELECT value FROM json_each(?1)";
// Of the candidates ?1, received from ?3 to ?4, those without such a delivery: their
// deliveries read once (the id range of that span) rather than again for each candidate.
const PURGEABLE = `${LISTED} WHERE value NOT IN (${eventsWithDelivery(LISTED, "?3", "?4", `(${OWED} OR (${GRACED}))`)})`;

const CHUNK_FIRST = "(SELECT min(received_at) FROM chunk)";
const CHUNK_LAST = "(SELECT max(received_at) FROM chunk)";

/** The retention's mark: every event before it was purged, or is kept for its grace period. */
export async function retentionMark(db: D1Database): Promise<RetentionCursor> {
  const row = await db.prepare("SELECT received_at, seq FROM retention_marks WHERE id = 0").first<{ received_at: number; seq: number }>();
  return row ? { receivedAt: row.received_at, seq: row.seq } : RETENTION_START;
}

const before = (a: RetentionCursor, b: RetentionCursor) => a.receivedAt < b.receivedAt || (a.receivedAt === b.receivedAt && a.seq < b.seq);

/**
 * One chunk of the retention pass over events received before `cutoff`, after
 * `from` (and up to `through`, inclusive): their held and pending deliveries
 * expire (nothing owed disappears silently), and the events with nothing owed and
 * no delivery expired since `graceCutoff` are deleted with their deliveries,
 * attempts and counts. The rest stay visible until the grace period is over. With
 * `mark`, the retention's mark moves past the chunk in the same transaction. One
 * read, then one transaction.
 */
export async function retentionStep(
  db: D1Database,
  opts: { cutoff: number; graceCutoff: number; from: RetentionCursor; through?: RetentionCursor; mark?: boolean; limit: number; now: number },
): Promise<RetentionStep> {
  const belowCutoff: RetentionCursor = { receivedAt: opts.cutoff - 1, seq: Number.MAX_SAFE_INTEGER };
  const upTo = opts.through && before(opts.through, belowCutoff) ? opts.through : belowCutoff;
  const { results } = await db
    .prepare(
      // (The chunk's deliveries read once for each question, along the id range of its span.)
      `WITH chunk AS MATERIALIZED (SELECT e.seq, e.received_at FROM events e
         WHERE e.received_at >= ?1 AND e.received_at <= ?3 AND (e.received_at > ?1 OR e.seq > ?4) AND (e.received_at < ?3 OR e.seq <= ?6)
         ORDER BY e.received_at, e.seq LIMIT ?5),
       owed AS MATERIALIZED (${eventsWithDelivery("SELECT seq FROM chunk", CHUNK_FIRST, CHUNK_LAST, OWED)}),
       graced AS MATERIALIZED (${eventsWithDelivery("SELECT seq FROM chunk", CHUNK_FIRST, CHUNK_LAST, GRACED)})
       SELECT seq, received_at, seq IN (SELECT event FROM owed) AS owed, seq IN (SELECT event FROM graced) AS graced
       FROM chunk ORDER BY received_at, seq`,
    )
    .bind(opts.from.receivedAt, opts.graceCutoff, upTo.receivedAt, opts.from.seq, opts.limit, upTo.seq)
    .all<{ seq: number; received_at: number; owed: number; graced: number }>();
  const last = results[results.length - 1];
  if (!last) return { expired: 0, expiredFor: [], purged: 0, next: null };
  const next = results.length < opts.limit ? null : { receivedAt: last.received_at, seq: last.seq };
  const markStatement = opts.mark
    ? db.prepare("UPDATE retention_marks SET received_at = ?1, seq = ?2 WHERE id = 0 AND (received_at, seq) < (?1, ?2)").bind(last.received_at, last.seq)
    : null;
  const owedSeqs = results.filter((r) => r.owed).map((r) => r.seq);
  const candidateSeqs = results.filter((r) => !r.owed && !r.graced).map((r) => r.seq);
  if (owedSeqs.length === 0 && candidateSeqs.length === 0) {
    // Every event of the chunk is kept for its grace: nothing to write but the mark.
    if (markStatement) await markStatement.run();
    return { expired: 0, expiredFor: [], purged: 0, next };
  }
  // The deliveries of some of the chunk's events lie in the id range of the times they span
  // (the chunk is in time order): from the first's to the last's; none, an empty range.
  const span = (seqs: number[]) => {
    const among = new Set(seqs);
    const times = results.filter((r) => among.has(r.seq)).map((r) => r.received_at);
    return times.length === 0 ? [0, -1] : [times[0]!, times[times.length - 1]!];
  };
  const [countExpired, expire] = transition(db, {
    where: `seq IN (${deliverySeqsOf(LISTED, "?2", "?3")}) AND ${from("expire")}`,
    binds: [JSON.stringify(owedSeqs), ...span(owedSeqs)],
    newStatus: to("expire"),
    set: "next_attempt_at = NULL, updated_at = ?4",
    setBinds: [opts.now],
    returning: "(SELECT name FROM names WHERE id = deliveries.webhook) AS webhook_uid",
  });
  const purged = `event IN (${PURGEABLE}) AND seq IN (${deliverySeqsOf(LISTED, "?3", "?4")})`;

  // The purge checks again inside the transaction: a delivery made meanwhile (a replay) keeps its event.
  const purgedAttempts = `SELECT webhook, object, started_at, error IS NULL AS ok
    FROM (${attemptsOfSql(`SELECT seq, attempts, webhook, object FROM deliveries WHERE ${purged}`, ["webhook", "object"])})`;
  const purgedEvents = `${COUNTED_EVENTS} WHERE seq IN (${PURGEABLE})`;
  const candidates = JSON.stringify(candidateSeqs);
  const purgeBinds = [candidates, opts.graceCutoff, ...span(candidateSeqs)];
  const deleteEvents = db.prepare(`DELETE FROM events WHERE seq IN (${PURGEABLE})`).bind(...purgeBinds);
  const stmts = [
    countExpired,
    expire,
    attemptCountsStatement(db, purgedAttempts, purgeBinds, -1),
    dropEmptyAttemptCountsStatement(db, purgedAttempts, purgeBinds),
    deliveryCountsStatement(db, `SELECT webhook, object, status AS old_status, NULL AS new_status FROM deliveries WHERE ${purged}`, purgeBinds),
    // (A deleted webhook's row goes with its last delivery.)
    dropDeletedDeliveryCountsStatement(db, `SELECT webhook FROM deliveries WHERE ${purged}`, purgeBinds),
    // Taken off the counters once the retention is past their hours (applyRetentionPurges).
    eventCountPurgeStatement(db, purgedEvents, purgeBinds),
    db.prepare(`DELETE FROM attempts WHERE delivery IN (SELECT seq FROM deliveries WHERE ${purged})`).bind(...purgeBinds),
    dropDeadLettersStatement(db, `SELECT ${apiIdSql("dlv_", "id")} FROM deliveries WHERE ${purged}`, purgeBinds),
    // (Before the deliveries go: their packed rows are found, and written again without them, by their seqs.)
    ...dropPackedStatements(db, DELIVERY_WEBHOOKS, `SELECT seq AS value FROM deliveries WHERE ${purged}`, purgeBinds),
    db.prepare(`DELETE FROM deliveries WHERE ${purged}`).bind(...purgeBinds),
    // (After the deliveries: each candidate whose deliveries went is PURGEABLE still.)
    db.prepare(dropStraysSql(PURGEABLE)).bind(...purgeBinds),
    deleteEvents,
    dropGroupsStatement(db, candidates),
    ...dropPlacesStatements(db, candidates),
    ...(markStatement ? [markStatement] : []),
  ];
  // (Typed as the expiry's RETURNING rows, the one statement whose rows are read.)
  const done = await db.batch<{ webhook_uid: string }>(stmts);
  const changes = (stmt: D1PreparedStatement) => done[stmts.indexOf(stmt)]?.meta.changes ?? 0;
  return {
    expired: changes(expire),
    expiredFor: [...new Set((done[stmts.indexOf(expire)]?.results ?? []).map((r) => r.webhook_uid))],
    purged: changes(deleteEvents),
    next,
  };
}

/**
 * Takes the retention's purges off the event counters (counters.ts) once it is past their hours:
 * those before the hour of the first event after its mark (every one when none is left), which
 * the main pass purges in order; the chunks of an hour share one application, and the grace's
 * purges behind the mark are applied by the next call. Answers how many were applied. Reads a
 * few rows: the purges waiting, the mark and an event.
 */
export async function applyRetentionPurges(db: D1Database): Promise<number> {
  const firstAfterMark = `SELECT e.received_at FROM retention_marks m JOIN events e ON e.received_at >= m.received_at
    WHERE m.id = 0 AND (e.received_at > m.received_at OR e.seq > m.seq) ORDER BY e.received_at, e.seq LIMIT 1`;
  return applyEventCountPurges(db, `coalesce(CAST((${firstAfterMark}) AS INTEGER) / ${HOUR_MS}, ${Number.MAX_SAFE_INTEGER})`, []);
}
