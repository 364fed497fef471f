import { dlvKey, evtKey } from "./delivery-rows";
import { jsonOrNull } from "./stored-json";
import { statusCode } from "./transitions";

/** A dead letter to record: the message as it was queued, as JSON text. */
export interface NewDeadLetter {
  queue: string;
  messageId: string;
  eventId: string | null;
  deliveryId: string | null;
  reason: string | null;
  body: string;
  attempts: number;
  receivedAt: number;
}

/** A recorded dead letter, its message parsed: null when what is stored is not JSON (a row written by hand), so one such row cannot fail a list. */
export interface DeadLetter extends Omit<NewDeadLetter, "body"> {
  seq: number;
  message: unknown;
  replayedAt: number | null;
  /** A replay's claim holds it (claimIngestLetter): `replayedAt` is the claim's time, and the replay may yet fail and let it go. */
  replaying: boolean;
  /** Its event's receipt time while the event is stored (what the retention counts from), else null. */
  eventReceivedAt: number | null;
}

/** A dead letter read without its message (a list that does not show it). */
export type DeadLetterSummary = Omit<DeadLetter, "message">;

interface Row {
  seq: number;
  queue: string;
  message_id: string;
  event_id: string | null;
  delivery_id: string | null;
  reason: string | null;
  body: string;
  attempts: number;
  received_at: number;
  replayed_at: number | null;
  event_received_at: number | null;
}

/** The columns of a letter but its message (`body`, up to the queue's message size): a list that does not show it leaves it unread. */
const SUMMARY_COLUMNS = "seq, queue, message_id, event_id, delivery_id, reason, attempts, received_at, replayed_at";
/** Its event's receipt time, read by the event's key (one row a letter). */
const EVENT_RECEIVED = `(SELECT received_at FROM events WHERE id = ${evtKey("dead_letters.event_id")}) AS event_received_at`;

const toSummary = (r: Omit<Row, "body">): DeadLetterSummary => ({
  seq: r.seq,
  queue: r.queue,
  messageId: r.message_id,
  eventId: r.event_id,
  deliveryId: r.delivery_id,
  reason: r.reason,
  attempts: r.attempts,
  receivedAt: r.received_at,
  // A replay's claim (claimIngestLetter) holds the negative of its time until it settles.
  replayedAt: r.replayed_at === null ? null : Math.abs(r.replayed_at),
  replaying: r.replayed_at !== null && r.replayed_at < 0,
  eventReceivedAt: r.event_received_at,
});

const toDeadLetter = (r: Row): DeadLetter => ({ ...toSummary(r), message: jsonOrNull(r.body) });

/**
 * Records dead letters in one transaction. A message already recorded (same
 * message id) is left alone; a delivery keeps one record: its new failure updates
 * that record and opens it again.
 */
export async function recordDeadLetters(db: D1Database, letters: NewDeadLetter[]): Promise<void> {
  if (letters.length === 0) return;
  await db.batch(letters.map((l) => recordDeadLetterStatement(db, l)));
}

/**
 * Records letters parked in R2 by a version that still sent deliveries through a queue (a delivery's
 * failure, from before), as `recordDeadLetters` does, but a delivery's only while it is still failed
 * (or gone, purged with its event: an open letter says so) and has no letter yet: one retried since,
 * which succeeded or is owed again, had its letter closed by that retry, and a letter it has is of a
 * later failure; this old one must neither open the first again nor write over the second.
 */
export async function recordParkedLetters(db: D1Database, letters: NewDeadLetter[]): Promise<void> {
  const stillFailed = (n: number) => ({
    sql: `NOT EXISTS (SELECT 1 FROM deliveries WHERE id = ${dlvKey("?4")} AND status <> ?${n})
      AND NOT EXISTS (SELECT 1 FROM dead_letters WHERE delivery_id = ?4)`,
    binds: [statusCode("failed")],
  });
  if (letters.length > 0) await db.batch(letters.map((l) => recordDeadLetterStatement(db, l, stillFailed)));
}

/** Records one dead letter, as `recordDeadLetters` does, for a caller's own transaction. */
export function recordDeadLetterStatement(
  db: D1Database,
  l: NewDeadLetter,
  /** A condition on the database, its parameters numbered from `first`: the letter is recorded only if it holds. */
  onlyIf: (first: number) => { sql: string; binds: unknown[] } = () => ({ sql: "true", binds: [] }),
): D1PreparedStatement {
  const condition = onlyIf(9);
  return db
        .prepare(
          `INSERT INTO dead_letters (queue, message_id, event_id, delivery_id, reason, body, attempts, received_at)
           SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8 WHERE ${condition.sql}
           ON CONFLICT (message_id) DO NOTHING
           ON CONFLICT (delivery_id) WHERE delivery_id IS NOT NULL DO UPDATE SET
             queue = excluded.queue, message_id = excluded.message_id, event_id = excluded.event_id,
             reason = excluded.reason, body = excluded.body, attempts = excluded.attempts,
             received_at = excluded.received_at, replayed_at = NULL`,
        )
        .bind(l.queue, l.messageId, l.eventId, l.deliveryId, l.reason, l.body, l.attempts, l.receivedAt, ...condition.binds);
}

/**
 * Closes the open dead letters of the deliveries a subquery selects (they are
 * being retried): run it in the same transaction as the retry itself.
 */
export function closeDeadLettersStatement(
  db: D1Database,
  deliveryIdsSql: string,
  binds: unknown[],
  now: number,
): D1PreparedStatement {
  return db
    .prepare(`UPDATE dead_letters SET replayed_at = ? WHERE replayed_at IS NULL AND delivery_id IN (${deliveryIdsSql})`)
    .bind(now, ...binds);
}

/**
 * A replay's claim on its dead letter, for the transaction that retries the letter's delivery
 * (delivery-retry.ts): the letter, still open, is closed with the negative of the time (a mark
 * no committed row holds) if its delivery is among those a subquery selects; the retry then
 * goes on only while the letter holds that mark (`claimedSql`), and `settleClaimStatement`
 * writes the time. Transactions run one at a time, so of two replays of one letter only the
 * first to commit finds it open: the other retries nothing.
 */
export function claimDeadLetterStatement(
  db: D1Database,
  seq: number,
  now: number,
  deliveryIdsSql: string,
  binds: unknown[],
): D1PreparedStatement {
  return db
    .prepare(`UPDATE dead_letters SET replayed_at = ${-Math.trunc(now)} WHERE seq = ${Math.trunc(seq)} AND replayed_at IS NULL AND delivery_id IN (${deliveryIdsSql})`)
    .bind(...binds);
}

/** On any row: the letter `seq` holds the claim made at `now` in this transaction (claimDeadLetterStatement). */
export function claimedSql(seq: number, now: number): string {
  return `EXISTS (SELECT 1 FROM dead_letters WHERE seq = ${Math.trunc(seq)} AND replayed_at = ${-Math.trunc(now)})`;
}

/** Ends a claim: the letter is replayed at `now`. */
export function settleClaimStatement(db: D1Database, seq: number, now: number): D1PreparedStatement {
  return db.prepare("UPDATE dead_letters SET replayed_at = ?1 WHERE seq = ?2 AND replayed_at = ?3").bind(Math.trunc(now), Math.trunc(seq), -Math.trunc(now));
}

/**
 * Deletes the dead letters of the deliveries a subquery selects (the retention is
 * purging them with their event: nothing is left to replay), for that transaction.
 */
export function dropDeadLettersStatement(db: D1Database, deliveryIdsSql: string, binds: unknown[]): D1PreparedStatement {
  return db.prepare(`DELETE FROM dead_letters WHERE delivery_id IN (${deliveryIdsSql})`).bind(...binds);
}

/**
 * Deletes up to `limit` dead letters closed (replayed or retried) before `cutoff`,
 * oldest first: one range of dead_letters_open. An open one stays until it is
 * replayed, however old: an ingest dead letter holds an event D1 has not stored.
 */
export async function purgeClosedDeadLetters(db: D1Database, cutoff: number, limit: number): Promise<number> {
  const res = await db
    .prepare(
      `DELETE FROM dead_letters WHERE seq IN
         (SELECT seq FROM dead_letters WHERE replayed_at > 0 AND replayed_at < ? ORDER BY replayed_at, seq LIMIT ?)`,
    )
    .bind(cutoff, limit)
    .run();
  return res.meta.changes ?? 0;
}

/** A page of dead letters, newest first; with `withMessage: false`, without their messages (not read from D1). */
export async function listDeadLetters(
  db: D1Database,
  opts: { limit: number; before?: number; open?: boolean; withMessage?: boolean },
): Promise<{ letters: (DeadLetter | DeadLetterSummary)[]; nextBefore: number | null }> {
  const withMessage = opts.withMessage !== false;
  const { results } = await db
    .prepare(`SELECT ${withMessage ? "*" : SUMMARY_COLUMNS}, ${EVENT_RECEIVED} FROM dead_letters WHERE seq < ? ${opts.open ? "AND replayed_at IS NULL" : ""} ORDER BY seq DESC LIMIT ?`)
    .bind(opts.before ?? Number.MAX_SAFE_INTEGER, opts.limit + 1)
    .all<Row>();
  const rows = results.slice(0, opts.limit);
  const last = rows[rows.length - 1];
  return { letters: rows.map(withMessage ? toDeadLetter : toSummary), nextBefore: results.length > opts.limit && last ? last.seq : null };
}

export async function getDeadLetter(db: D1Database, seq: number): Promise<DeadLetter | null> {
  const row = await db.prepare(`SELECT *, ${EVENT_RECEIVED} FROM dead_letters WHERE seq = ?`).bind(seq).first<Row>();
  return row ? toDeadLetter(row) : null;
}

/** Deletes a dead letter someone handled otherwise (the open count follows: migration 0014's trigger); false when there is none. */
export async function deleteDeadLetter(db: D1Database, seq: number): Promise<boolean> {
  const res = await db.prepare("DELETE FROM dead_letters WHERE seq = ?").bind(seq).run();
  return (res.meta.changes ?? 0) > 0;
}

/**
 * Closes the open dead letters of these queue messages (their ids) as replayed at `now`: parked
 * copies the maintenance run put back on their queue, which D1 may have recorded after all (a
 * commit whose answer was lost).
 */
export async function markMessagesReplayed(db: D1Database, messageIds: string[], now = Date.now()): Promise<void> {
  if (messageIds.length === 0) return;
  await db
    // By the message ids' unique index (`+`: not along dead_letters_open, which holds every open letter).
    .prepare("UPDATE dead_letters SET replayed_at = ?1 WHERE +replayed_at IS NULL AND message_id IN (SELECT value FROM json_each(?2))")
    .bind(now, JSON.stringify(messageIds))
    .run();
}

/**
 * An ingest letter's replay claims it before its message is queued: the open letter takes the
 * negative of the time (closed to every other replay and to the open count, read as that time).
 * One UPDATE is atomic in D1, so of two replays at once only one changes the row: true for it.
 * The claim then settles (the queue took the message: settleIngestClaim) or is let go
 * (it did not: releaseIngestClaim); one neither, its replay cut short, is reopened by
 * reopenStaleClaims.
 */
export async function claimIngestLetter(db: D1Database, seq: number, now: number): Promise<boolean> {
  const res = await db.prepare("UPDATE dead_letters SET replayed_at = ?1 WHERE seq = ?2 AND replayed_at IS NULL").bind(-Math.trunc(now), seq).run();
  return (res.meta.changes ?? 0) > 0;
}

/** The claim made at `now` settles: the letter is replayed at `now`. */
export async function settleIngestClaim(db: D1Database, seq: number, now: number): Promise<void> {
  await settleClaimStatement(db, seq, now).run();
}

/** The claim made at `now` is let go: the letter is open again (its message was not queued). */
export async function releaseIngestClaim(db: D1Database, seq: number, now: number): Promise<void> {
  await db.prepare("UPDATE dead_letters SET replayed_at = NULL WHERE seq = ?1 AND replayed_at = ?2").bind(seq, -Math.trunc(now)).run();
}

/**
 * Reopens the letters claimed before `before` and never settled nor let go (a replay cut short
 * between its claim and its end, or D1 failing both): whether the queue took the message is not
 * known, so the letter is open to be replayed again (its event is stored once however often it
 * is queued) rather than closed with its message perhaps never queued. A range of dead_letters_open.
 */
export async function reopenStaleClaims(db: D1Database, before: number): Promise<number> {
  const res = await db.prepare("UPDATE dead_letters SET replayed_at = NULL WHERE replayed_at < 0 AND replayed_at > ?1").bind(-Math.trunc(before)).run();
  return res.meta.changes ?? 0;
}
