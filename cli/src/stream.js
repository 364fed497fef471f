// A resilient listener connection: opens GET /v1/listen as a WebSocket, hands each
// message to a handler one at a time (in order), and reconnects after a drop,
// resuming after the last position the handler finished, so nothing is skipped.
// A backlog arriving faster than the handler finishes is held to MAX_QUEUED messages: past
// that the socket is no longer read (TCP slows the API down) until the handler catches up,
// and with an API that takes acks (`ack=true`, its hello says `acks`) the API sends no more
// than one run of pages until the client acks the `position` that ends it.
import pc from "picocolors";
import WebSocket from "ws";
import { apiError, isApiError, notTheApi, redirected, tokenRefused } from "./client.js";
import { requireToken, timeoutMs, tokenRefusal } from "./config.js";
import { CliError } from "./errors.js";
import { readMessage } from "./listen-message.js";
import { printable } from "./output.js";
import { redirectOf } from "./redirect.js";

/**
 * @typedef {import("../../src/listen/protocol").ListenMessage} ListenMessage
 * @typedef {{
 *   conn: import("./config.js").Connection,
 *   query: Record<string, string | undefined>,
 *   headers?: Record<string, string>,
 *   position: number | null,
 *   replay: number,
 *   acks?: boolean,
 *   onMessage: (m: ListenMessage, stopping: AbortSignal) => Promise<void>,
 *   onPosition: (position: number) => void,
 *   log: (line: string) => void,
 * }} StreamOptions
 */

const PING_MS = 25_000;
/**
 * Messages received and not yet handled past which the socket is paused (not read), and resumed
 * once half are handled: what a catch-up holds in memory while the local server is slower than
 * the API (a little more: messages already read off the socket in the same chunk still arrive).
 */
export const MAX_QUEUED = 100;
const MAX_BACKOFF_MS = 15_000;
/**
 * How long ws waits, once close frames are exchanged, for the API to end the connection before
 * it says "close" (its default, 30 s, is how long a listener whose token was revoked sat silent
 * before exiting, and one the hub closed before reconnecting: the local stack never ends it).
 */
const CLOSE_WAIT_MS = 1_000;
/** Connection errors that mean nothing listens at the address. */
const UNREACHABLE = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH"]);

/** Close codes after which reconnecting cannot help, with what each means and its code (the API gives no reason with them). */
const FINAL_CLOSES = new Map([
  [1008, "it sent a message the API does not take (1008)"],
  [4401, "its token was revoked or changed (4401)"],
  [4404, "its webhook was deleted (4404)"],
]);
/**
 * The notices the API sends just before closing with each of those codes: ended on at once, as the
 * close would end it (under the local runtime the close can come ~10 s after the notice).
 */
const FINAL_NOTICES = new Map([
  ["unexpected_message", 1008],
  ["token_revoked", 4401],
  ["webhook_gone", 4404],
]);

/**
 * How older APIs refused the `ack` query parameter, each issue's message beginning with these words
 * (the only thing that tells them apart): one from before acks, as a parameter its strict query does
 * not take ("not a parameter of this list, which takes …"), and one that took acks in listen mode
 * only, for tail ("listen mode only: tail sends nothing to ack").
 */
const OLDER_ACK_REFUSALS = ["not a parameter of this list", "listen mode only"];
const olderRefusal = (/** @type {unknown} */ message) => typeof message === "string" && OLDER_ACK_REFUSALS.some((words) => message.startsWith(words));

/**
 * Whether a 400's body is an older API refusing the `ack` query parameter (OLDER_ACK_REFUSALS): any
 * other refusal naming `ack` is the API's error to show, not a reason to connect without acks.
 */
function ackUnknown(/** @type {unknown} */ body) {
  const error = typeof body === "object" && body !== null && "error" in body && typeof body.error === "object" && body.error !== null ? body.error : null;
  if (error === null || !("code" in error) || error.code !== "invalid_request") return false;
  const issues = "details" in error && typeof error.details === "object" && error.details !== null && "issues" in error.details ? error.details.issues : null;
  const list = Array.isArray(issues) ? issues : [];
  return (
    list.length > 0 &&
    list.every(
      (i) =>
        typeof i === "object" && i !== null && "path" in i && i.path === "ack" && "message" in i && olderRefusal(i.message),
    )
  );
}

/** @param {StreamOptions} o @returns {{ done: Promise<void>, stop: () => Promise<void>, queued: () => number }} */
export function openStream(o) {
  /** Each connection's opening handshake (timeoutMs): a server that never answers the upgrade is said, not waited on for ever. */
  const handshakeTimeout = timeoutMs();
  let position = o.position;
  let stopped = false;
  /** stop() was called (stopped alone: the API ended the stream, and what it sent is still handled). */
  let halted = false;
  let attempt = 0;
  /**
   * Something answered at the URL once (an open, or an upgrade refused with a status): until then a
   * connection that fails is a wrong URL or a stack not started, said at once rather than retried.
   */
  let reached = false;
  /**
   * The API itself answered once (a socket opened, or its own `{"error":…}`): until then a 429 or 5xx
   * without its JSON (a proxy's 502 page) is a wrong URL, said at once as the API commands say it.
   */
  let heard = false;
  /** @type {WebSocket | null} */
  let ws = null;
  /** The reconnect waiting its backoff: cleared by stop(), which else waits for it (up to 15 s) to exit. */
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let reconnect;
  let chain = Promise.resolve();
  /** Messages received and not yet handled (the chain's length). */
  let queued = 0;
  /** An API from before acks refused the `ack` parameter: this stream connects without it from then on. */
  let acksRefused = false;
  /**
   * Aborted by stop(): a handler waiting on something slow (a local server that never answers)
   * gives up by rejecting with its reason, and the message is left for the next run.
   */
  const stopping = new AbortController();
  /** @type {(err?: unknown) => void} */
  let finish = () => {};
  /** @type {Promise<void>} */
  const done = new Promise((resolve, reject) => (finish = (err) => (err ? reject(err) : resolve())));

  const handle = async (/** @type {ListenMessage} */ m, /** @type {number | null} */ asked, /** @type {(position: number) => void} */ ack) => {
    // Stopped by the user: the message in hand finishes or gives up (its handler's signal aborts),
    // those received behind it wait for the next run (their positions are not saved), so a stop
    // never waits for a backlog to be forwarded, nor for a local server that does not answer.
    if (halted) return;
    // Saved at once: a run stopped before any event still resumes from here next time. A
    // hello below what this connection asked for means the store has less than that (it was
    // reset): go on from where it is.
    if (m.type === "hello" && (position === null || (asked !== null && m.position < asked))) {
      position = m.position;
      o.onPosition(position);
    }
    // Already handled: a reconnect asks after the last position forwarded, and the old
    // connection's events still queued here were forwarded meanwhile.
    if (m.type === "event" && position !== null && m.position <= position) return;
    try {
      await o.onMessage(m, stopping.signal);
    } catch (err) {
      // Given up on stop(): not handled, so its position is not saved and the next run has it again.
      if (stopping.signal.aborted && err === stopping.signal.reason) return;
      throw err;
    }
    if ((m.type === "event" || m.type === "position") && (position === null || m.position > position)) {
      position = m.position;
      o.onPosition(position);
    }
    // Everything the API sent up to here is handled: it may send the next run.
    if (m.type === "position") ack(m.position);
  };

  const connect = () => {
    // Under the URL's path, as the API commands' requests are (`--url https://host/edgehook`): conn.url has no trailing slash.
    const base = new URL(`${o.conn.url}/v1/listen`);
    base.protocol = base.protocol === "https:" ? "wss:" : "ws:";
    for (const [k, v] of Object.entries(o.query)) if (v !== undefined) base.searchParams.set(k, v);
    const asked = position;
    if (asked !== null) base.searchParams.set("after", String(asked));
    else if (o.replay > 0) base.searchParams.set("replay", String(o.replay));
    if (o.acks && !acksRefused) base.searchParams.set("ack", "true");

    const options = { headers: { authorization: `Bearer ${requireToken(o.conn)}`, ...o.headers }, closeTimeout: CLOSE_WAIT_MS, handshakeTimeout };
    const socket = new WebSocket(base, options);
    ws = socket;
    let alive = true;
    /** Not read while the handler is behind (MAX_QUEUED). */
    let paused = false;
    /** The API said in its hello that it waits for acks (an older one closes a socket that sends one). */
    let acking = false;
    /** @type {ReturnType<typeof setInterval> | undefined} */
    let ping;
    const ack = (/** @type {number} */ at) => {
      if (acking && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: "ack", position: at }));
    };

    socket.on("unexpected-response", (req, res) => {
      reached = true;
      let text = "";
      res.on("data", (c) => (text += c));
      res.on("end", () => {
        // ws leaves a refused upgrade's connection to its listener, and ending the request keeps
        // it for reuse: an API that keeps it alive would hold the process (the error said, the exit
        // 15 s later) or gain a socket per retry.
        req.socket?.destroy();
        let body = null;
        try {
          body = JSON.parse(text);
        } catch {
          // not the API's JSON: reported by status
        }
        const status = res.statusCode ?? 0;
        const listenUrl = `${o.conn.url}/v1/listen`;
        const redirect = redirectOf(status, res.headers.location, listenUrl);
        // An older API refuses the parameter (its query is strict, or it took acks in listen mode only):
        // connect as before, without (its hello will not say `acks`, so none is sent).
        if (status === 400 && base.searchParams.has("ack") && ackUnknown(body)) {
          acksRefused = true;
          o.log(pc.yellow(`the API takes no acks${o.query.mode === "tail" ? " for tail" : ""} (an older release): connecting without, a catch-up is sent at the API's pace`));
          if (!stopped) connect();
          return;
        }
        // A 429 says why (a token's 10 sockets, the hub's 1,000) and when to come back: both are kept.
        // The API's message is a sentence: its full stop would stand before "; reconnecting".
        const why = typeof body?.error?.message === "string" ? `: ${printable(body.error.message.replace(/\.$/, ""))}` : "";
        const after = Number(res.headers["retry-after"]);
        const ours = isApiError(body);
        if (ours) heard = true;
        // Another's 5xx once the stream was up: most likely a proxy in front of an API restarting, retried (not said to be the API's).
        if ((status === 429 || status >= 500) && heard) {
          return retry(ours ? `the API answered ${status}${why}` : `the URL answered ${status}, not as the Edgehook API does`, Number.isFinite(after) && after > 0 ? after * 1000 : 0);
        }
        stopped = true;
        // Not the API's `{"error":{…}}` (a web server's page, a 200 from another program on the
        // port): "HTTP 200" would say nothing of why, as the API commands say.
        finish(redirect ? redirected(redirect, o.conn.url, listenUrl) : !ours ? notTheApi(status) : status === 401 ? tokenRefused(o.conn, status, body) : apiError(status, body));
      });
    });
    socket.on("open", () => {
      reached = heard = true;
      attempt = 0;
      // Only once open: a refused upgrade never opens, and a ping on it would throw.
      ping = setInterval(() => {
        // A paused socket reads no pong: its silence says nothing of the connection.
        if (paused) alive = true;
        if (!alive) return socket.terminate(); // no answer for a whole interval: a dead connection
        alive = false;
        socket.send("ping");
      }, PING_MS);
    });
    socket.on("message", (data, isBinary) => {
      alive = true;
      const text = data.toString();
      if (text === "pong" && !isBinary) return;
      // Not handed on (nor its position saved): reported, and the stream goes on.
      const read = isBinary ? { problem: "in binary" } : readMessage(text);
      if ("problem" in read) return o.log(pc.yellow(`ignored a message ${printable(read.problem)}: ${printable(text.slice(0, 80))}`));
      const m = read.message;
      if (m.type === "hello" && "acks" in m && m.acks === true) acking = true;
      const final = m.type === "notice" ? FINAL_NOTICES.get(m.code) : undefined;
      queued++;
      if (queued > MAX_QUEUED && !paused) {
        paused = true;
        socket.pause();
      }
      chain = chain
        .then(() => handle(m, asked, ack))
        .finally(() => {
          queued--;
          if (paused && queued <= MAX_QUEUED / 2) {
            paused = false;
            socket.resume();
          }
        })
        .catch((err) => {
          stopped = true;
          socket.close(1000);
          finish(err);
        });
      // The notice is handled (printed) first, with what came before it; the close it announces is not waited for.
      if (final !== undefined && !stopped) {
        stopped = true;
        socket.terminate();
        closedForGood(final, "");
      }
    });
    socket.on("error", (err) => {
      if (stopped) return;
      // ws's words for its handshakeTimeout, said with how long it waited.
      const why = /handshake has timed out/i.test(err.message) ? `no answer within ${handshakeTimeout / 1000} s` : err.message.trim();
      // Never connected: exit 1 at once, as the API commands do (its close, 1006, is no disconnection). The
      // host alone: conn.url holds no credentials (apiUrl), but its path or query may hold a secret.
      if (!reached) {
        stopped = true;
        const host = new URL(o.conn.url).host;
        return finish(new CliError(`Cannot connect to the API at ${printable(host)}: ${printable(why)}. Is the URL right (and \`npm run dev\` running, locally)?`));
      }
      // Nothing answers there at all: most often a wrong URL or port, or a stack not started.
      const nobody = "code" in err && typeof err.code === "string" && UNREACHABLE.has(err.code);
      o.log(pc.yellow(`connection error: ${printable(why)}${nobody ? ` (is ${printable(o.conn.url)} the API's URL, and is it running?)` : ""}`));
    });
    socket.on("close", (code, reason) => {
      clearInterval(ping);
      if (stopped) return;
      if (FINAL_CLOSES.has(code)) {
        stopped = true;
        return closedForGood(code, reason.toString());
      }
      retry(`disconnected (${code})`);
    });
  };

  /** Ends the stream, once what was received is handled, as closed for good with `code` (FINAL_CLOSES). @param {number} code @param {string} reason */
  const closedForGood = (code, reason) => {
    // A token refused is said as a 401 is: where it came from and how to give one that works.
    const why = reason || (code === 4401 ? `${FINAL_CLOSES.get(code)}: ${tokenRefusal(o.conn)}` : FINAL_CLOSES.get(code));
    return chain.then(() => finish(new CliError(`The API closed the listener: ${printable(why)}.`)));
  };

  const retry = (/** @type {string} */ why, /** @type {number} */ atLeastMs = 0) => {
    if (stopped) return;
    const wait = Math.max(atLeastMs, Math.min(MAX_BACKOFF_MS, 1000 * 2 ** attempt++));
    o.log(pc.yellow(`${why}; reconnecting in ${Math.round(wait / 1000)} s${position === null ? "" : `, resuming after position ${position}`}`));
    reconnect = setTimeout(() => !stopped && connect(), wait);
  };

  connect();
  return {
    done,
    queued: () => queued,
    async stop() {
      stopped = halted = true;
      clearTimeout(reconnect);
      stopping.abort();
      ws?.close(1000);
      await chain.catch(() => {});
      finish();
    },
  };
}
