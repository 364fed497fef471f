// Options every command that talks to the API shares.
import { readFileSync } from "node:fs";
import { InvalidArgumentError, Option } from "commander";
import { connection, defaultConfigShown, TOKEN_PLACEHOLDER, whereJsonFails } from "../config.js";
import { CliError } from "../errors.js";
import { parameterRange, rangeText } from "../openapi.js";
import { isBoolean, memberOf } from "../guards.js";
import { printable, printJson, printTable, shellWord } from "../output.js";

/** Adds --url, --token, --config and --insecure to a command. @param {import("commander").Command} cmd */
export function withConnection(cmd) {
  return cmd
    .addOption(new Option("--url <url>", "the API's base URL (env EDGEHOOK_URL; else the one saved in the config file; default http://127.0.0.1:8787)"))
    .addOption(new Option("--token <token>", "API token (env EDGEHOOK_TOKEN; else the one saved for this URL; locally .dev.vars' ADMIN_TOKEN)"))
    .addOption(new Option("--config <file>", `config file (env EDGEHOOK_CONFIG; default ${defaultConfigShown()})`))
    .addOption(new Option("--insecure", "allow sending the token over plain http to a host other than this machine (env EDGEHOOK_INSECURE=1)"));
}

/** The connection a command's options describe. @param {import("../config.js").ConnectionFlags} opts */
export const connectionOf = (opts) => connection(opts);

/**
 * Splits a comma-separated flag value. One given that names nothing (`""`, `","`: an unset shell
 * variable) is refused, never read as the flag left out: for a limit or a subscription that would
 * be every organization, location or source.
 * @param {string | undefined} value @param {string} flag @param {string} what
 */
export function list(value, flag, what) {
  if (value === undefined) return undefined;
  const items = value.split(",").map((s) => s.trim()).filter(Boolean);
  if (items.length === 0) throw new CliError(`${flag} names no ${what}; give at least one (comma-separated).`, { exitCode: 2 });
  return items;
}

/**
 * A comma-separated flag value sent as a query's list (stats' webhookUids, listen's sourceIds and
 * eventTypes): each entry trimmed, none dropped, so the API refuses an empty one (`,wh_1`) as it
 * would from anyone, rather than answering for the others. @param {string | undefined} value
 */
export function queryList(value) {
  return value?.split(",").map((s) => s.trim()).join(",");
}

/**
 * A change's body when it changes something: else a usage error (the usage hint after it says where
 * the options are listed). @template {Record<string, unknown>} T @param {T} body @returns {T}
 */
export function someChange(body) {
  if (Object.values(body).every((v) => v === undefined)) throw new CliError("Nothing to change: give at least one option.", { exitCode: 2 });
  return body;
}

/**
 * The parser of a whole-number option of `range` (the API's, from its OpenAPI document: see
 * ../openapi.js; else the CLI's own, beside the option's declaration): a value out of it is a usage
 * error here, saying the range, never sent for the API's 400.
 * @param {import("../openapi.js").Range} range @param {string} [or] what else it takes, said after the range
 */
export const wholeIn = (range, or = "") => (/** @type {string} */ value) => {
  const give = `give ${rangeText(range)}${or}`;
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`"${value}" is not a whole number: ${give}.`);
  const n = Number(value);
  // Digits past what a number holds exactly are a whole number still, only too large.
  // (Said with its top when the range has none written: "give 1 or more" would not answer "too large".)
  const below = `give ${range.min}..${range.max}${or}`;
  if (!Number.isSafeInteger(n) || n > range.max) throw new InvalidArgumentError(`"${value}" is out of range (too large): ${below}.`);
  if (n < range.min) throw new InvalidArgumentError(`"${value}" is out of range (too small): ${give}.`);
  return n;
};

/**
 * The parser of an option taking a whole number of `range` or a word (`none`, `never`): the word as
 * given, for the command to send as the API's null (a parser answering null reads to commander as
 * no value). @param {import("../openapi.js").Range} range @param {string} word @param {string} meaning
 */
export const wholeInOr = (range, word, meaning) => {
  const whole = wholeIn(range, `, or ${word} ${meaning}`);
  return (/** @type {string} */ value) => (value === word ? value : whole(value));
};

/**
 * A JSON object given on the command line (a webhook's filter or transformHeaders, an hmac source's
 * configuration). A number JSON.parse reads as Infinity (`1e400`) is refused: sent again it would be
 * written `null`, which the API would store as meant. (Digits beyond 2^53 are read as the nearest
 * 64-bit float, as the API reads them from anyone: the same value is stored either way.)
 * @param {string} value
 */
function jsonObject(value) {
  let parsed;
  try {
    parsed = JSON.parse(value);
  } catch (err) {
    throw new InvalidArgumentError(`not JSON${err instanceof Error ? whereJsonFails(err.message, value) : ""}.`);
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw new InvalidArgumentError("not a JSON object.");
  const far = outOfRange(parsed, "");
  if (far !== null) throw new InvalidArgumentError(`${far.slice(far.startsWith(".") ? 1 : 0)}: not a JSON value (a number out of range: beyond ±1.8e308, which would be sent as null).`);
  // Sent again as parsed, a key given twice would reach the API once, the last: the API's refusal of it never seen.
  const twice = repeatedKey(value)?.reduce(step, "");
  if (twice !== undefined) throw new InvalidArgumentError(`${twice.slice(twice.startsWith(".") ? 1 : 0)}: this key is given twice in one object (JSON would keep only the last): give it once.`);
  return parsed;
}

/**
 * The path to the first key `text` (valid JSON) gives twice in one object, array elements by index,
 * or null: a copy of the Worker's (src/domain/documents.ts repeatedKey; the CLI cannot import the
 * Worker's code), held equal by test/cli/webhook-content.test.ts.
 * @param {string} text @returns {(string | number)[] | null}
 */
export function repeatedKey(text) {
  // One path, a step per open object or array (its member now), and each open object's keys so far
  // (null for an array): changed in place, so the scan stays linear however deep the nesting.
  /** @type {(string | number)[]} */
  const path = [];
  /** @type {(Set<string> | null)[]} */
  const keys = [];
  let member = false;
  for (const [t] of text.matchAll(/"(?:[^"\\]|\\.)*"|[{}[\],]/g)) {
    const last = path.length - 1;
    if (t === "{" || t === "[") {
      path.push(t === "[" ? 0 : "");
      keys.push(t === "{" ? new Set() : null);
      member = t === "{";
    } else if (t === "}" || t === "]") {
      path.pop();
      keys.pop();
      member = false;
    } else if (t === ",") {
      const at = path[last];
      if (keys[last]) member = true;
      else if (typeof at === "number") path[last] = at + 1;
    } else if (member) {
      const own = keys[last];
      const key = String(JSON.parse(t));
      path[last] = key;
      member = false;
      if (own?.has(key)) return path.slice();
      own?.add(key);
    }
  }
  return null;
}

/**
 * A path's next step in the API's notation: `[0]`, `.name`, any other key quoted (`["data.n"]`).
 * @param {string} path @param {string | number} key
 */
const step = (path, key) => (typeof key === "number" ? `${path}[${key}]` : /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`);

/**
 * Where in `value` a number is out of a 64-bit float's range, in the API's notation (`.body["data.n"]`,
 * `[0]`), or null. @param {unknown} value @param {string} path @returns {string | null}
 */
function outOfRange(value, path) {
  if (typeof value === "number") return Number.isFinite(value) ? null : path;
  if (value === null || typeof value !== "object") return null;
  for (const [k, v] of Object.entries(value)) {
    const far = outOfRange(v, step(path, Array.isArray(value) ? Number(k) : k));
    if (far !== null) return far;
  }
  return null;
}

/**
 * A flag value given inline or, as `@path`, read from that file (a filter or an expression is
 * easier to keep in a file than to quote for a shell), without the byte-order mark some editors
 * put first, which is no JSON nor JSONata. @param {string} value
 */
export function inlineOrFile(value) {
  if (!value.startsWith("@")) return value;
  try {
    return readFileSync(value.slice(1), "utf8").replace(/^\uFEFF/, "");
  } catch (err) {
    throw new InvalidArgumentError(`cannot read ${value.slice(1)}: ${err instanceof Error && "code" in err ? err.code : String(err)}.`);
  }
}

/**
 * The parser of a JSON object option (`--hmac <json>`), its text read by `read`. Its error names the
 * option but not the value, as commander's would: a credential header's expression (`'Bearer …'`)
 * or an hmac configuration is a secret, not for a terminal or a CI log.
 * @param {string} flags e.g. "--hmac <json>" @param {(value: string) => string} [read]
 */
export const jsonObjectOption = (flags, read = (value) => value) => (/** @type {string} */ value) => {
  const text = read(value);
  try {
    return jsonObject(text);
  } catch (err) {
    throw new CliError(`option '${flags}' is invalid: ${err instanceof Error ? err.message : String(err)}`, { exitCode: 2 });
  }
};

/** The parser of a `<json|@file>` flag (a webhook's filter or transformHeaders): a JSON object given inline or as `@file`. @param {string} flag e.g. "--transform-headers" */
export const jsonObjectOrFile = (flag) => jsonObjectOption(`${flag} <json|@file>`, inlineOrFile);

/** A STATE cell: — when the answer does not say (memberOf). @param {unknown} disabled */
export function stateOf(disabled) {
  const d = memberOf(disabled, isBoolean);
  return d === undefined ? undefined : d ? "disabled" : "enabled";
}

/** The API's autoDisableAfterMinutes for that value: null for "never". @param {number | "never" | undefined} value */
export const autoDisableOf = (value) => (value === "never" ? null : value);

/**
 * The API's rateLimit for a --rate-limit value: null for "none" (a flag's parser cannot
 * answer null: commander reads that as no value). @param {number | "none" | undefined} value
 */
export const rateLimitOf = (value) => (value === "none" ? null : value);

/** A subcommand with the connection options and --json. @param {import("commander").Command} parent @param {string} spec @param {string} what */
export const sub = (parent, spec, what) => withConnection(parent.command(spec).description(what)).option("--json", "print the API's JSON answer");

/** --limit and --cursor of the list at `path` (its GET). @param {import("commander").Command} cmd @param {string} path */
export const paged = (cmd, path) => {
  const limit = parameterRange(path, "limit");
  return cmd.option("--limit <n>", `page size (${rangeText(limit)})`, wholeIn(limit)).option("--cursor <cursor>", "the nextCursor of the previous page");
};

/**
 * Prints a page's rows, then the command that gets the next one: the one that ran (`cmd`, an action's
 * command) again with its filters (the API refuses a cursor with others), its connection and the cursor.
 * @template T @param {{ data: T[], nextCursor: string | null }} page @param {import("commander").Command} cmd
 * @param {[string, (row: T) => unknown][]} columns
 */
export async function printPage(page, cmd, columns) {
  await printTable(page.data, columns);
  if (page.nextCursor) process.stderr.write(`more: ${nextPageCommand(cmd, page.nextCursor)}\n`);
}

/**
 * A command as a shell reads it, each word quoted as needed, for a terminal. @param {string[]} words
 */
export const commandLine = (words) => printable(words.map(shellWord).join(" "));

/**
 * The flags that give a printed command the connection these options name: --url, --config and
 * --insecure as given, and --token, when given, as TOKEN_PLACEHOLDER (see there).
 * @param {import("../config.js").ConnectionFlags} opts
 */
export const sameConnection = (opts) => [
  ...(opts.url !== undefined ? ["--url", opts.url] : []),
  ...(opts.config !== undefined ? ["--config", opts.config] : []),
  ...(opts.insecure ? ["--insecure"] : []),
  ...(opts.token !== undefined ? ["--token", TOKEN_PLACEHOLDER] : []),
];

/**
 * The arguments the CLI was run with (its root command's), with `--cursor <cursor>` for the one
 * given, and a --token's value as TOKEN_PLACEHOLDER (see there).
 * @param {import("commander").Command} cmd @param {string} cursor
 */
function nextPageCommand(cmd, cursor) {
  let root = cmd;
  while (root.parent) root = root.parent;
  // Commander keeps what it parsed in `rawArgs`, which its typings do not declare.
  const raw = Reflect.get(root, "rawArgs");
  const given = Array.isArray(raw) ? raw.map(String) : [];
  const words = ["edgehook"];
  for (let i = 0; i < given.length; i++) {
    const word = given[i] ?? "";
    if (word === "--cursor") i++;
    else if (word === "--token") {
      words.push(word, TOKEN_PLACEHOLDER);
      i++;
    } else if (word.startsWith("--token=")) words.push("--token", TOKEN_PLACEHOLDER);
    else if (!word.startsWith("--cursor=")) words.push(word);
  }
  return commandLine([...words, "--cursor", cursor]);
}

/**
 * Every row of a list, following `nextCursor` to its end (the API answers a page a call), as one answer.
 * @template T @param {(cursor: string | undefined) => Promise<{ data: T[], nextCursor: string | null }>} pageAt
 */
export async function everyRow(pageAt) {
  /** @type {T[]} */
  const data = [];
  /** @type {string | undefined} */
  let cursor;
  do {
    const page = await pageAt(cursor);
    data.push(...page.data);
    // A cursor that did not move would ask for the same page again: stop rather than loop.
    cursor = page.nextCursor && page.nextCursor !== cursor ? page.nextCursor : undefined;
  } while (cursor);
  return { data, nextCursor: null };
}

/** @param {boolean} json @param {unknown} value @param {() => unknown} human awaited (a table loads its width rules as it prints) */
export async function show(json, value, human) {
  if (json) printJson(value);
  else await human();
}
