// Where `edgehook listen` keeps its position and signing secret between runs: a file per
// listener (API, token and filters) in listen-state/ beside the config file, so listeners
// with different filters or tokens running at once never overwrite each other's state.
import { createHash } from "node:crypto";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { cannotWrite, canonicalUrl, makeFolders, readJson, writeJson } from "./config.js";
import { CliError } from "./errors.js";
import { isObject, isPosition } from "./guards.js";

/** @typedef {{ position?: number, secret?: string }} ListenState */

/**
 * What a saved state holds of a position and a secret: a field of another type (the file edited
 * by hand) is as if not saved, not resumed after nor sent as the secret, and told to `ignored`
 * (dropped unsaid, a listener would start from now and lose where it was).
 * @param {unknown} v @param {(field: string, why: string) => void} [ignored] @returns {ListenState}
 */
function stateOf(v, ignored = () => {}) {
  if (!isObject(v)) {
    ignored("state", "not a JSON object");
    return {};
  }
  const { position, secret } = v;
  // Never the value: a secret's may be most of one.
  if (position !== undefined && !isPosition(position)) ignored(`"position"`, "not a whole number from 0 to 2^53 − 1");
  if (secret !== undefined && typeof secret !== "string") ignored(`"secret"`, "not a string");
  return { ...(isPosition(position) && { position }), ...(typeof secret === "string" && { secret }) };
}

const sha256 = (/** @type {string} */ s) => createHash("sha256").update(s).digest("hex");

/** Whether a process of that id runs (one of another user's counts: it cannot be signalled, but it is there). */
function running(/** @type {number} */ pid) {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return err instanceof Error && "code" in err && err.code === "EPERM";
  }
  // A listener killed and not yet reaped by its parent (a zombie) still takes a signal: on Linux
  // /proc says it is dead, so a restart right after `kill -9` is not refused. Elsewhere: running.
  try {
    return !/^\d+ \(.*\) [ZX]/s.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch (err) {
    return !(err instanceof Error && "code" in err && err.code === "ENOENT" && process.platform === "linux");
  }
}

/** The process id a lock file names, or null (gone, or not a number). @param {string} lock */
function holderOf(lock) {
  try {
    const pid = Number(readFileSync(lock, "utf8"));
    return Number.isSafeInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/**
 * Makes this process the one listener of its state (a pid file in listen-locks/, removed at exit),
 * else a usage error: two listeners of one state save their positions over each other's, so a
 * restarted one would resume where the other got to and miss what it had not forwarded yet.
 * A file whose process is gone (killed) is taken over.
 * @param {string} lock
 */
function claimState(lock) {
  try {
    makeFolders(dirname(lock));
  } catch (err) {
    throw cannotWrite(dirname(lock), err);
  }
  // A few turns: a file left by a killed listener is removed and made again, and another listener may start meanwhile.
  for (let tries = 0; tries < 3; tries++) {
    try {
      writeFileSync(lock, String(process.pid), { flag: "wx", mode: 0o600 });
      // Removed only while it is still this process's (a user may have deleted it, another taken it).
      process.once("exit", () => {
        if (holderOf(lock) === process.pid) rmSync(lock, { force: true });
      });
      return;
    } catch (err) {
      if (!(err instanceof Error && "code" in err && err.code === "EEXIST")) throw cannotWrite(lock, err);
    }
    const holder = holderOf(lock);
    if (holder !== null && holder !== process.pid && running(holder)) {
      throw new CliError(
        `Another \`edgehook listen\` with the same API, token and filters runs (process ${holder}): the two would keep one saved position, and one restarted would resume where the other got to. Stop it first, or listen with other filters. (If no such listener runs, delete ${lock}.)`,
        { exitCode: 2 },
      );
    }
    rmSync(lock, { force: true });
  }
  throw cannotWrite(lock, "EEXIST");
}

/**
 * The saved state of the listener with this connection and query: a restarted `listen` resumes from it.
 * @param {import("./config.js").Connection} conn @param {Record<string, string | undefined>} query
 */
export function listenState(conn, query) {
  const dir = dirname(conn.configFile);
  const tokenId = sha256(conn.token ?? "").slice(0, 12);
  const key = [conn.url, tokenId, query.mode, query.sourceIds ?? "*", query.eventTypes ?? "*", query.webhookUid ?? "-"].join(" ");
  const path = join(dir, "listen-state", `${sha256(key).slice(0, 16)}.json`);
  /**
   * @param {(line: string) => void} [warn] told of each field ignored (a run's first read: not every save's)
   * @returns {ListenState}
   */
  const read = (warn) => {
    /** @param {string} file @returns {(field: string, why: string) => void} */
    const ignoredIn = (file) => (field, why) => warn?.(`warning: ignored the ${field} saved in ${file} (${why}): read as if none were saved.`);
    // By the file's presence, not its content: one holding `null`, `0` or `""` is ignored aloud too.
    if (existsSync(path)) return stateOf(readJson(path), ignoredIn(path));
    // Earlier versions kept every listener in one shared file: its entry is where this one starts,
    // under the URL as it was saved then (before URLs were kept in one spelling).
    const sharedPath = join(dir, "listen-state.json");
    const file = readJson(sharedPath);
    const shared = isObject(file) ? file : {};
    if (Object.hasOwn(shared, key)) return stateOf(shared[key], ignoredIn(`${sharedPath} for this listener`));
    const [, ...rest] = key.split(" ");
    const old = Object.keys(shared).find((k) => {
      const [u = "", ...r] = k.split(" ");
      return canonicalUrl(u) === conn.url && r.join(" ") === rest.join(" ");
    });
    return old ? stateOf(shared[old], ignoredIn(`${sharedPath} for this listener`)) : {};
  };
  return {
    read,
    /** Makes this process the only listener of this state while it runs (see claimState). */
    claim: () => claimState(join(dir, "listen-locks", `${sha256(key).slice(0, 16)}.pid`)),
    /** Writes only this listener's file; `listener` says whose it is to someone reading the folder. */
    save(/** @type {ListenState} */ patch) {
      writeJson(path, { listener: key, ...read(), ...patch });
    },
  };
}
