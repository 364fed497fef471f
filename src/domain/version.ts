// A row that is changed from a read of it (a webhook, a source) carries a version, its
// updated_at, which every write of the row moves forward: a change applies only while
// the row is still at the version read (optimistic concurrency).

/** What became of such a change: saved, or nothing written because the row was deleted or changed since it was read. */
export type VersionedWrite = "saved" | "gone" | "changed";

/** The version a change of a row read at `read` writes: later than it, even within the same millisecond. */
export const nextVersion = (read: number, now = Date.now()): number => Math.max(now, read + 1);
