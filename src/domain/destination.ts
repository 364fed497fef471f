/**
 * Where Edgehook may POST. Production destinations are public `https:` hosts;
 * loopback, private, link-local and metadata addresses are refused (SSRF), in
 * every notation the URL parser accepts (it normalises decimal, octal and hex
 * IPv4 to dotted form). `allowPrivate` lifts both rules for local use.
 */
export function destinationProblem(url: string, allowPrivate: boolean): string | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return "is not a valid URL";
  }
  if (u.username || u.password) return "must not carry credentials";
  if (allowPrivate) return u.protocol === "https:" || u.protocol === "http:" ? null : "must be http: or https:";
  if (u.protocol !== "https:") return "must be https:";
  const host = u.hostname.toLowerCase().replace(/\.$/, "");
  if (host === "localhost" || host.endsWith(".localhost") || host.endsWith(".local") || host.endsWith(".internal")) {
    return "must not be a local host name";
  }
  if (host.startsWith("[")) return privateIPv6(host.slice(1, -1)) ? "must not be a loopback or private address" : null;
  const v4 = parseIPv4(host);
  if (v4 && privateIPv4(v4)) return "must not be a loopback, private, link-local or metadata address";
  return null;
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

function privateIPv6(addr: string): boolean {
  const a = addr.toLowerCase();
  if (a === "::" || a === "::1") return true;
  // IPv4-mapped or -compatible (the parser writes them in hex: ::ffff:7f00:1).
  const mapped = /^::(ffff:)?([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(a);
  if (mapped) {
    const hi = parseInt(mapped[2]!, 16);
    const lo = parseInt(mapped[3]!, 16);
    return privateIPv4([hi >> 8, hi & 255, lo >> 8, lo & 255]);
  }
  const first = parseInt(a.split(":")[0] || "0", 16);
  return (
    (first & 0xfe00) === 0xfc00 || // unique local fc00::/7
    (first & 0xffc0) === 0xfe80 || // link-local fe80::/10
    (first & 0xff00) === 0xff00 || // multicast
    a.startsWith("64:ff9b:") // NAT64 can reach IPv4 ranges
  );
}
