// Redirects, never followed: fetch's default would turn send's signed POST into a GET to another
// URL (its 200 read as the ingress's), and take the API token along to wherever it points (ws,
// for tail and listen, follows none by default).

/** fetch's init member for every request the CLI makes. */
export const NOT_FOLLOWED = /** @type {const} */ ({ redirect: "manual" });

/**
 * A redirect's status and where it points (its Location resolved against the URL asked), or
 * undefined for an answer that is none: not 3xx, or with no Location (a 304, a 300 listing choices).
 * `to` is said without user name, query or fragment: they may hold a secret.
 * @param {number} status @param {string | null | undefined} header @param {string} asked
 * @returns {{ status: number, location: URL | undefined, to: string } | undefined}
 */
export function redirectOf(status, header, asked) {
  if (status < 300 || status > 399 || !header) return undefined;
  let location;
  try {
    location = new URL(header, asked);
  } catch {
    location = undefined;
  }
  const hidden = location && (location.search || location.hash) ? "?…" : "";
  const to = location ? `${location.origin}${location.pathname}${hidden}` : "a Location that is no URL";
  return { status, location, to };
}

/**
 * Where a redirect points when that is plainly where to go instead: an http(s) URL on the same host
 * (http:// to https://, a path moved) other than `asked`'s path. Else undefined: another host (another port
 * too) is not suggested, as the token or secret would go along.
 * @param {NonNullable<ReturnType<typeof redirectOf>>} r @param {string} asked
 */
export function sameHostTarget(r, asked) {
  const { location } = r;
  if (!location || !/^https?:$/.test(location.protocol)) return undefined;
  const from = new URL(asked);
  // The same path again (a query added) is no other place to go.
  return location.host === from.host && location.origin + location.pathname !== from.origin + from.pathname ? location : undefined;
}
