// The order `npm test` starts its files in: the longest first, whatever their project, so
// that no long file starts last and runs alone while the other worker has nothing left.
// Vitest's own order runs the projects one after another (by name) and, on a fresh checkout
// (CI: no results cache), each project's files by size, which started the 65 s scheduler
// file and the 47 s lifecycle model last.
import { stat } from "node:fs/promises";
import { relative } from "node:path";
import { BaseSequencer, type TestSpecification } from "vitest/node";

/**
 * Seconds each file took in one fresh-clone `.ci/run` (2 cores, two files at a time; 2026-12-08), for a checkout with no
 * results of its own. Only the order comes of them: a file missing here, or slower or faster
 * since, still runs; add a file here when it becomes one of the slow ones.
 */
export const MEASURED_SECONDS: Record<string, number> = {
  "test/cli/setup.test.ts": 118,
  "test/e2e/dashboard.test.ts": 76,
  "test/e2e/scripts.test.ts": 65,
  "test/e2e/dev.test.ts": 50,
  "test/worker/flow/scheduler-fifo.test.ts": 42,
  "test/worker/flow-control.test.ts": 41,
  "test/worker/fifo-model.test.ts": 40,
  "test/e2e/dashboard-actions.test.ts": 36,
  "test/cli/connection.test.ts": 35,
  "test/worker/grant-model.test.ts": 34,
  "test/cli/usage.test.ts": 34,
  "test/worker/lifecycle-model.test.ts": 33,
  "test/soak/soak.test.ts": 27,
  "test/worker/ingress-malformed.test.ts": 26,
  "test/e2e/cli.test.ts": 24,
  "test/e2e/local-migrations.test.ts": 23,
  "test/worker/grant-views.test.ts": 21,
  "test/worker/many-webhooks.test.ts": 20,
  "test/worker/flow/scheduler.test.ts": 20,
  "test/worker/listen.test.ts": 17,
  "test/worker/event-status-fanout.test.ts": 16,
  "test/worker/alerts.test.ts": 16,
  "test/e2e/flow-control.test.ts": 16,
  "test/e2e/forwarding.test.ts": 15,
  "test/e2e/dashboard-a11y.test.ts": 15,
  "test/worker/search-status-fanout.test.ts": 13,
  "test/worker/fault-histories.test.ts": 13,
  "test/cli/webhook-content.test.ts": 13,
  "test/worker/lifecycle-races.test.ts": 12,
  "test/e2e/receiver.test.ts": 12,
  "test/cli/unreachable.test.ts": 11,
  "test/worker/transform.test.ts": 9,
  "test/worker/forwarding.test.ts": 9,
  "test/e2e/alerts.test.ts": 9,
  "test/worker/d1-limits.test.ts": 8,
  "test/cli/lists.test.ts": 8,
  "test/worker/listen-malformed.test.ts": 7,
  "test/cli/stats.test.ts": 7,
  "test/worker/volume.test.ts": 6,
  "test/worker/rejections.test.ts": 6,
  "test/worker/held-backlog.test.ts": 6,
  "test/worker/events-api.test.ts": 6,
  "test/worker/delivery-webhooks.test.ts": 6,
  "test/e2e/content.test.ts": 6,
};

export default class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const root = this.ctx.config.root;
    // This machine's own results, where it has them (a local rerun); else CI's measure; else none.
    const seconds = (spec: TestSpecification) => {
      const cached = this.ctx.cache.getTestSpecificationResult(spec)?.duration;
      return cached !== undefined ? cached / 1000 : (MEASURED_SECONDS[relative(root, spec.moduleId)] ?? 0);
    };
    const size = new Map(await Promise.all(files.map(async (spec) => [spec, (await stat(spec.moduleId)).size] as const)));
    const keyed = files.map((spec) => ({ spec, seconds: seconds(spec), size: size.get(spec) ?? 0 }));
    // The rest, all short, by size: the larger file has the more tests.
    keyed.sort((a, b) => b.seconds - a.seconds || b.size - a.size);
    return keyed.map((k) => k.spec);
  }
}
