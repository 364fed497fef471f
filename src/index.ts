import { app } from "./app";
import type { IngestMessage } from "./domain/types";
import type { Env } from "./env";
import { runMaintenance } from "./maintenance/cron";
import { consumeIngest } from "./pipeline/ingest";

/** Queue names as declared in wrangler.toml. */
export const QUEUES = { ingest: "edgehook-ingest" } as const;

export default {
  fetch: app.fetch,

  async queue(batch, env) {
    switch (batch.queue) {
      case QUEUES.ingest:
        return consumeIngest(batch as MessageBatch<IngestMessage>, env);
      default:
        console.error("message from an unknown queue; retrying", { queue: batch.queue });
        batch.retryAll();
    }
  },

  async scheduled(controller, env, ctx) {
    ctx.waitUntil(runMaintenance(env, controller.scheduledTime));
  },
} satisfies ExportedHandler<Env>;
