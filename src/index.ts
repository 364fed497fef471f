import { fetchHandler } from "./fetch";
import type { Env } from "./env";
import { runMaintenance } from "./maintenance/cron";
import { consumeIngestDeadLetters } from "./pipeline/dead-letters";
import { consumeIngest } from "./pipeline/ingest";
import { consumeRejections } from "./pipeline/rejections";
import { QUEUES } from "./pipeline/queues";

// The listener hub (`edgehook listen`, `tail`) is a Durable Object class of this Worker.
export { ListenerHub } from "./listen/hub";
// One delivery scheduler per webhook: the only sender of its deliveries (pipeline/scheduler.ts).
export { WebhookScheduler } from "./pipeline/scheduler";

export default {
  fetch: fetchHandler,

  // A batch is dispatched by the queue it came from; each consumer checks what its
  // messages hold (a dead letter is recorded whatever it holds).
  async queue(batch, env) {
    switch (batch.queue) {
      case QUEUES.ingest:
        return consumeIngest(batch, env);
      case QUEUES.ingestDead:
        return consumeIngestDeadLetters(batch, env);
      case QUEUES.rejections:
        return consumeRejections(batch, env);
      default:
        console.error("message from an unknown queue; retrying", { queue: batch.queue });
        batch.retryAll();
    }
  },

  // Awaited, not waitUntil: the run's end is the invocation's end (a local trigger answers when it is done).
  // Every step runs whatever another did; then a run with a failed step fails, so that the
  // Cron Trigger's events (and `npm run dev`'s local cron) show it, not only the log.
  async scheduled(controller, env) {
    const report = await runMaintenance(env, controller.scheduledTime);
    if (report.failed.length > 0) throw new Error(`maintenance steps failed: ${report.failed.join(", ")}`);
  },
} satisfies ExportedHandler<Env>;
