// Where the CLI finds the API and its token. The URL: --url, then EDGEHOOK_URL, then the
// config file's, then the local stack. The token: --token, then EDGEHOOK_TOKEN, then the token
// the config file saved for that very URL (a saved token is sent to no other), then, against
// a local stack, .dev.vars' ADMIN_TOKEN.
import { existsSync, mkdirSync, readFileSync, readlinkSync, realpathSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
// A namespace, not a named import: parseEnv came in Node 20.12, and the CLI runs on any Node 20.
import * as util from "node:util";
import { CliError } from "./errors.js";
import { isObject } from "./guards.js";
import { printable } from "./output.js";

export const DEFAULT_URL = "http://127.0.0.1:8787";

/**
 * How long, in seconds, a request to the API (its whole answer) or a listener's opening handshake
 * may go unanswered: a server that takes the connection and never answers (a stopped process
 * behind a port forward, another program on the port) held `tail` for ever and an API command
 * for Node's 5 minutes. 30 s is far past the Worker's slowest answer (a cold start, a D1 read
 * over a large store), and short enough for a script. EDGEHOOK_TIMEOUT gives another.
 */
export const DEFAULT_TIMEOUT_S = 30;
const TIMEOUT_RANGE = { min: 0.1, max: 3600 };

/** The timeout in milliseconds: EDGEHOOK_TIMEOUT's seconds, else DEFAULT_TIMEOUT_S; a usage error when it is no number in range. */
export function timeoutMs() {
  const raw = process.env.EDGEHOOK_TIMEOUT;
  // Set to nothing: as unset, as EDGEHOOK_CONFIG.
  if (raw === undefined || raw === "") return DEFAULT_TIMEOUT_S * 1000;
  const seconds = /^\s*\d*\.?\d+\s*$/.test(raw) ? Number(raw) : NaN;
  if (!(seconds >= TIMEOUT_RANGE.min && seconds <= TIMEOUT_RANGE.max)) {
    throw new CliError(`EDGEHOOK_TIMEOUT: "${printable(raw)}" is not a decimal number of seconds (such as 2.5) from ${TIMEOUT_RANGE.min} to ${TIMEOUT_RANGE.max} (the default is ${DEFAULT_TIMEOUT_S}).`, { exitCode: 2 });
  }
  return Math.round(seconds * 1000);
}

/**
 * A signal aborted with a TimeoutError after `ms`. Not AbortSignal.timeout, whose timer Node clears
 * once the signal is garbage-collected: a request under one was seen to wait Node's 5 minutes
 * (undici's headers timeout) once. This timer holds its controller, and is unref'd: it never keeps the process alive.
 * @param {number} ms
 */
export function timeoutSignal(ms) {
  const controller = new AbortController();
  setTimeout(() => controller.abort(new DOMException(`no answer within ${ms / 1000} s`, "TimeoutError")), ms).unref();
  return controller.signal;
}

/**
 * What a printed next-page command gives `--token` when the token came from that flag: the token is
 * a secret, not for a terminal, and leaving the flag out would send another (EDGEHOOK_TOKEN's, the
 * saved one, .dev.vars' admin token) and page on with its view.
 */
export const TOKEN_PLACEHOLDER = "<token>";

/**
 * @typedef {{ url?: string, token?: string, config?: string, insecure?: boolean }} ConnectionFlags
 * @typedef {"flag" | "env" | "saved" | "dev.vars" | "dev.vars.example"} TokenFrom where the token sent came from
 * @typedef {{ url: string, token: string | undefined, configFile: string, insecure?: boolean, tokenFrom?: TokenFrom, tokenSavedFor?: string }} Connection
 * @typedef {{ token: string, dir?: string, worker?: string }} Unpaired
 *   a token saved before its URL was known: setup's admin token until deploy learns the Worker's URL
 * @typedef {{ url?: string, tokens: Record<string, string>, unpaired: Unpaired[] }} Saved
 */

/**
 * The config file: `--config`, else EDGEHOOK_CONFIG, else `$XDG_CONFIG_HOME/edgehook/config.json`.
 * An empty EDGEHOOK_CONFIG is unset, as shells mean it (`EDGEHOOK_CONFIG= edgehook …`); an empty
 * `--config` is a usage error: either, taken as given, kept the signing secrets of listen-state/ in
 * the current folder. @param {string} [flag]
 */
export function configFile(flag) {
  if (flag === "") throw new CliError("--config: empty; give the config file's path, or leave it out for the default.", { exitCode: 2 });
  return flag ?? (process.env.EDGEHOOK_CONFIG || defaultConfigFile());
}

/** The config file when neither `--config` nor EDGEHOOK_CONFIG names one: under $XDG_CONFIG_HOME, else ~/.config. */
const defaultConfigFile = () => join(process.env.XDG_CONFIG_HOME || join(homedir(), ".config"), "edgehook", "config.json");

/** That default as `--help` says it: the path used here, the home folder written `~`. */
export function defaultConfigShown() {
  const path = defaultConfigFile();
  const home = homedir();
  return path.startsWith(`${home}/`) ? `~${path.slice(home.length)}` : path;
}

/** EDGEHOOK_URL, or undefined when unset or set to nothing (`EDGEHOOK_URL= edgehook …`), as EDGEHOOK_CONFIG and EDGEHOOK_TIMEOUT are read. */
export const urlFromEnv = () => process.env.EDGEHOOK_URL || undefined;

/**
 * Where JSON.parse stopped, as a line and column (a filter kept in a file is many lines), from its
 * message's position; never the text around it, which may be a credential header's expression or a saved token.
 * @param {string} message @param {string} text
 */
export function whereJsonFails(message, text) {
  const at = /at position (\d+)/.exec(message);
  const end = text.trimEnd().length;
  // JSON that breaks off (`{"a":`, `{"a":1`) fails just past its last character: said there, not
  // after the blank lines or spaces that may follow it (a file's last newline).
  if (/end of JSON input/.test(message) || (at && Number(at[1]) >= end)) return `${lineAndColumn(text, end)} (it ends too soon)`;
  // An unexpected token (`'single'` quotes, `True`) is said with the text around it but no position: found by its prefixes.
  return lineAndColumn(text, at ? Number(at[1]) : firstBadCharacter(text));
}

/** ` at line L column C` of the character at `position` of `text`. @param {string} text @param {number} position */
function lineAndColumn(text, position) {
  const lines = text.slice(0, position).split("\n");
  return ` at line ${lines.length} column ${(lines.at(-1) ?? "").length + 1}`;
}

/**
 * The index of the character JSON.parse fails on, from the shortest prefix that fails on
 * something other than running out (a prefix before it parses, or ends too soon). @param {string} text
 */
function firstBadCharacter(text) {
  const failsWithin = (/** @type {number} */ k) => {
    try {
      JSON.parse(text.slice(0, k));
      return false;
    } catch (err) {
      const message = err instanceof Error ? err.message : "";
      // Running out: the end of input, or an unterminated string or number at the prefix's end.
      const at = /at position (\d+)/.exec(message);
      return !/end of JSON input/.test(message) && (!at || Number(at[1]) < k - 1);
    }
  };
  let [fine, fails] = [0, text.length];
  while (fails - fine > 1) {
    const mid = Math.floor((fine + fails) / 2);
    if (failsWithin(mid)) fails = mid;
    else fine = mid;
  }
  return fails - 1;
}

/** A file's JSON as it is (its reader checks what it needs), or null when there is no such file. @param {string} path @returns {unknown} */
export function readJson(path) {
  if (!existsSync(path)) return null;
  let text;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new CliError(`Cannot read ${path} (${err instanceof Error && "code" in err ? String(err.code) : String(err)}); fix or delete it.`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    // JSON.parse's message quotes the text around the error: a token saved there, and a line break.
    throw new CliError(`${path} is not valid JSON${err instanceof Error ? whereJsonFails(err.message, text) : ""}; fix or delete it.`);
  }
}

/**
 * The file a path names through its symbolic links (a config.json linked from a dotfiles folder),
 * as the system resolves them (from each link's real folder), whether or not that file exists yet;
 * the path itself when it is no link.
 * @param {string} path
 */
function linkTarget(path) {
  // Bounded as the system bounds a chain of links: a loop is refused, as the system refuses it (ELOOP).
  for (let hops = 0; hops < 40; hops++) {
    try {
      return realpathSync(path);
    } catch {
      // No such file, or a link to one not made yet (through links not made yet either): followed, each
      // from its real folder.
    }
    let link;
    try {
      link = readlinkSync(path);
    } catch {
      return path; // no link: the file to make
    }
    // (The link was read: its folder exists.)
    path = resolve(realpathSync(dirname(path)), link);
  }
  throw new CliError(`Cannot write ${path}: too many symbolic links (a loop of links?); fix or delete them.`);
}

/** Writes JSON readable by the owner only, atomically (a crash never leaves half a file). */
export function writeJson(/** @type {string} */ path, /** @type {unknown} */ value) {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    makeFolders(dirname(path));
    writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
    renameSync(tmp, path);
  } catch (err) {
    // A folder not writable (or a file where a folder should be): said in one line, not a stack trace.
    if (existsSync(tmp)) rmSync(tmp, { force: true });
    throw cannotWrite(path, err);
  }
}

/**
 * `mkdir -p`, a folder at a time: Node's recursive mkdirSync never returns when mkdir answers
 * ENOENT under a folder that exists (`--config /proc/x/config.json`); one mkdir at a time throws.
 */
export function makeFolders(/** @type {string} */ dir) {
  if (existsSync(dir)) return;
  const parent = dirname(dir);
  if (parent !== dir) makeFolders(parent);
  try {
    mkdirSync(dir);
  } catch (err) {
    // Made meanwhile by another process (two listeners starting): what was wanted.
    if (!(err instanceof Error && "code" in err && err.code === "EEXIST")) throw err;
  }
}

/** A file or folder of the CLI's that cannot be written, in one line with where else to keep them (not a stack trace). */
export function cannotWrite(/** @type {string} */ path, /** @type {unknown} */ err) {
  const why = err instanceof Error && "code" in err ? String(err.code) : String(err);
  return new CliError(`Cannot write ${path} (${why}): give a config file in a folder you can write with --config or EDGEHOOK_CONFIG.`);
}

/** The local development settings, in the current directory: .dev.vars, else the example `npm run dev` copies it from. */
export const DEV_VARS_FILES = [".dev.vars", ".dev.vars.example"];

/**
 * A variable of the local development settings (DEV_VARS_FILES) with the file it was read from,
 * read as wrangler reads the file (dotenv: 'single' or "double" quotes, a # comment after the
 * value) with Node's own dotenv parser; a Node 20 before 20.12 has none: then a plain NAME=value.
 * @param {string} name @returns {{ file: string, value: string } | undefined}
 */
export function devVarFrom(name) {
  for (const file of DEV_VARS_FILES) {
    if (!existsSync(file)) continue;
    const text = readFileSync(file, "utf8");
    if (typeof util.parseEnv === "function") {
      const value = util.parseEnv(text)[name];
      if (value !== undefined) return { file, value };
      continue;
    }
    const m = new RegExp(`^${name}\\s*=\\s*"?([^"\\n]*)"?`, "m").exec(text);
    if (m?.[1] !== undefined) return { file, value: m[1].trim() };
  }
  return undefined;
}

/**
 * The local stack's token for `url`, when it is a loopback URL: .dev.vars' ADMIN_TOKEN (what
 * commands send there when no other is given or saved), with the file it came from.
 * @param {string} url
 */
export function localToken(url) {
  return isLoopback(url) ? devVarFrom("ADMIN_TOKEN") : undefined;
}

/** A loopback host: this machine, where plain http exposes nothing. */
export function isLoopback(/** @type {string} */ url) {
  try {
    const host = new URL(url).hostname;
    // (127.x.y.z mapped into IPv6, as the URL parser writes it: [::ffff:7f00:1]. Names other than
    // localhost, `localhost.` and `*.localhost` included, are left to a resolver: not taken for this machine.)
    return host === "localhost" || host === "[::1]" || /^127(\.\d{1,3}){3}$/.test(host) || /^\[::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}\]$/.test(host);
  } catch {
    return false;
  }
}

/** A URL in one spelling (host lower-case, no default port, no trailing slash), or null. @param {string} raw */
export function canonicalUrl(raw) {
  try {
    return new URL(raw).href.replace(/\/+$/, "");
  } catch {
    return null;
  }
}

/** Why a URL is not one the CLI sends to, in words following it. */
const URL_PROBLEMS = {
  notUrl: "is not a URL",
  notHttp: "is not an http(s) URL",
  // fetch refuses such a URL, and the API takes a token.
  credentials: "holds a user name or password, which is never sent",
  // Requests go to the base URL + /v1/…: after a query or fragment they would go to `/?x=1/v1/…`.
  notBase: "has a query or fragment (?… or #…), which an API base URL has not",
};

/**
 * What keeps a URL from being one the CLI sends to, or null. Credentials come first, whatever else
 * is wrong: text that may hold a password before an `@` (`ftp://u:pw@host`, `u:pw@host:8787`,
 * `//u:pw@host`, `http://u:pw@` that parses as none) is never quoted back.
 * @param {string} raw @returns {keyof typeof URL_PROBLEMS | null}
 */
function urlProblem(raw) {
  if (/^(?:[a-z][\w+.-]*:)?(?:\/\/)?[^/?#]*@/i.test(raw)) return "credentials";
  const url = canonicalUrl(raw);
  if (url === null) return "notUrl";
  const { protocol, username, password } = new URL(url);
  if (username || password) return "credentials";
  if (!/^https?:$/.test(protocol)) return "notHttp";
  // (An empty `?` or `#` too: the URL keeps it, and a path after it is no path.)
  return /[?#]/.test(url) ? "notBase" : null;
}

/** Whether `raw` may hold a user name or password (urlProblem's first rule): never quoted back. @param {string} raw */
export const holdsCredentials = (raw) => urlProblem(raw) === "credentials";

/** An http(s) URL in canonical spelling (canonicalUrl), or null: the only URLs the CLI sends to. @param {string} raw */
function httpUrl(raw) {
  return urlProblem(raw) === null ? canonicalUrl(raw) : null;
}

/**
 * An API base URL as given by the user, canonical; a usage error when it is not an http(s) URL,
 * which says where it came from (an environment variable is easy to forget) and, for a host and
 * port alone (`127.0.0.1:8787`), the scheme it lacks.
 * @param {string} raw @param {string} [from] e.g. "EDGEHOOK_URL"
 */
export function apiUrl(raw, from) {
  const url = httpUrl(String(raw));
  if (url !== null) return url;
  const problem = urlProblem(String(raw)) ?? "notUrl";
  // Its password is not echoed (into a terminal, a CI log).
  if (problem === "credentials") {
    throw new CliError(`the URL${from ? ` (${from})` : ""} ${URL_PROBLEMS.credentials}: give the API's base URL alone, and its token with --token or EDGEHOOK_TOKEN.`, { exitCode: 2 });
  }
  // Its query may hold a secret (a key), its path too (as stream.js says the host alone): its origin alone is quoted.
  if (problem === "notBase") {
    const { origin } = new URL(String(raw));
    throw new CliError(`the URL${from ? ` (${from})` : ""} ${URL_PROBLEMS.notBase}: give the API's base URL alone, e.g. ${origin} (with its path, if any).`, { exitCode: 2 });
  }
  const fix = /^[\w.-]+:\d{1,5}(\/.*)?$/.test(String(raw)) ? `give https://${raw} or http://${raw}` : `give the API's base URL, e.g. ${DEFAULT_URL}`;
  throw new CliError(`"${raw}"${from ? ` (${from})` : ""} ${URL_PROBLEMS[problem]}: ${fix}.`, { exitCode: 2 });
}

/** An unpaired entry as saveUnpaired writes it. @param {unknown} u @returns {u is Unpaired} */
const isUnpaired = (u) =>
  isObject(u) && typeof u.token === "string" && ["dir", "worker"].every((k) => u[k] === undefined || typeof u[k] === "string");

/** What a JSON value is, in words (never the value: it may be a token). @param {unknown} v */
const kindOf = (v) => (v === null ? "null" : Array.isArray(v) ? "an array" : typeof v === "object" ? "an object" : `a ${typeof v}`);

/**
 * What is wrong with the config file's JSON as the CLI's settings, or null: each member it reads
 * of the type it writes (others, a later version's, are left alone). Never a value: tokens.
 * @param {Record<string, unknown>} file
 */
function settingsProblem(file, replacingUrl = false) {
  for (const k of ["url", "token"]) if (k in file && typeof file[k] !== "string") return `"${k}" is ${kindOf(file[k])}, not a string`;
  // A URL saved there is not quoted: a token pasted in its place, or a password in it (user:pw@host).
  const urlWrong = typeof file.url === "string" && !replacingUrl ? urlProblem(file.url) : null;
  if (urlWrong !== null) return `"url" ${URL_PROBLEMS[urlWrong === "notUrl" ? "notHttp" : urlWrong]} (\`edgehook config --url …\` saves the right one)`;
  if ("tokens" in file) {
    if (!isObject(file.tokens)) return `"tokens" is ${kindOf(file.tokens)}, not an object of tokens by URL`;
    // An entry is named by its place, never its URL, which may hold a password (user:pw@host) or a token in its query.
    for (const [i, [k, v]] of Object.entries(file.tokens).entries()) {
      const keyWrong = urlProblem(k);
      // Never sent (fetch refuses such a URL): `config --url` drops it as it saves the file again.
      // (So is one with a query, saved by an earlier version: no URL a command sends to has one.)
      if ((keyWrong === "credentials" || keyWrong === "notBase") && replacingUrl) continue;
      if (keyWrong === "credentials" || keyWrong === "notBase") return `the URL of "tokens" entry ${i + 1} ${URL_PROBLEMS[keyWrong]}: delete that entry (\`edgehook config --url …\` drops it)`;
      if (keyWrong !== null) return `the URL of "tokens" entry ${i + 1} is not an http(s) URL (each token is saved by the URL it is sent to)`;
      if (typeof v !== "string") return `the token of "tokens" entry ${i + 1} is ${kindOf(v)}, not a string`;
    }
  }
  if ("unpaired" in file) {
    if (!Array.isArray(file.unpaired)) return `"unpaired" is ${kindOf(file.unpaired)}, not an array`;
    const bad = file.unpaired.findIndex((u) => !isUnpaired(u));
    if (bad >= 0) return `"unpaired" entry ${bad + 1} is not a saved token (an object with a string "token", and "dir" and "worker" strings if any)`;
  }
  return null;
}

/**
 * The config file's URL and tokens. Earlier versions kept one `url` and one `token` side by side:
 * that token is the URL's; one saved with no URL waits, unpaired, and is sent nowhere. A file whose
 * JSON is not of that shape is refused, as one that is not JSON is: used with defaults, its URL and
 * tokens would be silently left out.
 * @param {string} path
 * @param {{ replacingUrl?: boolean }} [opts] the caller saves another URL: a saved string that is
 *   no http(s) URL (the file edited by hand) is what it mends, read as no URL rather than refused
 * @returns {Saved} its url, when there is one, an http(s) URL
 */
export function readSaved(path, { replacingUrl = false } = {}) {
  const read = readJson(path);
  // readJson's null is also no file at all: that is no settings, not wrong ones.
  if (read === null && !existsSync(path)) return { url: undefined, tokens: {}, unpaired: [] };
  const problem = isObject(read) ? settingsProblem(read, replacingUrl) : `it is ${kindOf(read)}, not an object`;
  if (problem !== null) throw new CliError(`${path} does not hold the CLI's settings: ${problem}; fix or delete it.`);
  const file = isObject(read) ? read : {};
  // The saved URL as written, and the key its token is kept under (its normal form).
  const urlKey = typeof file.url === "string" ? httpUrl(file.url) : null;
  const url = urlKey !== null && typeof file.url === "string" ? file.url : undefined;
  /** @type {Record<string, string>} */
  const tokens = {};
  for (const [k, v] of Object.entries(isObject(file.tokens) ? file.tokens : {})) {
    const key = httpUrl(k);
    if (key !== null && typeof v === "string") tokens[key] = v;
  }
  const unpaired = (Array.isArray(file.unpaired) ? file.unpaired : []).filter(isUnpaired);
  if (typeof file.token === "string") {
    if (urlKey === null) unpaired.push({ token: file.token });
    else tokens[urlKey] ??= file.token;
  }
  return { url, tokens, unpaired };
}

/** The members of the config file the CLI reads (`token`, an earlier version's, is written back into `tokens` or `unpaired`). */
const SETTINGS = new Set(["url", "token", "tokens", "unpaired"]);

/**
 * Writes the settings, keeping the file's members the CLI does not read (a later version's, or the
 * user's) as they were. @param {string} path @param {Saved} saved
 */
function writeSaved(path, saved) {
  const file = readJson(path);
  const others = Object.entries(isObject(file) ? file : {}).filter(([k]) => !SETTINGS.has(k));
  // Through a symbolic link to its target (the link is kept, not replaced by a file): the config file only.
  writeJson(linkTarget(path), { url: saved.url, tokens: saved.tokens, ...(saved.unpaired.length && { unpaired: saved.unpaired }), ...Object.fromEntries(others) });
}

/**
 * Makes `url` the saved API URL; a token given is saved for it (and only it). Tokens saved
 * for other URLs stay theirs. @param {string} path @param {string} url @param {string} [token]
 */
export function saveConnection(path, url, token) {
  const saved = readSaved(path, { replacingUrl: true });
  // A token waiting unpaired (setup's, an earlier version's) is paired now: `config` no longer lists it as sent nowhere.
  const unpaired = saved.unpaired.filter((u) => u.token !== token);
  writeSaved(path, { url, tokens: { ...saved.tokens, ...(token !== undefined && { [url]: token }) }, unpaired });
}

/** Keeps setup's admin token, sent nowhere, until deploy knows the Worker's URL. @param {string} path @param {Required<Unpaired>} entry */
export function saveUnpaired(path, entry) {
  const saved = readSaved(path);
  const others = saved.unpaired.filter((u) => u.dir !== entry.dir || u.worker !== entry.worker);
  writeSaved(path, { ...saved, unpaired: [...others, entry] });
}

/**
 * After a deploy: the Worker's URL becomes the saved URL, with the token setup made for this project and
 * Worker when there is one. @param {string} path @param {string} deployed its URL @param {{ dir: string, worker: string }} project
 * @returns {string | undefined} the token now saved for it
 */
export function saveDeployed(path, deployed, project) {
  const url = apiUrl(deployed);
  const saved = readSaved(path, { replacingUrl: true });
  const mine = saved.unpaired.find((u) => u.dir === project.dir && u.worker === project.worker);
  const tokens = mine ? { ...saved.tokens, [url]: mine.token } : saved.tokens;
  writeSaved(path, { url, tokens, unpaired: saved.unpaired.filter((u) => u !== mine) });
  return tokens[url];
}

/** @param {ConnectionFlags} flags @returns {Connection} */
export function connection(flags) {
  const path = configFile(flags.config);
  const saved = readSaved(path);
  const env = urlFromEnv();
  const [raw, from] =
    flags.url !== undefined ? [flags.url, "--url"]
    : env !== undefined ? [env, "EDGEHOOK_URL"]
    : saved.url !== undefined ? [saved.url, `the URL saved in ${path}`]
    : [DEFAULT_URL, undefined];
  const url = apiUrl(raw, from);
  const local = localToken(url);
  /** @type {[string | undefined, TokenFrom | undefined]} */
  const [token, tokenFrom] =
    flags.token !== undefined ? [flags.token, "flag"]
    : process.env.EDGEHOOK_TOKEN !== undefined ? [process.env.EDGEHOOK_TOKEN, "env"]
    : saved.tokens[url] !== undefined ? [saved.tokens[url], "saved"]
    : local !== undefined ? [local.value, local.file === ".dev.vars" ? "dev.vars" : "dev.vars.example"]
    : [undefined, undefined];
  const insecure = flags.insecure === true || process.env.EDGEHOOK_INSECURE === "1";
  // Said when this URL has no token: the saved one is another URL's.
  const savedUrl = saved.url === undefined ? null : canonicalUrl(saved.url);
  const tokenSavedFor = savedUrl !== null && savedUrl !== url && saved.tokens[savedUrl] ? savedUrl : undefined;
  return { url, token, configFile: path, insecure, ...(tokenFrom && { tokenFrom }), ...(tokenSavedFor && { tokenSavedFor }) };
}

/**
 * What to do when the API refused the token sent (a 401): the API's words are about a header the
 * CLI user never wrote, so this names where the token came from and how to give the right one.
 * @param {Connection} c
 */
export function tokenRefusal(c) {
  const right = "the API's ADMIN_TOKEN or a scoped token it made (not revoked)";
  switch (c.tokenFrom) {
    case "flag":
      return `the token given with --token is not one this API takes: pass ${right}`;
    case "env":
      return `the token in EDGEHOOK_TOKEN is not one this API takes: set it to ${right}, or unset it`;
    case "saved":
      return `the token saved for ${c.url} in ${c.configFile} is not one this API takes: save ${right} with \`edgehook config --url ${c.url} --token …\`, or pass it with --token`;
    case "dev.vars":
    case "dev.vars.example":
      // Most often the stack was started from another folder, or before .dev.vars changed.
      return `the ADMIN_TOKEN of ./.${c.tokenFrom} is not the one the stack at ${c.url} runs with: run this in the folder \`npm run dev\` runs in (restart it after editing .dev.vars), or pass ${right} with --token`;
    default:
      return `pass ${right} with --token`;
  }
}

/** Where the connection's token came from, as words after "the API token". @param {Connection} c */
function whereFrom(c) {
  switch (c.tokenFrom) {
    case "flag":
      return "given with --token";
    case "env":
      return "in EDGEHOOK_TOKEN";
    case "saved":
      return `saved for ${c.url} in ${c.configFile}`;
    case "dev.vars":
    case "dev.vars.example":
      return `of ./.${c.tokenFrom} (its ADMIN_TOKEN)`;
    default:
      return "given";
  }
}

/**
 * The token to send to `c.url`: never in cleartext to another host (unless --insecure), and
 * a usage error when there is none. @param {Connection} c @returns {string}
 */
export function requireToken(c) {
  if (!c.insecure && new URL(c.url).protocol === "http:" && !isLoopback(c.url)) {
    throw new CliError(
      `Refusing to send the API token in cleartext to ${c.url}: use its https:// URL, or pass --insecure (or set EDGEHOOK_INSECURE=1) on a network you trust.`,
      { exitCode: 2 },
    );
  }
  // One given empty (`--token ""`, an EDGEHOOK_TOKEN set to nothing) is used as given, and said so:
  // "no token, pass --token" would send the user to what they did.
  if (c.token === "") throw new CliError(`The API token ${whereFrom(c)} is empty.`, { exitCode: 2 });
  // A next-page command run as printed: refused here rather than sent, a 401 that says less.
  if (c.token === TOKEN_PLACEHOLDER) {
    throw new CliError(`The API token ${whereFrom(c)} is the placeholder ${TOKEN_PLACEHOLDER}: put the token there, the one the previous page was listed with.`, { exitCode: 2 });
  }
  if (c.token === undefined) {
    const elsewhere = c.tokenSavedFor ? ` (the token saved in ${c.configFile} belongs to ${c.tokenSavedFor} and is sent only there)` : "";
    // A loopback URL is the local stack, whose token localToken() finds in the folder's .dev.vars.
    const local = isLoopback(c.url) ? ", or run it in the project's folder, whose .dev.vars gives the local stack's ADMIN_TOKEN" : "";
    throw new CliError(
      `No API token for ${c.url}${elsewhere}: pass --token or set EDGEHOOK_TOKEN, or save one for it with \`edgehook config --url ${c.url} --token …\`${local}.`,
      { exitCode: 2 },
    );
  }
  return headerSafe(c.token);
}

/**
 * A token as a request carries it, else a usage error. Pasted with a line break, or a character past
 * ASCII: no request could carry it. (Spaces round it would be dropped on the way, and another token sent.)
 * @param {string} token @param {string} [from] where it was given (`given with --token`), said when it is empty
 */
export function headerSafe(token, from) {
  if (token === "") throw new CliError(`The API token${from ? ` ${from}` : ""} is empty.`, { exitCode: 2 });
  if (token.trim() !== token || !/^[\x20-\x7e]+$/.test(token)) {
    throw new CliError("The API token holds a character no HTTP header can carry as it is (printable ASCII only, no spaces round it).", { exitCode: 2 });
  }
  return token;
}
