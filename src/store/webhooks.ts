import { isLimited, type Access, type LocationOrganizations } from "../domain/access";
import { NOTIFICATION_ORDERING } from "../domain/alerts";
import { isOrdering } from "../domain/flow";
import { isString, isStringArray, recordOf } from "../domain/guards";
import { isJson, isWebhookKind, type Webhook, type WebhookKind } from "../domain/types";
import type { VersionedWrite } from "../domain/version";
import { grantLists, grantParts } from "./access";
import { EXPIRE_CHUNK, expireWebhookStatements, HOLD_CHUNK, holdWebhookStatements, transition } from "./deliveries";
import { atVersionSql, disableAppliesSql, failingSinceSql, goneSql } from "./webhook-version";
import { closeDisabledEpisodeStatement, closeEpisodesOfStatement } from "./alerts";
import { dropDeletedDeliveryCountsStatement } from "./counters";
import { forgetHealthStatement, resetStreakStatement, streakDisabledStatement } from "./health";
import { learnNamesStatement, nameIdSql } from "./names";
import { storedJson } from "./stored-json";
import { from, owed, to } from "./transitions";
import { versionedOutcome, writeAtVersion } from "./versioned-write";
import { filterProgramCharge } from "../routing/match";

interface WebhookRow {
  uid: string;
  url: string;
  event_types: string;
  location_uid: string | null;
  organization_uid: string | null;
  grant_organization_uid: string | null;
  source_ids: string | null;
  secret: string;
  previous_secret: string | null;
  previous_secret_expires_at: number | null;
  disabled: number;
  timeout_ms: number;
  max_attempts: number;
  rate_limit: number | null;
  max_concurrency: number;
  ordering: string;
  created_at: number;
  updated_at: number;
  filter: string | null;
  transform: string | null;
  transform_headers: string | null;
  kind: string;
  auto_disable_after_minutes: number | null;
  failing_after_attempts: number;
  disabled_reason: string | null;
  disabled_at: number | null;
}

const isStringRecord = recordOf(isString);

/** The stored transformHeaders, or null when none; read through storedJson, whose errors never quote the (credential-holding) text. */
function headersOf(uid: string, text: string | null): Record<string, string> | null {
  return text === null ? null : storedJson(text, isStringRecord, `webhook ${uid} transform_headers`);
}

/**
 * The content columns of a webhook row, as written: with the filter, its `$regex` programs'
 * instructions (filter_program), which triggers add up for the account-wide bound (migration 0053).
 */
function contentColumns(w: Webhook): [string | null, string | null, string | null, number] {
  return [
    w.filter === null ? null : JSON.stringify(w.filter),
    w.transform,
    w.transformHeaders === null ? null : JSON.stringify(w.transformHeaders),
    filterProgramCharge(w),
  ];
}

/**
 * The settings of a webhook row a change writes, as written: url, event_types, source_ids, secret, previous_secret,
 * previous_secret_expires_at, disabled, timeout_ms, max_attempts, rate_limit, max_concurrency, ordering.
 */
function settingsColumns(
  w: Webhook,
): [string, string, string | null, string, string | null, number | null, number, number, number, number | null, number, string] {
  return [
    w.url,
    JSON.stringify(w.eventTypes),
    w.sourceIds === null ? null : JSON.stringify(w.sourceIds),
    w.secret,
    w.previousSecret?.secret ?? null,
    w.previousSecret?.expiresAt ?? null,
    w.disabled ? 1 : 0,
    w.timeoutMs,
    w.maxAttempts,
    w.rateLimit,
    w.maxConcurrency,
    w.ordering,
  ];
}

/** The kind and health settings of a webhook row, as written. */
function healthColumns(w: Webhook): [string, number | null, number, string | null, number | null] {
  return [w.kind, w.autoDisableAfterMinutes, w.failingAfterAttempts, w.disabledReason, w.disabledAt];
}

function toWebhook(r: WebhookRow): Webhook {
  return {
    uid: r.uid,
    url: r.url,
    // Each once (these lists and sourceIds): a list stored with a repeat (before repeats were
    // refused) reads back as one the API takes again.
    eventTypes: [...new Set(storedJson(r.event_types, isStringArray, `webhook ${r.uid} event_types`))],
    locationUid: r.location_uid,
    organizationUid: r.organization_uid,
    grantOrganizationUid: r.grant_organization_uid,
    sourceIds: r.source_ids === null ? null : [...new Set(storedJson(r.source_ids, isStringArray, `webhook ${r.uid} source_ids`))],
    secret: r.secret,
    previousSecret:
      r.previous_secret === null || r.previous_secret_expires_at === null ? null : { secret: r.previous_secret, expiresAt: r.previous_secret_expires_at },
    disabled: r.disabled === 1,
    timeoutMs: r.timeout_ms,
    maxAttempts: r.max_attempts,
    rateLimit: r.rate_limit,
    maxConcurrency: r.max_concurrency,
    // A notification endpoint's is fixed whatever the column says: an older Worker beside this one
    // (a deploy, a rollback) may write 'unordered' after migration 0052. The column's CHECK allows
    // only the two orderings.
    ordering: r.kind === "notification" ? NOTIFICATION_ORDERING : isOrdering(r.ordering) ? r.ordering : "unordered",
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    filter: r.filter === null ? null : storedJson(r.filter, isJson, `webhook ${r.uid} filter`),
    transform: r.transform,
    transformHeaders: headersOf(r.uid, r.transform_headers),
    // The column's CHECK allows only the two kinds.
    kind: isWebhookKind(r.kind) ? r.kind : "webhook",
    autoDisableAfterMinutes: r.auto_disable_after_minutes,
    failingAfterAttempts: r.failing_after_attempts,
    disabledReason: r.disabled_reason,
    disabledAt: r.disabled_at,
  };
}

/**
 * contentColumns for an UPDATE: filter_program is written only with a filter that changes (the SET's
 * `filter` is the row's before), so a filter saved before the bound keeps counting nothing until it
 * changes, whatever else is changed (migration 0053).
 */
function updatedContent(w: Webhook): [string | null, string | null, string | null, string | null, number] {
  const [filter, transform, headers, program] = contentColumns(w);
  return [filter, transform, headers, filter, program];
}

/** Whose share of FILTER_LIMITS.ownerRegexProgram a webhook's filter counts toward (migration 0054). */
export interface FilterOwner {
  kind: "organization" | "location";
  uid: string;
}

/**
 * The webhook's owner as migration 0054's `filter_owner` says it: its organization, else the one it is
 * confined to, else its location; null for a catch-all (it counts toward the account only).
 */
export function filterOwnerOf(w: Pick<Webhook, "organizationUid" | "grantOrganizationUid" | "locationUid">): FilterOwner | null {
  const org = w.organizationUid ?? w.grantOrganizationUid;
  if (org !== null) return { kind: "organization", uid: org };
  return w.locationUid === null ? null : { kind: "location", uid: w.locationUid };
}

const ownerKey = (o: FilterOwner | null): string | null => (o === null ? null : `${o.kind}:${o.uid}`);

/** What a webhook's filter may be saved against: the filters' counts it weighs, each one row. */
interface FilterProgramCounts {
  /** Every webhook's filters together (FILTER_LIMITS.accountRegexProgram). */
  total: number;
  /** What the webhook `uid`'s row counts (0 for a new one, or a filter stored before the bound). */
  own: number;
  /** The owner's webhooks' filters together (FILTER_LIMITS.ownerRegexProgram); 0 for none. */
  share: number;
}

/**
 * The `$regex` instructions of every webhook's filter together, the part of them that is the webhook
 * `uid`'s, if given, and the part that is `owner`'s webhooks': the total's one row and the owner's,
 * kept by triggers (migrations 0053, 0054), and the webhook's by its key. Filters stored before count 0
 * until saved again.
 */
export async function filterProgramTotal(db: D1Database, uid?: string, owner: FilterOwner | null = null): Promise<FilterProgramCounts> {
  const row = await db
    .prepare(
      `SELECT instructions AS total, coalesce((SELECT filter_program FROM webhooks WHERE uid = ?1), 0) AS own,
         coalesce((SELECT instructions FROM filter_program_shares WHERE owner = ?2), 0) AS share
       FROM filter_program_total WHERE id = 0`,
    )
    .bind(uid ?? null, ownerKey(owner))
    .first<FilterProgramCounts>();
  return row ?? { total: 0, own: 0, share: 0 };
}

/** Whether `e` is a webhook write refused because it would take the filters' total, or its owner's part, past its bound (migrations 0054, 0055). */
export function isFilterProgramBoundAbort(e: unknown): boolean {
  return e instanceof Error && /filter_program_(share_)?bound/.test(e.message);
}

/** The webhooks a limited token may give one owner (filterOwnerOf): each is owed a row for every event of its owner's. */
export const WEBHOOKS_PER_OWNER = 100;

/** Every webhook: routing reads them once per queue batch. */
export async function allWebhooks(db: D1Database): Promise<Webhook[]> {
  const { results } = await db.prepare("SELECT * FROM webhooks ORDER BY created_at, uid").all<WebhookRow>();
  return results.map(toWebhook);
}

/** A webhook's place in lists: newest first, by when it was created, then by uid. */
interface WebhookPosition {
  createdAt: number;
  uid: string;
}

/**
 * A page of webhooks (or notification endpoints) newest first, strictly after `after`,
 * read through `webhooks_created` (one page of it, not the table sorted). A limited token's
 * are found by their owners (grantedWebhookUidsSql) and sorted, so its page reads its own
 * webhooks' index entries and the page's rows, however many webhooks others have.
 */
export async function listWebhooks(
  db: D1Database,
  opts: { limit: number; after?: WebhookPosition; access?: Access | null; kind?: WebhookKind },
): Promise<Webhook[]> {
  const access = opts.access ?? null;
  const after = opts.after ?? { createdAt: Number.MAX_SAFE_INTEGER, uid: "" };
  const kind = opts.kind ?? "webhook";
  if (!isLimited(access)) {
    const { results } = await db
      .prepare("SELECT * FROM webhooks WHERE (created_at, uid) < (?, ?) AND kind = ? ORDER BY created_at DESC, uid DESC LIMIT ?")
      .bind(after.createdAt, after.uid, kind, opts.limit)
      .all<WebhookRow>();
    return results.map(toWebhook);
  }
  // Of each owner, the next `limit` along its index (the rest of the row checked on the rows the index gives, for each part); then the first `limit` of them all.
  const parts = grantParts("w", (i, index, key, owner, where) =>
    `webhooks ${i} ON ${i}.uid IN (SELECT p.uid FROM webhooks p INDEXED BY ${index} WHERE p.${key} = ${owner} AND p.kind = grant_of.kind AND ${where("p")}
       AND (p.created_at, p.uid) < (grant_of.created_at, grant_of.uid) ORDER BY p.created_at DESC, p.uid DESC LIMIT ?6)`,
  );
  const [orgs, locs] = grantLists(access);
  const { results } = await db
    .prepare(
      `WITH grant_of AS (SELECT ?1 AS orgs, ?2 AS locs, ?3 AS kind, ?4 AS created_at, ?5 AS uid)
       SELECT * FROM (${parts.map((part) => `SELECT w.* ${part}`).join(" UNION ALL ")}) ORDER BY created_at DESC, uid DESC LIMIT ?6`,
    )
    .bind(orgs, locs, kind, after.createdAt, after.uid, opts.limit)
    .all<WebhookRow>();
  return results.map(toWebhook);
}

/** The webhooks of these uids that still exist. */
export async function webhooksByUid(db: D1Database, uids: string[]): Promise<Webhook[]> {
  if (uids.length === 0) return [];
  const { results } = await db.prepare("SELECT * FROM webhooks WHERE uid IN (SELECT value FROM json_each(?))").bind(JSON.stringify(uids)).all<WebhookRow>();
  return results.map(toWebhook);
}

export async function getWebhook(db: D1Database, uid: string): Promise<Webhook | null> {
  const row = await db.prepare("SELECT * FROM webhooks WHERE uid = ?").bind(uid).first<WebhookRow>();
  return row ? toWebhook(row) : null;
}

/**
 * A webhook, and what a limited token's grant check needs besides (`placed`): the organization its
 * location is known to belong to, for a location webhook confined to none (kept on its row, 0057,
 * as locations holds it). One statement: a webhook the token may not see answers in as many round trips as
 * an unknown uid, and one it may see in one where it took two.
 */
export async function getWebhookPlaced(db: D1Database, uid: string, placed: boolean): Promise<{ webhook: Webhook; locations: LocationOrganizations } | null> {
  const row = await db
    .prepare(
      `SELECT w.*, CASE WHEN ?2 AND w.organization_uid IS NULL AND w.grant_organization_uid IS NULL AND w.location_uid IS NOT NULL
         THEN w.location_organization_uid END AS placed_organization_uid
       FROM webhooks w WHERE w.uid = ?1`,
    )
    .bind(uid, placed ? 1 : 0)
    .first<WebhookRow & { placed_organization_uid: string | null }>();
  if (!row) return null;
  const owner = row.location_uid !== null && row.placed_organization_uid !== null ? [[row.location_uid, row.placed_organization_uid] as const] : [];
  return { webhook: toWebhook(row), locations: new Map(owner) };
}

/**
 * Creates a webhook. A notification endpoint's name id is also kept in alert_webhooks: its
 * delivery and attempt counters are the admin's alone, before and after it is deleted, until
 * they go at the retention, and the row with them (deleteWebhook, migration 0050).
 */
export async function insertWebhook(db: D1Database, w: Webhook, ownerBound?: number): Promise<"saved" | "owner full"> {
  const owner = ownerKey(filterOwnerOf(w));
  // Bound, the row is written only while its owner has fewer: counted and written in one statement (migration 0061).
  const bounded = ownerBound !== undefined && owner !== null;
  const insert = db
    .prepare(
      `INSERT INTO webhooks (uid, location_uid, organization_uid, grant_organization_uid, created_at,
         url, event_types, source_ids, secret, previous_secret, previous_secret_expires_at, disabled, timeout_ms, max_attempts, rate_limit,
         max_concurrency, ordering, updated_at, filter, transform, transform_headers, filter_program, kind, auto_disable_after_minutes, failing_after_attempts,
         disabled_reason, disabled_at)
       SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?
       WHERE ?28 IS NULL OR (SELECT count(*) FROM (SELECT 1 FROM webhooks WHERE filter_owner = ?28 LIMIT ?29)) < ?29`,
    )
    .bind(
      w.uid,
      w.locationUid,
      w.organizationUid,
      w.grantOrganizationUid,
      w.createdAt,
      ...settingsColumns(w),
      w.updatedAt,
      ...contentColumns(w),
      ...healthColumns(w),
      bounded ? owner : null,
      ownerBound ?? 0,
    );
  const learn = w.kind === "notification" ? learnNamesStatement(db, [w.uid]) : null;
  if (!learn) return (await insert.run()).meta.changes === 0 ? "owner full" : "saved";
  await db.batch([
    insert,
    learn,
    db.prepare("INSERT INTO alert_webhooks (webhook) SELECT id FROM names WHERE name = ? ON CONFLICT DO NOTHING").bind(w.uid),
  ]);
  return "saved";
}

/**
 * Saves the changeable fields of `w`, made from `before` (the row as read), only if
 * the row is still at the version read (webhook-version.ts); otherwise nothing of it
 * is written. `w.updatedAt` must be later than `before.updatedAt`. Disabling holds
 * the webhook's pending deliveries in the same transaction, `holdChunk` of them at most (its
 * scheduler and the maintenance run hold the rest; none is sent meanwhile), so nothing goes
 * out after the answer; enabling resets its streak of failed attempts. A previous secret past its
 * window by `now` is not written: read before clearExpiredPreviousSecrets (which keeps the version),
 * it would be written back.
 */
export async function updateWebhook(db: D1Database, changed: Webhook, before: Webhook, holdChunk = HOLD_CHUNK, now = Date.now()): Promise<VersionedWrite> {
  const w = changed.previousSecret !== null && changed.previousSecret.expiresAt <= now ? { ...changed, previousSecret: null } : changed;
  // What goes with the change carries the same version check, and runs before it (while
  // the check still reads the version the change replaces), so it applies exactly when the change does.
  const confined = before.grantOrganizationUid === null && w.grantOrganizationUid !== null
    ? expireOutsideStatements(db, w.uid, w.grantOrganizationUid, w.updatedAt, before.updatedAt)
    : [];
  const along = w.disabled
    ? [
        ...holdWebhookStatements(db, w.uid, before.updatedAt, undefined, holdChunk),
        ...(before.disabled ? [] : [streakDisabledStatement(db, w.uid, before.updatedAt)]),
      ]
    : before.disabled
      ? // Enabled again: a new streak begins, so the old one cannot disable it again at once.
        [resetStreakStatement(db, w.uid, before.updatedAt), closeDisabledEpisodeStatement(db, w.uid, before.updatedAt, w.updatedAt)]
      : [];
  return writeAtVersion(db, [
    ...confined,
    ...along,
    db
      .prepare(
        `UPDATE webhooks SET url = ?, event_types = ?, source_ids = ?, secret = ?, previous_secret = ?, previous_secret_expires_at = ?, disabled = ?, timeout_ms = ?,
           max_attempts = ?, rate_limit = ?, max_concurrency = ?, ordering = ?, updated_at = ?, filter = ?, transform = ?, transform_headers = ?,
           filter_program = CASE WHEN filter IS ? THEN filter_program ELSE ? END,
           kind = ?, auto_disable_after_minutes = ?, failing_after_attempts = ?, disabled_reason = ?, disabled_at = ?, grant_organization_uid = ?
         WHERE uid = ? AND updated_at = ?`,
      )
      .bind(...settingsColumns(w), w.updatedAt, ...updatedContent(w), ...healthColumns(w), w.grantOrganizationUid, w.uid, before.updatedAt),
  ], db.prepare("SELECT 1 AS found FROM webhooks WHERE uid = ?").bind(w.uid));
}

/**
 * Forgets the previous secrets whose window ended by `now` (they sign nothing after it: pipeline/sign.ts),
 * up to `limit` a run, found along their partial index (migration 0049); returns how many. The version
 * (updated_at) stays: the API already shows no previous secret once it has expired.
 */
export async function clearExpiredPreviousSecrets(db: D1Database, now: number, limit: number): Promise<number> {
  const res = await db
    .prepare(
      `UPDATE webhooks SET previous_secret = NULL, previous_secret_expires_at = NULL
       WHERE rowid IN (SELECT rowid FROM webhooks WHERE previous_secret IS NOT NULL AND previous_secret_expires_at <= ? ORDER BY previous_secret_expires_at LIMIT ?)`,
    )
    .bind(now, limit)
    .run();
  return res.meta.changes ?? 0;
}

/**
 * Expires what a location webhook is owed of events not naming the organization it is being
 * confined to (routing owes a confined one only those: domain/access.ts grantOrganizationOf), so
 * that none goes to the URL of the token confining it; only while the row is still at `version`.
 */
function expireOutsideStatements(db: D1Database, webhookUid: string, organizationUid: string, now: number, version: number): D1PreparedStatement[] {
  return transition(db, {
    where: `seq IN (SELECT seq FROM deliveries INDEXED BY deliveries_owed_in_order WHERE webhook = ${nameIdSql("?1")} AND ${owed()} AND ${from("expire")})
      AND NOT EXISTS (SELECT 1 FROM events e WHERE e.seq = deliveries.event AND e.organization = ${nameIdSql("?3")})
      AND ${atVersionSql("?1", "?2")}`,
    binds: [webhookUid, version, organizationUid],
    newStatus: to("expire"),
    set: "next_attempt_at = NULL, updated_at = ?4",
    setBinds: [now],
  });
}

/**
 * Deletes a webhook; what it was still owed expires (its history stays): up to `chunk` of it in
 * the same transaction, the rest by the maintenance run (expireDeletedOwed), a chunk at a time.
 * With `version`, only while the row is still at that version ("changed" otherwise, and nothing
 * is written): what goes with the delete runs after it, only once the row is gone.
 */
export async function deleteWebhook(
  db: D1Database,
  uid: string,
  { now = Date.now(), chunk = EXPIRE_CHUNK, version }: { now?: number; chunk?: number; version?: number } = {},
): Promise<VersionedWrite> {
  const results = await db.batch([
    db.prepare("DELETE FROM webhooks WHERE uid = ?1 AND (?2 IS NULL OR updated_at = ?2)").bind(uid, version ?? null),
    forgetHealthStatement(db, uid),
    closeEpisodesOfStatement(db, uid, now),
    ...expireWebhookStatements(db, uid, now, chunk),
    // Its counts' row, when they count nothing (else it goes with its last delivery, at the retention).
    dropDeletedDeliveryCountsStatement(db, "SELECT id FROM names WHERE name = ?1", [uid]),
    // A notification endpoint's alert_webhooks row when it has no counts row (else it goes with that: migration 0050).
    db
      .prepare(
        `DELETE FROM alert_webhooks WHERE webhook = (SELECT id FROM names WHERE name = ?1)
           AND NOT EXISTS (SELECT 1 FROM delivery_counts c WHERE c.webhook = alert_webhooks.webhook) AND ${goneSql("?1")}`,
      )
      .bind(uid),
    db.prepare("SELECT 1 AS found FROM webhooks WHERE uid = ?").bind(uid),
  ]);
  return versionedOutcome(results[0], results.at(-1));
}

/** The operator's notification endpoints: alerts are routed to them alone. */
export async function notificationEndpoints(db: D1Database): Promise<Webhook[]> {
  const { results } = await db.prepare("SELECT * FROM webhooks WHERE kind = 'notification' ORDER BY uid").all<WebhookRow>();
  return results.map(toWebhook);
}

/**
 * The transaction that disables an enabled webhook with its reason, holding its pending
 * deliveries as a disable through the API does (`holdChunk` at most, the rest later), only while the row is still at `version`,
 * the one the decision was made from (webhook-version.ts), and (with `failingSince`) while
 * the streak it was found failing in goes on. The disable is the last statement: what the
 * caller writes with it checks the same before it (disableAppliesSql).
 */
export function disableWebhookStatements(
  db: D1Database,
  uid: string,
  reason: string,
  now: number,
  version: number,
  failingSince?: number,
  holdChunk = HOLD_CHUNK,
): D1PreparedStatement[] {
  const streak = failingSince === undefined ? "" : ` AND ${failingSinceSql("?4", "?6")}`;
  return [
    // Before the disable, while the check still reads the version it replaces.
    ...holdWebhookStatements(db, uid, version, failingSince, holdChunk),
    streakDisabledStatement(db, uid, version, failingSince),
    db
      // A new version even within the millisecond of the last write.
      .prepare(
        `UPDATE webhooks SET disabled = 1, disabled_reason = ?1, disabled_at = ?2, updated_at = max(?3, updated_at + 1)
         WHERE uid = ?4 AND disabled = 0 AND updated_at = ?5${streak}`,
      )
      .bind(reason, now, now, uid, version, ...(failingSince === undefined ? [] : [failingSince])),
  ];
}

/** Whether a disable made from `version` and the streak since `failingSince` still applies (disableAppliesSql). */
export async function disableApplies(db: D1Database, uid: string, version: number, failingSince: number): Promise<boolean> {
  const row = await db.prepare(`SELECT ${disableAppliesSql("?1", "?2", "?3")} AS applies`).bind(uid, version, failingSince).first<{ applies: number }>();
  return row?.applies === 1;
}
