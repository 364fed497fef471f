import type { DeliveryMessage } from "../domain/types";
import type { Env } from "../env";

/**
 * Queues one message per delivery, at most 100 per sendBatch call, in the given
 * order. `ordered` (held deliveries being released) asks the consumer to send
 * them one after another, oldest first.
 */
export async function enqueueDeliveries(env: Env, ids: string[], opts: { ordered?: boolean } = {}): Promise<void> {
  for (let i = 0; i < ids.length; i += 100) {
    const chunk = ids.slice(i, i + 100);
    await env.DELIVERIES.sendBatch(
      chunk.map((deliveryId) => ({
        body: (opts.ordered ? { deliveryId, ordered: true } : { deliveryId }) satisfies DeliveryMessage,
        contentType: "json" as const,
      })),
    );
  }
}
