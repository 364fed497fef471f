// The `edgehook` command: one commander program, one module per command family.
import { readFileSync } from "node:fs";
import { Command, CommanderError } from "commander";
import pc from "picocolors";
import { registerAlerts } from "./commands/alerts.js";
import { registerApi } from "./commands/api.js";
import { registerConfig } from "./commands/config.js";
import { registerListen } from "./commands/listen.js";
import { registerSend } from "./commands/send.js";
import { registerSetup } from "./commands/setup.js";
import { configFile } from "./config.js";
import { CliError, USAGE_HINT } from "./errors.js";
import { printable } from "./output.js";

const { version } = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));

/** Commander's command, with an unknown option said without its value; its subcommands the same. */
class EdgehookCommand extends Command {
  /** @param {string} [name] */
  createCommand(name) {
    return new EdgehookCommand(name);
  }

  /**
   * Commander repeats an unknown option as given, `--tokn=ehk_…` with a token in it, and looks for
   * one like all of it (no suggestion). By its name alone it says `--tokn`, suggesting `--token`.
   * @param {string} flag
   */
  unknownOption(flag) {
    const commanders = Reflect.get(Command.prototype, "unknownOption");
    if (typeof commanders === "function") Reflect.apply(commanders, this, [flag.split("=")[0]]);
  }
}

/**
 * An option given with its negation (`--filter … --no-filter`) is refused as commander refuses the
 * `.conflicts()` pairs (`--enable --disable`), exit 2: both set one value, so commander would take
 * the last one given, and cannot tell them apart after parsing. @param {Command} c
 */
function refuseBothWays(c) {
  for (const negation of c.options.filter((o) => o.negate)) {
    const positive = c.options.find((o) => !o.negate && o.attributeName() === negation.attributeName());
    if (!positive) continue;
    const given = new Set();
    for (const option of [positive, negation]) {
      c.on(`option:${option.name()}`, () => {
        given.add(option);
        if (given.size === 2) c.error(`error: option '${positive.flags}' cannot be used with option '${negation.flags}'`, { code: "commander.conflictingOption" });
      });
    }
  }
}

/**
 * A single-value option given more than once (`--scopes a --scopes b`) is refused, exit 2, as the
 * API refuses a repeated query parameter: commander would keep the last one and drop the others
 * silently (a token of fewer scopes, a webhook of fewer types). Counted from commander's
 * `option:` events, which fire once a time it is given (`--x v`, `--x=v`, `-x v`) and never for a
 * default or an environment variable. A variadic option (`--secret <secret...>`) takes several by
 * design, and a flag given twice says the same thing twice. @param {Command} c
 */
function refuseRepeats(c) {
  /** @type {Map<import("commander").Option, number>} */
  const times = new Map();
  for (const option of c.options.filter((o) => (o.required || o.optional) && !o.variadic)) {
    c.on(`option:${option.name()}`, () => times.set(option, (times.get(option) ?? 0) + 1));
  }
  // Checked before the action rather than at the second one, to say how many times it was given.
  c.hook("preAction", () => {
    for (const [option, n] of times) {
      if (n < 2) continue;
      // Its help says whether it takes a list; one that does is given once, comma-separated.
      const several = option.description.includes("comma-separated") ? " (comma-separated for several)" : "";
      c.error(`error: option '${option.flags}' is given ${n} times; give it once${several}`, { code: "edgehook.repeatedOption" });
    }
  });
}

function program() {
  const p = new EdgehookCommand("edgehook")
    .description("Edgehook from the terminal: listen on localhost, tail, send, set up and deploy, and the API.")
    .version(version)
    .showHelpAfterError(USAGE_HINT)
    .exitOverride();
  registerListen(p);
  registerSend(p);
  registerSetup(p);
  registerApi(p);
  registerAlerts(p);
  registerConfig(p);
  // Every subcommand exits through the error handler below rather than process.exit.
  const override = (/** @type {Command} */ c) => {
    c.exitOverride();
    refuseBothWays(c);
    refuseRepeats(c);
    c.commands.forEach(override);
  };
  override(p);
  // An empty --config is refused before a command does anything (setup's wrangler work), not where it reads the file.
  p.hook("preAction", (_, action) => void configFile(action.opts().config));
  return p;
}

/** Runs the CLI with arguments (without `node` and the script); resolves to the exit status. */
export async function run(/** @type {string[]} */ args) {
  try {
    await program().parseAsync(args, { from: "user" });
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (err) {
    // Help and version exit 0; anything else commander refused (an unknown option, a missing
    // argument, a bad value) is a usage error, 2 like the CLI's own. Commander printed it.
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    // A usage error of the CLI's own (exit 2) is said as commander says its own, `error: …` then
    // the hint, so a script or a reader finds one form; any other, `error …` as the API's are.
    if (err instanceof CliError) {
      process.stderr.write(err.exitCode === 2 ? `error: ${err.message}\n${USAGE_HINT}\n` : `${pc.red("error")} ${err.message}\n`);
      return err.exitCode;
    }
    // Anything else is a case the CLI did not foresee: still one line, exit 1, never a stack trace.
    const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    process.stderr.write(`${pc.red("error")} ${printable(message)} (unexpected: a bug of the CLI, please report it with the command that ran)\n`);
    return 1;
  }
}
