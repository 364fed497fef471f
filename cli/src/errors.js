/** An error the CLI reports as one line and an exit status, without a stack trace. */
export class CliError extends Error {
  /**
   * @param {string} message what went wrong and what to do
   * @param {{ code?: string, exitCode?: number }} [opts] the API's error code, if any
   */
  constructor(message, opts = {}) {
    super(message);
    this.code = opts.code;
    this.exitCode = opts.exitCode ?? 1;
  }
}

/** The line every usage error (exit 2) ends with, commander's own and the CLI's (main.js). */
export const USAGE_HINT = "(add --help for usage)";
