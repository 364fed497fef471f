// Bulk retry: the deliveries a retry call takes, page by page, and their move back to owed.
import { isLimited } from "../domain/access";
import type { TRANSITIONS } from "../domain/delivery";
import { confinementAllowsSql, eventAccessSql, grantedWebhookIdsUpTo, grantListsJson, webhookRowInGrantSql } from "./access";
import { statusSum } from "./counters";
import { claimDeadLetterStatement, claimedSql, closeDeadLettersStatement, settleClaimStatement } from "./dead-letters";
import { OWED_ANEW_AT, transition } from "./deliveries";
import { LISTED_DELIVERY_WEBHOOKS, type DeliveryFilter } from "./delivery-reads";
import { dlvKey, ownStatusIndex } from "./delivery-rows";
import { byWebhooks } from "./delivery-webhooks";
import { apiIdSql, nameIdSql } from "./names";
import { packedRowsSql, seqsOf, type PackedRow } from "./packed";
import { from, owedAnew, statusCode } from "./transitions";

/**
 * On a `deliveries` row: its webhook exists (not deleted). Looked up by the row's own webhook: an IN
 * over every webhook would read them all (twice a webhook, in each statement of a retry).
 */
const WEBHOOK_EXISTS = "EXISTS (SELECT 1 FROM names n CROSS JOIN webhooks w ON w.uid = n.name WHERE n.id = deliveries.webhook)";

/**
 * On a `deliveries` row: its event was received at or after the horizon, bound as the next `?` (its
 * receipt kept while owed, else its event's). Bound, never written into the SQL: a number's text
 * is not always a number to SQLite (Infinity reads as a column name).
 */
const WITHIN_RETENTION = "COALESCE(deliveries.event_received_at, (SELECT e.received_at FROM events e WHERE e.seq = deliveries.event)) >= ?";

/**
 * On a `deliveries` row: its webhook may still be owed its event. One confined to an
 * organization since (a token's change, webhooks.ts) must not be sent another's events again.
 */
const STILL_OWED = `NOT EXISTS (SELECT 1 FROM webhooks w JOIN names n ON n.name = w.uid JOIN events ev ON ev.seq = deliveries.event
  WHERE n.id = deliveries.webhook AND NOT ${confinementAllowsSql("w", "ev")})`;

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
type RetryableStatus = (typeof TRANSITIONS.retry.from)[number];

/**
 * What a retry takes: the deliveries of `ids`; or those in one status (found webhook by
 * webhook, each one's in order: walkOf), of a webhook or of every one, made since a time,
 * among those an access may see.
 */
export type RetryFilter =
  /** `letter`: a dead letter replayed, the retry made only while it is open (closed by another replay or retry: nothing). */
  | { ids: string[]; letter?: number }
  | (Pick<DeliveryFilter, "webhookUid" | "since" | "access"> & { status: RetryableStatus });

/**
 * Packed rows (delivery-webhooks.ts) one retry call walks at most, over all the webhooks it passes:
 * each a row read, fewer than the call's page of deliveries reads (~20 each), and ~100 deliveries
 * each at volume, so a webhook's walk from its oldest takes a call per ~800,000 deliveries stored.
 */
export const RETRY_PACKED_ROWS = 8_000;
/** The packed rows a walk reads at each step while it has not taken its page: a busy webhook's is in its oldest few. */
const RETRY_STEPS = [50, 200, 750, 3_000];

/** What a retry call walks of the webhooks' deliveries, in (webhook, seq) order. */
type Walk =
  /** Along the status's own index, in the batch: its positions (wh, at) as SQL, and the SQL of its last when it takes `limit`. */
  | { kind: "index"; sql: string; binds: unknown[]; endSql: string }
  /** Along the packed rows, read before the batch: the positions taken, and where the walk was cut (by the page or its bound), or null when it saw the end. */
  | { kind: "packed"; seqs: number[]; end: RetryPosition | null };

/**
 * The walk of a retry call in (webhook, seq) order: the webhooks whose counts (delivery_counts)
 * have deliveries in the status, in id order, and within each its deliveries in order from where
 * the last call stopped, never the deliveries before the cursor nor all of them to sort; at most
 * `limit` of them. Failed ones along their own partial index, in the batch (its end read there);
 * any other status along each webhook's packed rows, oldest first from the cursor, read before
 * the batch (a delivery's position never changes, its status is checked in the batch), at most
 * RETRY_PACKED_ROWS of them a call: a webhook's few deliveries among many others take more calls,
 * each as costly, never a longer one.
 */
async function walkOf(db: D1Database, status: RetryableStatus, page: RetryPage, inStatus: WalkedWebhook[]): Promise<Walk> {
  const after = page.after ?? { webhook: 0, seq: 0 };
  const limit = Math.trunc(page.limit);
  const own = ownStatusIndex(status, "d.status");
  if (own) {
    const webhooks = `SELECT c.webhook AS wh FROM delivery_counts c WHERE c.webhook IN (${inStatus.map((w) => Math.trunc(w.webhook)).join(", ")})`;
    const sql = `SELECT walk.wh, d.seq AS at FROM (${webhooks}) walk, deliveries d INDEXED BY ${own.index}
      WHERE d.webhook = walk.wh AND ${own.where} AND d.seq > CASE WHEN walk.wh = ? THEN ? ELSE 0 END
      ORDER BY walk.wh, d.seq LIMIT ${limit}`;
    return { kind: "index", sql, binds: [after.webhook, after.seq], endSql: `SELECT wh, at FROM (${sql}) LIMIT 1 OFFSET ${limit - 1}` };
  }
  const taken: number[] = [];
  let rowsLeft = RETRY_PACKED_ROWS;
  let end: RetryPosition | null = null;
  walk: for (const { webhook } of inStatus) {
    let from = webhook === after.webhook ? after.seq : 0;
    for (let step = 0; ; step++) {
      if (rowsLeft <= 0) {
        end = { webhook, seq: from };
        break walk;
      }
      const rows = Math.min(RETRY_STEPS[step] ?? rowsLeft, rowsLeft);
      const driver = byWebhooks([webhook]);
      const { results } = await db.prepare(packedRowsSql(driver, rows, "from")).bind(from).all<PackedRow>();
      // A statement costs a first step's worth at least: many webhooks take more calls, never more statements a call.
      rowsLeft -= Math.max(results.length, RETRY_STEPS[0]!);
      for (const row of results) {
        for (const at of seqsOf(driver, row).reverse()) {
          if (at <= from) continue;
          taken.push(at);
          if (taken.length === limit) {
            end = { webhook, seq: at };
            break walk;
          }
        }
      }
      // Walked to the newest packed row: on to the next webhook. Else on from the last row read.
      if (results.length < rows) continue walk;
      from = Math.max(from, results[results.length - 1]!.last);
    }
  }
  return { kind: "packed", seqs: taken, end };
}

/**
 * The deliveries a retry call takes: given `ids`, those; else the matches among the deliveries
 * its walk takes (walkOf). What the walk does not say (the status, made since, seen by the access)
 * is checked on those alone, so a call reads about `limit` deliveries plus one count row per
 * webhook however many it passes over; `walkEnd` selects the last position taken when the walk
 * along an index took `limit` (the call may have retried fewer, and goes on from there).
 */
async function retryChoice(
  db: D1Database,
  f: RetryFilter,
  page: RetryPage,
  inStatus: WalkedWebhook[],
  horizon: number,
): Promise<{ sql: string; binds: unknown[]; walkEnd: { sql: string; binds: unknown[] } | null; end: RetryPosition | null }> {
  if ("ids" in f) {
    return {
      sql: `seq IN (SELECT seq FROM deliveries WHERE ${from("retry")} AND ${WEBHOOK_EXISTS}
        AND id IN (SELECT ${dlvKey("value")} FROM json_each(?)) AND ${STILL_OWED} AND ${WITHIN_RETENTION} LIMIT ?)`,
      binds: [JSON.stringify(f.ids), Math.trunc(horizon), page.limit],
      walkEnd: null,
      end: null,
    };
  }
  const walk = await walkOf(db, f.status, page, inStatus);
  // A status without an index of its own is read from the row.
  // Nothing past the retention is owed again (the scheduler would expire it unsent, and its event's grace start over).
  const checks: string[] = [...(walk.kind === "index" ? [] : [`status = ${statusCode(f.status)}`]), WITHIN_RETENTION];
  const checkBinds: unknown[] = [Math.trunc(horizon)];
  if (f.since !== undefined) {
    checks.push("created_at >= ?");
    checkBinds.push(Math.trunc(f.since));
  }
  // The webhooks were read before the batch: checked again in it, once a webhook (not a row), as the
  // retry of `ids` is. One deleted since is owed nothing (its deliveries stay as they are); one
  // confined since, or read confined, has each row checked (STILL_OWED).
  const walked = inStatus.map((w) => Math.trunc(w.webhook)).join(", ");
  const existing = (more: string) => `deliveries.webhook IN (SELECT n.id FROM names n CROSS JOIN webhooks w ON w.uid = n.name WHERE n.id IN (${walked})${more})`;
  checks.push(`(${existing(" AND w.grant_organization_uid IS NULL")} OR (${existing("")} AND ${STILL_OWED}))`);
  if (f.access) {
    const seen = eventAccessSql(f.access, "ev");
    checks.push(`EXISTS (SELECT 1 FROM events ev WHERE ev.seq = deliveries.event AND ${seen.sql})`);
    checkBinds.push(...seen.binds);
  }
  // The positions the packed rows named, as literals (integers the store read): checked on their rows.
  if (walk.kind === "packed") {
    return { sql: [`seq IN (${walk.seqs.map((s) => Math.trunc(s)).join(", ")})`, ...checks].join(" AND "), binds: checkBinds, walkEnd: null, end: walk.end };
  }
  return {
    sql: `seq IN (SELECT x.at FROM (${walk.sql}) x JOIN deliveries ON deliveries.seq = x.at WHERE ${checks.join(" AND ")})`,
    binds: [...walk.binds, ...checkBinds],
    walkEnd: { sql: walk.endSql, binds: walk.binds },
    end: null,
  };
}

/** A webhook a bulk retry walks (its names id), and whether it is confined to an organization. */
interface WalkedWebhook {
  webhook: number;
  confined: number;
}

/**
 * Counts rows (delivery_counts, a webhook each) a retry call examines at most, in webhook order from the cursor's:
 * a row each, and for those with deliveries in the status their webhook's (~2) and, for a grant tested a webhook at a
 * time, its test (~4), so a call reads a few thousand rows for them however many webhooks there are (before: every
 * webhook of a token's grant, two rows each, 32,020 rows a call at 8,000; every counts row for the admin, 12,910 at 12,900).
 */
export const RETRY_COUNT_ROWS = 1_000;

/**
 * The webhooks a retry call walks, in id order from the cursor's: those with deliveries in the
 * status (their counts), still existing, the one named (else webhooks alone, no notification endpoint), and for a limited token those in its
 * grant (its webhooks' ids listed while at most LISTED_DELIVERY_WEBHOOKS, else each webhook tested: webhookInGrantSql),
 * checked once per webhook (never row by row through another's range). Read before the
 * batch, whose own count changes must not change the walk between its statements; at most
 * `limit` + 1, since each but the cursor's has a delivery for the walk to take, among at most RETRY_COUNT_ROWS counts
 * rows: `end` is where the next call goes on when they ran out first (the webhook after the last examined).
 */
async function webhooksToWalk(
  db: D1Database,
  f: Exclude<RetryFilter, { ids: string[] }>,
  page: RetryPage,
): Promise<{ webhooks: WalkedWebhook[]; end: RetryPosition | null }> {
  const access = f.access ?? null;
  const listed = isLimited(access) ? (await grantedWebhookIdsUpTo(db, access, LISTED_DELIVERY_WEBHOOKS)).ids : null;
  const tested = isLimited(access) && listed === null;
  // Bound in this order, those given: ?1 the cursor's webhook, ?2 the webhook named, then the grant's (its list, or its lists to test against).
  const named = f.webhookUid === undefined ? [] : [f.webhookUid];
  // A listed grant's counts rows probed by key in id order (the list sorted: no sort in SQL), fewer than RETRY_COUNT_ROWS.
  const granted = listed !== null ? [JSON.stringify([...listed].sort((a, b) => a - b))] : tested ? [grantListsJson(access)] : [];
  const binds = [page.after?.webhook ?? 0, ...named, ...granted];
  const grantParam = 2 + named.length;
  const conditions = ["c.webhook >= ?1", ...(named.length ? [`c.webhook = ${nameIdSql("?2")}`] : [])];
  const counts = listed === null ? "delivery_counts c" : `json_each(?${grantParam}) j CROSS JOIN delivery_counts c ON c.webhook = j.value`;
  const grantTest = tested ? ` AND ${webhookRowInGrantSql("x", grantParam)}` : "";
  // A notification endpoint's alerts only when it is named: a retry of everything after an outage
  // would page the operator again with old alerts (as a range replay sends them to nobody).
  const kindTest = named.length ? "" : " AND x.kind = 'webhook'";
  // The webhook's row read only for a counts row with deliveries in the status: 1 + confined, or null (none to walk).
  const { results } = await db
    .prepare(
      `SELECT c.webhook, CASE WHEN ${statusSum(f.status)} > 0 THEN (SELECT 1 + (x.grant_organization_uid IS NOT NULL)
         FROM names n CROSS JOIN webhooks x ON x.uid = n.name WHERE n.id = c.webhook${kindTest}${grantTest}) END AS walk
       FROM ${counts} WHERE ${conditions.join(" AND ")}${listed === null ? " ORDER BY c.webhook" : ""} LIMIT ${RETRY_COUNT_ROWS}`,
    )
    .bind(...binds)
    .all<{ webhook: number; walk: number | null }>();
  const found = results.sort((a, b) => a.webhook - b.webhook).flatMap((r) => (r.walk ? [{ webhook: r.webhook, confined: r.walk - 1 }] : []));
  const limit = Math.trunc(page.limit) + 1;
  const last = results[results.length - 1];
  const cut = found.length <= limit && results.length === RETRY_COUNT_ROWS && last !== undefined;
  return { webhooks: found.slice(0, limit), end: cut ? { webhook: last.webhook + 1, seq: 0 } : null };
}

/**
 * Tries matching deliveries again, at most `page.limit` (after `page.after`, per webhook
 * oldest first: see retryChoice): pending and due now, or held when their webhook is
 * disabled (enabling it releases them). Deliveries already held, and those whose webhook
 * was deleted, are left alone. Their open dead letters close in the same transaction (a
 * new failure reopens the same one). Those whose event was received before `horizon` (past the
 * retention) are passed over. Returns their ids in that order, the webhooks that
 * now have deliveries pending, where the call stopped (the last one retried, or the last
 * delivery it looked at), and whether more may match after it.
 */
export async function retryDeliveries(
  db: D1Database,
  f: RetryFilter,
  page: RetryPage,
  horizon: number,
  now = Date.now(),
): Promise<{ pending: string[]; held: string[]; webhooks: string[]; last: RetryPosition | null; full: boolean }> {
  const { webhooks: inStatus, end: countsEnd } = "ids" in f ? { webhooks: [], end: null } : await webhooksToWalk(db, f, page);
  const { sql: chosen, binds, walkEnd, end: walkedTo } = await retryChoice(db, f, page, inStatus, horizon);
  const disabled = `(SELECT w.disabled FROM webhooks w JOIN names n ON n.name = w.uid WHERE n.id = deliveries.webhook) = 1`;
  // (A delivery stored before its row kept its event's receipt reads it from the event.)
  const receipt = "COALESCE(event_received_at, (SELECT e.received_at FROM events e WHERE e.seq = deliveries.event))";
  const newStatus = owedAnew(disabled);
  type Row = { id: string; seq: number; status: number; webhook: number; webhook_uid: string; wh: number; at: number };
  const letter = "ids" in f ? f.letter : undefined;
  const retried = `SELECT ${apiIdSql("dlv_", "id")} FROM deliveries WHERE ${chosen}`;
  // The walk's end is read before the page changes (as the rows it walks are).
  const stmts = [
    ...(walkEnd ? [db.prepare(walkEnd.sql).bind(...walkEnd.binds)] : []),
    letter === undefined ? closeDeadLettersStatement(db, retried, binds, now) : claimDeadLetterStatement(db, letter, now, retried, binds),
    ...transition(db, {
      where: letter === undefined ? chosen : `${chosen} AND ${claimedSql(letter, now)}`,
      binds,
      newStatus,
      newStatusReads: true,
      // Literals, not binds: the filter's binds are positional. A settled delivery owed again
      // takes its place in its webhook's order by its event's receipt, due since then (now at the
      // latest), as a release's (releaseHeld): a tried one is read by its due time, and due now,
      // a page of retries due earlier would go out before it.
      set: `next_attempt_at = CASE WHEN ${disabled} THEN NULL ELSE min(${Math.trunc(now)}, ifnull(${receipt}, ${Math.trunc(now)})) END,
        updated_at = ${OWED_ANEW_AT(String(Math.trunc(now)))}, event_received_at = ${receipt}`,
      returning: `${apiIdSql("dlv_", "id")} AS id, seq, status, webhook, (SELECT name FROM names WHERE id = deliveries.webhook) AS webhook_uid`,
    }),
  ];
  const update = stmts.length - 1;
  const results = await db.batch<Row>([...stmts, ...(letter === undefined ? [] : [settleClaimStatement(db, letter, now)])]);
  const read = walkEnd ? results[0]?.results[0] : undefined;
  // Where the walk stopped, else past the counts rows examined when they ran out first.
  const end = walkedTo ?? (read ? { webhook: read.wh, seq: read.at } : (countsEnd ?? undefined));
  const sorted = (results[update]?.results ?? []).sort((x, y) => x.webhook - y.webhook || x.seq - y.seq);
  const held = statusCode("held");
  const pending = sorted.filter((r) => r.status !== held);
  const lastRetried = sorted.at(-1);
  const full = sorted.length >= page.limit;
  const last = !full && end ? end : lastRetried ? { webhook: lastRetried.webhook, seq: lastRetried.seq } : null;
  return {
    pending: pending.map((r) => r.id),
    held: sorted.filter((r) => r.status === held).map((r) => r.id),
    webhooks: [...new Set(pending.map((r) => r.webhook_uid))],
    last,
    full: full || end !== undefined,
  };
}

/**
 * A retry of a held delivery (its webhook disabled): it stays held and goes out when the webhook
 * is enabled, but counts as asked for now, so an attempt out since before (the disable's) does not
 * settle it (recordAttempts reads `updated_at`). Answers whether it was still held.
 */
export async function askHeld(db: D1Database, id: string, now = Date.now()): Promise<boolean> {
  const done = await db
    .prepare(`UPDATE deliveries SET updated_at = ${OWED_ANEW_AT("?2")} WHERE id = ${dlvKey("?1")} AND status = ${statusCode("held")}`)
    .bind(id, Math.trunc(now))
    .run();
  return done.meta.changes > 0;
}
