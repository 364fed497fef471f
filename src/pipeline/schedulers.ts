// The delivery schedulers as the rest of the Worker reaches them: one Durable
// Object per webhook, named by its uid.
import type { Env } from "../env";
import type { FlowStatus } from "./flow";

function schedulerOf(env: Env, webhookUid: string) {
  return env.SCHEDULERS.getByName(webhookUid);
}

/** Tells a webhook's scheduler to look again; it has then stored its alarm. */
export async function wakeScheduler(env: Env, webhookUid: string): Promise<void> {
  await schedulerOf(env, webhookUid).wake(webhookUid);
}

export async function schedulerStatus(env: Env, webhookUid: string): Promise<FlowStatus> {
  return schedulerOf(env, webhookUid).status();
}
