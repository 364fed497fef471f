// Where the CLI finds the API and its token: flags, then EDGEHOOK_URL / EDGEHOOK_TOKEN,
// then the config file; against a local stack, .dev.vars' ADMIN_TOKEN as a last resort.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { CliError } from "./errors.js";

export const DEFAULT_URL = "http://127.0.0.1:8787";

/**
 * @typedef {{ url?: string, token?: string, config?: string }} ConnectionFlags
 * @typedef {{ url: string, token: string | undefined, configFile: string }} Connection
 */

/** The config file: `--config`, else EDGEHOOK_CONFIG, else `$XDG_CONFIG_HOME/edgehook/config.json`. */
export function configFile(flag = process.env.EDGEHOOK_CONFIG) {
  return flag ?? join(process.env.XDG_CONFIG_HOME || join(homedir(), ".config"), "edgehook", "config.json");
}

/** @param {string} path @returns {Record<string, any> | null} */
export function readJson(path) {
  if (!existsSync(path)) return null;
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new CliError(`${path} is not valid JSON (${err instanceof Error ? err.message : err}); fix or delete it.`);
  }
}

/** Writes JSON readable by the owner only, atomically (a crash never leaves half a file). */
export function writeJson(/** @type {string} */ path, /** @type {unknown} */ value) {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, path);
}

/** A variable of the local development settings (.dev.vars, else .dev.vars.example) in the current directory. */
export function devVar(/** @type {string} */ name) {
  for (const file of [".dev.vars", ".dev.vars.example"]) {
    if (!existsSync(file)) continue;
    const m = new RegExp(`^${name}\\s*=\\s*"?([^"\\n]*)"?`, "m").exec(readFileSync(file, "utf8"));
    if (m?.[1] !== undefined) return m[1].trim();
  }
  return undefined;
}

export function isLoopback(/** @type {string} */ url) {
  try {
    return ["127.0.0.1", "localhost", "[::1]"].includes(new URL(url).hostname);
  } catch {
    return false;
  }
}

/** @param {ConnectionFlags} flags @returns {Connection} */
export function connection(flags) {
  const path = configFile(flags.config);
  const file = readJson(path) ?? {};
  const url = String(flags.url ?? process.env.EDGEHOOK_URL ?? file.url ?? DEFAULT_URL).replace(/\/+$/, "");
  try {
    new URL(url);
  } catch {
    throw new CliError(`"${url}" is not a URL; give the API's base URL, e.g. ${DEFAULT_URL}.`, { exitCode: 2 });
  }
  const token = flags.token ?? process.env.EDGEHOOK_TOKEN ?? file.token ?? (isLoopback(url) ? devVar("ADMIN_TOKEN") : undefined);
  return { url, token, configFile: path };
}

/** @param {Connection} c @returns {string} */
export function requireToken(c) {
  if (!c.token) {
    throw new CliError(
      `No API token for ${c.url}: pass --token, set EDGEHOOK_TOKEN, or save one with \`edgehook config --token …\`.`,
      { exitCode: 2 },
    );
  }
  return c.token;
}
