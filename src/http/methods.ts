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
 */
export function servedMethods(routes: readonly { method: string; path: string }[], path: string): string[] {
  const methods = routeMethods(routes, path);
  return methods.includes("GET") && !methods.includes("HEAD") ? [...methods, "HEAD"] : methods;
}

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
  return methods;
}
