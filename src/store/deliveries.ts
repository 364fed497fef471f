import { isLimited, type Access } from "../domain/access";
import { TRANSITIONS, type DeliveryStatus, type NewDelivery } from "../domain/delivery";
import type { Attempt, Delivery, StoredEvent } from "../domain/types";
import { accessNames, eventAccessIds, eventAccessSql, grantedWebhookIdsSql } from "./access";
import { attemptRecordedSql, attemptsOfSql, withAttemptSql } from "./attempts";
import { contentsOf } from "./contents";
import { attemptCountsStatement, deliveryColumn, deliveryCountsStatement, OBJECT_GROUPS } from "./counters";
import { closeDeadLettersStatement, recordDeadLetterStatement, type NewDeadLetter } from "./dead-letters";
import { attemptsHealthStatement } from "./health";
import { apiIdSql, idKeySql, learnNamesStatement, nameIdSql, nameIds } from "./names";
import { boundedScan, type Driver } from "./scan";
import { from, into, owed, owedAnew, status, statusCode, statusOfCode, to } from "./transitions";
import { atVersionSql, failingSinceSql } from "./webhook-version";

interface DeliveryRow {
  seq: number;
  id: string;
  event_id: string;
  webhook_uid: string;
  status: number;
  attempt_count: number;
  next_attempt_at: number | null;
  created_at: number;
  updated_at: number;
}

/** SELECT … FROM deliveries d with its ids and webhook spelled out: add WHERE, ORDER BY, LIMIT. */
const DELIVERY_SELECT = `SELECT d.seq, ${apiIdSql("dlv_", "d.id")} AS id, ${apiIdSql("evt_", "e.id")} AS event_id, wn.name AS webhook_uid,
    d.status, d.attempt_count, d.next_attempt_at, d.created_at, d.updated_at
  FROM deliveries d JOIN events e ON e.seq = d.event JOIN names wn ON wn.id = d.webhook`;

function toDelivery(r: DeliveryRow): Delivery {
  return {
    id: r.id,
    eventId: r.event_id,
    webhookUid: r.webhook_uid,
    status: statusOfCode(r.status),
    attemptCount: r.attempt_count,
    nextAttemptAt: r.next_attempt_at,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

const dlvKey = (expr: string) => idKeySql("dlv_", expr);
const evtKey = (expr: string) => idKeySql("evt_", expr);
/** The names.id of the webhooks that exist (not deleted). */
const EXISTING_WEBHOOKS = "SELECT n.id FROM webhooks w JOIN names n ON n.name = w.uid";

/**
 * Creates deliveries with their counts; their events must be stored (or stored earlier
 * in the same transaction). Each is held or pending as its webhook is when stored
 * (disabled or not), whatever the caller read. A routed delivery is made only with the
 * copy of its event stored now: its event must be one of the `insertedEvents` the
 * transaction's event inserts, just before, were given and stored (a provider's second
 * copy, received at another time, finds it stored and owes nothing; a message delivered
 * again after its batch committed, or replayed from a dead letter, is not routed again
 * by the webhooks as they are now: one whose types or filter changed since was not owed
 * it). Any delivery whose id exists is left as it is.
 */
export function insertDeliveriesStatements(db: D1Database, given: NewDelivery[], insertedEvents = 0): D1PreparedStatement[] {
  if (given.length === 0) return [];
  // One of each id (a batch may carry an event twice): the counts would take a repeat twice.
  const deliveries = [...new Map(given.map((d) => [d.id, d])).values()];
  const rows = JSON.stringify(deliveries.map((d) => [d.id, d.eventId, d.webhookUid, d.createdAt, d.eventReceivedAt, d.kind === "routed" ? 1 : 0]));
  // The events this transaction stored hold the last ?2 positions of the events table's
  // sequence: its insert takes one for each event it is given, stored before or not.
  const storedNow = "e.seq > (SELECT seq FROM sqlite_sequence WHERE name = 'events') - ?2";
  // Only for a webhook that still exists: one deleted since the caller read it owes nothing.
  const owed = `FROM json_each(?1) j JOIN events e ON e.id = ${evtKey("j.value->>1")} JOIN webhooks w ON w.uid = j.value->>2
    WHERE (j.value->>5 = 0 OR (e.received_at = j.value->>4 AND ${storedNow}))`;
  const held = "w.disabled = 1";
  return [
    learnNamesStatement(db, deliveries.map((d) => d.webhookUid))!,
    deliveryCountsStatement(
      db,
      `SELECT ${nameIdSql("j.value->>2")} AS webhook, e.object, NULL AS old_status, ${owedAnew(held)} AS new_status ${owed}
         AND NOT EXISTS (SELECT 1 FROM deliveries WHERE id = ${dlvKey("j.value->>0")})`,
      [rows, insertedEvents],
    ),
    db
      .prepare(
        `INSERT INTO deliveries (id, event, webhook, object, status, attempt_count, next_attempt_at, created_at, updated_at, event_received_at)
         SELECT ${dlvKey("j.value->>0")}, e.seq, ${nameIdSql("j.value->>2")}, e.object, ${owedAnew(held)}, 0,
           CASE WHEN ${held} THEN NULL ELSE j.value->>3 END, j.value->>3, j.value->>3, j.value->>4
         ${owed} ORDER BY j.key
         ON CONFLICT DO NOTHING`,
      )
      .bind(rows, insertedEvents),
  ];
}

/** Of the given ids, those pending and never attempted: the ones whose scheduler is owed a wake-up. */
export function unattemptedPendingStatement(db: D1Database, ids: string[]): D1PreparedStatement {
  return db
    .prepare(
      `SELECT ${apiIdSql("dlv_", "id")} AS id FROM deliveries
       WHERE id IN (SELECT ${dlvKey("value")} FROM json_each(?)) AND status = ${status("pending")} AND attempt_count = 0
       ORDER BY seq`,
    )
    .bind(JSON.stringify(ids));
}

/**
 * Creates deliveries (replay) in one transaction, in the given order; returns those
 * stored, in order (not one for a webhook deleted meanwhile), each with the status it
 * was stored in.
 */
export async function insertDeliveries(db: D1Database, deliveries: NewDelivery[]): Promise<(NewDelivery & { status: DeliveryStatus })[]> {
  if (deliveries.length === 0) return [];
  // (Typed as the last statement's rows, as storeEvents reads its own.)
  const results = await db.batch<{ id: string; status: number }>([
    ...insertDeliveriesStatements(db, deliveries),
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
function transition(
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

// A webhook's pending, and owed, deliveries (`?1` its uid): add conditions. The (webhook, seq)
// index would walk every delivery it has; the planner, knowing no sizes, takes it over
// these partial indexes unless told.
const PENDING_OF_WEBHOOK = `SELECT seq FROM deliveries INDEXED BY deliveries_pending_due WHERE webhook = ${nameIdSql("?1")} AND status = ${status("pending")}`;
const OWED_OF_WEBHOOK = `SELECT seq FROM deliveries INDEXED BY deliveries_owed_in_order WHERE webhook = ${nameIdSql("?1")} AND ${owed()}`;

/**
 * Holds every pending delivery of a webhook (it is disabled): they go out when it is enabled. For the caller's transaction,
 * only while the webhook row is still at `version` (webhook-version.ts), and with `failingSince` its failing streak.
 */
export function holdWebhookStatements(db: D1Database, webhookUid: string, now: number, version: number, failingSince?: number): D1PreparedStatement[] {
  const guards = [
    { sql: atVersionSql("?1", "?2"), bind: version },
    ...(failingSince === undefined ? [] : [{ sql: failingSinceSql("?1", "?3"), bind: failingSince }]),
  ];
  return transition(db, {
    where: [`seq IN (${PENDING_OF_WEBHOOK} AND ${from("hold")})`, ...guards.map((g) => g.sql)].join(" AND "),
    binds: [webhookUid, ...guards.map((g) => g.bind)],
    newStatus: to("hold"),
    set: `next_attempt_at = NULL, updated_at = ?${guards.length + 2}`,
    setBinds: [now],
  });
}

/**
 * Holds every pending delivery of a disabled webhook while it is still at `version` (as
 * holdWebhookStatements), on its own. Answers the webhook's version as the transaction
 * found it (null: deleted): another than `version` when it changed meanwhile, and nothing
 * was held.
 */
export async function holdPending(db: D1Database, webhookUid: string, now: number, version: number): Promise<{ version: number | null }> {
  const results = await db.batch<{ updated_at: number }>([
    ...holdWebhookStatements(db, webhookUid, now, version),
    db.prepare("SELECT updated_at FROM webhooks WHERE uid = ?").bind(webhookUid),
  ]);
  return { version: results.at(-1)?.results[0]?.updated_at ?? null };
}

/** Expires what a webhook is still owed (it is being deleted), for the caller's transaction. */
export function expireWebhookStatements(db: D1Database, webhookUid: string, now: number): D1PreparedStatement[] {
  return transition(db, {
    where: `seq IN (${OWED_OF_WEBHOOK} AND ${from("expire")})`,
    binds: [webhookUid],
    newStatus: to("expire"),
    set: "next_attempt_at = NULL, updated_at = ?2",
    setBinds: [now],
  });
}

/** An attempt and the delivery's state after it; a delivery failed for good carries its dead letter. */
export interface AttemptOutcome {
  attempt: Attempt;
  status: "pending" | "succeeded" | "failed";
  nextAttemptAt: number | null;
  deadLetter: NewDeadLetter | null;
}

/**
 * Records a webhook's attempts, their deliveries' new states, the dead letters of
 * those failed for good, the counts and the webhook's health (store/health.ts), all
 * in one transaction, then runs `then` in it (a read of what the batch left). Each
 * update applies only if no other attempt was recorded meanwhile (a duplicate), so a
 * delivery's count and status, the counts and the health stay consistent, and only to
 * a delivery still pending, or held meanwhile if the attempt settles it (an attempt
 * leaving it owed is recorded and it stays held).
 */
export async function recordAttempts<T = unknown>(
  db: D1Database,
  webhookUid: string,
  outcomes: AttemptOutcome[],
  then?: D1PreparedStatement,
): Promise<T | null> {
  const seen = new Set<string>();
  const unique = outcomes.filter((o) => !seen.has(o.attempt.deliveryId) && seen.add(o.attempt.deliveryId) !== undefined);
  if (unique.length === 0) return null;
  const rows = JSON.stringify(
    unique.map((o) => {
      const a = o.attempt;
      return [a.deliveryId, a.number, a.startedAt, a.durationMs, a.statusCode, a.error, a.responseSnippet, statusCode(o.status), o.nextAttemptAt];
    }),
  );
  const joined = `FROM json_each(?1) j JOIN deliveries d ON d.id = ${dlvKey("j.value->>0")}`;
  // An attempt is new unless a retried transaction recorded it already; its delivery's
  // state follows only if nothing else was recorded meanwhile.
  const fresh = (d: string) => `NOT ${attemptRecordedSql(d, "j.value->>1")}`;
  const newAttempts = `${joined} WHERE ${fresh("d")}`;
  // To a delivery still pending; or held (its webhook was disabled while the attempt was
  // out) when the attempt settles it, which then is not owed again.
  const applies = (d: string, number = "j.value->>1", next = "j.value->>7") =>
    `${d}.attempt_count = (${number}) - 1 AND (${from("attempt", `${d}.status`)} OR (${from("settleHeld", `${d}.status`)} AND ${into("settleHeld", next)}))`;
  const ifApplies = (value: string, column: string) => `CASE WHEN ${applies("deliveries")} THEN ${value} ELSE ${column} END`;
  const attempt = withAttemptSql("deliveries", ["j.value->>1", "j.value->>2", "j.value->>3", "j.value->>4", "j.value->>5", "j.value->>6"]);
  // A delivery failed for good only if its state follows the attempt: one expired while the
  // attempt was out has not failed, and gets no dead letter.
  const failsForGood = (o: AttemptOutcome) => (n: number) => ({
    sql: `EXISTS (SELECT 1 FROM deliveries d WHERE d.id = ${dlvKey(`?${n}`)} AND ${applies("d", `?${n + 1}`, `?${n + 2}`)})`,
    binds: [o.attempt.deliveryId, o.attempt.number, statusCode(o.status)],
  });
  const results = await db.batch<T>([
    ...unique.flatMap((o) => (o.deadLetter ? [recordDeadLetterStatement(db, o.deadLetter, failsForGood(o))] : [])),
    attemptCountsStatement(db, `SELECT d.webhook, d.object, j.value->>2 AS started_at, j.value->>5 IS NULL AS ok ${newAttempts}`, [rows], 1),
    // Not for a webhook deleted while its attempts were out: its health went with it.
    attemptsHealthStatement(
      db,
      webhookUid,
      `SELECT j.key AS k, j.value->>2 AS started_at, (j.value->>2) + (j.value->>3) AS ended_at, j.value->>5 AS error,
         (j.value->>7) = ${status("succeeded")} AS ok ${newAttempts} AND EXISTS (SELECT 1 FROM webhooks WHERE uid = ?2)`,
      [rows, webhookUid],
    ),
    deliveryCountsStatement(db, `SELECT d.webhook, d.object, d.status AS old_status, j.value->>7 AS new_status ${joined} WHERE ${applies("d")}`, [rows]),
    db
      .prepare(
        `UPDATE deliveries SET attempts = CASE WHEN ${fresh("deliveries")} THEN ${attempt} ELSE attempts END,
           status = ${ifApplies("j.value->>7", "status")},
           attempt_count = CASE WHEN ${applies("deliveries")} THEN j.value->>1 WHEN ${fresh("deliveries")} THEN max(attempt_count, j.value->>1) ELSE attempt_count END,
           next_attempt_at = ${ifApplies("j.value->>8", "next_attempt_at")}, updated_at = ${ifApplies("(j.value->>2) + (j.value->>3)", "updated_at")}
         FROM json_each(?1) j WHERE deliveries.id = ${dlvKey("j.value->>0")} AND (${fresh("deliveries")} OR ${applies("deliveries")})`,
      )
      .bind(rows),
    ...(then ? [then] : []),
  ]);
  return then ? (results.at(-1)?.results[0] ?? null) : null;
}

export async function getDelivery(db: D1Database, id: string): Promise<Delivery | null> {
  const row = await db.prepare(`${DELIVERY_SELECT} WHERE d.id = ${dlvKey("?1")}`).bind(id).first<DeliveryRow>();
  return row ? toDelivery(row) : null;
}

export interface DeliveryFilter {
  status?: DeliveryStatus;
  webhookUid?: string;
  eventId?: string;
  since?: number;
  /** Only deliveries of events this access may see, to webhooks within its grant. */
  access?: Access | null;
}

/** Rows one list call examines at most. */
export const DELIVERY_SCAN_ROWS = 4_000;

/**
 * Newest first, strictly below `before` (the insertion sequence). A webhook or
 * status filter walks the (webhook, seq) index range of each webhook it names (for a
 * status, those whose counts have deliveries in it) and checks the status on each row,
 * an event its deliveries; a call examines at most DELIVERY_SCAN_ROWS deliveries and
 * may answer fewer than `limit` with `nextBefore` set.
 */
export async function listDeliveries(
  db: D1Database,
  f: DeliveryFilter,
  opts: { limit: number; before?: number },
): Promise<{ deliveries: Delivery[]; nextBefore: number | null }> {
  const access = f.access ?? null;
  const limited = isLimited(access);
  const ids = await nameIds(db, [...(f.webhookUid ? [f.webhookUid] : []), ...accessNames(access)]);
  const empty = { deliveries: [], nextBefore: null };
  let webhooks: number[] | null = null; // null: any
  if (f.webhookUid) {
    const id = ids.get(f.webhookUid);
    if (id === undefined) return empty;
    webhooks = [id];
  }
  if (limited) {
    const g = grantedWebhookIdsSql(access);
    const granted = (await db.prepare(g.sql).bind(...g.binds).all<{ id: number }>()).results.map((r) => r.id);
    webhooks = webhooks === null ? granted : webhooks.filter((w) => granted.includes(w));
    if (webhooks.length === 0) return empty;
  }
  let event: number | undefined;
  if (f.eventId) {
    const row = await db.prepare(`SELECT seq FROM events WHERE id = ${evtKey("?1")}`).bind(f.eventId).first<{ seq: number }>();
    if (!row) return empty;
    event = row.seq;
  }
  if (f.status && event === undefined) {
    // Only the webhooks that have deliveries in this status (their counts): one index range each.
    const { results } = await db
      .prepare(`SELECT webhook FROM delivery_counts WHERE ${statusSum(f.status)} > 0${webhooks === null ? "" : ` AND webhook IN (${webhooks.join(", ")})`}`)
      .all<{ webhook: number }>();
    webhooks = results.map((r) => r.webhook);
    if (webhooks.length === 0) return empty;
  }

  const conditions: string[] = [];
  if (f.status) conditions.push(`status = ${statusCode(f.status)}`);
  if (webhooks !== null) conditions.push(`webhook IN (${webhooks.join(", ")})`);
  if (event !== undefined) conditions.push(`event = ${event}`);
  if (f.since !== undefined) conditions.push(`created_at >= ${Math.trunc(f.since)}`);
  if (access) {
    const seen = eventAccessIds(access, ids);
    if (seen.none) return empty;
    if (seen.sql) conditions.push(`EXISTS (SELECT 1 FROM events ev WHERE ev.seq = event AND ${seen.sql})`);
  }
  let drivers: Driver[];
  if (event !== undefined) drivers = [`event = ${event}`];
  // Failed deliveries along their own partial index (migration 0032); other statuses are checked on the walked rows.
  else if (webhooks !== null) drivers = webhooks.map((w) => `webhook = ${w}${f.status === "failed" ? ` AND status = ${statusCode("failed")}` : ""}`);
  else drivers = ["1"];

  const page = await boundedScan(db, {
    table: "deliveries",
    columns: "seq, event, webhook, status, created_at",
    drivers,
    filter: conditions.join(" AND ") || "1",
    before: opts.before ?? Number.MAX_SAFE_INTEGER,
    limit: opts.limit,
    scanRows: DELIVERY_SCAN_ROWS,
  });
  if (page.seqs.length === 0) return { deliveries: [], nextBefore: page.nextBefore };
  const { results } = await db
    .prepare(`${DELIVERY_SELECT} WHERE d.seq IN (SELECT value FROM json_each(?)) ORDER BY d.seq DESC`)
    .bind(JSON.stringify(page.seqs))
    .all<DeliveryRow>();
  return { deliveries: results.map(toDelivery), nextBefore: page.nextBefore };
}

/** SQL summing a status's columns of a delivery_counts row (every object). */
export function statusSum(s: DeliveryStatus): string {
  return `(${Array.from({ length: OBJECT_GROUPS }, (_, o) => deliveryColumn(s, o)).join(" + ")})`;
}

/** An event's deliveries to webhooks within `access`'s grant, each with its attempts, oldest first. */
export async function deliveriesOfEvent(
  db: D1Database,
  eventId: string,
  access: Access | null = null,
): Promise<(Delivery & { attempts: Attempt[] })[]> {
  const g = isLimited(access) ? grantedWebhookIdsSql(access) : { sql: "", binds: [] };
  const grant = isLimited(access) ? ` AND d.webhook IN (${g.sql})` : "";
  const ofEvent = `d.event = (SELECT seq FROM events WHERE id = ${evtKey("?1")})${grant}`;
  const [deliveries, attempts] = await db.batch<Record<string, unknown>>([
    db.prepare(`${DELIVERY_SELECT} WHERE ${ofEvent} ORDER BY d.seq`).bind(eventId, ...g.binds),
    db
      .prepare(
        `SELECT * FROM (${attemptsOfSql(`SELECT d.seq, d.attempts, ${apiIdSql("dlv_", "d.id")} AS delivery_id FROM deliveries d WHERE ${ofEvent}`, ["seq", "delivery_id"])})
         ORDER BY seq, number`,
      )
      .bind(eventId, ...g.binds),
  ]);
  const byDelivery = new Map<string, Attempt[]>();
  for (const a of (attempts?.results ?? []).filter(isAttemptRow).map(toAttempt)) {
    byDelivery.set(a.deliveryId, [...(byDelivery.get(a.deliveryId) ?? []), a]);
  }
  return (deliveries?.results ?? []).filter(isDeliveryRow).map((r) => ({ ...toDelivery(r), attempts: byDelivery.get(r.id) ?? [] }));
}

interface AttemptRow {
  delivery_id: string;
  number: number;
  started_at: number;
  duration_ms: number;
  status_code: number | null;
  error: string | null;
  response_snippet: string | null;
}

const isAttemptRow = (r: Record<string, unknown>): r is Record<string, unknown> & AttemptRow => typeof r.delivery_id === "string";
const isDeliveryRow = (r: Record<string, unknown>): r is Record<string, unknown> & DeliveryRow => typeof r.webhook_uid === "string";

function toAttempt(r: AttemptRow): Attempt {
  return {
    deliveryId: r.delivery_id,
    number: r.number,
    startedAt: r.started_at,
    durationMs: r.duration_ms,
    statusCode: r.status_code,
    error: r.error,
    responseSnippet: r.response_snippet,
  };
}

/** Where a bulk retry goes on: after this webhook (its names id) and, within it, after this insertion sequence. */
export interface RetryPosition {
  webhook: number;
  seq: number;
}

/** A call's share of a retry: at most `limit` deliveries, those after `after`. */
export interface RetryPage {
  limit: number;
  after?: RetryPosition;
}

/** The statuses a retry takes deliveries from. */
export type RetryableStatus = (typeof TRANSITIONS.retry.from)[number];

/**
 * What a retry takes: the deliveries of `ids`; or those in one status (found along each
 * webhook's range of the (webhook, seq) index, walked in order), of a webhook or of every
 * one, made since a time, among those an access may see.
 */
export type RetryFilter = { ids: string[] } | (Pick<DeliveryFilter, "webhookUid" | "since" | "access"> & { status: RetryableStatus });

/**
 * The deliveries a retry call takes: given `ids`, those; else the matches among the first
 * `limit` deliveries after `after` in (webhook, seq) order. That walks the webhooks whose
 * counts (delivery_counts) have deliveries in the status, in id order, and within each its
 * (webhook, seq) index range in order from where the last call stopped, never the
 * deliveries before the cursor nor all of them to sort. The walk takes at most `limit`
 * index entries: what the index does not say (the status, made since, seen by the access)
 * is checked on those alone, so a call reads about `limit` deliveries plus one count row
 * per webhook however many it passes over; `walkEnd` selects the last entry taken when the
 * walk took them all (the call may have retried fewer, and goes on from there).
 */
function retryChoice(
  f: RetryFilter,
  page: RetryPage,
  inStatus: number[],
): { sql: string; binds: unknown[]; walkEnd: { sql: string; binds: unknown[] } | null } {
  if ("ids" in f) {
    return {
      sql: `seq IN (SELECT seq FROM deliveries WHERE ${from("retry")} AND webhook IN (${EXISTING_WEBHOOKS})
        AND id IN (SELECT ${dlvKey("value")} FROM json_each(?)) LIMIT ?)`,
      binds: [JSON.stringify(f.ids), page.limit],
      walkEnd: null,
    };
  }
  const after = page.after ?? { webhook: 0, seq: 0 };
  const webhooks = `SELECT c.webhook AS wh FROM delivery_counts c WHERE c.webhook IN (${inStatus.map(Math.trunc).join(", ")})`;
  const limit = Math.trunc(page.limit);
  // Index entries only (the index holds webhook and seq): named `wh` and `at`, so that the
  // checks below read the bare column names of the deliveries row. Failed deliveries, the
  // few a busy webhook has, are walked along their own partial index (migration 0032).
  const failedOnly = f.status === "failed" ? ` INDEXED BY deliveries_failed` : "";
  const walk = {
    sql: `SELECT walk.wh, d.seq AS at FROM (${webhooks}) walk, deliveries d${failedOnly}
      WHERE d.webhook = walk.wh${failedOnly ? ` AND d.status = ${statusCode("failed")}` : ""} AND d.seq > CASE WHEN walk.wh = ? THEN ? ELSE 0 END
      ORDER BY walk.wh, d.seq LIMIT ${limit}`,
    binds: [after.webhook, after.seq],
  };
  // (A status change moves no entry of that index: the status is read from the row.)
  const checks: string[] = [`status = ${statusCode(f.status)}`];
  const checkBinds: unknown[] = [];
  if (f.since !== undefined) checks.push(`created_at >= ${Math.trunc(f.since)}`);
  if (f.access) {
    const seen = eventAccessSql(f.access, "ev");
    checks.push(`EXISTS (SELECT 1 FROM events ev WHERE ev.seq = deliveries.event AND ${seen.sql})`);
    checkBinds.push(...seen.binds);
  }
  return {
    sql: `seq IN (SELECT x.at FROM (${walk.sql}) x JOIN deliveries ON deliveries.seq = x.at WHERE ${checks.join(" AND ")})`,
    binds: [...walk.binds, ...checkBinds],
    walkEnd: { sql: `SELECT wh, at FROM (${walk.sql}) LIMIT 1 OFFSET ${limit - 1}`, binds: walk.binds },
  };
}

/**
 * The webhooks a retry call walks, in id order from the cursor's: those with deliveries in the
 * status (their counts), still existing, the one named, and for a limited token those in its
 * grant, checked once per webhook (never row by row through another's range). Read before the
 * batch, whose own count changes must not change the walk between its statements; at most
 * `limit` + 1, since each but the cursor's has a delivery for the walk to take.
 */
async function webhooksToWalk(db: D1Database, f: Exclude<RetryFilter, { ids: string[] }>, page: RetryPage): Promise<number[]> {
  const granted = isLimited(f.access ?? null) ? grantedWebhookIdsSql(f.access ?? null) : null;
  const { results } = await db
    .prepare(
      `SELECT c.webhook FROM delivery_counts c WHERE c.webhook >= ? AND ${statusSum(f.status)} > 0
       ${f.webhookUid === undefined ? "" : `AND c.webhook = ${nameIdSql("?")}`}
       AND EXISTS (SELECT 1 FROM names n JOIN webhooks x ON x.uid = n.name WHERE n.id = c.webhook)
       ${granted ? `AND c.webhook IN (${granted.sql})` : ""}
       ORDER BY c.webhook LIMIT ?`,
    )
    .bind(page.after?.webhook ?? 0, ...(f.webhookUid === undefined ? [] : [f.webhookUid]), ...(granted?.binds ?? []), Math.trunc(page.limit) + 1)
    .all<{ webhook: number }>();
  return results.map((r) => r.webhook);
}

/**
 * Tries matching deliveries again, at most `page.limit` (after `page.after`, per webhook
 * oldest first: see retryChoice): pending and due now, or held when their webhook is
 * disabled (enabling it releases them). Deliveries already held, and those whose webhook
 * was deleted, are left alone. Their open dead letters close in the same transaction (a
 * new failure reopens the same one). Returns their ids in that order, the webhooks that
 * now have deliveries pending, where the call stopped (the last one retried, or the last
 * delivery it looked at), and whether more may match after it.
 */
export async function retryDeliveries(
  db: D1Database,
  f: RetryFilter,
  page: RetryPage,
  now = Date.now(),
): Promise<{ pending: string[]; held: string[]; webhooks: string[]; last: RetryPosition | null; full: boolean }> {
  const inStatus = "ids" in f ? [] : await webhooksToWalk(db, f, page);
  const { sql: chosen, binds, walkEnd } = retryChoice(f, page, inStatus);
  const disabled = `(SELECT w.disabled FROM webhooks w JOIN names n ON n.name = w.uid WHERE n.id = deliveries.webhook) = 1`;
  const newStatus = owedAnew(disabled);
  type Row = { id: string; seq: number; status: number; webhook: number; webhook_uid: string; wh: number; at: number };
  // The walk's end is read before the page changes (as the rows it walks are).
  const results = await db.batch<Row>([
    ...(walkEnd ? [db.prepare(walkEnd.sql).bind(...walkEnd.binds)] : []),
    closeDeadLettersStatement(db, `SELECT ${apiIdSql("dlv_", "id")} FROM deliveries WHERE ${chosen}`, binds, now),
    ...transition(db, {
      where: chosen,
      binds,
      newStatus,
      newStatusReads: true,
      // Literals, not binds: the filter's binds are positional. A settled delivery owed again
      // takes its place in its webhook's order by its event's receipt.
      set: `next_attempt_at = CASE WHEN ${disabled} THEN NULL ELSE ${Math.trunc(now)} END, updated_at = ${Math.trunc(now)},
        event_received_at = COALESCE(event_received_at, (SELECT e.received_at FROM events e WHERE e.seq = deliveries.event))`,
      returning: `${apiIdSql("dlv_", "id")} AS id, seq, status, webhook, (SELECT name FROM names WHERE id = deliveries.webhook) AS webhook_uid`,
    }),
  ]);
  const end = walkEnd ? results[0]?.results[0] : undefined;
  const sorted = (results.at(-1)?.results ?? []).sort((x, y) => x.webhook - y.webhook || x.seq - y.seq);
  const held = statusCode("held");
  const pending = sorted.filter((r) => r.status !== held);
  const lastRetried = sorted.at(-1);
  const full = sorted.length >= page.limit;
  const last = !full && end ? { webhook: end.wh, seq: end.at } : lastRetried ? { webhook: lastRetried.webhook, seq: lastRetried.seq } : null;
  return {
    pending: pending.map((r) => r.id),
    held: sorted.filter((r) => r.status === held).map((r) => r.id),
    webhooks: [...new Set(pending.map((r) => r.webhook_uid))],
    last,
    full: full || end !== undefined,
  };
}

/**
 * Releases the oldest held deliveries of a webhook, at most `limit`, in the order
 * their events were received, unless it is disabled. Returns how many.
 */
export async function releaseHeld(db: D1Database, webhookUid: string, limit: number, now = Date.now()): Promise<number> {
  const [, released] = await db.batch(
    transition(db, {
      where: `seq IN (
          SELECT d.seq FROM deliveries d WHERE d.webhook = ${nameIdSql("?1")} AND ${owed("d.status")} AND ${from("release", "d.status")}
          ORDER BY d.event_received_at, d.seq LIMIT ?2)
        AND (SELECT w.disabled FROM webhooks w WHERE w.uid = ?1) = 0`,
      binds: [webhookUid, limit],
      newStatus: to("release"),
      set: "next_attempt_at = ?3, updated_at = ?3",
      setBinds: [now],
    }),
  );
  return released?.meta.changes ?? 0;
}

/**
 * Enabled webhooks that still hold deliveries (a release was cut short), at most
 * `limit`, drawn at random: from their counts. (So is webhooksOverdue's choice: with
 * more than `limit` of them, the same ones first every run would leave the rest out.)
 */
export async function webhooksWithHeld(db: D1Database, limit: number): Promise<string[]> {
  const { results } = await db
    .prepare(
      `SELECT w.uid FROM webhooks w JOIN names n ON n.name = w.uid JOIN delivery_counts c ON c.webhook = n.id
       WHERE w.disabled = 0 AND ${statusSum("held")} > 0 ORDER BY random() LIMIT ?`,
    )
    .bind(limit)
    .all<{ uid: string }>();
  return results.map((r) => r.uid);
}

/** How many held deliveries one expiry pass takes at most (the next minute's takes the rest). */
export const EXPIRE_LIMIT = 1000;

/** Held deliveries created before `cutoff` expire, at most `limit`. Returns how many. */
export async function expireHeld(db: D1Database, cutoff: number, now = Date.now(), limit = EXPIRE_LIMIT): Promise<number> {
  const [, res] = await db.batch(
    transition(db, {
      // Per webhook, the owed index up to the cutoff (a delivery is made after its event is
      // received, so it holds every one due): what is read is what expires, not every held delivery.
      where: `seq IN (SELECT d.seq FROM delivery_counts c CROSS JOIN deliveries d
        WHERE d.webhook = c.webhook AND ${owed("d.status")} AND d.event_received_at < ?1
          AND d.status = ${status("held")} AND d.created_at < ?1
        ORDER BY c.webhook, d.event_received_at, d.seq LIMIT ${Math.trunc(limit)})`, // the index order: no sort before the LIMIT
      binds: [cutoff],
      newStatus: to("expire"),
      set: "updated_at = ?2",
      setBinds: [now],
    }),
  );
  return res?.meta.changes ?? 0;
}

/**
 * Enabled webhooks with a pending delivery due before `cutoff`, at most `limit`, drawn
 * at random: a wake-up of their scheduler may have been lost (or they are draining a
 * backlog, or paused, and stay overdue run after run).
 * One probe of the pending index per webhook.
 */
export async function webhooksOverdue(db: D1Database, cutoff: number, limit: number): Promise<string[]> {
  const { results } = await db
    .prepare(
      `SELECT w.uid FROM webhooks w JOIN names n ON n.name = w.uid WHERE w.disabled = 0
       AND EXISTS (SELECT 1 FROM deliveries d WHERE d.webhook = n.id AND d.status = ${status("pending")} AND d.next_attempt_at < ?)
       ORDER BY random() LIMIT ?`,
    )
    .bind(cutoff, limit)
    .all<{ uid: string }>();
  return results.map((r) => r.uid);
}

/** How many deliveries of a webhook are held (from its counts). */
export async function countHeld(db: D1Database, webhookUid: string): Promise<number> {
  const row = await db
    .prepare(`SELECT ${statusSum("held")} AS n FROM delivery_counts WHERE webhook = ${nameIdSql("?")}`)
    .bind(webhookUid)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

// What one webhook's scheduler reads. Each query is one range of a partial index
// (deliveries_owed_in_order, deliveries_pending_due), so it reads what it returns and
// no more, however large the table.

/** A delivery the scheduler may send, with what it sends. */
export interface FlowJob {
  delivery: Delivery;
  event: Pick<StoredEvent, "id" | "eventType" | "body">;
}

type FlowJobRow = DeliveryRow & { e_event_type: string };

const JOB_SELECT = `SELECT d.seq, ${apiIdSql("dlv_", "d.id")} AS id, ${apiIdSql("evt_", "e.id")} AS event_id, wn.name AS webhook_uid,
    d.status, d.attempt_count, d.next_attempt_at, d.created_at, d.updated_at, t.name AS e_event_type, e.seq AS e_seq
  FROM deliveries d JOIN events e ON e.seq = d.event JOIN names t ON t.id = e.type JOIN names wn ON wn.id = d.webhook`;

/** The jobs of some rows: only pending ones carry their body (read and inflated here). */
async function jobsOf(db: D1Database, rows: (FlowJobRow & { e_seq: number })[]): Promise<FlowJob[]> {
  const pending = statusCode("pending");
  const contents = await contentsOf(db, rows.filter((r) => r.status === pending).map((r) => r.e_seq));
  return rows.map((r) => ({
    delivery: toDelivery(r),
    event: { id: r.event_id, eventType: r.e_event_type, body: r.status === pending ? (contents.get(r.e_seq)?.body ?? "") : "" },
  }));
}

/** A webhook's pending deliveries due by `now`, soonest due first, leaving out `exclude` (in flight). */
export async function duePending(
  db: D1Database,
  webhookUid: string,
  opts: { now: number; limit: number; exclude: string[] },
): Promise<FlowJob[]> {
  const { results } = await db
    .prepare(
      `${JOB_SELECT}
       WHERE d.webhook = ${nameIdSql("?1")} AND d.status = ${status("pending")} AND d.next_attempt_at <= ?2
         AND d.id NOT IN (SELECT ${dlvKey("value")} FROM json_each(?3))
       ORDER BY d.next_attempt_at, d.seq LIMIT ?4`,
    )
    .bind(webhookUid, opts.now, JSON.stringify(opts.exclude), opts.limit)
    .all<FlowJobRow & { e_seq: number }>();
  return jobsOf(db, results);
}

/**
 * When a webhook's next pending delivery (leaving out `exclude`) is due, if any,
 * and whether it holds deliveries (from its counts: one row).
 */
export async function pendingOutlook(db: D1Database, webhookUid: string, exclude: string[]): Promise<{ nextDueAt: number | null; held: boolean }> {
  const row = await db
    .prepare(
      `SELECT
         (SELECT d.next_attempt_at FROM deliveries d
          WHERE d.webhook = ${nameIdSql("?1")} AND d.status = ${status("pending")} AND d.id NOT IN (SELECT ${dlvKey("value")} FROM json_each(?2))
            AND EXISTS (SELECT 1 FROM events e WHERE e.seq = d.event)
          ORDER BY d.next_attempt_at LIMIT 1) AS next_due_at,
         (SELECT ${statusSum("held")} FROM delivery_counts WHERE webhook = ${nameIdSql("?1")}) > 0 AS held`,
    )
    .bind(webhookUid, JSON.stringify(exclude))
    .first<{ next_due_at: number | null; held: number }>();
  return { nextDueAt: row?.next_due_at ?? null, held: row?.held === 1 };
}

/** A webhook's owed deliveries (held or pending) in the order their events were received: add LIMIT. */
const OWED_IN_ORDER = `WHERE d.webhook = ${nameIdSql("?1")} AND ${owed("d.status")} ORDER BY d.event_received_at, d.seq`;

/**
 * A webhook's first `limit` owed deliveries (held or pending) in the order their
 * events were received; only pending ones carry their body.
 */
export async function owedInOrder(db: D1Database, webhookUid: string, limit: number): Promise<FlowJob[]> {
  const { results } = await db
    .prepare(`${JOB_SELECT} ${OWED_IN_ORDER} LIMIT ?2`)
    .bind(webhookUid, limit)
    .all<FlowJobRow & { e_seq: number }>();
  return jobsOf(db, results);
}

/** The id of a webhook's first owed delivery in that order, if any: one index entry and its row. */
export async function firstOwed(db: D1Database, webhookUid: string): Promise<string | null> {
  const row = await db
    .prepare(`SELECT ${apiIdSql("dlv_", "d.id")} AS id FROM deliveries d ${OWED_IN_ORDER} LIMIT 1`)
    .bind(webhookUid)
    .first<{ id: string }>();
  return row?.id ?? null;
}

/**
 * How many deliveries a webhook holds and has pending, reported up to `cap` in all
 * (held first): one row of its counts, however many are owed.
 */
export async function backlogOf(db: D1Database, webhookUid: string, cap: number): Promise<{ held: number; pending: number; capped: boolean }> {
  const row = await db
    .prepare(`SELECT ${statusSum("held")} AS held, ${statusSum("pending")} AS pending FROM delivery_counts WHERE webhook = ${nameIdSql("?")}`)
    .bind(webhookUid)
    .first<{ held: number; pending: number }>();
  const held = row?.held ?? 0;
  const pending = row?.pending ?? 0;
  if (held + pending <= cap) return { held, pending, capped: false };
  const shownHeld = Math.min(held, cap);
  return { held: shownHeld, pending: cap - shownHeld, capped: true };
}
