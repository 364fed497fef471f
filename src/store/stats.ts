// /v1/stats from the counters (store/counters.ts): a read touches a few rows per
// organization or location of the grant, never the events or deliveries counted, and a page of webhooks.
import { isLimited, type Access } from "../domain/access";
import { DELIVERY_STATUSES, type DeliveryStatus } from "../domain/delivery";
import { isStringArray } from "../domain/guards";
import { HOUR_MS, SERIES_BUCKET_MS } from "../domain/time";
import { grantedWebhookUidsSql, grantListsJson, grantNameIds, hiddenGroups, webhookRowInGrantSql } from "./access";
import {
  ATTEMPT_COLUMNS,
  ATTEMPT_OK_COLUMNS,
  DELIVERY_COLUMNS,
  deliveryColumn,
  EVENT_COLUMNS,
  OBJECT_GROUPS,
  pendingCells,
  type PendingCell,
  TENTH_MS,
  TENTHS,
  TOTAL_HOUR,
} from "./counters";
import { nameIds } from "./names";
import { storedJson } from "./stored-json";

const SERIES_BUCKETS = 36; // six hours
/** `last24h` counts the ten-minute buckets of the last day, the current one included. */
const DAY_BUCKETS = 144;

interface Stats {
  events: { total: number; last24h: number };
  /** Six hours in ten-minute buckets, oldest first (attempts null where `deliveries` is). */
  series: { start: number; events: number; attempts: number | null; succeededAttempts: number | null }[];
  /** Null for a token whose grant holds more than STATS_GRANT_WEBHOOKS webhooks: summed a webhook at a time, past the bound of a read. */
  deliveries: Record<DeliveryStatus, number> | null;
  /** Dead letters not replayed yet (whatever the access: they are an operator's alarm). */
  deadLetters: number;
  webhooks: {
    uid: string;
    url: string;
    /** Its types: what it counts is of events of all of them. */
    eventTypes: string[];
    disabled: boolean;
    succeeded: number;
    failed: number;
    pending: number;
    held: number;
    lastFailureAt: number | null;
    lastError: string | null;
  }[];
  /** The uid the next page of `webhooks` follows, or null: they were all given. */
  nextWebhook: string | null;
}

/** The counts, or the named webhooks the access may not see (none counted). */
type StatsOutcome = { kind: "counted"; stats: Stats } | { kind: "unseen"; webhookUids: string[] };

type Counts = Record<string, unknown>;

/**
 * Pending cells summed into one counter row per hour. What reads them below works a row at a
 * time (every object group and tenth), and up to PENDING_DELTAS batches wait, up to
 * PENDING_DELTA_CELLS cells: a row each cell took ~1 s of CPU for 50,000, a row per hour ~40 ms.
 */
export function pendingByHour(cells: PendingCell[]): Counts[] {
  const rows = new Map<number, Record<string, number>>();
  for (const c of cells) {
    const col = EVENT_COLUMNS[c.col];
    if (col === undefined) continue;
    const row = rows.get(c.hour) ?? { hour: c.hour };
    row[col] = (row[col] ?? 0) + c.n;
    rows.set(c.hour, row);
  }
  return [...rows.values()];
}

/** Counter rows of some scopes (store/counters.ts), with an owner, or none of some owners. */
interface ScopeSet {
  scopes: number[];
  owner?: number;
  ownersNot?: number[];
}

const scopeSql = (set: ScopeSet) =>
  [`scope IN (${set.scopes.join(", ")})`, ...(set.owner === undefined ? [] : [`owner = ${set.owner}`]), ...(set.ownersNot ? [`owner NOT IN (${set.ownersNot.join(", ")})`] : [])].join(" AND ");
const inScopeSet = (set: ScopeSet, scope: number, owner: number) =>
  set.scopes.includes(scope) && (set.owner === undefined || owner === set.owner) && !(set.ownersNot ?? []).includes(owner);

/** Webhooks one answer's per-webhook counts hold at most: the next ones follow `nextWebhook`. */
export const STATS_WEBHOOKS = 100;
/**
 * A limited token's webhooks whose counters its totals of deliveries and attempts are summed over, at most: its grant's
 * list (~2 rows a webhook), each one's deliveries (1) and attempts (up to 7, an hour each). Past them, no totals of those
 * (a row a webhook at least: 64,030 rows a call at 8,000 webhooks, measured 2026-12-02); its events' stay exact.
 */
export const STATS_GRANT_WEBHOOKS = 500;
/** Webhooks a page of a larger grant's per-webhook counts walks at most, in uid order, testing each against the grant (~2 rows each). */
const STATS_WALKED_WEBHOOKS = 2_000;
/**
 * Webhooks failing now (failingFirst) a larger grant's page looks through at most, the latest streaks first (anyone's,
 * each tested against the grant: ~3 rows each), before its page by uid.
 */
const STATS_WALKED_FAILING = 500;

/** The windows a call counts over: the series' buckets, the last day's, and the hours the attempts of the series are in. */
interface Window {
  /** The series' first bucket's start. */
  from: number;
  /** The last day's first bucket's start, and its hour. */
  dayFrom: number;
  firstHour: number;
  /** The hours of the series, as a SQL list (a point lookup each per webhook read: attempt_counts is keyed by the hour first). */
  hourList: string;
}

function windowAt(now: number): Window {
  const current = Math.floor(now / SERIES_BUCKET_MS) * SERIES_BUCKET_MS;
  const from = current - (SERIES_BUCKETS - 1) * SERIES_BUCKET_MS;
  const dayFrom = current - (DAY_BUCKETS - 1) * SERIES_BUCKET_MS;
  const firstSeriesHour = Math.floor(from / HOUR_MS);
  const hours = Array.from({ length: Math.floor(current / HOUR_MS) - firstSeriesHour + 1 }, (_, i) => firstSeriesHour + i);
  return { from, dayFrom, firstHour: Math.floor(dayFrom / HOUR_MS), hourList: hours.join(", ") };
}

/**
 * Which event_counts rows: everyone's, or the grant's organizations and, for its locations, the events that named none of
 * those organizations (counted once). Each set is its own statement so that each is ranges of the key.
 */
async function eventCountSets(db: D1Database, access: Access | null): Promise<ScopeSet[]> {
  // Alerts are counted apart in everyone's rows (ALERTS_OWNER): only the admin sees them.
  if (!isLimited(access)) return [access === null ? { scopes: [0] } : { scopes: [0], owner: 0 }];
  const ids = await nameIds(db, [...(access.organizationUids ?? []), ...(access.locationUids ?? [])]);
  const { orgs, locs } = grantNameIds(access, ids);
  return [...(orgs.length ? [{ scopes: orgs }] : []), ...(locs.length ? [{ scopes: locs.map((l) => -l), ownersNot: orgs }] : [])];
}

/** A limited token's webhook (or notification endpoint: `kind`), with its names id (null: none yet). */
interface GrantWebhook {
  uid: string;
  kind: string;
  id: number | null;
}

/**
 * A limited token's webhooks, found by their owners, while few enough to sum each one's counters; null past
 * STATS_GRANT_WEBHOOKS (read no further), or for any other access (the totals' rows).
 */
async function listedGrant(db: D1Database, access: Access | null): Promise<GrantWebhook[] | null> {
  if (!isLimited(access)) return null;
  const g = grantedWebhookUidsSql(access);
  const { results } = await db
    .prepare(`SELECT gw.uid, gw.kind, gn.id FROM (${g.sql}) AS gw LEFT JOIN names gn ON gn.name = gw.uid LIMIT ${STATS_GRANT_WEBHOOKS + 1}`)
    .bind(...g.binds)
    .all<GrantWebhook>();
  return results.length > STATS_GRANT_WEBHOOKS ? null : results;
}

/** The webhooks of an answer (their uids), those of them failing now put first, and the uid the next page follows (null: none). */
interface WebhookPage {
  uids: string[];
  failing: string[];
  nextWebhook: string | null;
}

const NO_PAGE: WebhookPage = { uids: [], failing: [], nextWebhook: null };

/** What the webhooks of an answer are: see `stats`. */
interface PageOptions {
  after?: string;
  webhooks?: boolean | string[];
  failingFirst?: boolean;
}

/**
 * The page of webhooks: those named, or those in uid order after `after` and whether more follow (after those failing now,
 * wherever they are by uid, with `failingFirst`). A listed grant's from its list; the admin's, an unlimited token's and a
 * larger grant's walked along the webhooks' key.
 */
async function webhookPage(db: D1Database, access: Access | null, grant: GrantWebhook[] | null, opts: PageOptions): Promise<WebhookPage> {
  if (Array.isArray(opts.webhooks)) return { ...NO_PAGE, uids: await namedWebhooks(db, access, grant, opts.webhooks.slice(0, STATS_WEBHOOKS)) };
  if (opts.webhooks === false) return NO_PAGE;
  const after = opts.after ?? "";
  const [page, failing] = await Promise.all([
    grant === null ? walkedPage(db, access, after) : listedPage(grant, after),
    opts.failingFirst ? failingWebhooks(db, access, grant) : Promise.resolve<string[]>([]),
  ]);
  return { uids: [...failing, ...page.uids.filter((uid) => !failing.includes(uid))], failing, nextWebhook: page.nextWebhook };
}

/**
 * Up to STATS_WEBHOOKS webhooks failing now (their last attempt failed: a streak in webhook_health, found along its
 * index of those, migration 0015), the latest streaks when more, shown the longest failing first, that the access may
 * see. A listed grant's probed a webhook at a time; a larger grant's among the latest STATS_WALKED_FAILING of anyone's;
 * the admin's and an unlimited token's the latest, passing over notification endpoints.
 */
async function failingWebhooks(db: D1Database, access: Access | null, grant: GrantWebhook[] | null): Promise<string[]> {
  const inStreak = "h.failing_since IS NOT NULL";
  // Read newest streak first: a disabled webhook keeps its streak (reset when enabled), so the oldest streaks are those of
  // webhooks disabled long ago (auto-disabled, say), which would otherwise fill the 100 and hide one failing since now.
  // Shown the longest failing first all the same (reversed).
  const order = `ORDER BY h.failing_since DESC, h.webhook_uid DESC`;
  if (grant !== null) {
    const uids = JSON.stringify(grant.flatMap((w) => (w.kind === "webhook" ? [w.uid] : [])));
    const { results } = await db
      .prepare(`SELECT h.webhook_uid AS uid FROM json_each(?) j CROSS JOIN webhook_health h ON h.webhook_uid = j.value WHERE ${inStreak} ${order} LIMIT ${STATS_WEBHOOKS}`)
      .bind(uids)
      .all<{ uid: string }>();
    return results.map((r) => r.uid).reverse();
  }
  if (!isLimited(access)) {
    const { results } = await db
      .prepare(`SELECT h.webhook_uid AS uid FROM webhook_health h CROSS JOIN webhooks w ON w.uid = h.webhook_uid WHERE ${inStreak} AND w.kind = 'webhook' ${order} LIMIT ${STATS_WEBHOOKS}`)
      .all<{ uid: string }>();
    return results.map((r) => r.uid).reverse();
  }
  const { results } = await db
    .prepare(
      `SELECT h.webhook_uid AS uid, w.kind = 'webhook' AND ${webhookRowInGrantSql("w", 1)} AS hit FROM webhook_health h CROSS JOIN webhooks w ON w.uid = h.webhook_uid
       WHERE ${inStreak} ${order} LIMIT ${STATS_WALKED_FAILING}`,
    )
    .bind(grantListsJson(access))
    .all<{ uid: string; hit: number }>();
  return results.flatMap((r) => (r.hit ? [r.uid] : [])).slice(0, STATS_WEBHOOKS).reverse();
}

/** Named webhooks (at most a page's): those of them the access may see, a few rows each. */
async function namedWebhooks(db: D1Database, access: Access | null, grant: GrantWebhook[] | null, named: string[]): Promise<string[]> {
  if (grant !== null) return named.filter((uid) => grant.some((w) => w.uid === uid && w.kind === "webhook"));
  const limited = isLimited(access);
  const test = limited ? webhookRowInGrantSql("w", 2) : "1";
  const { results } = await db
    .prepare(`SELECT w.uid FROM json_each(?1) j CROSS JOIN webhooks w ON w.uid = j.value WHERE w.kind = 'webhook' AND ${test}`)
    .bind(JSON.stringify(named), ...(limited ? [grantListsJson(access)] : []))
    .all<{ uid: string }>();
  return results.map((r) => r.uid);
}

/** A listed grant's page, from its list: no read. */
function listedPage(grant: GrantWebhook[], after: string): WebhookPage {
  const uids = grant.filter((w) => w.kind === "webhook" && w.uid > after).map((w) => w.uid).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const page = uids.slice(0, STATS_WEBHOOKS);
  return { uids: page, failing: [], nextWebhook: uids.length > STATS_WEBHOOKS ? page[page.length - 1]! : null };
}

/**
 * A page walked along the webhooks' key: the admin's and an unlimited token's a page and one more (passing over a few
 * notification endpoints besides); a larger grant's at most STATS_WALKED_WEBHOOKS a call, each tested against the grant on its row.
 */
async function walkedPage(db: D1Database, access: Access | null, after: string): Promise<WebhookPage> {
  const limited = isLimited(access);
  const [test, bound] = limited ? [webhookRowInGrantSql("w", 2), STATS_WALKED_WEBHOOKS] : ["1", STATS_WEBHOOKS + 1];
  const { results } = await db
    .prepare(`SELECT w.uid, w.kind = 'webhook' AND ${test} AS hit FROM webhooks w WHERE w.uid > ?1 ORDER BY w.uid LIMIT ${bound}`)
    .bind(after, ...(limited ? [grantListsJson(access)] : []))
    .all<{ uid: string; hit: number }>();
  const hits = results.filter((r) => r.hit).map((r) => r.uid);
  const uids = hits.slice(0, STATS_WEBHOOKS);
  if (hits.length > STATS_WEBHOOKS) return { uids, failing: [], nextWebhook: uids[uids.length - 1]! };
  // A walk that stopped at its bound short of a page goes on after the last webhook it read.
  return { uids, failing: [], nextWebhook: results.length === bound ? results[results.length - 1]!.uid : null };
}

/** Counter rows read for the totals, each added (+1) or taken off (-1). */
interface Signed {
  rows: D1PreparedStatement;
  sign: 1 | -1;
}

/** The statements of the totals of deliveries and of the series' attempts; none: not summed (a grant past STATS_GRANT_WEBHOOKS). */
interface TotalsStatements {
  deliveries: Signed[];
  attempts: Signed[];
}

/**
 * Deliveries and attempts: the totals' rows (every webhook's, notification endpoints' taken off for a token: they carry
 * alerts); a listed grant's webhooks' own rows; a larger grant's, none (a row a webhook at least, past the bound).
 */
function totalsStatements(db: D1Database, access: Access | null, grant: GrantWebhook[] | null, hourList: string): TotalsStatements {
  if (!isLimited(access)) {
    const all = everyonesTotals(db, hourList);
    if (access === null) return all;
    const notifications = notificationTotals(db, hourList);
    return { deliveries: [...all.deliveries, ...notifications.deliveries], attempts: [...all.attempts, ...notifications.attempts] };
  }
  return grant === null ? { deliveries: [], attempts: [] } : grantTotals(db, grant, hourList);
}

/** Every webhook's totals: one row of deliveries, a row an hour of attempts (migration 0041). */
function everyonesTotals(db: D1Database, hourList: string): TotalsStatements {
  return {
    deliveries: [{ rows: db.prepare("SELECT * FROM delivery_totals"), sign: 1 }],
    attempts: [{ rows: db.prepare(`SELECT * FROM attempt_totals WHERE hour IN (${hourList})`), sign: 1 }],
  };
}

/** Notification endpoints' counters, to take off everyone's totals: theirs are alerts', which only the admin sees. */
function notificationTotals(db: D1Database, hourList: string): TotalsStatements {
  const notifications = `SELECT webhook FROM alert_webhooks UNION SELECT n.id FROM webhooks w JOIN names n ON n.name = w.uid WHERE w.kind = 'notification'`;
  return {
    deliveries: [{ rows: db.prepare(`SELECT * FROM delivery_counts WHERE webhook IN (${notifications})`), sign: -1 }],
    attempts: [{ rows: db.prepare(`SELECT c.* FROM (${notifications}) nw CROSS JOIN attempt_counts c ON c.hour IN (${hourList}) AND c.webhook = nw.webhook`), sign: -1 }],
  };
}

/** A listed grant's webhooks' own counters. */
function grantTotals(db: D1Database, grant: GrantWebhook[], hourList: string): TotalsStatements {
  const ids = JSON.stringify(grant.flatMap((w) => (w.id === null ? [] : [w.id])));
  return {
    deliveries: [{ rows: db.prepare("SELECT c.* FROM json_each(?) j CROSS JOIN delivery_counts c ON c.webhook = j.value").bind(ids), sign: 1 }],
    attempts: [{ rows: db.prepare(`SELECT c.* FROM json_each(?) j CROSS JOIN attempt_counts c ON c.hour IN (${hourList}) AND c.webhook = j.value`).bind(ids), sign: 1 }],
  };
}

/**
 * Per set of event_counts rows, three statements: its total rows, its hours of the last day, and its older hours outside
 * the totals (counters.ts: not folded yet, or already taken out at the retention).
 */
function eventStatements(db: D1Database, sets: ScopeSet[], firstHour: number): D1PreparedStatement[] {
  return sets.map(scopeSql).flatMap((scope) => [
    db.prepare(`SELECT * FROM event_counts WHERE ${scope} AND hour = ${TOTAL_HOUR}`),
    db.prepare(`SELECT * FROM event_counts WHERE ${scope} AND hour >= ?`).bind(firstHour),
    db
      .prepare(
        `SELECT * FROM event_counts WHERE ${scope} AND hour >= 0 AND hour <= (SELECT after FROM event_count_marks) AND hour < ?1
         UNION ALL SELECT * FROM event_counts WHERE ${scope} AND hour > (SELECT through FROM event_count_marks) AND hour < ?1`,
      )
      .bind(firstHour),
  ]);
}

/** The page's webhooks, each with its counts and health: a few rows each. */
function pageStatement(db: D1Database, uids: string[]): D1PreparedStatement {
  return db
    .prepare(
      `SELECT w.uid, w.url, w.event_types, w.disabled, ${DELIVERY_COLUMNS.map((col) => `c.${col}`).join(", ")}, h.last_failure_at, h.last_error
       FROM json_each(?) j CROSS JOIN webhooks w ON w.uid = j.value LEFT JOIN names n ON n.name = w.uid LEFT JOIN delivery_counts c ON c.webhook = n.id
       LEFT JOIN webhook_health h ON h.webhook_uid = w.uid`,
    )
    .bind(JSON.stringify(uids));
}

const n = (row: Counts, column: string) => Number(row[column] ?? 0);

/**
 * Counts for /v1/stats, limited to what `access` may see (null: the admin's, alerts
 * included); one round trip for the counts after the webhooks of the page are known. Totals from the counters'
 * totals rows (migration 0041) for the admin and an unlimited token, from each webhook's counters for a limited token's
 * (up to STATS_GRANT_WEBHOOKS); per webhook, a page of at most STATS_WEBHOOKS after `after` (by uid), with `failingFirst`
 * preceded by up to STATS_WEBHOOKS failing now wherever they are by uid, those named (`webhooks` a list of uids: any the
 * access may not see answer `unseen`, for the route to refuse as it refuses none), or none (`webhooks: false`).
 */
export async function stats(db: D1Database, access: Access | null, opts: PageOptions = {}, now = Date.now()): Promise<StatsOutcome> {
  const visible = Array.from({ length: OBJECT_GROUPS }, (_, i) => i).filter((o) => !hiddenGroups(access).includes(o));
  const window = windowAt(now);
  const sets = await eventCountSets(db, access);
  const grant = await listedGrant(db, access);
  const page = await webhookPage(db, access, grant, opts);
  // A named webhook the access may not see (outside its grant, deleted, a notification endpoint, none) is answered
  // before the counts are read, every one of them: not left out of the counts, where a typo would hide.
  const unseen = Array.isArray(opts.webhooks) ? [...new Set(opts.webhooks.slice(0, STATS_WEBHOOKS))].filter((uid) => !page.uids.includes(uid)) : [];
  if (unseen.length > 0) return { kind: "unseen", webhookUids: unseen };
  const totals = totalsStatements(db, access, grant, window.hourList);
  const results = await db.batch<Counts>([
    pageStatement(db, page.uids),
    db.prepare("SELECT open AS n FROM dead_letter_counts"),
    db.prepare("SELECT after, through FROM event_count_marks"),
    // Ingest's counts not folded yet, in neither the totals nor the hour rows: at most PENDING_DELTAS
    // rows, and PENDING_DELTA_CELLS cells and a batch's, taken apart here (in SQL each cell would be a row read).
    db.prepare("SELECT id, cells FROM event_count_deltas"),
    // The retention's purges not taken off yet, still in the hour rows (and maybe the totals): at most
    // PENDING_PURGES rows and PENDING_PURGE_CELLS cells and a maintenance run's chunks (counters.ts).
    db.prepare("SELECT id, cells FROM event_count_purges"),
    ...totals.deliveries.map((st) => st.rows),
    ...totals.attempts.map((st) => st.rows),
    ...eventStatements(db, sets, window.firstHour),
  ]);
  const [perWebhook, dead, marks, deltas, purges] = results;
  const signed = (from: number, statements: Signed[]) =>
    statements.flatMap((st, i) => (results[from + i]?.results ?? []).map((row) => ({ row, sign: st.sign })));
  const deliveryRows = signed(5, totals.deliveries);
  const attemptRows = signed(5 + totals.deliveries.length, totals.attempts);
  const eventRows = results.slice(5 + totals.deliveries.length + totals.attempts.length).map((r) => r.results);
  const pending = pendingOf(sets, deltas?.results ?? [], purges?.results ?? []);
  const events = eventSums(visible, window, eventRows, pending, foldedHours(marks?.results[0]));
  // (No statements: a grant past STATS_GRANT_WEBHOOKS, whose deliveries and attempts are not summed.)
  const counted = totals.deliveries.length > 0;
  const attempts = attemptSeries(visible, window, attemptRows);
  const counts: Stats = {
    events: { total: events.total, last24h: events.last24h },
    series: events.series.map((b, i) => ({ ...b, ...(counted ? attempts[i]! : { attempts: null, succeededAttempts: null }) })),
    deliveries: counted ? deliveryTotals(visible, deliveryRows) : null,
    deadLetters: Number(dead?.results[0]?.n ?? 0),
    webhooks: webhookCounts(visible, perWebhook?.results ?? [], page.failing),
    nextWebhook: page.nextWebhook,
  };
  return { kind: "counted", stats: counts };
}

/** Counts of the sets pending in event_count_deltas (added) and event_count_purges (taken off), summed an hour a row. */
function pendingOf(sets: ScopeSet[], deltas: Counts[], purges: Counts[]): Counts[] {
  const added = deltas.flatMap((r) => pendingCells(r.cells, r.id));
  const purged = purges.flatMap((r) => pendingCells(r.cells, r.id, "event_count_purges")).map((c) => ({ ...c, n: -c.n }));
  return pendingByHour([...added, ...purged].filter((c) => sets.some((set) => inScopeSet(set, c.scope, c.owner))));
}

/** Whether an hour's counts are in the totals' rows (folded), from event_count_marks. */
function foldedHours(mark: Counts | undefined): (hour: number) => boolean {
  if (typeof mark?.after !== "number" || typeof mark.through !== "number") throw new Error("event_count_marks has no row (migration 0022)");
  const { after, through } = mark;
  return (hour) => hour > after && hour <= through;
}

/** Events in a counter row's columns of the visible groups, of the tenths of its hour `tenths` takes. */
const eventsIn = (visible: number[], row: Counts, tenths: (t: number) => boolean) =>
  visible.reduce((sum, o) => sum + Array.from({ length: TENTHS }, (_, t) => t).filter(tenths).reduce((s, t) => s + n(row, EVENT_COLUMNS[o * TENTHS + t]!), 0), 0);

/** The series' bucket of an hour's tenth (out of range: not in the series). */
const bucketOf = (window: Window, hour: number, tenth: number) => (hour * HOUR_MS + tenth * TENTH_MS - window.from) / SERIES_BUCKET_MS;

/** Events: in all (eventStatements' rows by three: totals, last day's hours, older hours), in the last day, and a bucket at a time. */
function eventSums(visible: number[], window: Window, eventRows: Counts[][], pending: Counts[], folded: (hour: number) => boolean) {
  const totals = eventRows.filter((_, i) => i % 3 === 0).flat();
  const hours = eventRows.filter((_, i) => i % 3 === 1).flat();
  const older = eventRows.filter((_, i) => i % 3 === 2).flat();
  const total = [...totals, ...older, ...hours.filter((r) => !folded(n(r, "hour"))), ...pending].reduce((sum, r) => sum + eventsIn(visible, r, () => true), 0);
  const series = Array.from({ length: SERIES_BUCKETS }, (_, i) => ({ start: window.from + i * SERIES_BUCKET_MS, events: 0 }));
  let last24h = 0;
  for (const r of [...hours, ...pending]) {
    const hour = n(r, "hour");
    last24h += eventsIn(visible, r, (t) => hour * HOUR_MS + t * TENTH_MS >= window.dayFrom);
    for (let t = 0; t < TENTHS; t++) {
      const bucket = series[bucketOf(window, hour, t)];
      if (bucket) bucket.events += eventsIn(visible, r, (x) => x === t);
    }
  }
  return { total, last24h, series };
}

/** Attempts and those that succeeded, a bucket of the series at a time. */
function attemptSeries(visible: number[], window: Window, rows: { row: Counts; sign: 1 | -1 }[]) {
  const series = Array.from({ length: SERIES_BUCKETS }, () => ({ attempts: 0, succeededAttempts: 0 }));
  for (const { row: r, sign } of rows) {
    const hour = n(r, "hour");
    for (let t = 0; t < TENTHS; t++) {
      const bucket = series[bucketOf(window, hour, t)];
      if (!bucket) continue;
      for (const o of visible) {
        bucket.attempts += sign * n(r, ATTEMPT_COLUMNS[o * TENTHS + t]!);
        bucket.succeededAttempts += sign * n(r, ATTEMPT_OK_COLUMNS[o * TENTHS + t]!);
      }
    }
  }
  return series;
}

const byStatus = (visible: number[], row: Counts, s: DeliveryStatus) => visible.reduce((sum, o) => sum + n(row, deliveryColumn(s, o)), 0);

/** Deliveries by status, summed over signed rows. */
function deliveryTotals(visible: number[], rows: { row: Counts; sign: 1 | -1 }[]): NonNullable<Stats["deliveries"]> {
  const counts: Record<DeliveryStatus, number> = { held: 0, pending: 0, succeeded: 0, failed: 0, expired: 0 };
  for (const { row, sign } of rows) for (const s of DELIVERY_STATUSES) counts[s] += sign * byStatus(visible, row, s);
  return counts;
}

/** The page's webhooks with their counts: those failing now first, the longest failing first; then the most failed first. */
function webhookCounts(visible: number[], rows: Counts[], failing: string[]): Stats["webhooks"] {
  const place = (uid: string) => (failing.includes(uid) ? failing.indexOf(uid) : failing.length);
  return rows
    .map((r) => ({
      uid: String(r.uid),
      url: String(r.url),
      eventTypes: storedJson(String(r.event_types), isStringArray, `webhook ${String(r.uid)} event_types`),
      disabled: r.disabled === 1,
      succeeded: byStatus(visible, r, "succeeded"),
      failed: byStatus(visible, r, "failed"),
      pending: byStatus(visible, r, "pending"),
      held: byStatus(visible, r, "held"),
      lastFailureAt: typeof r.last_failure_at === "number" ? r.last_failure_at : null,
      lastError: typeof r.last_error === "string" ? r.last_error : null,
    }))
    .sort((a, b) => place(a.uid) - place(b.uid) || b.failed - a.failed || (a.uid < b.uid ? -1 : a.uid > b.uid ? 1 : 0));
}
