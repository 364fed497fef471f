// /v1/stats from the counters (store/counters.ts): a read touches a few rows per
// organization or location of the grant, never the events or deliveries counted, and a page of webhooks.
import { isLimited, type Access } from "../domain/access";
import { DELIVERY_STATUSES } from "../domain/delivery";
import { isStringArray } from "../domain/guards";
import { HOUR_MS } from "../domain/time";
import { grantedWebhookUidsSql, grantListsJson, hiddenGroups, webhookRowInGrantSql } from "./access";
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

export const SERIES_BUCKET_MS = TENTH_MS;
const SERIES_BUCKETS = 36; // six hours
/** `last24h` counts the ten-minute buckets of the last day, the current one included. */
const DAY_BUCKETS = 144;

export interface Stats {
  events: { total: number; last24h: number };
  /** Six hours in ten-minute buckets, oldest first (attempts null where `deliveries` is). */
  series: { start: number; events: number; attempts: number | null; succeededAttempts: number | null }[];
  /** Null for a token whose grant holds more than STATS_GRANT_WEBHOOKS webhooks: summed a webhook at a time, past the bound of a read. */
  deliveries: Record<"held" | "pending" | "succeeded" | "failed" | "expired", number> | null;
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
export const STATS_WALKED_WEBHOOKS = 2_000;

/**
 * Counts for /v1/stats, limited to what `access` may see (null: the admin's, alerts
 * included); one round trip for the counts after the webhooks of the page are known. Totals from the counters'
 * totals rows (migration 0041) for the admin and an unlimited token, from each webhook's counters for a limited token's
 * (up to STATS_GRANT_WEBHOOKS); per webhook, a page of at most STATS_WEBHOOKS after `after` (by uid), those named
 * (`webhooks` a list of uids), or none (`webhooks: false`).
 */
export async function stats(
  db: D1Database,
  access: Access | null,
  opts: { after?: string; webhooks?: boolean | string[] } = {},
  now = Date.now(),
): Promise<Stats> {
  const visible = Array.from({ length: OBJECT_GROUPS }, (_, i) => i).filter((o) => !hiddenGroups(access).includes(o));
  const current = Math.floor(now / SERIES_BUCKET_MS) * SERIES_BUCKET_MS;
  const from = current - (SERIES_BUCKETS - 1) * SERIES_BUCKET_MS;
  const dayFrom = current - (DAY_BUCKETS - 1) * SERIES_BUCKET_MS;
  const firstHour = Math.floor(dayFrom / HOUR_MS);
  const limited = isLimited(access);

  // Which event_counts rows: everyone's, or the grant's organizations and, for its
  // locations, the events that named none of those organizations (counted once).
  // Each set is its own statement so that each is ranges of the key.
  const sets: ScopeSet[] = [];
  // Alerts are counted apart in everyone's rows (ALERTS_OWNER): only the admin sees them.
  if (!limited) sets.push(access === null ? { scopes: [0] } : { scopes: [0], owner: 0 });
  else {
    const ids = await nameIds(db, [...(access.organizationUids ?? []), ...(access.locationUids ?? [])]);
    const known = (names: string[] | null) => (names ?? []).flatMap((n) => (ids.has(n) ? [ids.get(n)!] : []));
    const orgs = known(access.organizationUids);
    const locs = known(access.locationUids);
    if (orgs.length) sets.push({ scopes: orgs });
    if (locs.length) sets.push({ scopes: locs.map((l) => -l), ownersNot: orgs });
  }
  const scopes = sets.map(scopeSql);
  // The hours of the series (a point lookup each per webhook read: attempt_counts is keyed by the hour first).
  const firstSeriesHour = Math.floor(from / HOUR_MS);
  const hourList = Array.from({ length: Math.floor(current / HOUR_MS) - firstSeriesHour + 1 }, (_, i) => firstSeriesHour + i).join(", ");
  const afterUid = opts.after ?? "";
  // A limited token's webhooks (their names ids, kinds and uids), found by their owners, while few enough to sum
  // each one's counters; null past STATS_GRANT_WEBHOOKS (read no further), or for any other access (the totals' rows).
  let grant: { uid: string; kind: string; id: number | null }[] | null = null;
  if (limited) {
    const g = grantedWebhookUidsSql(access);
    const { results } = await db
      .prepare(`SELECT gw.uid, gw.kind, gn.id FROM (${g.sql}) AS gw LEFT JOIN names gn ON gn.name = gw.uid LIMIT ${STATS_GRANT_WEBHOOKS + 1}`)
      .bind(...g.binds)
      .all<{ uid: string; kind: string; id: number | null }>();
    grant = results.length > STATS_GRANT_WEBHOOKS ? null : results;
  }
  // The page of webhooks (their uids, in uid order after `after`) and whether more follow. The admin's and an unlimited
  // token's along the webhooks' key; a listed grant's from its list; a larger grant's walked along the key, at most
  // STATS_WALKED_WEBHOOKS a call, each tested against the grant on its row.
  let page: string[] = [];
  let nextWebhook: string | null = null;
  if (Array.isArray(opts.webhooks)) {
    // Named webhooks (at most a page's): those of them the access may see, a few rows each.
    const named = opts.webhooks.slice(0, STATS_WEBHOOKS);
    if (grant !== null) page = named.filter((uid) => grant.some((w) => w.uid === uid && w.kind === "webhook"));
    else {
      const test = limited ? webhookRowInGrantSql("w", 2) : "1";
      const { results } = await db
        .prepare(`SELECT w.uid FROM json_each(?1) j CROSS JOIN webhooks w ON w.uid = j.value WHERE w.kind = 'webhook' AND ${test}`)
        .bind(JSON.stringify(named), ...(limited ? [grantListsJson(access)] : []))
        .all<{ uid: string }>();
      page = results.map((r) => r.uid);
    }
  } else if (opts.webhooks !== false) {
    if (grant !== null) {
      const uids = grant.filter((w) => w.kind === "webhook" && w.uid > afterUid).map((w) => w.uid).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      page = uids.slice(0, STATS_WEBHOOKS);
      nextWebhook = uids.length > STATS_WEBHOOKS ? page[page.length - 1]! : null;
    } else {
      // (The admin's passes over a few notification endpoints besides: a page and one more read.)
      const [test, bound] = limited ? [webhookRowInGrantSql("w", 2), STATS_WALKED_WEBHOOKS] : ["1", STATS_WEBHOOKS + 1];
      const { results } = await db
        .prepare(`SELECT w.uid, w.kind = 'webhook' AND ${test} AS hit FROM webhooks w WHERE w.uid > ?1 ORDER BY w.uid LIMIT ${bound}`)
        .bind(afterUid, ...(limited ? [grantListsJson(access)] : []))
        .all<{ uid: string; hit: number }>();
      const hits = results.filter((r) => r.hit).map((r) => r.uid);
      page = hits.slice(0, STATS_WEBHOOKS);
      if (hits.length > STATS_WEBHOOKS) nextWebhook = page[page.length - 1]!;
      // A walk that stopped at its bound short of a page goes on after the last webhook it read.
      else if (results.length === bound) nextWebhook = results[results.length - 1]!.uid;
    }
  }
  // Deliveries and attempts: the totals' rows (every webhook's, notification endpoints' taken off for a token: they carry
  // alerts); a listed grant's webhooks' own rows; a larger grant's, none (null: a row a webhook at least, past the bound).
  const ids = JSON.stringify((grant ?? []).flatMap((w) => (w.id === null ? [] : [w.id])));
  const notifications = `SELECT webhook FROM alert_webhooks UNION SELECT n.id FROM webhooks w JOIN names n ON n.name = w.uid WHERE w.kind = 'notification'`;
  type Signed = { rows: D1PreparedStatement; sign: 1 | -1 };
  let deliveryStatements: Signed[] = [];
  let attemptStatements: Signed[] = [];
  if (!limited) {
    deliveryStatements = [{ rows: db.prepare("SELECT * FROM delivery_totals"), sign: 1 }];
    attemptStatements = [{ rows: db.prepare(`SELECT * FROM attempt_totals WHERE hour IN (${hourList})`), sign: 1 }];
    if (access) {
      deliveryStatements.push({ rows: db.prepare(`SELECT * FROM delivery_counts WHERE webhook IN (${notifications})`), sign: -1 });
      attemptStatements.push({ rows: db.prepare(`SELECT c.* FROM (${notifications}) nw CROSS JOIN attempt_counts c ON c.hour IN (${hourList}) AND c.webhook = nw.webhook`), sign: -1 });
    }
  } else if (grant !== null) {
    deliveryStatements = [{ rows: db.prepare("SELECT c.* FROM json_each(?) j CROSS JOIN delivery_counts c ON c.webhook = j.value").bind(ids), sign: 1 }];
    attemptStatements = [{ rows: db.prepare(`SELECT c.* FROM json_each(?) j CROSS JOIN attempt_counts c ON c.hour IN (${hourList}) AND c.webhook = j.value`).bind(ids), sign: 1 }];
  }
  // Per set: its total rows, its hours of the last day, and its older hours outside the
  // totals (counters.ts: not folded yet, or already taken out at the retention).
  const eventStatements = scopes.flatMap((scope) => [
    db.prepare(`SELECT * FROM event_counts WHERE ${scope} AND hour = ${TOTAL_HOUR}`),
    db.prepare(`SELECT * FROM event_counts WHERE ${scope} AND hour >= ?`).bind(firstHour),
    db
      .prepare(
        `SELECT * FROM event_counts WHERE ${scope} AND hour >= 0 AND hour <= (SELECT after FROM event_count_marks) AND hour < ?1
         UNION ALL SELECT * FROM event_counts WHERE ${scope} AND hour > (SELECT through FROM event_count_marks) AND hour < ?1`,
      )
      .bind(firstHour),
  ]);
  const results = await db.batch<Counts>([
    db
      .prepare(
        `SELECT w.uid, w.url, w.event_types, w.disabled, ${DELIVERY_COLUMNS.map((col) => `c.${col}`).join(", ")}, h.last_failure_at, h.last_error
         FROM json_each(?) j CROSS JOIN webhooks w ON w.uid = j.value LEFT JOIN names n ON n.name = w.uid LEFT JOIN delivery_counts c ON c.webhook = n.id
         LEFT JOIN webhook_health h ON h.webhook_uid = w.uid`,
      )
      .bind(JSON.stringify(page)),
    db.prepare("SELECT open AS n FROM dead_letter_counts"),
    db.prepare("SELECT after, through FROM event_count_marks"),
    // Ingest's counts not folded yet, in neither the totals nor the hour rows: at most PENDING_DELTAS
    // rows, and PENDING_DELTA_CELLS cells and a batch's, taken apart here (in SQL each cell would be a row read).
    db.prepare("SELECT id, cells FROM event_count_deltas"),
    // The retention's purges not taken off yet, still in the hour rows (and maybe the totals): at most
    // PENDING_PURGES rows and PENDING_PURGE_CELLS cells and a maintenance run's chunks (counters.ts).
    db.prepare("SELECT id, cells FROM event_count_purges"),
    ...deliveryStatements.map((st) => st.rows),
    ...attemptStatements.map((st) => st.rows),
    ...eventStatements,
  ]);
  const [perWebhook, dead, marks, deltas, purges] = results;
  const signed = (from: number, statements: { sign: 1 | -1 }[]) =>
    statements.flatMap((st, i) => (results[from + i]?.results ?? []).map((row) => ({ row, sign: st.sign })));
  const deliveryRows = signed(5, deliveryStatements);
  const attemptRows = signed(5 + deliveryStatements.length, attemptStatements);
  const eventRows = results.slice(5 + deliveryStatements.length + attemptStatements.length).map((r) => r.results);
  const mark = marks?.results[0];
  if (typeof mark?.after !== "number" || typeof mark.through !== "number") throw new Error("event_count_marks has no row (migration 0022)");
  const { after, through } = mark;
  const folded = (hour: number) => hour > after && hour <= through;
  const totals = eventRows.filter((_, i) => i % 3 === 0).flat();
  const hours = eventRows.filter((_, i) => i % 3 === 1).flat();
  const older = eventRows.filter((_, i) => i % 3 === 2).flat();
  const added = (deltas?.results ?? []).flatMap((r) => pendingCells(r.cells, r.id));
  const purged = (purges?.results ?? []).flatMap((r) => pendingCells(r.cells, r.id, "event_count_purges")).map((c) => ({ ...c, n: -c.n }));
  const pending = pendingByHour([...added, ...purged].filter((c) => sets.some((set) => inScopeSet(set, c.scope, c.owner))));

  const n = (row: Counts, column: string) => Number(row[column] ?? 0);
  const eventsIn = (row: Counts, tenths: (t: number) => boolean) =>
    visible.reduce((sum, o) => sum + Array.from({ length: TENTHS }, (_, t) => t).filter(tenths).reduce((s, t) => s + n(row, EVENT_COLUMNS[o * TENTHS + t]!), 0), 0);
  const total = [...totals, ...older, ...hours.filter((r) => !folded(n(r, "hour"))), ...pending].reduce((sum, r) => sum + eventsIn(r, () => true), 0);

  // (No statements: a grant past STATS_GRANT_WEBHOOKS, whose deliveries and attempts are not summed.)
  const counted = deliveryStatements.length > 0;
  const series = Array.from({ length: SERIES_BUCKETS }, (_, i) => ({ start: from + i * SERIES_BUCKET_MS, events: 0, attempts: 0, succeededAttempts: 0 }));
  const bucketOf = (hour: number, tenth: number) => (hour * HOUR_MS + tenth * TENTH_MS - from) / SERIES_BUCKET_MS;
  let last24h = 0;
  for (const r of [...hours, ...pending]) {
    const hour = n(r, "hour");
    last24h += eventsIn(r, (t) => hour * HOUR_MS + t * TENTH_MS >= dayFrom);
    for (let t = 0; t < TENTHS; t++) {
      const bucket = series[bucketOf(hour, t)];
      if (bucket) bucket.events += eventsIn(r, (x) => x === t);
    }
  }
  for (const { row: r, sign } of attemptRows) {
    const hour = n(r, "hour");
    for (let t = 0; t < TENTHS; t++) {
      const bucket = series[bucketOf(hour, t)];
      if (!bucket) continue;
      for (const o of visible) {
        bucket.attempts += sign * n(r, ATTEMPT_COLUMNS[o * TENTHS + t]!);
        bucket.succeededAttempts += sign * n(r, ATTEMPT_OK_COLUMNS[o * TENTHS + t]!);
      }
    }
  }

  const byStatus = (row: Counts, s: (typeof DELIVERY_STATUSES)[number]) => visible.reduce((sum, o) => sum + n(row, deliveryColumn(s, o)), 0);
  const counts = { held: 0, pending: 0, succeeded: 0, failed: 0, expired: 0 };
  for (const { row, sign } of deliveryRows) for (const s of DELIVERY_STATUSES) counts[s] += sign * byStatus(row, s);

  const webhooks = (perWebhook?.results ?? [])
    .map((r) => ({
      uid: String(r.uid),
      url: String(r.url),
      eventTypes: storedJson(String(r.event_types), isStringArray, `webhook ${String(r.uid)} event_types`),
      disabled: r.disabled === 1,
      succeeded: byStatus(r, "succeeded"),
      failed: byStatus(r, "failed"),
      pending: byStatus(r, "pending"),
      held: byStatus(r, "held"),
      lastFailureAt: typeof r.last_failure_at === "number" ? r.last_failure_at : null,
      lastError: typeof r.last_error === "string" ? r.last_error : null,
    }))
    .sort((a, b) => b.failed - a.failed || (a.uid < b.uid ? -1 : a.uid > b.uid ? 1 : 0));

  return {
    events: { total, last24h },
    series: series.map((b) => (counted ? b : { ...b, attempts: null, succeededAttempts: null })),
    deliveries: counted ? counts : null,
    deadLetters: Number(dead?.results[0]?.n ?? 0),
    webhooks,
    nextWebhook,
  };
}
