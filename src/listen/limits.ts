// What one listener hub (every listener of a deployment) will take on, as data:
// how many sockets, and how much reading one alarm does, so no token's sockets
// or catch-ups hold up everyone else's.
import { AppError } from "../domain/errors";

/** Sockets one token (the admin's included) may hold open at once. */
export const SOCKETS_PER_TOKEN = 10;
/** Sockets the hub holds open at most, every tenant's together. */
export const SOCKETS_IN_ALL = 1_000;
/**
 * A socket silent this long (no keep-alive ping answered, none since it was accepted) is taken
 * for dead when its token is at its cap: the CLI pings every 25 s and drops a socket that missed
 * one, without the hub hearing of it when the network went away.
 */
export const SILENT_SOCKET_MS = 60_000;
/** What a refused connection is told to wait before trying again, in seconds. */
export const SOCKETS_RETRY_AFTER_SECONDS = 15;

/** Events read from the store at a time (bodies of the ones someone hears are read after). */
export const PAGE = 50;
/** Pages one alarm reads at most; what is left is read by the next alarm, set at once. */
export const PAGES_PER_ALARM = 4;
/** Pages one socket is sent per alarm at most, so one catch-up cannot take a whole alarm. */
export const PAGES_PER_SOCKET = 2;
/**
 * Bytes of messages (UTF-8, as sent) past which a socket that acks is sent no more in a run: the
 * run ends (its `position`, then nothing until acked) with the message that reached them, so a run
 * always moves on by at least one event. Pages alone let a run be 100 events of 256 KiB bodies, ~150
 * MB once JSON escapes their control characters (`\u0001`, six bytes each), all of it held by the
 * hub for a client that stopped reading, past a Durable Object's 128 MB. With this, a socket holds at
 * most this plus one message (of ~1.6 MB at most): ~2.6 MB unacked, one token's 10 sockets ~26 MB.
 */
export const RUN_BYTES = 1024 * 1024;

/**
 * Evaluation steps of webhook transformations (what a listener as a webhook is sent) one alarm
 * starts no new run past; the events left wait for the next alarm, set at once. Six events'
 * transformations at their limit (TRANSFORM_LIMITS.steps, 50,000 for the body's and headers'
 * expressions together: about 0.3–0.5 s of CPU each on a 250 KB body, at worst ~20 µs a step). The
 * run under way when it is reached finishes (it is what moves a listener on), so an alarm evaluates
 * at most this plus one event's transformation, 350,000 steps: seconds
 * (with SIGNING_STEPS_PER_ALARM's), well under a Durable Object's 30 s of CPU, however many listeners
 * and webhooks are behind.
 * Small transformations (tens of steps an event) never come near it.
 */
export const TRANSFORM_STEPS_PER_ALARM = 300_000;

/**
 * Steps (the same unit, ~10–15 µs of CPU) of signing one alarm starts no new listen message past;
 * the events left wait for the next alarm, set at once. A message is signed (two HMACs over the
 * body) and serialised once for the sockets it goes to, those as one webhook (or with one secret of
 * their own) sharing it: ~12 ns a character and ~0.15 ms a message, so `signingSteps`, and each
 * further socket it is sent to a copy (~1 ns a character), so `sendingSteps`. Pages alone bound it
 * only at 1,000 sockets × 100 events × 250 KB, 25 GB: minutes. This is about a second and a half:
 * some 380 messages of 250 KB signed for one socket each, or 9,000 small ones. The message under way
 * when it is reached goes to all its sockets (at most 1,000 copies, ~0.3 s of 250 KB), so those as
 * one webhook hear one output of its transformation. Apart from the transformations' steps, so a
 * webhook's costly ones hold back no other socket.
 */
export const SIGNING_STEPS_PER_ALARM = 100_000;

/** What signing a message of a body of `chars` characters, serialising it and sending it to its first socket costs. */
export function signingSteps(chars: number): number {
  return 10 + Math.ceil(chars / 1_000);
}

/** What sending a message already signed to one more socket costs. */
export function sendingSteps(chars: number): number {
  return 1 + Math.ceil(chars / 10_000);
}

/** Why a new socket is refused, if it is: its token, or the hub, already holds as many as it may. */
export function socketRefusal(open: { ofToken: number; inAll: number }, admin: boolean): AppError | null {
  if (open.ofToken >= SOCKETS_PER_TOKEN) {
    return new AppError(
      "rate_limited",
      `${admin ? "The admin token" : "This token"} already holds ${open.ofToken} listener sockets, the most one token may: close one (listen or tail) first.`,
      { limit: SOCKETS_PER_TOKEN, open: open.ofToken },
      SOCKETS_RETRY_AFTER_SECONDS,
    );
  }
  if (open.inAll >= SOCKETS_IN_ALL) {
    return new AppError("rate_limited", `The listener hub holds ${open.inAll} sockets, its most: try again later.`, { limit: SOCKETS_IN_ALL }, SOCKETS_RETRY_AFTER_SECONDS);
  }
  return null;
}
