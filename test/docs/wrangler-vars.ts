// What the docs tests read of wrangler.toml's [vars]: the settings a deployment runs with.
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** The [vars] table of wrangler.toml: each `NAME = "value"` line, in order (a value is a string there). */
export function wranglerVars(): Record<string, string> {
  const toml = readFileSync(join(ROOT, "wrangler.toml"), "utf8");
  const start = toml.indexOf("\n[vars]\n");
  if (start < 0) throw new Error("wrangler.toml has no [vars] table");
  const table = toml.slice(start + "\n[vars]\n".length).split(/\n\[/)[0]!;
  return Object.fromEntries([...table.matchAll(/^([A-Z][A-Z0-9_]*)\s*=\s*"([^"]*)"/gm)].map((m) => [m[1]!, m[2]!]));
}
