// `wrangler dev` does not fire Cron Triggers (it says so when it starts): under `npm run dev`
// this fires wrangler.toml's `* * * * *` itself, through the local runtime's scheduled
// endpoint, so the maintenance run (src/maintenance/cron.ts) works locally as deployed.

/** The Cron Trigger the Worker has (wrangler.toml [triggers]). */
export const CRON = "* * * * *";

/**
 * Calls `${base}/cdn-cgi/local/scheduled` at each whole multiple of `everySeconds` (a minute: on
 * the minute, as the deployed cron), never two at once: a tick while a run is under way is
 * skipped. Says when the first run went through, when one started and failed (the Worker threw), and
 * when the runtime stopped answering; nothing while it is not answering yet. Returns a function that stops it.
 * @param {{ base: string; everySeconds: number; log: (line: string) => void }} o
 */
export function startLocalCron(o) {
  const every = o.everySeconds * 1000;
  let running = false;
  let answered = false;
  let failing = false;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  let stopped = false;

  /** @param {number} scheduledTime */
  const run = async (scheduledTime) => {
    const query = new URLSearchParams({ format: "json", cron: CRON, time: String(scheduledTime) });
    /** @type {Response} */
    let res;
    try {
      res = await fetch(`${o.base}/cdn-cgi/local/scheduled?${query}`);
    } catch (err) {
      // Not ready yet (or gone): only worth saying once it had answered.
      if (answered && !failing) o.log(`The maintenance run could not be started: the local runtime did not answer (${whyNot(err)}); it is tried again in ${o.everySeconds} s.`);
      failing = answered;
      return;
    }
    // The runtime ran the scheduled handler: its outcome comes as JSON, with HTTP 500 when it was not "ok" (it threw).
    const outcome = outcomeOf(await res.json().catch(() => null));
    if (outcome === "ok") {
      if (!answered) o.log(`The maintenance run (cron "${CRON}") ran at ${new Date(scheduledTime).toISOString()}; it runs every ${o.everySeconds} s while this does.`);
      if (failing) o.log("The maintenance run ended ok again.");
      failing = false;
    } else if (!failing) {
      o.log(
        outcome === "unknown"
          ? `The maintenance run's outcome is unknown: the local runtime answered HTTP ${res.status} without one; it runs again in ${o.everySeconds} s.`
          : `The maintenance run started and failed (it ended "${outcome}": the Worker's log above says why); it runs again in ${o.everySeconds} s.`,
      );
      failing = true;
    }
    answered = true;
  };

  const schedule = () => {
    if (stopped) return;
    const next = Math.floor(Date.now() / every) * every + every;
    timer = setTimeout(async () => {
      schedule();
      if (running) return;
      running = true;
      try {
        await run(next);
      } finally {
        running = false;
      }
    }, next - Date.now());
  };
  schedule();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

/** Why a fetch got no answer: its cause's words (connect ECONNREFUSED …), not only "fetch failed". @param {unknown} err */
function whyNot(err) {
  if (!(err instanceof Error)) return String(err);
  return err.cause instanceof Error ? err.cause.message : err.message;
}

/** What the scheduled endpoint's JSON says of the run: "ok", "exception", … @param {unknown} body */
function outcomeOf(body) {
  return body !== null && typeof body === "object" && "outcome" in body && typeof body.outcome === "string" ? body.outcome : "unknown";
}

/**
 * Whether something answers at `base` (any HTTP answer, or a connection held without one): a
 * port another server holds. False when the connection is refused or the name does not resolve.
 * @param {string} base
 */
export async function serving(base) {
  try {
    const res = await fetch(base, { signal: AbortSignal.timeout(2_000), redirect: "manual" });
    await res.body?.cancel();
    return true;
  } catch (err) {
    return err instanceof Error && err.name === "TimeoutError";
  }
}

/** The port `wrangler dev` takes when not given `--port`, or the next free one after it when that is held. */
export const DEFAULT_PORT = 8787;

/**
 * Where `wrangler dev` given these arguments serves, known before it starts: only with `--port N`
 * (N > 0), at its `--ip` (devHost). Null without `--port`, where wrangler moves on when 8787 is
 * held, and for `--port 0`: only its Ready line says where.
 * @param {string[]} args
 */
export function devBase(args) {
  const port = Number(argValue(args, "--port"));
  return Number.isInteger(port) && port > 0 ? `http://${devHost(args)}:${port}` : null;
}

/**
 * Where `wrangler dev` given these arguments serves, from a line of its output: its `Ready on URL`
 * line's port, at its `--ip` as devBase reaches it (`Ready on http://0.0.0.0:N` names no address
 * to call); null for any other line. A whole line: a chunk of output can end inside the port.
 * @param {string} line @param {string[]} args
 */
export function readyBase(line, args) {
  const port = /Ready on http:\/\/(?:\[[^\]\s]*\]|[^\s/:\]]+):(\d+)/.exec(line)?.[1];
  return port === undefined ? null : `http://${devHost(args)}:${port}`;
}

/**
 * A handler of `wrangler dev`'s output chunks that calls `onReady` once, with readyBase of the first
 * whole line that has one (a chunk boundary inside its URL cannot give a wrong port).
 * @param {string[]} args @param {(base: string) => void} onReady
 */
export function watchReady(args, onReady) {
  let rest = "";
  let done = false;
  return (/** @type {string | Buffer} */ chunk) => {
    if (done) return;
    const lines = (rest + chunk).split("\n");
    rest = lines.pop() ?? "";
    for (const line of lines) {
      const base = readyBase(line, args);
      if (base === null) continue;
      done = true;
      rest = "";
      onReady(base);
      return;
    }
  };
}

/**
 * In a terminal wrangler's output is not seen here, so where the cron fires is decided before it
 * starts: the arguments to give wrangler, and where to fire (null, and why not, when nowhere). Never
 * at a port something answers at already (another `npm run dev`?): given `--port N`, wrangler stops
 * there with "Address already in use"; without, it moves to a port not known here. Without `--port`
 * and 8787 free, wrangler gets `--port 8787` (what it takes anyway) so that it serves there or stops.
 * @param {string[]} args @param {(base: string) => Promise<boolean>} [answers] whether something answers at a base
 * @returns {Promise<{ args: string[]; base: string | null; why?: string }>}
 */
export async function terminalTarget(args, answers = serving) {
  const curl = 'curl "<url>/cdn-cgi/local/scheduled" runs it';
  const given = argValue(args, "--port") !== undefined;
  const pinned = given ? args : [...args, "--port", String(DEFAULT_PORT)];
  const base = devBase(pinned);
  if (base === null) return { args, base, why: `The maintenance run is not fired with --port 0 in a terminal: ${curl}.` };
  if (!(await answers(base))) return { args: pinned, base };
  return given
    ? { args, base: null, why: `Something answers at ${base} already (another npm run dev?): this one fires no maintenance run there.` }
    : { args, base: null, why: `Something answers at ${base} already (another npm run dev?): wrangler serves on the next free port, where no maintenance run is fired (give it --port N for one, or ${curl}).` };
}

/**
 * Why no maintenance run is fired for these arguments and this environment, or null when one is:
 * `EDGEHOOK_DEV_CRON_SECONDS=0` (or any but a positive number) asks for none; with `--local-protocol https` wrangler serves a
 * certificate of its own making, which a fetch from here would refuse.
 * @param {string[]} args @param {string | undefined} everySeconds EDGEHOOK_DEV_CRON_SECONDS
 */
export function notFiredWhy(args, everySeconds) {
  const curl = (k = "") => `curl${k} "<url>/cdn-cgi/local/scheduled" runs it`;
  if (!(Number(everySeconds ?? 60) > 0)) return `The maintenance run is not fired with EDGEHOOK_DEV_CRON_SECONDS=${everySeconds}: ${curl()}.`;
  if (argValue(args, "--local-protocol") === "https") return `The maintenance run is not fired with --local-protocol https (wrangler's certificate is its own): ${curl(" -k")}.`;
  return null;
}

/**
 * The host a client reaches `wrangler dev` given these arguments at: its `--ip` (`localhost` by
 * default, as wrangler's, whichever family that names here; any address: loopback of its family).
 * @param {string[]} args
 */
function devHost(args) {
  const ip = argValue(args, "--ip");
  const loopbackOf = new Map([["0.0.0.0", "127.0.0.1"], ["*", "127.0.0.1"], ["::", "[::1]"]]);
  return ip === undefined ? "localhost" : (loopbackOf.get(ip) ?? (ip.includes(":") ? `[${ip}]` : ip));
}

/**
 * Where `wrangler dev` given these arguments keeps its local state (`--persist-to DIR` or
 * `--persist-to=DIR`; undefined: its default), for the migrations to go to the same database.
 * @param {string[]} args
 */
export function devPersistTo(args) {
  return argValue(args, "--persist-to");
}

/** A flag's value as wrangler's parser reads it: `--name value` or `--name=value`. @param {string[]} args @param {string} name */
function argValue(args, name) {
  const i = args.findIndex((a) => a === name || a.startsWith(`${name}=`));
  if (i < 0) return undefined;
  return args[i].includes("=") ? args[i].slice(args[i].indexOf("=") + 1) : args[i + 1];
}
