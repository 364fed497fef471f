import type { VersionedWrite } from "../domain/version";

/**
 * Runs `statements` in one transaction, the last of them the change that writes the row
 * only at the version read, then `exists` (a row while the row is there): saved, or why not.
 */
export async function writeAtVersion(db: D1Database, statements: D1PreparedStatement[], exists: D1PreparedStatement): Promise<VersionedWrite> {
  const results = await db.batch([...statements, exists]);
  const [update, found] = results.slice(-2);
  return versionedOutcome(update, found);
}

/** What a versioned write (`change`, its update or delete) did, as `found` (the row's read after it, in its transaction) tells. */
export function versionedOutcome(change: D1Result | undefined, found: D1Result | undefined): VersionedWrite {
  if ((change?.meta.changes ?? 0) > 0) return "saved";
  return (found?.results.length ?? 0) > 0 ? "changed" : "gone";
}
