import { invalidInput } from "../domain/errors";
import type { Webhook } from "../domain/types";
import { FILTER_LIMITS } from "../routing/filter";
import { filterProgramCharge } from "../routing/match";
import { filterProgramTotal, isFilterProgramBoundAbort } from "../store/webhooks";

const n = (x: number) => x.toLocaleString("en-US");

/**
 * Refuses (400) a filter that would take the `$regex` programs of every webhook's filter together past
 * FILTER_LIMITS.accountRegexProgram: a fresh isolate compiles them all in its first batch, and each
 * isolate keeps them compiled (routing/filter-cache.ts). Reads the total's row (migration 0053) and, for
 * a change, the webhook's own part. A change that adds nothing to what its row counts (the filter left
 * as it is, a lighter one, none) is never refused, so a webhook whose filter was stored before the
 * bound (counting 0 until its filter changes) can be edited around it. Two saves at once may both
 * pass it: the write holds the bound in its own transaction (saveWithinFilterBound).
 */
async function assertFilterProgramFits(db: D1Database, next: Webhook, before: Webhook | undefined, limited: boolean): Promise<void> {
  // A filter left as it is keeps what its row counts (store/webhooks.ts updatedContent).
  if (before && JSON.stringify(next.filter) === JSON.stringify(before.filter)) return;
  const charge = filterProgramCharge(next);
  if (charge === 0) return;
  // What the row holds toward the total: 0 for a filter stored before the bound, however heavy.
  const { total, own } = await filterProgramTotal(db, before?.uid);
  const others = total - own;
  if (charge <= own || others + charge <= FILTER_LIMITS.accountRegexProgram) return;
  // The other webhooks are every tenant's: a limited token is not told how much they hold.
  const together = limited
    ? "and the other webhooks' filters (every organization's) leave no room for them"
    : `and with the other webhooks' filters (${n(others)}) that is ${n(others + charge)}`;
  throw invalidInput("body", [
    {
      path: "filter",
      message:
        `its $regex patterns count ${n(charge)} RE2 instructions (each at least ${FILTER_LIMITS.regexCharge}), ${together}; ` +
        `the bound for all webhooks together is ${n(FILTER_LIMITS.accountRegexProgram)}: ` +
        "use fewer or simpler patterns ($startsWith, $in, …), or remove filters that are no longer needed",
    },
  ]);
}

/**
 * Checks the filter (assertFilterProgramFits), then `write`s the webhook. Another save may take the
 * room between the two: the write's transaction then refuses it (migration 0054) and nothing of it is
 * written, and the check, made again, tells the user by how much.
 */
export async function saveWithinFilterBound<T>(db: D1Database, next: Webhook, before: Webhook | undefined, limited: boolean, write: () => Promise<T>): Promise<T> {
  await assertFilterProgramFits(db, next, before, limited);
  try {
    return await write();
  } catch (e) {
    if (!isFilterProgramBoundAbort(e)) throw e;
    await assertFilterProgramFits(db, next, before, limited);
    // Room taken and given back again meanwhile: rare, and worth a second try.
    throw invalidInput("body", [
      { path: "filter", message: "another webhook's filter was saved at the same moment and took the room for its $regex patterns: send it again" },
    ]);
  }
}
