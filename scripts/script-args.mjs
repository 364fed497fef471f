// The flags of the repository's own scripts (npm run seed, npm run bench:volume): --help prints
// the usage, and a flag the script does not know (a typo) says so with the usage, not with Node's
// stack trace of parseArgs.
import { parseArgs } from "node:util";

/**
 * parseArgs over process.argv, or the usage on stdout (--help, exit 0) or stderr (a flag it
 * does not take, or one missing its value: exit 2).
 * @template {import("node:util").ParseArgsOptionsConfig} T
 * @param {T} options
 * @param {string} usage
 */
export function scriptArgs(options, usage) {
  const argv = process.argv.slice(2);
  if (argv.includes("--help") || argv.includes("-h")) {
    console.log(usage);
    process.exit(0);
  }
  try {
    return parseArgs({ args: argv, options }).values;
  } catch (err) {
    console.error(`${err instanceof Error ? err.message : String(err)}\n\n${usage}`);
    process.exit(2);
  }
}
