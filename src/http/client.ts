import { ipv6Groups } from "../domain/destination";

/** The address a request comes from (Cloudflare sets the header on every request it forwards). */
export const clientAddress = (header: (name: string) => string | undefined): string => header("cf-connecting-ip") ?? "unknown";

/**
 * Who failures are counted against for an address: an IPv4 address (or anything else) itself, an
 * IPv6 address by its /64. One host (a server, a home line) is routed a whole /64, 2^64 addresses
 * to send from, so counted by address an IPv6 client would never reach a limit. The prefix is
 * written in one spelling (the URL parser's), however the address was; an IPv4-mapped address is
 * an IPv4 client's, its own key.
 */
export function failureKey(address: string): string {
  const bracketed = `http://[${address}]/`;
  const groups = URL.canParse(bracketed) ? ipv6Groups(new URL(bracketed).hostname.slice(1, -1)) : null;
  if (!groups || (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff)) return address;
  return `${groups.slice(0, 4).map((g) => g.toString(16)).join(":")}::/64`;
}
