// Redirects, never followed: fetch's default would turn send's signed POST into a GET to another
// URL (its 200 read as the ingress's), and take the API token along to wherever it points (ws,
// for tail and listen, follows none by default).

/** fetch's init member for every request the CLI makes. */
export const NOT_FOLLOWED = /** @type {const} */ ({ redirect: "manual" });

/**
 * A 3xx answer's status and where it points (its Location resolved against the URL asked), or
 * undefined for any other status. `to` is said without user name, query or fragment: they may hold a secret.
 * @param {number} status @param {string | null | undefined} header @param {string} asked
 * @returns {{ status: number, location: URL | undefined, to: string } | undefined}
 */
export function redirectOf(status, header, asked) {
  if (status < 300 || status > 399) return undefined;
  let location;
  try {
    location = header ? new URL(header, asked) : undefined;
  } catch {
    location = undefined;
  }
  const hidden = location && (location.search || location.hash) ? "?…" : "";
  const to = location ? `${location.origin}${location.pathname}${hidden}` : header ? "a Location that is no URL" : "no Location";
  return { status, location, to };
}
