// A webhook row's version is its updated_at, which every write of the row moves
// forward. A change computed from a read of the row applies only while the row is
// still at the version read (optimistic concurrency), and so does every statement
// of its transaction: a change that lost the race writes nothing.

/** SQL: the webhook (uid at `uidParam`) is still at the version at `versionParam`. */
export const atVersionSql = (uidParam: string, versionParam: string) =>
  `EXISTS (SELECT 1 FROM webhooks WHERE uid = ${uidParam} AND updated_at = ${versionParam})`;

/** SQL: the webhook (uid at `uidParam`) is gone: what goes with a delete applies only once it is (a delete at a version may write nothing). */
export const goneSql = (uidParam: string) => `NOT EXISTS (SELECT 1 FROM webhooks WHERE uid = ${uidParam})`;

/** SQL: the webhook (uid at `uidParam`) is still failing since the time at `sinceParam` (a success ends a streak). */
export const failingSinceSql = (uidParam: string, sinceParam: string) =>
  `EXISTS (SELECT 1 FROM webhook_health WHERE webhook_uid = ${uidParam} AND failing_since = ${sinceParam})`;

/**
 * SQL: a disable of the webhook (uid at `uidParam`) made from the version at `versionParam`, and
 * the streak failing since the time at `sinceParam`, still applies: the webhook is enabled, at
 * that version, and still failing since then.
 */
export const disableAppliesSql = (uidParam: string, versionParam: string, sinceParam: string) =>
  `EXISTS (SELECT 1 FROM webhooks WHERE uid = ${uidParam} AND disabled = 0 AND updated_at = ${versionParam}) AND ${failingSinceSql(uidParam, sinceParam)}`;
