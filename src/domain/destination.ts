import { hiddenCharacterProblem } from "./legible";

/**
 * Where Edgehook may POST. Production destinations are public `https:` hosts
 * named by a dotted DNS name or a public address; loopback, private,
 * link-local and metadata addresses are refused (SSRF), in every notation the
 * URL parser accepts (it normalises decimal, octal and hex IPv4 to dotted
 * form, and IPv6 to its compressed form). `allowPrivate` lifts these rules for
 * local use.
 */
export function destinationProblem(url: string, allowPrivate: boolean): string | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return "is not a valid URL";
  }
  if (u.username || u.password) return "must not carry credentials";
  if (u.port === "0") return "must not use port 0";
  if (allowPrivate) return u.protocol === "https:" || u.protocol === "http:" ? null : `must be http: or https:${noScheme(url, "http")}`;
  if (u.protocol !== "https:") return `must be https:${noScheme(url, "https")}`;
  if (u.hostname.startsWith("[")) {
    return privateIPv6(u.hostname.slice(1, -1)) ? "must not be a loopback, private or otherwise non-public address" : null;
  }
  const host = canonicalHost(u.hostname);
  if (host === null) return "is not a valid host name";
  if (host === "localhost" || host.endsWith(".localhost") || host.endsWith(".local") || host.endsWith(".internal")) {
    return "must not be a local host name";
  }
  const v4 = parseIPv4(host);
  if (v4) return privateIPv4(v4) ? "must not be a loopback, private, link-local or metadata address" : null;
  // A single label resolves through local search domains (`intranet`, `metadata`).
  if (!host.includes(".")) return "must be a fully qualified host name (with a dot)";
  return null;
}

/** `localhost:9000/hooks` typed without its scheme parses as the scheme `localhost:`: say what it lacks. */
function noScheme(url: string, scheme: string): string {
  return /^[\w.-]+:\d{1,5}(\/|$)/.test(url) ? ` (the scheme is missing: ${scheme}://${url})` : "";
}

/**
 * A destination as it is stored and sent: the URL parser's form (scheme and host in lower case,
 * backslashes and surrounding spaces gone, `https:host` given its slashes), so what is shown is
 * what fetch requests. One that does not parse is kept as given, for `destinationProblem` to refuse.
 */
function normalUrl(url: string): string {
  return URL.canParse(url) ? new URL(url).href : url;
}

/**
 * The URL to store for `given`: its parser's form, or `current` when both request the same (one
 * stored as typed by an earlier version stays as it is, so giving it back as read is no change).
 */
export function storedUrl(given: string, current?: string): string {
  const url = normalUrl(given);
  return current !== undefined && normalUrl(current) === url ? current : url;
}

/** The longest URL stored, in the form it is stored and sent. */
export const MAX_URL_CHARS = 2048;

/**
 * Why a URL may not be saved as typed: it is shown as typed (dashboard, alerts), where a
 * bidirectional override makes it read as another URL. Checked when a URL is given, not when
 * one stored before is used: fetch sends it percent-encoded all the same.
 */
export function typedUrlProblem(url: string): string | null {
  const problem = hiddenCharacterProblem(url);
  if (problem) return `${problem} (percent-encode them)`;
  return normalUrl(url).length > MAX_URL_CHARS ? `must be at most ${MAX_URL_CHARS} characters once percent-encoded` : null;
}

/**
 * The host without its trailing dots, parsed again: the URL parser leaves
 * `127.1..` a name, but resolvers drop the dots and reach 127.0.0.1.
 */
function canonicalHost(hostname: string): string | null {
  const bare = hostname.toLowerCase().replace(/\.+$/, "");
  if (bare === "") return null;
  if (bare === hostname) return bare;
  try {
    return new URL(`https://${bare}/`).hostname;
  } catch {
    return null;
  }
}

function parseIPv4(host: string): number[] | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  return m ? m.slice(1).map(Number) : null;
}

function privateIPv4([a, b]: number[]): boolean {
  if (a === undefined || b === undefined) return true;
  return (
    a === 0 || // "this network"
    a === 10 ||
    a === 127 ||
    (a === 100 && b >= 64 && b <= 127) || // carrier-grade NAT
    (a === 169 && b === 254) || // link-local, cloud metadata
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    (a === 192 && b === 0) ||
    (a === 198 && (b === 18 || b === 19)) || // benchmarking
    a >= 224 // multicast and reserved
  );
}

/** Whether a request's host name (a URL's `hostname`) is this machine's: localhost, `*.localhost`, 127.0.0.0/8, [::1]. */
export function loopbackHost(hostname: string): boolean {
  if (hostname === "[::1]") return true;
  const host = canonicalHost(hostname);
  if (host === null) return false;
  return host === "localhost" || host.endsWith(".localhost") || parseIPv4(host)?.[0] === 127;
}

/** The eight 16-bit groups of an IPv6 address as the URL parser writes it (no dotted tail). */
export function ipv6Groups(addr: string): number[] | null {
  const halves = addr.toLowerCase().split("::");
  if (halves.length > 2) return null;
  const parse = (part: string | undefined) => (part ? part.split(":").map((g) => parseInt(g, 16)) : []);
  const head = parse(halves[0]);
  const tail = parse(halves[1]);
  const groups = halves.length === 2 ? [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail] : head;
  return groups.length === 8 && groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : null;
}

const embeddedIPv4 = (hi: number, lo: number) => [hi >> 8, hi & 255, lo >> 8, lo & 255];

/**
 * Only global unicast (2000::/3) is public; inside it, 6to4 (2002::/16) is
 * judged by the IPv4 address it carries, and Teredo and documentation ranges
 * are refused. Outside it, only IPv4-mapped addresses of public IPv4 pass.
 */
function privateIPv6(addr: string): boolean {
  const g = ipv6Groups(addr);
  if (!g) return true;
  const [g0 = 0, g1 = 0, g2 = 0, g3 = 0, g4 = 0, g5 = 0, g6 = 0, g7 = 0] = g;
  if (g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0xffff) return privateIPv4(embeddedIPv4(g6, g7));
  if ((g0 & 0xe000) !== 0x2000) return true; // loopback, unspecified, IPv4-compatible/-translated, NAT64, ULA, link/site-local, multicast, discard
  if (g0 === 0x2002) return privateIPv4(embeddedIPv4(g1, g2)); // 6to4
  if (g0 === 0x2001 && g1 === 0) return true; // Teredo: tunnels to an address it hides
  if (g0 === 0x2001 && g1 === 0xdb8) return true; // documentation
  return false;
}

/**
 * Why a destination is this Edgehook's own ingress (`/webhooks/…` at `self`, the origin its
 * API was called at), or null: each event sent there would be received again as a new
 * event, and sent again. (Another name for the same deployment is not recognised.)
 */
export function loopProblem(url: string, self: string): string | null {
  const [u, own] = [new URL(url), new URL(self)];
  // As the router reads them: a host with trailing dots is the same host, a path is decoded.
  const host = (h: string) => canonicalHost(h) ?? h;
  const same = u.protocol === own.protocol && u.port === own.port && host(u.hostname) === host(own.hostname);
  let path = u.pathname;
  try {
    path = decodeURI(path);
  } catch {
    // Not decodable: the router would not read it as the ingress either.
  }
  return same && path.startsWith("/webhooks/") ? "is this Edgehook's own ingress: each event sent there would come back as a new event" : null;
}

