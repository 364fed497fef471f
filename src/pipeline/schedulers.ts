// The delivery schedulers as the rest of the Worker reaches them: one Durable
// Object per webhook, named by its uid.
import type { Env } from "../env";
import type { FlowStatus, WakeReason } from "./flow";

function schedulerOf(env: Env, webhookUid: string) {
  return env.SCHEDULERS.getByName(webhookUid);
}

/**
 * Tells a webhook's scheduler to look again; it has then stored its alarm. `resume`: someone
 * asked for it (a retry, an enable, a new URL), so a pause its downstream asked for ends.
 * `why`: only new deliveries were made (what it read ahead still goes first), deliveries it had
 * are owed again (a retry, a release), or anything else changed (WakeReason).
 */
export async function wakeScheduler(env: Env, webhookUid: string, resume = false, why: WakeReason = "changed"): Promise<void> {
  await schedulerOf(env, webhookUid).wake(webhookUid, resume, why);
}

export async function schedulerStatus(env: Env, webhookUid: string): Promise<FlowStatus> {
  return schedulerOf(env, webhookUid).status();
}
