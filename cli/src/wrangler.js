// Running wrangler, and reading what it prints. Setup uses the project's own wrangler
// (node_modules/.bin, before PATH: with it the Node 22 it needs, which `node@22` puts there),
// else the one on PATH.
import { spawn } from "node:child_process";
import { delimiter, join } from "node:path";
import { stripVTControlCharacters } from "node:util";
import { CliError } from "./errors.js";
import { shellWord } from "./output.js";

/** @typedef {{ code: number, signal?: NodeJS.Signals | null, stdout: string, stderr: string }} Result */

/**
 * @param {{ dir: string, dryRun: boolean, log: (line: string) => void }} o
 */
export function wranglerRunner(o) {
  const env = {
    ...process.env,
    WRANGLER_SEND_METRICS: "false",
    PATH: [join(o.dir, "node_modules", ".bin"), process.env.PATH].filter(Boolean).join(delimiter),
  };
  /**
   * Runs `wrangler …args`; in a dry run only prints it. A secret goes on stdin, never in the arguments.
   * @param {string[]} args
   * @param {{ input?: string, interactive?: boolean, note?: string }} [opts]
   * @returns {Promise<Result>}
   */
  return function wrangler(args, opts = {}) {
    if (o.dryRun) {
      // Each argument as a shell reads it back (`--command 'SELECT …'`), as a `more:` line's: copied, it runs as printed.
      o.log(`$ wrangler ${args.map(shellWord).join(" ")}${opts.note ? `    # ${opts.note}` : ""}`);
      return Promise.resolve({ code: 0, stdout: "", stderr: "" });
    }
    return new Promise((resolve, reject) => {
      const child = spawn("wrangler", args, {
        cwd: o.dir,
        // Non-interactive calls answer wrangler's confirmations (CI=true); an interactive one prompts the user.
        env: opts.interactive ? env : { ...env, CI: "true" },
        stdio: opts.interactive ? "inherit" : ["pipe", "pipe", "pipe"],
      });
      let stdout = "";
      let stderr = "";
      child.stdout?.on("data", (d) => (stdout += d));
      child.stderr?.on("data", (d) => (stderr += d));
      child.on("error", (err) =>
        reject(new CliError(`cannot run wrangler (${err.message}); run \`npm install\` in the project, or put wrangler on PATH`)),
      );
      child.on("close", (code, signal) => resolve({ code: code ?? 1, signal, stdout: stripVTControlCharacters(stdout), stderr: stripVTControlCharacters(stderr) }));
      // A wrangler that exits before reading its input (not logged in, say) closes the pipe: its
      // exit status and output say what went wrong, not an EPIPE thrown from here.
      child.stdin?.on("error", () => {});
      child.stdin?.end(opts.input ?? "");
    });
  };
}

/**
 * What a failed wrangler said, to quote in an error: its stderr, else its stdout, else that it
 * printed nothing and how it ended (an error ending in "failed:" alone says nothing).
 * @param {Result} r
 */
export function wranglerSaid(r) {
  return r.stderr.trim() || r.stdout.trim() || `wrangler printed nothing (${r.signal ? `ended by ${r.signal}` : `exit code ${r.code}`})`;
}

/** The JSON a `--json` command printed (after any banner), as it is: its reader checks its shape. @param {string} stdout @returns {unknown} */
export function jsonOutput(stdout) {
  const at = stdout.search(/^[[{]/m);
  if (at < 0) return null;
  try {
    return JSON.parse(stdout.slice(at));
  } catch {
    return null;
  }
}

/**
 * What `wrangler r2 bucket list` and `r2 bucket lifecycle list` print: labelled blocks
 * (`name: …`, then `creation_date: …` or `enabled:`, `prefix:`, `action:`), one record each.
 * @param {string} stdout
 */
export function labelledBlocks(stdout) {
  /** @type {Record<string, string>[]} */
  const blocks = [];
  for (const [, label = "", value = ""] of stdout.matchAll(/^([a-z_]+):[ \t]+(.*?)[ \t]*$/gm)) {
    if (label === "name") blocks.push({});
    const block = blocks.at(-1);
    if (block) block[label] = value;
  }
  return blocks;
}

/** Queue names from `wrangler queues list` (a table with a `name` column). @param {string} stdout */
export function queueNames(stdout) {
  const rows = stdout
    .split("\n")
    .filter((l) => l.trimStart().startsWith("│"))
    .map((l) => l.split("│").slice(1, -1).map((c) => c.trim()));
  const column = rows[0]?.indexOf("name") ?? -1;
  return column < 0 ? [] : rows.slice(1).map((r) => r[column] ?? "").filter(Boolean);
}
