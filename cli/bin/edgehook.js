#!/usr/bin/env node
import { run } from "../src/main.js";

// A reader that stopped early (`edgehook events list | head`) is no error of ours: stop quietly.
process.stdout.on("error", (err) => {
  if (err.code === "EPIPE") process.exit(0);
  throw err;
});

process.exitCode = await run(process.argv.slice(2));
