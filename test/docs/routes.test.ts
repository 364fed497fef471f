// The route table of docs/api.md against the API's own OpenAPI document (the CLI's copy,
// cli/src/openapi.json, which test/worker/openapi-client.test.ts holds equal to /openapi.json).
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"];

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Every `METHOD /v1/…` the API serves. */
function liveRoutes(): string[] {
  const doc: unknown = JSON.parse(readFileSync(join(ROOT, "cli/src/openapi.json"), "utf8"));
  if (!isRecord(doc) || !isRecord(doc.paths)) throw new Error("cli/src/openapi.json has no paths");
  return Object.entries(doc.paths)
    .filter(([path]) => path.startsWith("/v1/"))
    .flatMap(([path, ops]) => Object.keys(isRecord(ops) ? ops : {}).map((m) => `${m.toUpperCase()} ${path}`))
    .filter((r) => METHODS.includes(r.split(" ")[0]!));
}

/**
 * The routes the table under "## Routes" names in its first column: `` `GET /v1/x` ``,
 * and a bare `` `PATCH` `` after it for the same path.
 */
function documentedRoutes(): string[] {
  const text = readFileSync(join(ROOT, "docs/api.md"), "utf8");
  const section = text.split(/^## Routes$/m)[1]?.split(/^## /m)[0] ?? "";
  const out: string[] = [];
  for (const row of section.split("\n").filter((l) => l.startsWith("| `"))) {
    let path = "";
    for (const [, code] of row.split("|")[1]!.matchAll(/`([^`]+)`/g)) {
      const [method, given] = code!.split(/\s+/);
      if (!METHODS.includes(method!)) continue;
      if (given) path = given;
      if (path) out.push(`${method} ${path}`);
    }
  }
  return out;
}

describe("the route table of docs/api.md", () => {
  it("names every /v1 route the API serves, and none it does not", () => {
    const live = liveRoutes();
    const documented = documentedRoutes();
    expect(live.length).toBeGreaterThan(20);
    expect(live.filter((r) => !documented.includes(r)), "routes missing from docs/api.md").toEqual([]);
    expect(documented.filter((r) => !live.includes(r)), "routes docs/api.md names that the API does not serve").toEqual([]);
  });
});
