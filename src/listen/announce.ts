// The consumers tell the listener hub what they stored, at most one call per
// batch, and none while this isolate knows that nobody listens; the API tells it
// of a token revoked or a webhook deleted. An announcement
// never fails nor holds up its consumer: errors are logged, and a slow hub is
// not waited for past a second (the hub catches up from the store anyway).
import type { Env } from "../env";
import type { AttemptOutcome } from "../store/deliveries";
import type { ListenerCounts } from "./hub";

/** How long an isolate that heard "nobody listens" stays quiet. The hub catches up after it. */
export const QUIET_MS = 2_000;
const CALL_TIMEOUT_MS = 1_000;

const quietUntil = { events: 0, attempts: 0 };

export function hubOf(env: Env) {
  return env.LISTENERS.get(env.LISTENERS.idFromName("listeners"));
}

/** A listener connected through this isolate: announce again at once. */
export function listenerConnected(): void {
  quietUntil.events = 0;
  quietUntil.attempts = 0;
}

async function tell(what: string, call: () => Promise<ListenerCounts>): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  // Quiet from the call, not the answer: the hub counted before a listener it answers after may
  // connect, and that listener's catch-up (QUIET_MS + 500 ms later) must follow the quiet's end.
  const asked = Date.now();
  try {
    const counts = await Promise.race([
      call(),
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error("timed out")), CALL_TIMEOUT_MS))),
    ]);
    quietUntil.events = counts.events === 0 ? asked + QUIET_MS : 0;
    quietUntil.attempts = counts.attempts === 0 ? asked + QUIET_MS : 0;
  } catch (err) {
    console.error("announcing to listeners failed", { what, error: String(err) });
  } finally {
    clearTimeout(timer);
  }
}

/** After the ingest consumer stored a batch, or an alert was stored: listeners read the new events from the store. */
export async function announceEvents(env: Env): Promise<void> {
  if (Date.now() < quietUntil.events) return;
  await tell("events", () => hubOf(env).eventsStored());
}

/** After a token's revocation was stored: its sockets close at once, those waiting for an ack too (no event need come). */
export async function announceTokenRevoked(env: Env, tokenId: string): Promise<void> {
  await tell("token revoked", () => hubOf(env).tokenRevoked(tokenId));
}

/** After a webhook's delete was stored: the sockets listening as it close at once. */
export async function announceWebhookDeleted(env: Env, uid: string): Promise<void> {
  await tell("webhook deleted", () => hubOf(env).webhookDeleted(uid));
}

/** After a delivery scheduler recorded attempts: `tail` shows them. */
export async function announceAttempts(env: Env, outcomes: AttemptOutcome[]): Promise<void> {
  if (outcomes.length === 0 || Date.now() < quietUntil.attempts) return;
  const attempts = outcomes.map(({ attempt: a, status }) => ({
    deliveryId: a.deliveryId,
    number: a.number,
    status,
    statusCode: a.statusCode,
    durationMs: a.durationMs,
    error: a.error,
    startedAt: a.startedAt,
  }));
  await tell("attempts", () => hubOf(env).attemptsRecorded(attempts));
}
