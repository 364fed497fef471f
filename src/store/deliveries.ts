// Deliveries made, their attempts recorded, and transition(): every other status change goes
// through it with its counts, here (hold, expire, release) and in delivery-retry.ts (retry),
// webhooks.ts (a confinement's expiry) and retention.ts (the retention's), which also deletes them.
import type { DeliveryStatus, NewDelivery } from "../domain/delivery";
import type { Attempt } from "../domain/types";
import { confinementAllowsSql } from "./access";
import { attemptRecordedSql, withAttemptSql } from "./attempts";
import { attemptCountsStatement, deliveryCountsStatement, statusSum } from "./counters";
import { recordDeadLetterStatement, type NewDeadLetter } from "./dead-letters";
import { dlvKey, evtKey } from "./delivery-rows";
import { INSERT_DELIVERY_WEBHOOKS } from "./delivery-webhooks";
import { chunksOf } from "./chunks";
import { distinctBy } from "./distinct";
import { attemptsHealthStatement } from "./health";
import { apiIdSql, learnNamesStatement, nameIdSql } from "./names";
import { fresh, from, into, owed, owedAnew, retrying, statusCode, statusOfCode, to } from "./transitions";
import { atVersionSql, failingSinceSql, goneSql } from "./webhook-version";

/**
 * Creates deliveries with their counts; their events must be stored (or stored earlier
 * in the same transaction). Each is held or pending as its webhook is when stored
 * (disabled or not), whatever the caller read. A routed delivery is made only with the
 * copy of its event stored now: its event must be one of the `insertedEvents` the
 * transaction's event inserts, just before, were given and stored (a provider's second
 * copy, received at another time, finds it stored and owes nothing; a message delivered
 * again after its batch committed, or replayed from a dead letter, is not routed again
 * by the webhooks as they are now: one whose types or filter changed since was not owed
 * it). Every one must carry its event's receipt time as stored, which its id starts with
 * (event-deliveries.ts): one given another is not made. Any delivery whose id exists is left as it is.
 */
export function insertDeliveriesStatements(db: D1Database, given: NewDelivery[], insertedEvents = 0, horizon = 0): D1PreparedStatement[] {
  const deliveries = distinctBy(given, (d) => d.id);
  // A bound value is at most 2,000,000 bytes on D1 (docs/testing.md; ~150 bytes a delivery),
  // which the local runtime does not enforce: a batch owed more goes in chunks.
  return chunksOf(deliveries, DELIVERIES_PER_STATEMENT).flatMap((chunk) => insertChunkStatements(db, chunk, insertedEvents, horizon));
}

/** Deliveries one statement inserts at most: ~750 KB of JSON. */
const DELIVERIES_PER_STATEMENT = 5_000;

function insertChunkStatements(db: D1Database, deliveries: NewDelivery[], insertedEvents: number, horizon: number): D1PreparedStatement[] {
  const rows = JSON.stringify(deliveries.map((d) => [d.id, d.eventId, d.webhookUid, d.createdAt, d.eventReceivedAt, d.kind === "routed" ? 1 : 0]));
  // The events this transaction stored hold the last ?2 positions of the events table's
  // sequence: its insert takes one for each event it is given, stored before or not.
  const storedNow = "e.seq > (SELECT seq FROM sqlite_sequence WHERE name = 'events') - ?2";
  // Only for a webhook that still exists and is still owed the event: one deleted since the
  // caller read it owes nothing, nor one confined meanwhile to another organization.
  // Only with its event's receipt time, which its id starts with: where readers look for it (event-deliveries.ts).
  const owed = `FROM json_each(?1) j JOIN events e ON e.id = ${evtKey("j.value->>1")} JOIN webhooks w ON w.uid = j.value->>2
    WHERE e.received_at = j.value->>4 AND (j.value->>5 = 0 OR ${storedNow}) AND ${confinementAllowsSql("w", "e")}`;
  const held = "w.disabled = 1";
  // Of an event received before the retention's horizon (?3: stored late, or replayed in its grace): expired at once,
  // never sent, kept visible for the grace as any delivery the retention expires.
  const status = `CASE WHEN j.value->>4 < ?3 THEN ${to("expire")} ELSE ${owedAnew(held)} END`;
  const names = learnNamesStatement(db, deliveries.map((d) => d.webhookUid));
  return [
    ...(names ? [names] : []),
    deliveryCountsStatement(
      db,
      `SELECT ${nameIdSql("j.value->>2")} AS webhook, e.object, NULL AS old_status, ${status} AS new_status ${owed}
         AND NOT EXISTS (SELECT 1 FROM deliveries WHERE id = ${dlvKey("j.value->>0")})`,
      [rows, insertedEvents, Math.trunc(horizon)],
    ),
    db
      .prepare(
        `INSERT INTO deliveries (id, event, webhook, object, status, attempt_count, next_attempt_at, created_at, updated_at, event_received_at)
         SELECT ${dlvKey("j.value->>0")}, e.seq, ${nameIdSql("j.value->>2")}, e.object, ${status}, 0,
           CASE WHEN ${held} OR j.value->>4 < ?3 THEN NULL ELSE j.value->>3 END, j.value->>3, j.value->>3, j.value->>4
         ${owed} ORDER BY j.key
         ON CONFLICT DO NOTHING`,
      )
      .bind(rows, insertedEvents, Math.trunc(horizon)),
    // Whose they are, for the lists and retries by webhook: a row for the group (delivery-webhooks.ts).
    db.prepare(INSERT_DELIVERY_WEBHOOKS).bind(deliveries.length),
  ];
}

/** Of the given ids, those pending and never attempted: the ones whose scheduler is owed a wake-up. */
export function unattemptedPendingStatement(db: D1Database, ids: string[]): D1PreparedStatement {
  return db
    .prepare(
      `SELECT ${apiIdSql("dlv_", "id")} AS id FROM deliveries
       WHERE id IN (SELECT ${dlvKey("value")} FROM json_each(?)) AND status = ${statusCode("pending")} AND attempt_count = 0
       ORDER BY seq`,
    )
    .bind(JSON.stringify(ids));
}

/**
 * Creates deliveries (replay) in one transaction, in the given order; returns those
 * stored, in order (not one for a webhook deleted meanwhile), each with the status it
 * was stored in.
 */
export async function insertDeliveries(db: D1Database, deliveries: NewDelivery[], horizon = 0): Promise<(NewDelivery & { status: DeliveryStatus })[]> {
  if (deliveries.length === 0) return [];
  // (Typed as the last statement's rows, as storeEvents reads its own.)
  const results = await db.batch<{ id: string; status: number }>([
    ...insertDeliveriesStatements(db, deliveries, 0, horizon),
    db
      .prepare(`SELECT ${apiIdSql("dlv_", "id")} AS id, status FROM deliveries WHERE id IN (SELECT ${dlvKey("value")} FROM json_each(?))`)
      .bind(JSON.stringify(deliveries.map((d) => d.id))),
  ]);
  const stored = new Map((results.at(-1)?.results ?? []).map((r) => [r.id, statusOfCode(r.status)]));
  return deliveries.flatMap((d) => {
    const status = stored.get(d.id);
    return status === undefined ? [] : [{ ...d, status }];
  });
}

/**
 * A status change of the deliveries `where` selects (a condition on a
 * `deliveries` row, `?` binds first), with its counts: the same selection, once
 * to count and once to change, in one transaction.
 */
export function transition(
  db: D1Database,
  o: { where: string; binds: unknown[]; newStatus: string; newStatusReads?: boolean; set: string; setBinds?: unknown[]; returning?: string },
): [D1PreparedStatement, D1PreparedStatement] {
  return [
    deliveryCountsStatement(
      db,
      `SELECT webhook, object, status AS old_status, ${o.newStatus} AS new_status FROM deliveries WHERE ${o.where}`,
      o.binds,
      o.newStatusReads,
    ),
    db
      .prepare(`UPDATE deliveries SET status = ${o.newStatus}, ${o.set} WHERE ${o.where}${o.returning ? ` RETURNING ${o.returning}` : ""}`)
      .bind(...o.binds, ...(o.setBinds ?? [])),
  ];
}

// A webhook's (`?1` its uid) pending deliveries: those pending a retry and the fresh ones
// (migration 0033); and its owed ones, every range of its owed index. Another index led by the
// webhook (the failed ones', once (webhook, seq)) would walk far more; the planner, knowing no
// sizes, may take it over these partial indexes unless told.
const PENDING_OF_WEBHOOK = `SELECT seq FROM deliveries INDEXED BY deliveries_pending_due WHERE webhook = ${nameIdSql("?1")} AND ${retrying()}
  UNION ALL SELECT seq FROM deliveries INDEXED BY deliveries_owed_in_order WHERE webhook = ${nameIdSql("?1")} AND ${owed()} AND ${fresh()} = 1`;
const OWED_OF_WEBHOOK = `SELECT seq FROM deliveries INDEXED BY deliveries_owed_in_order WHERE webhook = ${nameIdSql("?1")} AND ${owed()}`;

/**
 * Deliveries one transaction holds of a disabled webhook at most: one down for days at a busy
 * account's volume has millions pending, past what one statement may take (D1 stops one after 30 s).
 * The rest is held by its scheduler (holdWebhook) or the maintenance run (holdDisabledPending), this
 * many at a time; meanwhile nothing pending is sent, as the scheduler reads nothing due of a disabled
 * webhook (scheduler-reads.ts).
 */
export const HOLD_CHUNK = 50_000;

/**
 * Holds pending deliveries of a webhook (it is disabled), `limit` at most (HOLD_CHUNK): they go out when
 * it is enabled. For the caller's transaction, only while the webhook row is still at `version`
 * (webhook-version.ts), and with `failingSince` its failing streak. A hold asks for nothing, so it keeps
 * `updated_at`: whether the delivery was owed anew (retried by hand, released) while an attempt was out,
 * which that attempt's recording reads (recordAttempts), survives it. The count and the change select
 * the same rows: the indexes' order, never sorted.
 */
export function holdWebhookStatements(db: D1Database, webhookUid: string, version: number, failingSince?: number, limit = HOLD_CHUNK): D1PreparedStatement[] {
  const guards = [
    { sql: atVersionSql("?1", "?2"), bind: version },
    ...(failingSince === undefined ? [] : [{ sql: failingSinceSql("?1", "?3"), bind: failingSince }]),
  ];
  return transition(db, {
    where: [`seq IN (${PENDING_OF_WEBHOOK} LIMIT ${Math.trunc(limit)})`, from("hold"), ...guards.map((g) => g.sql)].join(" AND "),
    binds: [webhookUid, ...guards.map((g) => g.bind)],
    newStatus: to("hold"),
    set: "next_attempt_at = NULL",
  });
}

/**
 * Holds up to `limit` pending deliveries of a disabled webhook while it is still at `version` (as
 * holdWebhookStatements), on its own. Answers how many, and the webhook's version as the transaction
 * found it (null: deleted): another than `version` when it changed meanwhile, and nothing was held.
 */
export async function holdPending(db: D1Database, webhookUid: string, version: number, limit = HOLD_CHUNK): Promise<{ held: number; version: number | null }> {
  const results = await db.batch<{ updated_at: number }>([
    ...holdWebhookStatements(db, webhookUid, version, undefined, limit),
    db.prepare("SELECT updated_at FROM webhooks WHERE uid = ?").bind(webhookUid),
  ]);
  return { held: results.at(-2)?.meta.changes ?? 0, version: results.at(-1)?.results[0]?.updated_at ?? null };
}

/**
 * The disabled webhooks that still have pending deliveries (a disable holds HOLD_CHUNK at once), with
 * their version: from their counts, a row per webhook.
 */
export async function disabledWithPending(db: D1Database, limit: number): Promise<{ uid: string; version: number; pending: number }[]> {
  const { results } = await db
    .prepare(
      `SELECT w.uid, w.updated_at AS version, ${statusSum("pending")} AS pending FROM webhooks w JOIN names n ON n.name = w.uid JOIN delivery_counts c ON c.webhook = n.id
       WHERE w.disabled = 1 AND pending > 0 LIMIT ?`,
    )
    .bind(limit)
    .all<{ uid: string; version: number; pending: number }>();
  return results;
}

/**
 * Deliveries one transaction expires of a deleted webhook at most: a webhook held for days at a
 * busy account's volume is owed millions, past what one statement may take (D1 stops one after
 * 30 s); the maintenance run expires the rest (expireDeletedOwed), this many at a time.
 */
export const EXPIRE_CHUNK = 50_000;

/**
 * Expires what a webhook is still owed (it is being deleted, or was), `limit` at most, in its
 * owed index's order (the count and the change select the same rows), for the caller's transaction.
 */
export function expireWebhookStatements(db: D1Database, webhookUid: string, now: number, limit = EXPIRE_CHUNK): D1PreparedStatement[] {
  return transition(db, {
    // Only once the webhook is gone: a delete at a version may delete nothing.
    where: `seq IN (${OWED_OF_WEBHOOK} AND ${from("expire")} ORDER BY ${fresh()}, event_received_at, seq LIMIT ${Math.trunc(limit)}) AND ${goneSql("?1")}`,
    binds: [webhookUid],
    newStatus: to("expire"),
    set: "next_attempt_at = NULL, updated_at = ?2",
    setBinds: [now],
  });
}

/** Expires up to `limit` of what a deleted webhook is still owed, in one transaction; answers how many. */
export async function expireOwedOfDeleted(db: D1Database, webhookUid: string, now: number, limit = EXPIRE_CHUNK): Promise<number> {
  const done = await db.batch(expireWebhookStatements(db, webhookUid, now, limit));
  return done.at(-1)?.meta.changes ?? 0;
}

/**
 * The deleted webhooks still owed something (a delete expires EXPIRE_CHUNK at once), from
 * their counts: one row per webhook ever made, never their deliveries.
 */
export async function deletedWithOwed(db: D1Database, limit: number): Promise<{ uid: string; owed: number }[]> {
  const { results } = await db
    .prepare(
      `SELECT n.name AS uid, ${statusSum("held")} + ${statusSum("pending")} AS owed FROM delivery_counts c JOIN names n ON n.id = c.webhook
       WHERE owed > 0 AND NOT EXISTS (SELECT 1 FROM webhooks w WHERE w.uid = n.name)
       LIMIT ?`,
    )
    .bind(limit)
    .all<{ uid: string; owed: number }>();
  return results;
}

/**
 * Expires the deliveries of `ids` still owed whose event was received before `horizon`: past the
 * retention, they are never sent (a scheduler finds one owed again by a retry or a release before
 * the maintenance run expired it). Answers the ids of those it expired, for the scheduler's log.
 */
export async function expirePastRetention(db: D1Database, ids: string[], horizon: number, now: number): Promise<string[]> {
  const statements = transition(db, {
    where: `id IN (SELECT ${dlvKey("value")} FROM json_each(?1)) AND ${from("expire")} AND (SELECT e.received_at FROM events e WHERE e.seq = deliveries.event) < ?2`,
    binds: [JSON.stringify(ids), Math.trunc(horizon)],
    newStatus: to("expire"),
    set: "next_attempt_at = NULL, updated_at = ?3",
    setBinds: [Math.trunc(now)],
    returning: `${apiIdSql("dlv_", "id")} AS id`,
  });
  const done = await db.batch<{ id: string }>(statements);
  return (done.at(-1)?.results ?? []).map((r) => r.id);
}

/** An attempt and the delivery's state after it; a delivery failed for good carries its dead letter. */
export interface AttemptOutcome {
  attempt: Attempt;
  /**
   * The delivery's updated_at as the scheduler read it before the attempt: whether it was owed anew
   * since is told by it, whatever the clocks (recordAttempts). Absent: by time alone.
   */
  readVersion?: number;
  status: "pending" | "succeeded" | "failed";
  nextAttemptAt: number | null;
  deadLetter: NewDeadLetter | null;
}

/**
 * A delivery's updated_at when it is owed anew (retried by hand, released) at `now`: later than
 * what it was, even within one millisecond, so an attempt out meanwhile sees that it was asked
 * for again whatever the clock's resolution (recordAttempts' askedAgain).
 */
export const OWED_ANEW_AT = (now: string) => `max(${now}, updated_at + 1)`;

/**
 * Records a webhook's attempts, their deliveries' new states, the dead letters of
 * those failed for good, the counts and the webhook's health (store/health.ts), all
 * in one transaction, then runs `then` in it (a read of what the batch left). Each
 * update applies only if no other attempt was recorded meanwhile (a duplicate), so a
 * delivery's count and status, the counts and the health stay consistent, and only to
 * a delivery still pending, or held meanwhile if the attempt settles it (an attempt
 * leaving it owed is recorded and it stays held). One retried by hand meanwhile stays
 * pending, due at once (or held, its webhook disabled since), unless the attempt succeeded.
 */
export async function recordAttempts<T = unknown>(
  db: D1Database,
  webhookUid: string,
  outcomes: AttemptOutcome[],
  then?: D1PreparedStatement,
): Promise<T | null> {
  const unique = distinctBy(outcomes, (o) => o.attempt.deliveryId);
  if (unique.length === 0) return null;
  const rows = JSON.stringify(
    unique.map((o) => {
      const a = o.attempt;
      return [a.deliveryId, a.number, a.startedAt, a.durationMs, a.statusCode, a.error, a.responseSnippet, statusCode(o.status), o.nextAttemptAt, o.readVersion ?? null];
    }),
  );
  const joined = `FROM json_each(?1) j JOIN deliveries d ON d.id = ${dlvKey("j.value->>0")}`;
  // An attempt is new unless a retried transaction recorded it already; its delivery's
  // state follows only if nothing else was recorded meanwhile.
  const unrecorded = (d: string) => `NOT ${attemptRecordedSql(d, "j.value->>1")}`;
  const newAttempts = `${joined} WHERE ${unrecorded("d")}`;
  // To a delivery still pending; or held or expired (its webhook disabled or deleted while the
  // attempt was out) when the attempt settles it, which then is not owed again.
  const settles = (t: "settleHeld" | "settleExpired", d: string, next: string) => `(${from(t, `${d}.status`)} AND ${into(t, next)})`;
  const applies = (d: string, number = "j.value->>1", next = "j.value->>7") =>
    `${d}.attempt_count = (${number}) - 1 AND (${from("attempt", `${d}.status`)} OR ${settles("settleHeld", d, next)} OR ${settles("settleExpired", d, next)})`;
  const ifApplies = (value: string, column: string) => `CASE WHEN ${applies("deliveries")} THEN ${value} ELSE ${column} END`;
  // Owed anew (retried by hand, or released) since the attempt began: a request for another
  // try made while this one was out stands. Short of success the delivery stays pending, due
  // when that request made it (or held, its webhook disabled since: a hold keeps updated_at),
  // and has not failed for good. A request is one only if the row changed since the scheduler read
  // it (a request always changes it: OWED_ANEW_AT), in the start's millisecond or later: the row
  // as read is none, even if written in that millisecond or ahead of it (made by a clock ahead of
  // this one, owed anew twice in a millisecond). Without the version read, by time alone.
  const askedAgain = (d: string, startedAt = "j.value->>2", next = "j.value->>7", read = "j.value->>9") =>
    `(${next} <> ${statusCode("succeeded")} AND ${owed(`${d}.status`)}
      AND CASE WHEN (${read}) IS NULL THEN ${d}.updated_at > (${startedAt}) ELSE ${d}.updated_at <> (${read}) AND ${d}.updated_at >= (${startedAt}) END)`;
  const statusAfter = (d: string) => `CASE WHEN ${askedAgain(d)} THEN ${d}.status ELSE j.value->>7 END`;
  const attempt = withAttemptSql("deliveries", ["j.value->>1", "j.value->>2", "j.value->>3", "j.value->>4", "j.value->>5", "j.value->>6"]);
  // A delivery failed for good only if its state follows the attempt: one expired, or owed
  // anew, while the attempt was out has not failed, and gets no dead letter.
  const failsForGood = (o: AttemptOutcome) => (n: number) => ({
    sql: `EXISTS (SELECT 1 FROM deliveries d WHERE d.id = ${dlvKey(`?${n}`)} AND ${applies("d", `?${n + 1}`, `?${n + 2}`)}
      AND NOT ${askedAgain("d", `?${n + 3}`, `?${n + 2}`, `?${n + 4}`)})`,
    binds: [o.attempt.deliveryId, o.attempt.number, statusCode(o.status), o.attempt.startedAt, o.readVersion ?? null],
  });
  const results = await db.batch<T>([
    ...unique.flatMap((o) => (o.deadLetter ? [recordDeadLetterStatement(db, o.deadLetter, failsForGood(o))] : [])),
    attemptCountsStatement(db, `SELECT d.webhook, d.object, j.value->>2 AS started_at, j.value->>5 IS NULL AS ok ${newAttempts}`, [rows], 1),
    attemptsHealthStatement(
      db,
      webhookUid,
      `SELECT j.key AS k, j.value->>2 AS started_at, (j.value->>2) + (j.value->>3) AS ended_at, j.value->>5 AS error,
         (j.value->>7) = ${statusCode("succeeded")} AS ok ${newAttempts}`,
      [rows],
    ),
    deliveryCountsStatement(db, `SELECT d.webhook, d.object, d.status AS old_status, ${statusAfter("d")} AS new_status ${joined} WHERE ${applies("d")}`, [rows]),
    db
      .prepare(
        `UPDATE deliveries SET attempts = CASE WHEN ${unrecorded("deliveries")} THEN ${attempt} ELSE attempts END,
           status = ${ifApplies(statusAfter("deliveries"), "status")},
           attempt_count = CASE WHEN ${applies("deliveries")} THEN j.value->>1 WHEN ${unrecorded("deliveries")} THEN max(attempt_count, j.value->>1) ELSE attempt_count END,
           next_attempt_at = ${ifApplies(`CASE WHEN ${askedAgain("deliveries")} THEN next_attempt_at ELSE j.value->>8 END`, "next_attempt_at")}, updated_at = ${ifApplies("(j.value->>2) + (j.value->>3)", "updated_at")}
         FROM json_each(?1) j WHERE deliveries.id = ${dlvKey("j.value->>0")} AND (${unrecorded("deliveries")} OR ${applies("deliveries")})`,
      )
      .bind(rows),
    ...(then ? [then] : []),
  ]);
  return then ? (results.at(-1)?.results[0] ?? null) : null;
}

/**
 * Releases the oldest held deliveries of a webhook, at most `limit`, in the order
 * their events were received, unless it is disabled: due since their events' receipt (at
 * `now` at the latest). Returns how many, and the receipt of the newest event released
 * (those still held are no older), if any. `known.heldFrom`: no held delivery's event was received
 * before it, if known (a scheduler's last release's `through`): the walk starts there, not at the
 * retries waiting ahead of the held ones in the range (as many as the released ones that failed).
 * Known only while the webhook is at `known.version`: changed since (disabled and enabled again, which
 * may have held older ones), none is released and the caller reads again.
 */
export async function releaseHeld(
  db: D1Database,
  webhookUid: string,
  limit: number,
  now = Date.now(),
  known: { heldFrom: number; version: number } | null = null,
): Promise<{ released: number; through: number | null }> {
  const start = known === null ? "" : ` AND d.event_received_at >= ${Math.trunc(known.heldFrom)}`;
  const atVersion = known === null ? "" : ` AND ${atVersionSql("?1", String(Math.trunc(known.version)))}`;
  const [, released] = await db.batch<{ r: number }>(
    transition(db, {
      where: `seq IN (
          SELECT d.seq FROM deliveries d WHERE d.webhook = ${nameIdSql("?1")} AND ${owed("d.status")} AND ${fresh("d")} = 0${start} AND ${from("release", "d.status")}
          ORDER BY d.event_received_at, d.seq LIMIT ?2)
        AND (SELECT w.disabled FROM webhooks w WHERE w.uid = ?1) = 0${atVersion}`,
      binds: [webhookUid, limit],
      newStatus: to("release"),
      // Due since its event's receipt (no later than ?3): owed anew, it goes by its receipt (duePending), and a
      // tried one is read along deliveries_pending_due by its due time. Due at ?3, behind every retry due
      // earlier, a page of those would crowd it out of the page and the scheduler would release the next ones.
      set: `next_attempt_at = min(?3, ifnull(event_received_at, ?3)), updated_at = ${OWED_ANEW_AT("?3")}`,
      setBinds: [now],
      returning: "event_received_at AS r",
    }),
  );
  const rows = released?.results ?? [];
  return { released: rows.length, through: rows.reduce<number | null>((max, row) => (max === null || row.r > max ? row.r : max), null) };
}

/** How many held deliveries one expiry pass takes at most (the next minute's takes the rest). */
const EXPIRE_LIMIT = 1000;

/** Held deliveries created before `cutoff` expire, at most `limit`. Returns how many. */
export async function expireHeld(db: D1Database, cutoff: number, now = Date.now(), limit = EXPIRE_LIMIT): Promise<number> {
  const [, res] = await db.batch(
    transition(db, {
      // Per webhook, the owed index's range of those not fresh (held ones among them) up to the
      // cutoff (a delivery is made after its event is received, so it holds every one due): what
      // is read is what expires, not every held delivery.
      where: `seq IN (SELECT d.seq FROM delivery_counts c CROSS JOIN deliveries d
        WHERE d.webhook = c.webhook AND ${owed("d.status")} AND ${fresh("d")} = 0 AND d.event_received_at < ?1
          AND d.status = ${statusCode("held")} AND d.created_at < ?1
        ORDER BY c.webhook, d.event_received_at, d.seq LIMIT ${Math.trunc(limit)})`, // the index order: no sort before the LIMIT
      binds: [cutoff],
      newStatus: to("expire"),
      set: "updated_at = ?2",
      setBinds: [now],
    }),
  );
  return res?.meta.changes ?? 0;
}
