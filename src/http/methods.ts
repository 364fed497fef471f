import { AppError } from "../domain/errors";
import { errorResponse } from "./errors";

/**
 * The methods `routes` serve at `path` (a middleware's or a catch-all's ALL aside): what a 405's
 * Allow names. A parameter keeps its own pattern (`:action{enable|disable}`); an optional one
 * (`:key?`) may be absent. Empty when `method`, which no route took, is among them: the path only
 * looks like one served (a parameter its handler's router refused), so it is a 404, not a 405
 * naming the method itself.
 */
export function allowedMethods(routes: readonly { method: string; path: string }[], path: string, method: string): string[] {
  const methods = new Set(servedMethods(routes, path));
  return methods.has(method) ? [] : [...methods];
}

/**
 * The methods routes serve at `path`, a middleware's or a catch-all's ALL aside, and HEAD where
 * GET is served: Hono answers a HEAD as the GET without its body, so an Allow names it (RFC 9110).
 * A route at `path` itself, if any, alone (concreteMethods).
 */
export function servedMethods(routes: readonly { method: string; path: string }[], path: string): string[] {
  const concrete = concreteMethods(routes, path);
  return concrete.length > 0 ? concrete : withHead(routeMethods(routes, path));
}

/**
 * The methods of the routes whose path is `path` itself, with no parameter (HEAD where GET is), else
 * none. OpenAPI matches such a path before a templated one, so `/v1/deliveries/retry` takes POST
 * alone: a GET of it is a 405, not `GET /v1/deliveries/{id}` looking up a delivery "retry".
 */
export function concreteMethods(routes: readonly { method: string; path: string }[], path: string): string[] {
  return withHead([...new Set(routes.filter((r) => r.method !== "ALL" && r.path === path && !/[:*]/.test(r.path)).map((r) => r.method))]);
}

const withHead = (methods: string[]) => (methods.includes("GET") && !methods.includes("HEAD") ? [...methods, "HEAD"] : methods);

function routeMethods(routes: readonly { method: string; path: string }[], path: string): string[] {
  const methods: string[] = [];
  for (const r of routes) {
    if (r.method === "ALL") continue;
    const source = r.path
      .replace(/\/:[^/{?(]+\{([^}]+)\}(\?)?/g, (_, pattern: string, optional = "") => `(?:/(?:${pattern}))${optional}`)
      .replace(/\/:[^/{?(]+(\?)?/g, (_, optional = "") => `(?:/[^/]+)${optional}`)
      .replace(/\*/g, ".*");
    if (new RegExp(`^${source}$`).test(path)) methods.push(r.method);
  }
  // Once each: a route may be registered more than once (an OpenAPI route with its validators).
  return [...new Set(methods)];
}

/** The 405 of `method` where `allowed` are served, with its Allow; `hint` goes after its message. */
export const methodNotAllowed = (method: string, allowed: string[], hint = ""): Response =>
  errorResponse(new AppError("method_not_allowed", `${method} is not served here; use ${allowed.join(", ")}.${hint}`), { allow: allowed.join(", ") });
