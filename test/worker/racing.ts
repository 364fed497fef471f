// A write racing another: the other writer's change lands between a read and the write made from it.
import { d1Double, type SeenStatement } from "./d1-double";
import { pipeline } from "./pipeline";

/**
 * The test D1, whose batches that `writes` picks first let `meanwhile` run, once, as
 * another writer would between the read and the write.
 */
export function racingDb(writes: (statements: SeenStatement[]) => boolean) {
  let meanwhile: (() => Promise<unknown>) | null = null;
  const { db } = d1Double({
    beforeBatch: async (statements) => {
      const run = meanwhile;
      if (!run || !writes(statements)) return;
      meanwhile = null;
      await run();
    },
  });
  return {
    db,
    /** The next write picked waits for this first. */
    before: (run: () => Promise<unknown>) => (meanwhile = run),
    /** Whether that happened. */
    ran: () => meanwhile === null,
  };
}

/**
 * A pipeline on a racingDb; the other writer goes straight to the database (`other`: a
 * pipeline without the hook).
 */
export function racing(writes: (statements: SeenStatement[]) => boolean) {
  const { db, before, ran } = racingDb(writes);
  return { p: pipeline({ DB: db }), other: pipeline(), before, ran };
}
