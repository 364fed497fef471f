// A row that is changed from a read of it (a webhook, a source) carries a version, its
// updated_at, which every write of the row moves forward: a change applies only while
// the row is still at the version read (optimistic concurrency).

/** What became of such a change: saved, or nothing written because the row was deleted or changed since it was read. */
export type VersionedWrite = "saved" | "gone" | "changed";

/** The version a change of a row read at `read` writes: later than it, even within the same millisecond. */
export const nextVersion = (read: number, now = Date.now()): number => Math.max(now, read + 1);

/**
 * Whether a change leaves a row as it was, its version aside: then nothing is written, so no
 * version moves and no other client's change made from its read answers 409.
 */
export const unchangedApartFromVersion = <T extends { updatedAt: number }>(current: T, next: T): boolean =>
  JSON.stringify({ ...current, updatedAt: 0 }) === JSON.stringify({ ...next, updatedAt: 0 });
