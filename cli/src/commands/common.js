// Options every command that talks to the API shares.
import { InvalidArgumentError, Option } from "commander";
import { connection } from "../config.js";

/** Adds --url, --token, --config and --insecure to a command. @param {import("commander").Command} cmd */
export function withConnection(cmd) {
  return cmd
    .addOption(new Option("--url <url>", "the API's base URL (env EDGEHOOK_URL; default http://127.0.0.1:8787)"))
    .addOption(new Option("--token <token>", "API token (env EDGEHOOK_TOKEN; else the one saved for this URL; locally .dev.vars' ADMIN_TOKEN)"))
    .addOption(new Option("--config <file>", "config file (env EDGEHOOK_CONFIG; default ~/.config/edgehook/config.json)"))
    .addOption(new Option("--insecure", "allow sending the token over plain http to a host other than this machine (env EDGEHOOK_INSECURE=1)"));
}

/** The connection a command's options describe. @param {import("../config.js").ConnectionFlags} opts */
export const connectionOf = (opts) => connection(opts);

/** Splits a comma-separated flag value. @param {string | undefined} value */
export function list(value) {
  if (value === undefined) return undefined;
  const items = value.split(",").map((s) => s.trim()).filter(Boolean);
  return items.length ? items : undefined;
}

/** A positive integer flag value. @param {string} value */
export function count(value) {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) throw new InvalidArgumentError(`"${value}" is not a whole number.`);
  return n;
}

/** A JSON object given on the command line (an hmac source's configuration). @param {string} value */
export function jsonObject(value) {
  let parsed;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new InvalidArgumentError("not JSON.");
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw new InvalidArgumentError("not a JSON object.");
  return parsed;
}

/** A --rate-limit value: a whole number of deliveries a second, or "none". @param {string} value */
export function rateLimit(value) {
  return value === "none" ? value : count(value);
}

/**
 * The API's rateLimit for a --rate-limit value: null for "none" (a flag's parser cannot
 * answer null: commander reads that as no value). @param {number | "none" | undefined} value
 */
export const rateLimitOf = (value) => (value === "none" ? null : value);
