import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { Response as MiniflareResponse, type Request as MiniflareRequest } from "miniflare";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";
import { copyDocsBundle } from "./scripts/docs-assets.mjs";
import { fakeDownstream } from "./test/support/fake-downstream.ts";
import LongestFirst from "./test/support/longest-first.ts";

// wrangler.toml's [assets] directory must hold the API reference's bundle before any Worker starts.
copyDocsBundle();
const migrations = await readD1Migrations("migrations");

/** The fake downstream as Miniflare's outbound service, which answers in Miniflare's own Response. */
async function outboundService(request: MiniflareRequest): Promise<MiniflareResponse> {
  const res = await fakeDownstream(request);
  const body = res.body === null ? null : await res.arrayBuffer();
  return new MiniflareResponse(body, { status: res.status, statusText: res.statusText, headers: [...res.headers] });
}

/** The Worker inside workerd: local D1, R2, Queues and Durable Objects; outbound fetch goes to an in-process fake downstream. */
function workerd(vars: Record<string, string> = {}) {
  return cloudflareTest({
    wrangler: { configPath: "./wrangler.toml" },
    miniflare: {
      outboundService,
      // An empty database for the migration test to build the old schema in.
      d1Databases: { MIGRATION_DB: "migration-test" },
      bindings: {
        TEST_MIGRATIONS: migrations,
        ADMIN_TOKEN: "test-admin-token-of-at-least-32-characters",
        PODIUM_WEBHOOK_SECRET: "podium-current podium-previous",
        STANDARD_WEBHOOKS_SECRET: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        ALLOW_PRIVATE_DESTINATIONS: "false",
        // Each refusal sends its tally at once, so no test waits for a flush window.
        REJECTIONS_FLUSH_MS: "0",
        ...vars,
      },
    },
  });
}

/**
 * "zod" as the deployed bundle has it (wrangler.toml's alias): the members the Worker uses
 * (src/domain/zod.ts), for @hono/zod-openapi too, so the tests run the z the Worker runs.
 */
const zodAsDeployed = { alias: [{ find: /^zod$/, replacement: fileURLToPath(new URL("./src/domain/zod.ts", import.meta.url)) }] };

export default defineConfig({
  test: {
    // Two files at a time: a workerd file keeps about one core busy, so one at a time left the
    // second core idle. A test's timeout is a hang guard, never a speed check (they share cores).
    maxWorkers: 2,
    // The longest files first, across projects: none starts last to run alone (see the file).
    sequence: { sequencer: LongestFirst },
    projects: [
      // `npm run bench` only: measurements, not tests.
      ...(process.env.EDGEHOOK_BENCH
        ? [{ test: { name: "bench", include: ["bench/**/*.test.ts"], environment: "node", testTimeout: 1_800_000, fileParallelism: false } }]
        : []),
      {
        // Runtime code, inside workerd with local D1, R2 and Queues.
        plugins: [workerd()],
        resolve: zodAsDeployed,
        test: {
          name: "workers",
          // One runtime runs many files, each from a freshly migrated database (./test/worker/setup.ts):
          // a runtime of its own per file cost ~1 s to start and ~4 s to load the Worker's ~400
          // modules again, more than most files' tests take.
          isolate: false,
          include: ["test/worker/**/*.test.ts"],
          testTimeout: 60_000,
          exclude: ["test/worker/flow/**"],
          setupFiles: ["test/worker/setup.ts"],
        },
      },
      {
        // The delivery schedulers (Durable Objects) running on their own, with retries due at
        // once (a backoff of 0 s), so a downstream failing at random is retried within the test.
        plugins: [workerd({ RETRY_BASE_SECONDS: "0" })],
        resolve: zodAsDeployed,
        test: {
          name: "workers-flow",
          include: ["test/worker/flow/**/*.test.ts"],
          setupFiles: ["test/worker/setup.ts"],
          testTimeout: 180_000,
        },
      },
      {
        // The docs against the code they describe (npm run docs:retries rewrites what is printed from it).
        test: { name: "docs", include: ["test/docs/**/*.test.ts"], environment: "node" },
      },
      {
        // Query plans on the real schema under Node's SQLite (a second version beside the runtime's), and that the workers tests run wrangler dev's runtime.
        test: { name: "plans", include: ["test/plans/**/*.test.ts"], environment: "node" },
      },
      {
        // The CLI's own code in Node: its generated API types, setup against a fake wrangler.
        // NO_COLOR: picocolors colours output whenever CI is set (as on the CI machine), and the tests read plain text.
        // NODE_EXTRA_CA_CERTS empty: Node parses that bundle at every start (~45 ms of CPU on the CI machine, which sets
        // it), and these tests start Node well over a thousand times (the CLI, the fake wrangler) for no TLS connection.
        test: { name: "cli", include: ["test/cli/**/*.test.ts"], environment: "node", testTimeout: 60_000, env: { NO_COLOR: "1", NODE_EXTRA_CA_CERTS: "" } },
      },
      {
        // The soak: many events through the real local stack (npm run soak for the large run).
        test: {
          name: "soak",
          include: ["test/soak/**/*.test.ts"],
          environment: "node",
          testTimeout: 900_000,
          hookTimeout: 120_000,
          setupFiles: ["test/e2e/setup.ts"],
        },
      },
      {
        // The real local stack (wrangler dev) driven over HTTP from Node.
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          environment: "node",
          // Each file starts its own wrangler dev (on a port of its own, in a state directory of
          // its own), sharing the two workers with the other projects: kept apart in a group of
          // their own, one at a time, they ran last (135 s) with the second core mostly idle.
          testTimeout: 60_000,
          hookTimeout: 120_000,
          setupFiles: ["test/e2e/setup.ts"],
        },
      },
    ],
  },
});
