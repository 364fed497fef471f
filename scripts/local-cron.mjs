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

/**
 * Where `wrangler dev` given these arguments serves: its `--ip` (`localhost` by default, as
 * wrangler's, whichever family that names here; any address: loopback of its family) and
 * `--port` (8787 by default); null for `--port 0`, which only wrangler knows.
 * @param {string[]} args
 */
export function devBase(args) {
  const port = Number(argValue(args, "--port") ?? 8787);
  if (!Number.isInteger(port) || port <= 0) return null;
  const ip = argValue(args, "--ip");
  const loopbackOf = new Map([["0.0.0.0", "127.0.0.1"], ["*", "127.0.0.1"], ["::", "[::1]"]]);
  const host = ip === undefined ? "localhost" : (loopbackOf.get(ip) ?? (ip.includes(":") ? `[${ip}]` : ip));
  return `http://${host}:${port}`;
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
