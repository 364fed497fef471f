import type { DeliveryMessage } from "../domain/types";
import type { Env } from "../env";

/** Queues one message per delivery, at most 100 per sendBatch call, in the given order. */
export async function enqueueDeliveries(env: Env, ids: string[]): Promise<void> {
  for (let i = 0; i < ids.length; i += 100) {
    const chunk = ids.slice(i, i + 100);
    await env.DELIVERIES.sendBatch(
      chunk.map((deliveryId) => ({ body: { deliveryId } satisfies DeliveryMessage, contentType: "json" as const })),
    );
  }
}
