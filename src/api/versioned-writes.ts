// What the API answers of a change to a versioned row (a webhook, a notification endpoint, a
// source: domain/version.ts) that lost the race to another write.
import { AppError, notFound } from "../domain/errors";
import type { VersionedWrite } from "../domain/version";
import { preconditionFailed } from "./if-match";

/** What a change racing another write answers, as its route's description says it. */
export const changedMeanwhile = (what: string, by = "another client's change; for a webhook, also the maintenance run disabling it for failing") =>
  `Saved only if the ${what} did not change between this request's read and its write (${by}): otherwise nothing is saved and the answer is 409 \`conflict\` (read it again and retry), or 404 if it was deleted meanwhile. With \`If-Match\` (the \`ETag\` read), only if it is still at that version: 412 \`precondition_failed\` otherwise, and nothing is saved.`;

/**
 * A change that lost the race to another write (nothing of it saved): 404 when the row is gone, else
 * 409, or 412 when `pinned` to a version by If-Match (if-match.ts pinnedVersion: the one read is no longer the row's).
 */
export function assertSaved(written: VersionedWrite | "unchanged", what: string, id: string, pinned = false, deleting = false): void {
  if (written === "gone") throw notFound(what, id);
  if (written === "changed" && pinned) throw preconditionFailed(what);
  if (written === "changed") {
    const lost = deleting ? "since this request read it, so it was not deleted" : "while this change was being made, which was not saved";
    throw new AppError("conflict", `The ${what} changed ${lost}: read it again and retry.`);
  }
}
