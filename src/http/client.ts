/** The address a request comes from (Cloudflare sets the header on every request it forwards). */
export const clientAddress = (header: (name: string) => string | undefined): string => header("cf-connecting-ip") ?? "unknown";

const HEXTET = /^[0-9a-f]{1,4}$/;

/**
 * Who failures are counted against for an address: an IPv4 address (or anything else) itself, an
 * IPv6 address by its /64. One host (a server, a home line) is routed a whole /64, 2^64 addresses
 * to send from, so counted by address an IPv6 client would never reach a limit. The prefix is
 * written in one spelling (lower case, no leading zeros), however the address was.
 */
export function failureKey(address: string): string {
  // A dotted tail (an IPv4-mapped address) is an IPv4 client's: its own key.
  if (!address.includes(":") || address.includes(".")) return address;
  const halves = address.toLowerCase().split("::");
  if (halves.length > 2) return address;
  const [head = [], tail = []] = halves.map((h) => (h === "" ? [] : h.split(":")));
  const gap = 8 - head.length - tail.length;
  if (halves.length === 2 ? gap < 1 : gap !== 0) return address;
  const groups = [...head, ...new Array<string>(gap).fill("0"), ...tail];
  if (!groups.every((g) => HEXTET.test(g))) return address;
  return `${groups.slice(0, 4).map((g) => parseInt(g, 16).toString(16)).join(":")}::/64`;
}
