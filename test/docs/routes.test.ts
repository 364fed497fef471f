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

/** Every `METHOD /v1/…` the API serves, with the scopes its `x-required-scope` lists (none: any token). */
function liveScopes(): Map<string, string[]> {
  const doc: unknown = JSON.parse(readFileSync(join(ROOT, "cli/src/openapi.json"), "utf8"));
  if (!isRecord(doc) || !isRecord(doc.paths)) throw new Error("cli/src/openapi.json has no paths");
  const out = new Map<string, string[]>();
  for (const [path, ops] of Object.entries(doc.paths)) {
    if (!path.startsWith("/v1/") || !isRecord(ops)) continue;
    for (const [method, op] of Object.entries(ops)) {
      if (!METHODS.includes(method.toUpperCase()) || !isRecord(op)) continue;
      const scopes = op["x-required-scope"];
      out.set(`${method.toUpperCase()} ${path}`, Array.isArray(scopes) ? scopes.map(String) : []);
    }
  }
  return out;
}

const liveRoutes = (): string[] => [...liveScopes().keys()];

/**
 * The routes the table under "## Routes" names in its first column (`` `GET /v1/x` ``, and a
 * bare `` `PATCH` `` after it for the same path), with the scopes its second column gives each:
 * `` `a` `` for all, `` `a` / `b` `` a for GET and b for the rest, `` `a` + `b` `` both, "any token" none.
 */
function documentedScopes(): Map<string, string[]> {
  const text = readFileSync(join(ROOT, "docs/api.md"), "utf8");
  const section = text.split(/^## Routes$/m)[1]?.split(/^## /m)[0] ?? "";
  const out = new Map<string, string[]>();
  for (const row of section.split("\n").filter((l) => l.startsWith("| `"))) {
    const [, routes = "", scope = ""] = row.split("|");
    const named = [...scope.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
    const scopesOf = (method: string): string[] =>
      scope.includes(" / ") ? [method === "GET" ? named[0]! : named[1]!] : named;
    let path = "";
    for (const [, code] of routes.matchAll(/`([^`]+)`/g)) {
      const [method, given] = code!.split(/\s+/);
      if (!METHODS.includes(method!)) continue;
      if (given) path = given;
      if (path) out.set(`${method} ${path}`, scopesOf(method!));
    }
  }
  return out;
}

const documentedRoutes = (): string[] => [...documentedScopes().keys()];

describe("the route table of docs/api.md", () => {
  it("names every /v1 route the API serves, and none it does not", () => {
    const live = liveRoutes();
    const documented = documentedRoutes();
    expect(live.length).toBeGreaterThan(20);
    expect(live.filter((r) => !documented.includes(r)), "routes missing from docs/api.md").toEqual([]);
    expect(documented.filter((r) => !live.includes(r)), "routes docs/api.md names that the API does not serve").toEqual([]);
  });

  it("gives each route the scopes its x-required-scope lists", () => {
    const live = liveScopes();
    const documented = documentedScopes();
    const differing = [...live].filter(([r, scopes]) => JSON.stringify([...scopes].sort()) !== JSON.stringify([...(documented.get(r) ?? [])].sort()));
    expect(differing.map(([r, scopes]) => `${r}: the API lists ${JSON.stringify(scopes)}, the table ${JSON.stringify(documented.get(r))}`)).toEqual([]);
    // The test reads scopes at all: the webhook test needs two, tokens admin.
    expect(documented.get("POST /v1/webhooks/{uid}/test")).toEqual(["webhooks:read", "events:read"]);
    expect(live.get("GET /v1/event-types")).toEqual([]);
  });
});
