import { app } from "./app";
import type { IngestMessage } from "./domain/types";
import type { Env } from "./env";
import { runMaintenance } from "./maintenance/cron";
import { consumeIngestDeadLetters } from "./pipeline/dead-letters";
import { consumeIngest } from "./pipeline/ingest";
import { QUEUES } from "./pipeline/queues";

// The listener hub (`edgehook listen`, `tail`) is a Durable Object class of this Worker.
export { ListenerHub } from "./listen/hub";
// One delivery scheduler per webhook: the only sender of its deliveries (pipeline/scheduler.ts).
export { WebhookScheduler } from "./pipeline/scheduler";

export default {
  fetch: app.fetch,

  // Each queue carries the messages its producer sends (domain/types.ts): the
  // Worker is the only producer, so a batch is typed by the queue it came from.
  async queue(batch, env) {
    switch (batch.queue) {
      case QUEUES.ingest:
        return consumeIngest(batch as MessageBatch<IngestMessage>, env);
      case QUEUES.ingestDead:
        return consumeIngestDeadLetters(batch as MessageBatch<IngestMessage>, env);
      default:
        console.error("message from an unknown queue; retrying", { queue: batch.queue });
        batch.retryAll();
    }
  },

  async scheduled(controller, env, ctx) {
    ctx.waitUntil(runMaintenance(env, controller.scheduledTime));
  },
} satisfies ExportedHandler<Env>;
