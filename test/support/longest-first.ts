// The order `npm test` starts its files in: the longest first, whatever their project, so
// that no long file starts last and runs alone while the other worker has nothing left.
// Vitest's own order runs the projects one after another (by name) and, on a fresh checkout
// (CI: no results cache), each project's files by size, which started the 65 s scheduler
// file and the 47 s lifecycle model last.
import { stat } from "node:fs/promises";
import { relative } from "node:path";
import { BaseSequencer, type TestSpecification } from "vitest/node";

/**
 * Seconds each file took in one fresh-clone `.ci/run` (2 cores, two files at a time; 2026-12-02), for a checkout with no
 * results of its own. Only the order comes of them: a file missing here, or slower or faster
 * since, still runs; add a file here when it becomes one of the slow ones.
 */
export const MEASURED_SECONDS: Record<string, number> = {
  "test/soak/soak.test.ts": 65,
  "test/worker/grant-model.test.ts": 60,
  "test/worker/fifo-model.test.ts": 58,
  "test/worker/flow/scheduler-fifo.test.ts": 57,
  "test/worker/lifecycle-model.test.ts": 53,
  "test/cli/setup.test.ts": 50,
  "test/e2e/dashboard.test.ts": 48,
  "test/worker/ingress-malformed.test.ts": 41,
  "test/worker/many-webhooks.test.ts": 30,
  "test/worker/grant-views.test.ts": 29,
  "test/worker/event-status-fanout.test.ts": 29,
  "test/worker/alerts.test.ts": 28,
  "test/worker/flow-control.test.ts": 28,
  "test/e2e/dev.test.ts": 25,
  "test/e2e/cli.test.ts": 23,
  "test/worker/flow/scheduler.test.ts": 19,
  "test/e2e/receiver.test.ts": 15,
  "test/e2e/forwarding.test.ts": 14,
  "test/e2e/flow-control.test.ts": 14,
  "test/worker/volume.test.ts": 13,
  "test/worker/events-api.test.ts": 12,
  "test/worker/listen-malformed.test.ts": 11,
  "test/worker/counters.test.ts": 11,
  "test/worker/delivery-webhooks.test.ts": 11,
  "test/worker/d1-limits.test.ts": 10,
  "test/worker/lifecycle-races.test.ts": 10,
  "test/worker/dashboard-malformed.test.ts": 10,
  "test/e2e/scripts.test.ts": 10,
  "test/e2e/alerts.test.ts": 9,
  "test/worker/forwarding.test.ts": 9,
  "test/cli/webhook-content.test.ts": 8,
  "test/worker/search-status-fanout.test.ts": 8,
  "test/cli/connection.test.ts": 8,
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
