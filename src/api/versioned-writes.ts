// What the API answers of a change to a versioned row (a webhook, a notification endpoint, a
// source: domain/version.ts) that lost the race to another write.
import { AppError, notFound } from "../domain/errors";
import type { VersionedWrite } from "../domain/version";
import { preconditionFailed } from "./if-match";

/** What a change racing another write answers, as its route's description says it. */
export const changedMeanwhile = (what: string, by = "another client's change; for a webhook, also the maintenance run disabling it for failing") =>
  `Saved only if the ${what} did not change since this request read it (${by}): else nothing is saved, 409 \`conflict\` (404 if deleted meanwhile); with \`If-Match\`, 412 \`precondition_failed\` unless still at the version it names: docs/api.md#changes-that-race-another-write.`;

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
