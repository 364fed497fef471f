// The order `npm test` starts its files in: the longest first, whatever their project, so
// that no long file starts last and runs alone while the other worker has nothing left.
// Vitest's own order runs the projects one after another (by name) and, on a fresh checkout
// (CI: no results cache), each project's files by size, which started the 65 s scheduler
// file and the 47 s lifecycle model last.
import { stat } from "node:fs/promises";
import { relative } from "node:path";
import { BaseSequencer, type TestSpecification } from "vitest/node";

/**
 * Seconds each file took in CI (2 cores, two files at a time), for a fresh checkout with no
 * results of its own. Only the order comes of them: a file missing here, or slower or faster
 * since, still runs; add a file here when it becomes one of the slow ones.
 */
export const MEASURED_SECONDS: Record<string, number> = {
  // The last quiet CI run's seconds (SPEED.md's table), times the after/before ratio measured
  // back to back for a file made faster since; the files below 17 s kept their older figures.
  "test/worker/fifo-model.test.ts": 79,
  "test/soak/soak.test.ts": 75,
  "test/worker/ingress-malformed.test.ts": 74,
  // Split from scheduler.test.ts (86.5 s in CI whole): its FIFO and backlog tests took ~3/4 of it.
  "test/worker/flow/scheduler-fifo.test.ts": 65,
  "test/worker/lifecycle-model.test.ts": 61,
  "test/e2e/dashboard.test.ts": 57, // 65.5 s x 129.1/148.1
  "test/worker/grant-model.test.ts": 54, // 78.6 s x 0.69
  "test/worker/grant-views.test.ts": 50, // 83.6 s x 0.60
  "test/cli/setup.test.ts": 33, // 39.2 s x 129.2/151.8
  "test/worker/alerts.test.ts": 33,
  "test/worker/many-webhooks.test.ts": 30,
  "test/worker/flow-control.test.ts": 29,
  "test/worker/event-status-fanout.test.ts": 26,
  "test/e2e/dev.test.ts": 23,
  "test/worker/flow/scheduler.test.ts": 22,
  "test/e2e/cli.test.ts": 18, // 25.4 s x 83.8/115.5
  "test/worker/volume.test.ts": 18,
  "test/e2e/receiver.test.ts": 17, // 19.3 s x 35.8/39.7
  "test/worker/events-api.test.ts": 17,
  "test/e2e/forwarding.test.ts": 17,
  "test/e2e/scripts.test.ts": 11, // 21.9 s x 37.2/77.6
  "test/worker/lifecycle-races.test.ts": 11,
  "test/e2e/flow-control.test.ts": 10,
  "test/worker/listen-malformed.test.ts": 9,
  "test/worker/forwarding.test.ts": 8,
  "test/e2e/alerts.test.ts": 8,
  "test/worker/delivery-webhooks.test.ts": 8,
  "test/e2e/bundle.test.ts": 7,
  "test/cli/connection.test.ts": 7,
  "test/worker/d1-limits.test.ts": 7,
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
