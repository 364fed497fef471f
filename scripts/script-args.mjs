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

/**
 * The whole number a flag's text gives, from `min` to `max`; else the flag, the range (and why
 * its bounds, `why`) and the text given on stderr, exit 2, as for a flag the script does not take.
 * @param {string} flag its name, without the dashes
 * @param {string} text
 * @param {number} min
 * @param {number} [max]
 * @param {string} [why]
 */
export function wholeNumber(flag, text, min, max = Number.MAX_SAFE_INTEGER, why = "") {
  // Digits only: Number() would also take "0x10", "1e3" and " 7 ", which no one means as a count.
  const n = /^[0-9]+$/.test(text) ? Number(text) : Number.NaN;
  if (Number.isSafeInteger(n) && n >= min && n <= max) return n;
  const range = max === Number.MAX_SAFE_INTEGER ? (min === 1 ? "a positive whole number" : `a whole number of at least ${min}`) : `a whole number from ${min} to ${max}`;
  console.error(`--${flag} must be ${range}${why && ` (${why})`}, not ${JSON.stringify(text)}.`);
  process.exit(2);
}
