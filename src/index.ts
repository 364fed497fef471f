import { app } from "./app";
import type { DeliveryMessage, IngestMessage } from "./domain/types";
import type { Env } from "./env";
import { runMaintenance } from "./maintenance/cron";
import { consumeDeliveries } from "./pipeline/deliver";
import { consumeDeadLetters, DEAD_LETTER_QUEUES } from "./pipeline/dead-letters";
import { consumeIngest } from "./pipeline/ingest";

/** Queue names as declared in wrangler.toml. */
export const QUEUES = { ingest: "edgehook-ingest", deliveries: "edgehook-deliveries" } as const;

export default {
  fetch: app.fetch,

  async queue(batch, env) {
    switch (batch.queue) {
      case QUEUES.ingest:
        return consumeIngest(batch as MessageBatch<IngestMessage>, env);
      case QUEUES.deliveries:
        return consumeDeliveries(batch as MessageBatch<DeliveryMessage>, env);
      case DEAD_LETTER_QUEUES.ingest:
      case DEAD_LETTER_QUEUES.deliveries:
        return consumeDeadLetters(batch, env);
      default:
        console.error("message from an unknown queue; retrying", { queue: batch.queue });
        batch.retryAll();
    }
  },

  async scheduled(controller, env, ctx) {
    ctx.waitUntil(runMaintenance(env, controller.scheduledTime));
  },
} satisfies ExportedHandler<Env>;
