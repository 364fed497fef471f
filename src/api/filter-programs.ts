import { isLimited, type Access } from "../domain/access";
import { invalidInput } from "../domain/errors";
import type { Webhook } from "../domain/types";
import { FILTER_LIMITS } from "../routing/filter";
import { filterProgramCharge } from "../routing/match";
import { filterOwnerOf, filterProgramTotal, isFilterProgramBoundAbort, type FilterOwner } from "../store/webhooks";

const n = (x: number) => x.toLocaleString("en-US");

const REMEDY = "use fewer or simpler patterns ($startsWith, $in, …), or remove filters that are no longer needed";

const sameOwner = (a: FilterOwner | null, b: FilterOwner | null) => a?.kind === b?.kind && a?.uid === b?.uid;

/**
 * Whether the token holds the owner whole, and so may be told what its webhooks' filters count: a
 * token of some of an organization's locations may save a webhook the organization owns, not see the others.
 */
function holdsOwner(access: Access | null, owner: FilterOwner): boolean {
  if (!isLimited(access)) return true;
  const held = owner.kind === "organization" ? access.organizationUids : access.locationUids;
  return held?.includes(owner.uid) ?? false;
}

/**
 * Refuses (400) a filter that would take the `$regex` programs of its owner's webhooks' filters
 * together past FILTER_LIMITS.ownerRegexProgram, or every webhook's past
 * FILTER_LIMITS.accountRegexProgram: a fresh isolate compiles them all in its first batch, and each
 * isolate keeps them compiled (routing/filter-cache.ts); the owner's share keeps one tenant from
 * taking the whole bound. Reads the total's row, the owner's (migrations 0053, 0054) and, for a
 * change, the webhook's own part. Only a filter that counts more than its row did (a new one, a
 * heavier one) is refused: one left as it is, a lighter one or none passes, so a webhook whose filter
 * was stored before the bound (counting 0 until its filter changes) can be edited around it, and a
 * location webhook confined to an organization already at its share can still be disabled (its
 * count moves, the total stays: migration 0055). A move that also grows is held to the new owner's
 * share with the whole new count. Two saves at once may both pass it: the write holds the bounds in
 * its own transaction (saveWithinFilterBound).
 */
async function assertFilterProgramFits(db: D1Database, next: Webhook, before: Webhook | undefined, access: Access | null): Promise<void> {
  // A filter left as it is keeps what its row counts (store/webhooks.ts updatedContent): it adds nothing.
  if (before !== undefined && JSON.stringify(next.filter) === JSON.stringify(before.filter)) return;
  const stored = filterProgramCharge(next);
  if (stored === 0) return;
  const owner = filterOwnerOf(next);
  const moved = before !== undefined && !sameOwner(filterOwnerOf(before), owner);
  // What the row holds: 0 for a filter stored before the bound, however heavy.
  const { total, own, share } = await filterProgramTotal(db, before?.uid, owner);
  if (stored <= own) return;
  const counts = `its $regex patterns count ${n(stored)} RE2 instructions (each at least ${FILTER_LIMITS.regexCharge})`;
  // The owner's share: its usage is told to a token that holds the owner whole.
  const ownersOthers = moved ? share : share - own;
  if (owner !== null && ownersOthers + stored > FILTER_LIMITS.ownerRegexProgram) {
    const whose = `${owner.kind} ${owner.uid}'s webhooks`;
    const together = holdsOwner(access, owner)
      ? `and with the other filters of ${whose} (${n(ownersOthers)}) that is ${n(ownersOthers + stored)}`
      : `and the other filters of ${whose} leave no room for them`;
    throw invalidInput("body", [
      {
        path: "filter",
        message:
          `${counts}, ${together}; ` +
          `each organization's webhooks together (a location's, for location webhooks of none) may count ${n(FILTER_LIMITS.ownerRegexProgram)}: ${REMEDY}`,
      },
    ]);
  }
  const others = total - own;
  if (others + stored <= FILTER_LIMITS.accountRegexProgram) return;
  // The other webhooks are every tenant's: a limited token is not told how much they hold.
  const together = isLimited(access)
    ? "and the other webhooks' filters (every organization's) leave no room for them"
    : `and with the other webhooks' filters (${n(others)}) that is ${n(others + stored)}`;
  throw invalidInput("body", [
    { path: "filter", message: `${counts}, ${together}; the bound for all webhooks together is ${n(FILTER_LIMITS.accountRegexProgram)}: ${REMEDY}` },
  ]);
}

/**
 * Checks the filter (assertFilterProgramFits), then `write`s the webhook. Another save may take the
 * room between the two: the write's transaction then refuses it (migrations 0054, 0055) and nothing of it is
 * written, and the check, made again, tells the user by how much.
 */
export async function saveWithinFilterBound<T>(db: D1Database, next: Webhook, before: Webhook | undefined, access: Access | null, write: () => Promise<T>): Promise<T> {
  await assertFilterProgramFits(db, next, before, access);
  try {
    return await write();
  } catch (e) {
    if (!isFilterProgramBoundAbort(e)) throw e;
    await assertFilterProgramFits(db, next, before, access);
    // Room taken and given back again meanwhile: rare, and worth a second try.
    throw invalidInput("body", [
      { path: "filter", message: "another webhook's filter was saved at the same moment and took the room for its $regex patterns: send it again" },
    ]);
  }
}
