import { hidesType, isLimited, type Access } from "../domain/access";
import type { DeliveryStatus, NewDelivery } from "../domain/delivery";
import type { IngestMessage, StoredEvent } from "../domain/types";
import { stringsIn } from "./stored-json";
import { accessNames, eventAccessIds, grantedWebhookIdsUpTo, GRANT_PROBE_ROWS, grantListsJson, grantListsRows, LISTED_WEBHOOKS, webhookInGrantSql } from "./access";
import { locationOrganizations } from "./locations";
import { groupsOf } from "./content";
import { contentOfEventStatements, contentsRead, contentsReader, groupOfSql, groupStatement } from "./contents";
import { distinctBy } from "./distinct";
import { ALERT_SOURCE } from "../domain/alerts";
import { eventCountDeltaStatements, objectGroupOf } from "./counters";
import { chunksOf } from "./chunks";
import { insertDeliveriesStatements, unattemptedPendingStatement } from "./deliveries";
import { anyDeliveryOf, deliveryVerdictCap, deliveryVerdictOf, deliveryVerdictRows } from "./event-deliveries";
import { byLocation, byOrganization, INSERT_PLACES, placesDriver } from "./event-places";
import { apiIdSql, dedupeKeySql, dedupeTextSql, idKeySql, learnNamesStatement, nameIdSql, nameIds } from "./names";
import { boundedScan, rowsBoundedScan, UNDECIDED, type Drivers } from "./scan";
import { statusCode } from "./transitions";

/** An event ready to store: the queue message with its body resolved, and the webhooks whose filter excluded it. */
export type EventRow = Omit<IngestMessage, "v" | "body" | "bodyKey"> & { body: string; filteredOut?: string[] };

// D1 binds at most 100 parameters, so one statement inserts a group of events, their
// rows travelling as one JSON parameter, just after the group's contents (contents.ts).
const INSERT_EVENTS = `INSERT INTO events (id, source, type, object, organization, location, received_at, dedupe, part, filtered_out)
  SELECT ${idKeySql("evt_", "value->>0")}, ${nameIdSql("value->>1")}, ${nameIdSql("value->>2")}, value->>3,
    ${nameIdSql("value->>4")}, ${nameIdSql("value->>5")}, value->>6, ${dedupeKeySql("value->>7")}, key, value->>8
  FROM json_each(?) WHERE true ORDER BY key
  ON CONFLICT DO NOTHING`;

/** 1 for an event of the alerts' source, else 0 (a column of `events`). */
const IS_ALERT = `(source IS ${nameIdSql(`'${ALERT_SOURCE}'`)})`;

/** Events as the counters take them (eventCountsStatement's columns): add WHERE. */
export const COUNTED_EVENTS = `SELECT organization AS org, location AS loc, received_at, object, ${IS_ALERT} AS alert FROM events`;

/**
 * The events this transaction's inserts just stored, as the counters take them: each insert
 * takes a position of the table's sequence for every event it is given, stored before or not
 * (?1 of them), so the new ones are a range at its end, read without a lookup by id.
 */
const STORED_NOW = `${COUNTED_EVENTS} WHERE seq > (SELECT seq FROM sqlite_sequence WHERE name = 'events') - ?1`;

/** Delivery ids one statement asks about at most: ~400 KB of JSON. */
const IDS_PER_STATEMENT = 10_000;

async function insertStatements(db: D1Database, events: EventRow[]): Promise<D1PreparedStatement[]> {
  const stmts: D1PreparedStatement[] = [];
  for (const group of groupsOf(events)) {
    const rows = group.map((e) => [
      e.eventId, e.sourceId, e.eventType, objectGroupOf(e.eventType), e.organizationUid, e.locationUid, e.receivedAt, e.dedupeKey,
      e.filteredOut?.length ? JSON.stringify(e.filteredOut) : null,
    ]);
    stmts.push(await groupStatement(db, group), db.prepare(INSERT_EVENTS).bind(JSON.stringify(rows)), db.prepare(INSERT_PLACES).bind(group.length));
  }
  return stmts;
}

/**
 * Stores events and the deliveries they are owed in one transaction, with `also`
 * (what the batch teaches other tables, never events) and the counters they change;
 * an event or a delivery already stored is left as it is, and an event stored before
 * gets no routed delivery now. Returns the ids of the given deliveries that are
 * pending and never attempted, made now or before (a wake-up lost): their webhooks'
 * schedulers are owed a wake-up.
 */
export async function storeEvents(
  db: D1Database,
  events: EventRow[],
  deliveries: NewDelivery[] = [],
  also: D1PreparedStatement[] = [],
  /** The retention's horizon: the deliveries of an event received before it are stored expired (insertDeliveriesStatements). */
  horizon = 0,
): Promise<string[]> {
  if (events.length === 0) return [];
  const unique = distinctBy(events, (e) => e.eventId);
  // (The deliveries' statements learn their webhooks' names.)
  const names = learnNamesStatement(db, unique.flatMap((e) => [e.sourceId, e.eventType, e.organizationUid, e.locationUid]));
  const stmts = [
    ...(names ? [names] : []),
    ...(await insertStatements(db, unique)),
    ...eventCountDeltaStatements(db, STORED_NOW, [unique.length], Date.now()),
    ...also,
    ...insertDeliveriesStatements(db, deliveries, unique.length, horizon),
  ];
  // The ids as one JSON value each statement, under D1's 2,000,000 bytes (~40 bytes an id).
  const asks = chunksOf(deliveries.map((d) => d.id), IDS_PER_STATEMENT).map((ids) => unattemptedPendingStatement(db, ids));
  const results = await db.batch<{ id: string }>([...stmts, ...asks]);
  return results.slice(stmts.length).flatMap((r) => r.results.map((row) => row.id));
}

/** Which of these events are stored. */
export async function storedEventIds(db: D1Database, ids: string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const { results } = await db
    .prepare(`SELECT j.value AS id FROM json_each(?) j WHERE EXISTS (SELECT 1 FROM events WHERE id = ${idKeySql("evt_", "j.value")})`)
    .bind(JSON.stringify(ids))
    .all<{ id: string }>();
  return new Set(results.map((r) => r.id));
}

export async function eventExists(db: D1Database, id: string): Promise<boolean> {
  return (await storedEventIds(db, [id])).has(id);
}

/** An event's columns with its names spelled out. */
export interface EventDbRow {
  seq: number;
  id: string;
  source_id: string;
  event_type: string;
  location_uid: string | null;
  organization_uid: string | null;
  received_at: number;
  dedupe_key: string;
  filtered_out: string | null;
}

/** An event's row as EVENT_SELECT reads it (a batch's results come untyped). */
const isEventRow = (r: Record<string, unknown>): r is Record<string, unknown> & EventDbRow =>
  typeof r.seq === "number" && typeof r.id === "string" && typeof r.received_at === "number" && typeof r.dedupe_key === "string";

/** An event's columns (events e) with its names, read through EVENT_JOINS. */
export const EVENT_COLUMNS = `e.seq, ${apiIdSql("evt_", "e.id")} AS id, s.name AS source_id, t.name AS event_type,
    l.name AS location_uid, o.name AS organization_uid, e.received_at, ${dedupeTextSql("e.dedupe")} AS dedupe_key, e.filtered_out`;
export const EVENT_JOINS = `JOIN names s ON s.id = e.source JOIN names t ON t.id = e.type
  LEFT JOIN names o ON o.id = e.organization LEFT JOIN names l ON l.id = e.location`;
const EVENT_FROM = `FROM events e ${EVENT_JOINS}`;
/** SELECT … FROM events e with its names: add WHERE, ORDER BY, LIMIT. */
const EVENT_SELECT = `SELECT ${EVENT_COLUMNS} ${EVENT_FROM}`;

/** An event without its body and headers. */
export type EventMeta = Omit<StoredEvent, "body" | "headers">;

export function toMeta(r: EventDbRow): EventMeta {
  return {
    seq: r.seq,
    id: r.id,
    sourceId: r.source_id,
    dedupeKey: r.dedupe_key,
    eventType: r.event_type,
    locationUid: r.location_uid,
    organizationUid: r.organization_uid,
    receivedAt: r.received_at,
  };
}

/** An event, with the uids of the webhooks whose filter excluded it when it was stored. */
export async function getEvent(db: D1Database, id: string): Promise<(StoredEvent & { filteredOut: string[] }) | null> {
  // The row and its contents in one round trip (a D1 call costs more than its statements do).
  const key = idKeySql("evt_", "?1");
  const [rows, where, groups] = await db.batch<Record<string, unknown>>([db.prepare(`${EVENT_SELECT} WHERE e.id = ${key}`).bind(id), ...contentOfEventStatements(db, key, id)]);
  const row = rows?.results[0];
  if (!row || !isEventRow(row)) return null;
  const content = (await contentsRead(where?.results ?? [], groups?.results ?? [])).get(row.seq);
  return content ? { ...toMeta(row), headers: content.headers, body: content.body, filteredOut: stringsIn(row.filtered_out) } : null;
}

/** An event without its body and headers (an access check's): no contents read nor unpacked. */
export async function getEventMeta(db: D1Database, id: string): Promise<EventMeta | null> {
  const row = await db.prepare(`${EVENT_SELECT} WHERE e.id = ${idKeySql("evt_", "?1")}`).bind(id).first<EventDbRow>();
  return row ? toMeta(row) : null;
}

/** Events by their positions, newest first, without bodies. */
async function eventsAt(db: D1Database, seqs: number[]): Promise<EventMeta[]> {
  if (seqs.length === 0) return [];
  const { results } = await db
    .prepare(`${EVENT_SELECT} WHERE e.seq IN (SELECT value FROM json_each(?)) ORDER BY e.seq DESC`)
    .bind(JSON.stringify(seqs))
    .all<EventDbRow>();
  return results.map(toMeta);
}

interface EventPage {
  events: EventMeta[];
  /** The seq to continue below, or null at the end. */
  nextBefore: number | null;
}

export interface EventFilter {
  eventType?: string;
  sourceId?: string;
  locationUid?: string;
  organizationUid?: string;
  /** Events with at least one delivery in this status. */
  status?: DeliveryStatus;
}

/** The fewest deliveries a status check's later step reads of each event (a list's, decideStatus'): room to decide one of the few most have (the seed's: two at most). */
const STATUS_MIN_CAP = 3;
/** Rows one list call examines at most, however rare its filter: past them it answers a cursor. */
const EVENT_SCAN_ROWS = 4_000;
/** With a status filter each row examined also looks up its deliveries: at most so many events, … */
const EVENT_STATUS_SCAN_ROWS = 2_000;
/**
 * … and fewer when its events have many deliveries each (every webhook subscribed to everything,
 * or many replays): the D1 rows its walk reads at most (scan.ts, rowsBoundedScan), under the
 * 10,000 of a read with what else the call reads.
 */
const EVENT_STATUS_READ_ROWS = 9_000;

/**
 * Newest first, up to `limit`, strictly below `before` (the insertion sequence).
 * A location or organization filter, or a token limited to some, walks the insert groups'
 * places rows (event-places.ts), newest first; any other filter is checked along the walk (a time range is
 * listEventsInTime's walk).
 * One call examines at most EVENT_SCAN_ROWS events (along the places rows, scan.ts
 * PACKED_ROWS of those and half as many events): a page can hold fewer than `limit`
 * events, or none, and still carry `nextBefore`, where the next call continues.
 */
export async function listEvents(
  db: D1Database,
  opts: { limit: number; before?: number; filter?: EventFilter; access?: Access | null },
): Promise<EventPage> {
  const f = opts.filter ?? {};
  const where = await eventConditions(db, f, opts.access ?? null, "walked", 2);
  if (!where) return { events: [], nextBefore: null };
  const scan = {
    table: "events",
    columns: "seq, id, source, type, object, organization, location, received_at",
    drivers: where.drivers,
    list: where.list,
    before: opts.before ?? Number.MAX_SAFE_INTEGER,
    limit: opts.limit,
  };
  const verdict = where.verdict;
  const page = verdict
    ? await rowsBoundedScan(db, {
        ...scan,
        // The other conditions first: an event they exclude has its deliveries read not at all.
        filterWithin: (rows) => {
          const cap = deliveryVerdictCap(rows, verdict.probes);
          return cap < 1 ? null : `CASE WHEN ${where.others.join(" AND ") || "1"} THEN ${verdict.sql(cap)} ELSE 0 END`;
        },
        exactFilter: where.conditions.join(" AND ") || "1",
        minRoom: deliveryVerdictRows(STATUS_MIN_CAP, verdict.probes),
        statementRows: verdict.statementRows,
        scanRows: EVENT_STATUS_SCAN_ROWS,
        // (Less the read of the token's webhooks.)
        maxRowsRead: EVENT_STATUS_READ_ROWS - where.grantRows,
      })
    : await boundedScan(db, { ...scan, filter: where.conditions.join(" AND ") || "1", scanRows: EVENT_SCAN_ROWS });
  return { events: await eventsAt(db, page.seqs), nextBefore: page.nextBefore };
}

/**
 * A status filter as a capped check of an event's deliveries (deliveryVerdictOf): its SQL for a cap, the rows
 * its condition reads a delivery besides it (`probes`), and the rows its bound list costs a statement in each of
 * the check's two branches (its range, its strays): D1 counts a list of json_each as read once a statement where it
 * is probed (search-status-fanout.test.ts).
 */
interface Verdict {
  sql: (cap: number) => string;
  probes: number;
  /** What its bound list costs a statement: its length (`listed` rows) in each of the check's two branches. */
  statementRows: number;
}

/** The id no name has (names' ids are rowids, from 1). */
const NO_NAME = 0;

/**
 * A filter and an access as conditions on an events row (`row` names it, for the
 * status filter), with what the walk follows to every match: a location
 * or organization filter's, else a limited token's, else the table's. Null when
 * nothing stored can match (for an unlimited token a name never stored; a token granted nothing stored).
 * A status filter for a limited token names ?`listParam`, whose value is `list` (its webhooks' ids, or its
 * organizations and locations); `grantRows`, the rows read to learn which.
 */
async function eventConditions(
  db: D1Database,
  f: EventFilter,
  access: Access | null,
  row: string,
  listParam: number,
): Promise<{ conditions: string[]; others: string[]; verdict?: Verdict; drivers: Drivers; list?: string; grantRows: number } | null> {
  // A type whose object a data scope the token lacks guards (canSeeEvent) matches nothing, whatever is stored: said at once,
  // from the token's own scopes, not after a walk of every page (the SQL would find each event's object hidden).
  if (f.eventType !== undefined && hidesType(access, f.eventType)) return null;
  const ids = await nameIds(db, [
    ...[f.eventType, f.sourceId, f.locationUid, f.organizationUid].filter((n): n is string => n !== undefined),
    ...accessNames(access),
  ]);
  // A name the filter gives, with its id: undefined when it gives none, null when it was never stored.
  // For a limited token a name never stored matches nothing along the same walk as another's name
  // (no name has id 0): answering at once would tell it which names some tenant has.
  const limited = isLimited(access);
  const named = (name: string | undefined) => {
    if (name === undefined) return undefined;
    const id = ids.get(name) ?? (limited ? NO_NAME : undefined);
    return id === undefined ? null : { name, id };
  };
  const [type, source, location, organization] = [named(f.eventType), named(f.sourceId), named(f.locationUid), named(f.organizationUid)];
  if (type === null || source === null || location === null || organization === null) return null;

  const conditions: string[] = [];
  let list: string | undefined; // the value of ?listParam, when a condition names it
  if (type !== undefined) conditions.push(`type = ${type.id}`);
  if (source !== undefined) conditions.push(`source = ${source.id}`);
  if (location !== undefined) conditions.push(`location = ${location.id}`);
  if (organization !== undefined) conditions.push(`organization = ${organization.id}`);
  const grant = eventAccessIds(access, ids);
  if (grant.none) return null;
  if (grant.sql) conditions.push(grant.sql);
  const others = [...conditions];
  let verdict: Verdict | undefined;
  let grantRows = 0;
  if (f.status) {
    // Among the deliveries the token may see: one to a webhook outside its grant says nothing. By the event's
    // deliveries (their id range): for one webhook the planner would take that webhook's whole range instead.
    // A grant of up to LISTED_WEBHOOKS as the list of their ids (a row a probe, and the list's length a statement in each
    // branch that probes it), one of more with each delivery's webhook tested against the grant itself (a few rows a
    // probe, whatever the webhooks); either bound as one JSON value, at `listParam` (thousands of ids written into the
    // SQL would pass D1's 100 KB a statement).
    const granted = await grantedWebhookIdsUpTo(db, access, LISTED_WEBHOOKS);
    grantRows = granted.rowsRead;
    const visible = granted.ids;
    if (visible !== null && visible.length === 0) return null;
    let within = "";
    let probes = 0;
    let listed = 0;
    if (visible !== null) {
      list = JSON.stringify(visible);
      within = ` AND d.webhook IN (SELECT value FROM json_each(?${listParam}))`;
      [probes, listed] = [1, visible.length];
    } else if (isLimited(access)) {
      list = grantListsJson(access);
      within = ` AND ${webhookInGrantSql("d.webhook", listParam)}`;
      [probes, listed] = [GRANT_PROBE_ROWS, grantListsRows(access)];
    }
    const condition = `d.status = ${statusCode(f.status)}${within}`;
    conditions.push(anyDeliveryOf(`${row}.seq`, `${row}.received_at`, `${row}.id`, condition));
    // The same, answering 0, 1 or 2 (not decided) within `cap` deliveries (a list's bounded scan).
    verdict = {
      sql: (cap) => deliveryVerdictOf(`${row}.seq`, `${row}.received_at`, `${row}.id`, condition, cap),
      probes,
      statementRows: 2 * listed,
    };
  }

  // A limited token finds events only at places its grant sees into (one walk for all of them).
  let drivers: Drivers;
  if (location !== undefined) {
    drivers = placesDriver((await reachesLocation(db, access, location.name)) ? byLocation(location.id) : { ...grant.places, locations: [] });
  } else if (organization !== undefined) {
    drivers = placesDriver(!isLimited(access) || (access.organizationUids ?? []).includes(organization.name) ? byOrganization(organization.id) : { ...grant.places, organizations: [] });
  } else if (isLimited(access)) drivers = placesDriver(grant.places);
  else drivers = ["1"];
  const none = Array.isArray(drivers) ? drivers.length === 0 : drivers.ids.flat().length === 0;
  return none ? null : { conditions, others, verdict, drivers, list, grantRows };
}

/** Whether the location's events are (almost only) events `access` sees: it holds the location, or its organization. */
async function reachesLocation(db: D1Database, access: Access | null, locationUid: string): Promise<boolean> {
  if (!isLimited(access) || (access.locationUids ?? []).includes(locationUid)) return true;
  const owner = (await locationOrganizations(db, [locationUid])).get(locationUid);
  return owner !== undefined && (access.organizationUids ?? []).includes(owner);
}

/** A place in time order: events are read by `received_at`, then insertion order. */
export interface TimePosition {
  receivedAt: number;
  seq: number;
}

/**
 * The `received_at` range [from, to) a read of [since, until) past `after` walks: the cursor's time as the
 * range's own bound, one a side. Given two bounds a side (until, and the cursor's time) SQLite took until,
 * and each page walked every earlier page's events again (~1,000 rows more a page: the sixth read 10,814
 * rows on the seeded million).
 */
const rangePast = (o: { since: number; until: number }, after: TimePosition, newest: boolean): [number, number] =>
  newest ? [o.since, Math.min(o.until, after.receivedAt + 1)] : [Math.max(o.since, after.receivedAt), o.until];

/** A walk of events e along the received_at index: in [?1, ?2), strictly past (?3, ?4), at most ?5 rows, newest or oldest first. */
function rangeWalk(newest: boolean): string {
  const dir = newest ? "DESC" : "ASC";
  return `WHERE e.received_at >= ?1 AND e.received_at < ?2 AND (e.received_at, e.seq) ${newest ? "<" : ">"} (?3, ?4)
    ORDER BY e.received_at ${dir}, e.seq ${dir} LIMIT ?5`;
}

/** A bounded read of events with their bodies (`eventsWithBodies`). */
interface BodiesRead {
  /** The events examined that pass the filter, access and `match`, in the order read, each with its body and headers. */
  events: (StoredEvent & TimePosition)[];
  /** Where reading stopped (the last event examined, visible or not), or null when nothing was left. */
  last: TimePosition | null;
  /** Whether the range may hold more events past `last`: a bound was reached. */
  more: boolean;
}

/** Content rows read (and inflated) per query while a bounded read goes through bodies. */
const GROUPS_PER_READ = 4;
/**
 * With a status filter, the D1 rows a bounded read reads at most (its events, their bodies, their
 * deliveries' checks), under the 10,000 of a read with what else the call reads (as a list's
 * EVENT_STATUS_READ_ROWS), but for an event too heavy to decide (`decideStatus`).
 */
const BODIES_STATUS_READ_ROWS = 9_000;

/**
 * Events received in [since, until), newest or oldest first, strictly past `after`,
 * with their bodies: at most `limit` events are examined, in one range of the
 * `received_at` index, and no more once their bodies reach `maxChars` characters
 * (the first is always taken), nor once `exhausted` says the caller's work on the
 * events examined (its `match`) reached its bound; their content rows are read a few at a time, as the
 * walk reaches them. The filter and access apply to the events examined, not before
 * the bound, so a search or replay page costs at most `limit` rows however few of
 * them the caller may see (their bodies are not returned). The one read of many
 * bodies at once. A status filter is checked last, of the events passing the rest and
 * `match` (a search's query), within BODIES_STATUS_READ_ROWS (decideStatus): the
 * range examined ends before the first event it could not decide, or after the
 * `enough`th event found.
 */
export async function eventsWithBodies(
  db: D1Database,
  opts: {
    since: number;
    until: number;
    after: TimePosition | null;
    order: "newest" | "oldest";
    limit: number;
    maxChars: number;
    filter?: EventFilter;
    access?: Access | null;
    match?: (e: StoredEvent) => boolean;
    /** Whether the caller has done all it may in one call (a search's filter work): no further event is examined. */
    exhausted?: () => boolean;
    enough?: number;
  },
): Promise<BodiesRead> {
  // (A status's list of webhooks, at ?2, is named only by the checks of decideStatus.)
  const where = await eventConditions(db, opts.filter ?? {}, opts.access ?? null, "e", 2);
  // A name never stored (given by the admin) or an empty grant matches nothing, at once as the lists answer.
  if (!where) return { events: [], last: null, more: false };
  const newest = opts.order === "newest";
  const after = opts.after ?? (newest ? { receivedAt: opts.until, seq: -1 } : { receivedAt: opts.since, seq: -1 });
  const [from, to] = rangePast(opts, after, newest);
  // Without a status every condition here; with one, the others (its check, of the events they pass, comes after).
  const visible = (where.verdict ? where.others : where.conditions).join(" AND ") || "1";
  const { results, meta } = await db
    .prepare(
      `SELECT ${EVENT_COLUMNS}, e.part, ${groupOfSql("e.seq")} AS grp, (${visible}) AS visible ${EVENT_FROM} ${rangeWalk(newest)}`,
    )
    .bind(from, to, after.receivedAt, after.seq, opts.limit)
    .all<EventDbRow & { part: number; grp: number | null; visible: number }>();

  const read = contentsReader(db, GROUPS_PER_READ);
  // The events kept, each with its index among those examined.
  const kept: { at: number; event: StoredEvent & TimePosition }[] = [];
  let chars = 0;
  let taken = 0;
  for (const [i, r] of results.entries()) {
    if (i > 0 && (chars >= opts.maxChars || opts.exhausted?.())) break;
    taken++;
    // One the caller may not see is passed over unread: its body neither costs the read nor counts
    // against the call's characters (a limited token's pages were cut short by other tenants' sizes).
    if (r.visible !== 1) continue;
    const content = r.grp === null ? undefined : await read(r.grp, r.part, () => results.slice(i + 1).filter((u) => u.visible === 1));
    if (!content) continue;
    chars += content.body.length;
    const event = { ...toMeta(r), headers: content.headers, body: content.body };
    if (!opts.match || opts.match(event)) kept.push({ at: i, event });
  }
  let events = kept;
  if (where?.verdict && kept.length > 0) {
    const { found, decided } = await decideStatus(db, {
      verdict: where.verdict,
      exact: where.conditions.join(" AND "),
      list: where.list,
      events: kept.map((k) => ({ seq: k.event.seq, first: k.at === 0 })),
      maxRows: BODIES_STATUS_READ_ROWS - meta.rows_read - read.rowsRead - where.grantRows,
      enough: opts.enough ?? Infinity,
    });
    events = kept.slice(0, decided).filter((k) => found.has(k.event.seq));
    // The range examined ends before the first event not decided (never the first examined: decideStatus).
    if (decided < kept.length) taken = kept[decided]!.at;
  }
  const lastRow = results[taken - 1];
  return {
    events: events.map((k) => k.event),
    last: lastRow ? { receivedAt: lastRow.received_at, seq: lastRow.seq } : null,
    more: results.length === opts.limit || taken < results.length,
  };
}

/** Checks (statements) decideStatus makes at most, besides the exact one of a read's first event. */
const STATUS_CHECKS = 12;

/**
 * Which of `events` (a bounded read's, in its order, each passing all but the status) have a
 * delivery in the status, as many of the first as `maxRows` D1 rows let it decide: `decided` of
 * them, in order (the read's range ends before the next), `found` among those. `verdict` and
 * `exact` are the status's capped and exact conditions on a row `e`, naming ?2 (`list`) for a
 * limited token. In steps, as a list's (scan.ts, rowsBoundedScan): the next events not decided,
 * each check capped (deliveryVerdictOf) so that a step reads at most half the rows left (the
 * first) or all of them, as many events as twice the costliest an event has cost so far allows;
 * the first event still undecided after a step is checked alone with every row left (if half of
 * what there were at least, else the read ends before it and its next call begins with it). The
 * read's first event is never left undecided, or its next call would begin with it again: not
 * decided alone, it is checked exactly, whatever that reads (the one check past the bound, by one
 * event's deliveries). Stops once `enough` are found.
 */
async function decideStatus(
  db: D1Database,
  o: { verdict: Verdict; exact: string; list?: string; events: { seq: number; first: boolean }[]; maxRows: number; enough: number },
): Promise<{ found: Set<number>; decided: number }> {
  const found = new Set<number>();
  const settled = new Set<number>();
  /** The cap each event was left undecided at. */
  const tried = new Map<number, number>();
  // What a check reads besides its events' rows: a few, and the list its condition probes (a token's webhook ids, or past
  // LISTED_WEBHOOKS its grant's places), whatever the events (search-status-fanout.test.ts).
  const overhead = 2 + o.verdict.statementRows;
  // An event's verdict of `cap`, its own row included, and its entry in the list of positions.
  const price = (cap: number) => deliveryVerdictRows(cap, o.verdict.probes) + 1;
  const capWithin = (rows: number) => deliveryVerdictCap(rows - 1, o.verdict.probes);
  let [spent, perEvent, checks, decided, foundBefore] = [0, 0, 0, 0, 0];
  const check = async (seqs: number[], cap: number | null) => {
    checks++;
    const sql = `SELECT e.seq AS seq, (${cap === null ? o.exact : o.verdict.sql(cap)}) AS verdict FROM events e WHERE e.seq IN (SELECT value FROM json_each(?1))`;
    const stmt = db.prepare(sql);
    const { results, meta } = await (o.list === undefined ? stmt.bind(JSON.stringify(seqs)) : stmt.bind(JSON.stringify(seqs), o.list)).all<{ seq: number; verdict: number }>();
    spent += meta.rows_read;
    if (cap !== null) perEvent = Math.max(perEvent, meta.rows_read / seqs.length);
    for (const r of results) {
      if (cap !== null && r.verdict === UNDECIDED) tried.set(r.seq, cap);
      else {
        settled.add(r.seq);
        if (r.verdict) found.add(r.seq);
      }
    }
    // One gone since the read (purged) has no delivery in any status: decided (left undecided first, it would end the search).
    const answered = new Set(results.map((r) => r.seq));
    for (const seq of seqs) if (!answered.has(seq)) settled.add(seq);
  };
  // The events decided in order from the first, up to the `enough`th found.
  const advance = () => {
    for (; decided < o.events.length && foundBefore < o.enough && settled.has(o.events[decided]!.seq); decided++) {
      if (found.has(o.events[decided]!.seq)) foundBefore++;
    }
    return decided < o.events.length && foundBefore < o.enough;
  };
  // Whether the last step left the first event undecided: that one alone next.
  let alone = false;
  while (advance() && checks < STATUS_CHECKS) {
    const front = o.events[decided]!;
    const left = o.maxRows - spent - overhead;
    if (!alone) {
      const share = checks === 0 ? left / 2 : left;
      const rest = o.events.slice(decided).filter((e) => !settled.has(e.seq));
      // Each as deep as twice the deliveries the costliest so far had (its rows less the few besides them).
      const step = Math.min(rest.length, Math.floor(share / price(Math.max(STATUS_MIN_CAP, Math.ceil(2 * (perEvent - 3))))));
      const cap = step < 1 ? 0 : capWithin(Math.floor(share / step));
      // (Not one that would read the first event no deeper than it was: that one alone instead.)
      if (cap > (tried.get(front.seq) ?? 0)) {
        await check(rest.slice(0, step).filter((e) => (tried.get(e.seq) ?? 0) < cap).map((e) => e.seq), cap);
        alone = !settled.has(front.seq);
        continue;
      }
    }
    alone = false;
    const cap = capWithin(left);
    if (cap > (tried.get(front.seq) ?? 0) && (left >= o.maxRows / 2 || front.first)) {
      await check([front.seq], cap);
      if (settled.has(front.seq)) continue;
    }
    if (front.first) await check([front.seq], null);
    else break;
  }
  advance();
  return { found, decided };
}

/** A time-filtered list's page (`listEventsInTime`): events newest received first, and where to continue. */
interface TimePage {
  events: EventMeta[];
  /** The position to continue strictly past, or null at the end. */
  next: TimePosition | null;
}

/**
 * A list filtered by receipt time: the `received_at` range [since, until) (either bound open when
 * not given), newest received first in (received_at, seq) order, strictly past `after`. As a seq
 * list (listEvents) walks its drivers, this walks the range of the `received_at` index: at most
 * EVENT_SCAN_ROWS rows (limit + 1 when every row matches), each checked against the other filters and
 * the token's grant, so a past range's events are found by its first call, never after walks of the
 * newer events above it. With a status, EVENT_STATUS_SCAN_ROWS rows, the status decided of those the
 * rest admit within EVENT_STATUS_READ_ROWS (decideStatus, as a search's). A page can hold fewer than
 * `limit` events, or none, and still carry `next`.
 */
export async function listEventsInTime(
  db: D1Database,
  opts: { since?: number; until?: number; after: TimePosition | null; limit: number; filter?: EventFilter; access?: Access | null },
): Promise<TimePage> {
  const where = await eventConditions(db, opts.filter ?? {}, opts.access ?? null, "e", 2);
  if (!where) return { events: [], next: null };
  const range = { since: Math.trunc(opts.since ?? Number.MIN_SAFE_INTEGER), until: Math.trunc(opts.until ?? Number.MAX_SAFE_INTEGER) };
  const after = opts.after ?? { receivedAt: range.until, seq: -1 };
  const [from, to] = rangePast(range, after, true);
  // Without a status every condition here; with one, the others (its check, of the events they pass, comes after).
  const visible = (where.verdict ? where.others : where.conditions).join(" AND ") || "1";
  const walk = where.verdict ? EVENT_STATUS_SCAN_ROWS : visible === "1" ? opts.limit + 1 : EVENT_SCAN_ROWS;
  const { results: rows, meta } = await db
    .prepare(`SELECT e.seq, e.received_at, (${visible}) AS hit FROM events e ${rangeWalk(true)}`)
    .bind(from, to, after.receivedAt, after.seq, walk)
    .all<{ seq: number; received_at: number; hit: number }>();
  const kept = rows.flatMap((r, at) => (r.hit === 1 ? [{ at, seq: r.seq }] : []));
  let found = kept;
  // The rows examined: all walked, or (a status) up to the first event its check left undecided.
  let taken = rows.length;
  if (where.verdict && kept.length > 0) {
    const status = await decideStatus(db, {
      verdict: where.verdict,
      exact: where.conditions.join(" AND "),
      list: where.list,
      events: kept.map((k) => ({ seq: k.seq, first: k.at === 0 })),
      maxRows: EVENT_STATUS_READ_ROWS - meta.rows_read - where.grantRows,
      enough: opts.limit,
    });
    found = kept.slice(0, status.decided).filter((k) => status.found.has(k.seq));
    if (status.decided < kept.length) taken = kept[status.decided]!.at;
  }
  const page = found.slice(0, opts.limit);
  // A full page continues past its last event; else past the last row examined, while the walk stopped at a bound.
  const lastAt = found.length > opts.limit ? page[page.length - 1]!.at : rows.length === walk || taken < rows.length ? taken - 1 : -1;
  const last = rows[lastAt];
  const order = new Map(page.map((k, i) => [k.seq, i]));
  const events = (await eventsAt(db, page.map((k) => k.seq))).sort((a, b) => order.get(a.seq)! - order.get(b.seq)!);
  return { events, next: last ? { receivedAt: last.received_at, seq: last.seq } : null };
}

/** The same range without bodies (replays). */
export async function eventsInRange(
  db: D1Database,
  opts: { since: number; until: number; after: TimePosition | null; limit: number },
): Promise<EventMeta[]> {
  const after = opts.after ?? { receivedAt: opts.since, seq: -1 };
  const [from, to] = rangePast(opts, after, false);
  const { results } = await db
    .prepare(`${EVENT_SELECT} ${rangeWalk(false)}`)
    .bind(from, to, after.receivedAt, after.seq, opts.limit)
    .all<EventDbRow>();
  return results.map(toMeta);
}

