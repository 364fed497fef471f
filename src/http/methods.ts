/** The methods `routes` serve at `path` (a middleware's or a catch-all's ALL aside): what a 405's Allow names. */
export function allowedMethods(routes: readonly { method: string; path: string }[], path: string): string[] {
  const methods = new Set<string>();
  for (const r of routes) {
    if (r.method === "ALL") continue;
    const pattern = new RegExp(`^${r.path.replace(/\/:[^/]+/g, "/[^/]+").replace(/\*/g, ".*")}$`);
    if (pattern.test(path)) methods.add(r.method);
  }
  return [...methods];
}
