// Where `edgehook listen` keeps its position and signing secret between runs: a file per
// listener (API, token and filters) in listen-state/ beside the config file, so listeners
// with different filters or tokens running at once never overwrite each other's state.
import { createHash } from "node:crypto";
import { dirname, join } from "node:path";
import { canonicalUrl, readJson, writeJson } from "./config.js";
import { isObject, isPosition } from "./guards.js";

/** @typedef {{ position?: number, secret?: string }} ListenState */

/**
 * What a saved state holds of a position and a secret: a field of another type (the file edited
 * by hand) is as if not saved, not resumed after nor sent as the secret.
 * @param {unknown} v @returns {ListenState}
 */
function stateOf(v) {
  if (!isObject(v)) return {};
  const { position, secret } = v;
  return { ...(isPosition(position) && { position }), ...(typeof secret === "string" && { secret }) };
}

const sha256 = (/** @type {string} */ s) => createHash("sha256").update(s).digest("hex");

/**
 * The saved state of the listener with this connection and query: a restarted `listen` resumes from it.
 * @param {import("./config.js").Connection} conn @param {Record<string, string | undefined>} query
 */
export function listenState(conn, query) {
  const dir = dirname(conn.configFile);
  const tokenId = sha256(conn.token ?? "").slice(0, 12);
  const key = [conn.url, tokenId, query.mode, query.sourceIds ?? "*", query.eventTypes ?? "*", query.webhookUid ?? "-"].join(" ");
  const path = join(dir, "listen-state", `${sha256(key).slice(0, 16)}.json`);
  /** @returns {ListenState} */
  const read = () => {
    const own = readJson(path);
    if (own) return stateOf(own);
    // Earlier versions kept every listener in one shared file: its entry is where this one starts,
    // under the URL as it was saved then (before URLs were kept in one spelling).
    const file = readJson(join(dir, "listen-state.json"));
    const shared = isObject(file) ? file : {};
    if (shared[key]) return stateOf(shared[key]);
    const [, ...rest] = key.split(" ");
    const old = Object.keys(shared).find((k) => {
      const [u = "", ...r] = k.split(" ");
      return canonicalUrl(u) === conn.url && r.join(" ") === rest.join(" ");
    });
    return old ? stateOf(shared[old]) : {};
  };
  return {
    read,
    /** Writes only this listener's file; `listener` says whose it is to someone reading the folder. */
    save(/** @type {ListenState} */ patch) {
      writeJson(path, { listener: key, ...read(), ...patch });
    },
  };
}
