// A webhook's own life as data: what a change of it writes besides the fields changed.
import type { Webhook } from "./types";
import { nextVersion } from "./version";

/**
 * The webhook as changed: disabling records when (by hand: no reason); enabling
 * clears when and why it was disabled.
 */
export function withDisabled(current: Webhook, next: Webhook, now = Date.now()): Webhook {
  const when = !next.disabled
    ? { disabledAt: null, disabledReason: null }
    : current.disabled
      ? { disabledAt: current.disabledAt, disabledReason: current.disabledReason }
      : { disabledAt: now, disabledReason: null };
  return { ...next, ...when, updatedAt: nextVersion(current.updatedAt, now) };
}
