// `edgehook listen <port|url>` and `edgehook tail`: live events (and attempts) from
// GET /v1/listen, forwarded to a local server or shown in the terminal.
import { InvalidArgumentError, Option } from "commander";
import pc from "picocolors";
import { holdsCredentials, isLoopback, requireToken } from "../config.js";
import { CliError } from "../errors.js";
import { parameterRange, rangeText } from "../openapi.js";
import { clock, colourStatus, jsonLine, printable, writeOut } from "../output.js";
import { connectionOf, queryList, wholeIn, withConnection } from "./common.js";

/**
 * The stream (and ws, with Node's http, https and tls under it) is loaded by listen and tail
 * alone: imported up front it was half of every other command's start (~0.15 s of ~0.3 s CPU).
 */
const loadStream = () => import("../stream.js");

/** Headers a forward does not copy from the event: the connection's own. */
const HOP_BY_HOP = new Set(["connection", "content-length", "host", "transfer-encoding", "keep-alive"]);
const FORWARD_TIMEOUT_MS = 30_000;
/**
 * How much of a target's answer is read once its status arrived, and for how long, before the rest
 * is let go: a small body read to its end keeps the connection for the next forward, and an endless
 * or trickling one neither fills the listener's memory nor holds the next event (a delivery reads
 * its answer the same way, src/pipeline/post.ts).
 */
const ANSWER_READ_BYTES = 64 * 1024;
const ANSWER_READ_MS = 1_000;

/** `3000`, `3000/hooks` or a URL → the local URL events are POSTed to. @param {string} target */
export function targetUrl(target) {
  // Not commander's InvalidArgumentError, whose message quotes the argument: its password would be printed.
  if (holdsCredentials(target)) {
    throw new CliError("the target URL holds a user name or password, which a forward cannot carry (fetch refuses it): give your local server's URL without them.", { exitCode: 2 });
  }
  const port = /^(\d{1,5})(\/.*)?$/.exec(target);
  // `localhost:3000` is no URL (or one of scheme "localhost:"): say what was meant.
  if (!port && /^[\w.-]+:\d{1,5}(\/.*)?$/.test(target)) throw new InvalidArgumentError(`"${target}" has no scheme: give http://${target} (or the port alone).`);
  const url = port ? `http://127.0.0.1:${port[1]}${port[2] ?? "/"}` : target;
  let parsed;
  try {
    parsed = new URL(url);
  } catch {
    throw new InvalidArgumentError(`"${target}" is neither a port nor a URL.`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") throw new InvalidArgumentError(`"${target}" is not an http(s) URL.`);
  // Port 0 is no server's: every forward would fail, and a failed forward is not sent again.
  if (parsed.port === "0") throw new InvalidArgumentError(`port 0 is no port a server listens on: give the port of your local server.`);
  // Node's fetch refuses these outright ("bad port"): every forward would fail, none saying why.
  if (FETCH_BAD_PORTS.has(Number(parsed.port))) {
    throw new InvalidArgumentError(`port ${parsed.port} is one fetch refuses to connect to (the Fetch standard's "bad ports"): run the local server on another port.`);
  }
  return parsed.toString();
}

/** `--replay N`: the API's range (it replays at most 100), refused here rather than by its 400. */
const REPLAY = parameterRange("/v1/listen", "replay");

/** The Fetch standard's bad ports (https://fetch.spec.whatwg.org/#port-blocking). */
const FETCH_BAD_PORTS = new Set([
  1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79, 87, 95, 101, 102, 103, 104, 109, 110, 111, 113, 115,
  117, 119, 123, 135, 137, 139, 143, 161, 179, 389, 427, 465, 512, 513, 514, 515, 526, 530, 531, 532, 540, 548, 554, 556, 563, 587,
  601, 636, 989, 990, 993, 995, 1719, 1720, 1723, 2049, 3659, 4045, 4190, 5060, 5061, 6000, 6566, 6665, 6666, 6667, 6668, 6669,
  6679, 6697, 10080,
]);

/** @param {import("commander").Command} cmd @param {string} webhookHelp @param {string} jsonHelp */
const filters = (cmd, webhookHelp, jsonHelp) =>
  cmd
    .option("--source <ids>", "only these sources (comma-separated)")
    .option("--types <types>", "only these event types, e.g. message.received,contact.* (comma-separated)")
    .option("--webhook <uid>", webhookHelp)
    .option("--json", jsonHelp);

/**
 * Stops the stream on Ctrl-C or SIGTERM: the event in hand is finished and saved, or, still
 * waiting on the local server, given up and left for the next run (listen's forward).
 */
function stopOnSignals(/** @type {{ stop: () => Promise<void> }} */ stream) {
  for (const sig of /** @type {const} */ (["SIGINT", "SIGTERM"])) process.once(sig, () => void stream.stop());
}

/** @param {import("commander").Command} program */
export function registerListen(program) {
  withConnection(
    filters(
      program
        .command("listen")
        .description("forward events to a local server, live, as they are stored; resumes where it stopped")
        .argument("<target>", "a local port (3000), port and path (3000/webhooks) or URL", targetUrl),
      "forward what this webhook is owed, signed with its secret",
      "one JSON line per event instead of text",
    ),
  )
    // Each says where the listener starts: given both, one would be ignored.
    .addOption(new Option("--replay <n>", `first send the last N matching events (${rangeText(REPLAY)})`).argParser(wholeIn(REPLAY)).conflicts("fromNow"))
    .option("--secret <secret>", "sign forwards with this secret (default: one generated once, kept with the config)")
    .option("--from-now", "forget the saved position: only events stored from now on")
    .addHelpText(
      "after",
      `
Each event is POSTed to the target with its stored body and the headers a webhook gets
(webhook-id/-timestamp/-signature, podium-timestamp/-signature, edgehook-*), signed with
--webhook's secret or the listener's own (printed at start). One line per event:
time, type, id, local status, ms. Ctrl-C stops; the next run resumes after the last event
forwarded, so nothing stored meanwhile (within retention) is missed.`,
    )
    .action(async (target, opts) => {
      const conn = connectionOf(opts);
      requireToken(conn); // before any state is kept for a listener that cannot connect
      const query = { mode: "listen", sourceIds: queryList(opts.source), eventTypes: queryList(opts.types), webhookUid: opts.webhook };
      // Loaded here, as the stream is: a usage error, or --help, needs neither what listen keeps between runs nor node:crypto.
      const { listenState } = await import("../listen-state.js");
      const { randomBytes } = await import("node:crypto");
      const state = listenState(conn, query);
      // A field edited by hand is said, not dropped unsaid: the listener would start from now.
      const saved = state.read((line) => process.stderr.write(`${pc.yellow(line)}\n`));
      if (opts.secret !== undefined && (opts.secret.trim() !== opts.secret || !/^[\x20-\x7e]*$/.test(opts.secret))) {
        // A header value loses its surrounding spaces on the way, and a character past ASCII is read
        // back as another: the server would sign with another secret than this one.
        throw new CliError("--secret must be printable ASCII, not beginning or ending with spaces.", { exitCode: 2 });
      }
      // Sent empty, no header would carry it and the server would sign with one of its own.
      if (opts.secret === "") throw new CliError("--secret is empty: give one of 8 to 256 characters, or leave it out for a generated one.", { exitCode: 2 });
      if (opts.webhook && opts.secret !== undefined) throw new CliError("--webhook signs with that webhook's secret: leave out --secret.", { exitCode: 2 });
      // Before anything is sent or saved: another listener of this state would save over this one's position.
      state.claim();
      const secret = opts.webhook ? undefined : (opts.secret ?? saved.secret ?? `whsec_${randomBytes(32).toString("base64")}`);
      const resumeFrom = opts.fromNow || opts.replay ? null : (saved.position ?? null);
      const log = (/** @type {string} */ line) => process.stderr.write(`${line}\n`);
      // Said, not refused (a container's address is no loopback one): what goes there is each event's body, signed.
      // (Not silenced by --insecure, which would also let the API token go in cleartext.)
      const { protocol, host } = new URL(target);
      if (protocol === "http:" && !isLoopback(target)) {
        log(pc.yellow(`warning: events go to ${host} over plain http: their bodies and signatures cross the network unencrypted (give its https:// URL where you can).`));
      }
      /** A connection after the first resumes after where the last one got to, whatever the first resumed from. */
      let connected = false;

      const { openStream } = await loadStream();
      const stream = openStream({
        conn,
        query,
        headers: secret ? { "x-edgehook-listen-secret": secret } : {},
        position: resumeFrom,
        replay: opts.replay ?? 0,
        // The API sends a run of events, then waits for the CLI to have forwarded it: a slow target slows the catch-up.
        acks: true,
        log,
        onPosition: (position) => state.save({ position }),
        async onMessage(m, stopping) {
          if (m.type === "hello") {
            // Kept once the server has taken it: a secret it refused is not sent again on the next run.
            if (secret && m.secret === secret && secret !== saved.secret) state.save({ secret });
            // The hello's position is where this connection starts (a reconnect's, the last one forwarded).
            const resuming = resumeFrom !== null || connected;
            // What it signs with is said once a run, at its first connection (a reconnect signs the same).
            const signing = connected ? "" : `\n${m.secret ? `Signing secret: ${pc.bold(printable(m.secret))}` : `Signed with webhook ${printable(m.webhookUid)}'s secret`}`;
            connected = true;
            log(`${pc.green("Listening")} on ${conn.url} → ${pc.bold(target)}${resuming ? ` (resuming after ${m.position})` : ""}${signing}`);
          } else if (m.type === "notice") {
            log(pc.yellow(printable(m.message)));
          } else if (m.type === "event") {
            const result = await forward(target, m, stopping).catch((/** @type {unknown} */ err) => {
              // Interrupted, not the local server's failure: said on stderr, no result line, and sent again next run.
              if (stopping.aborted) log(pc.yellow(`Stopped while forwarding ${printable(m.id)} (no answer yet): it is sent again on the next run.`));
              throw err;
            });
            if (opts.json) await writeOut(jsonLine({ time: new Date().toISOString(), position: m.position, eventId: m.id, eventType: m.eventType, ...result }));
            else {
              const status = colourStatus(result.status, result.status === null ? `ERR ${printable(result.error)}` : String(result.status));
              await writeOut(`${clock()}  ${printable(m.eventType).padEnd(22)}  ${printable(m.id)}  ${status}  ${pc.dim(`${result.ms} ms`)}\n`);
            }
          }
        },
      });
      stopOnSignals(stream);
      await stream.done.catch((/** @type {unknown} */ err) => {
        // A secret kept from an earlier run that the API now refuses (its rule for them came later): say where it comes from.
        if (opts.secret === undefined && saved.secret && err instanceof CliError && err.message.includes("x-edgehook-listen-secret")) {
          throw new CliError(`${err.message}\nThat secret was kept from an earlier run: pass --secret whsec_… to replace it.`, { code: err.code, exitCode: err.exitCode });
        }
        throw err;
      });
    });

  withConnection(
    filters(
      program.command("tail").description("stream events and delivery attempts to the terminal, coloured by status"),
      "show what this webhook is owed",
      "one JSON line per event or attempt (the API's message) instead of text",
    ),
  ).action(async (opts) => {
    const conn = connectionOf(opts);
    requireToken(conn); // a token that cannot be sent is said once, not retried
    const query = { mode: "tail", sourceIds: queryList(opts.source), eventTypes: queryList(opts.types), webhookUid: opts.webhook };
    const { openStream } = await loadStream();
    /** A hello after the first is a reconnect's. */
    let connected = false;
    const stream = openStream({
      conn,
      query,
      position: null,
      replay: 0,
      // As listen's: the API sends a run of events, then waits for them to be printed (a terminal that scrolls slowly, a pipe not read).
      acks: true,
      log: (line) => process.stderr.write(`${line}\n`),
      onPosition: () => {},
      async onMessage(m) {
        if (m.type === "hello") {
          // Events are resumed after a reconnect; attempts are announced live only (the API keeps no position for them).
          const deliveries = `edgehook deliveries list${opts.webhook ? ` --webhook ${printable(opts.webhook)}` : ""}`;
          const again = `${pc.green("Tailing")} ${conn.url} again: events stored meanwhile follow, attempts made while disconnected are not shown (\`${deliveries}\` lists their deliveries)`;
          process.stderr.write(`${connected ? again : `${pc.green("Tailing")} ${conn.url} (Ctrl-C stops)`}\n`);
          connected = true;
        }
        if (m.type === "notice") process.stderr.write(`${pc.yellow(printable(m.message))}\n`);
        if (m.type !== "event" && m.type !== "attempt") return;
        // Written before the run is acked (writeOut): a pipe nobody reads holds the stream back.
        if (opts.json) return writeOut(jsonLine(m));
        // Every field is the server's (an event type is whatever a sender put in its payload): printable.
        if (m.type === "event") {
          return writeOut(`${clock(m.receivedAt)}  ${pc.cyan("event  ")}  ${printable(m.eventType).padEnd(22)}  ${printable(m.id)}  ${pc.dim(printable(m.sourceId))}\n`);
        }
        const outcome = m.status === "succeeded" ? pc.green(m.status) : m.status === "failed" ? pc.red(m.status) : pc.yellow("retrying");
        const status = colourStatus(m.statusCode, m.statusCode === null ? "ERR" : printable(m.statusCode));
        return writeOut(
          `${clock(m.startedAt)}  ${pc.magenta("attempt")}  ${printable(m.eventType).padEnd(22)}  ${printable(m.eventId)}  → ${printable(m.webhookUid)} #${printable(m.number)}  ${status}  ${outcome}  ${pc.dim(printable(`${m.durationMs} ms`))}${m.error ? `  ${pc.dim(printable(m.error))}` : ""}\n`,
        );
      },
    });
    stopOnSignals(stream);
    await stream.done;
  });
}

/**
 * POSTs one event to the local server as a webhook would get it; rejects with `stopping`'s reason
 * if the listener stops before the server answers (an answer whose body is still coming counts).
 * @param {string} target @param {import("../../../src/listen/protocol").EventNote} m @param {AbortSignal} stopping
 * @returns {Promise<{ status: number | null, ms: number, error: string | null }>}
 */
async function forward(target, m, stopping) {
  if (m.transformError) return { status: null, ms: 0, error: `not forwarded: ${m.transformError}` };
  // An event as tail gets it, without body and headers: an empty, unsigned POST would stand for it.
  if (m.body === undefined || m.headers === undefined) return { status: null, ms: 0, error: "not forwarded: the API sent it without its body and headers" };
  const headers = Object.fromEntries(Object.entries(m.headers).filter(([k]) => !HOP_BY_HOP.has(k.toLowerCase())));
  const started = performance.now();
  // One signal for the timeout and the stop (AbortSignal.any is newer than the Node 20 the CLI supports).
  const abort = new AbortController();
  const timeout = setTimeout(() => abort.abort(new DOMException(`no answer within ${FORWARD_TIMEOUT_MS / 1000} s`, "TimeoutError")), FORWARD_TIMEOUT_MS);
  const stop = () => abort.abort(stopping.reason);
  stopping.addEventListener("abort", stop, { once: true });
  try {
    const res = await fetch(target, { method: "POST", headers, body: m.body, redirect: "manual", signal: abort.signal });
    // The answer counts once its status arrived, as a delivery's does: its body is not waited for.
    const ms = Math.round(performance.now() - started);
    await letGo(res.body);
    return { status: res.status, ms, error: null };
  } catch (err) {
    if (stopping.aborted) throw stopping.reason;
    const cause = err instanceof Error && err.cause instanceof Error ? err.cause.message : String(err);
    return { status: null, ms: Math.round(performance.now() - started), error: cause };
  } finally {
    clearTimeout(timeout);
    stopping.removeEventListener("abort", stop);
  }
}

/**
 * Reads at most ANSWER_READ_BYTES of an answer's body, for at most ANSWER_READ_MS, and cancels the
 * rest (closing the connection when there is more). @param {ReadableStream<Uint8Array> | null} body
 */
async function letGo(body) {
  if (!body) return;
  const reader = body.getReader();
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  /** @type {Promise<null>} */
  const waited = new Promise((resolve) => (timer = setTimeout(() => resolve(null), ANSWER_READ_MS)));
  try {
    for (let size = 0; size < ANSWER_READ_BYTES; ) {
      const next = await Promise.race([reader.read(), waited]);
      if (next === null || next.done) break;
      size += next.value.byteLength;
    }
  } catch {
    // Cut off (a reset, the listener stopping): the status stands.
  } finally {
    clearTimeout(timer);
    reader.cancel().catch(() => {});
  }
}
