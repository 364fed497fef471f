#!/usr/bin/env node
// `npm run send -- [flags]`: an alias of `edgehook send` (cli/src/commands/send.js), kept
// so the flags people and tests use (--type, --url, --port, --secret, --count, …) still work.
import { run } from "../cli/src/main.js";

process.exitCode = await run(["send", ...process.argv.slice(2)]);
