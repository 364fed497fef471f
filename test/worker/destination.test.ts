import { describe, expect, it } from "vitest";
import { destinationProblem, typedUrlProblem } from "../../src/domain/destination";

describe("destination URLs (SSRF)", () => {
  it.each([
    "https://hooks.example.com/edgehook",
    "https://8.8.8.8/x",
    "https://[2606:4700::1111]/x",
    "https://downstream.test/ok/a",
    "https://hooks.example.com./edgehook",
    "https://[::ffff:808:808]/x",
    "https://[2002:808:808::1]/x",
  ])("allows the public https URL %s", (url) => {
    expect(destinationProblem(url, false)).toBeNull();
  });

  it.each([
    ["http://hooks.example.com/", "plain http"],
    ["ftp://hooks.example.com/", "another scheme"],
    ["https://localhost/", "localhost"],
    ["https://api.localhost/", "a .localhost name"],
    ["https://127.0.0.1/", "loopback"],
    ["https://127.1/", "short loopback"],
    ["https://2130706433/", "decimal loopback"],
    ["https://0x7f000001/", "hex loopback"],
    ["https://0177.0.0.1/", "octal loopback"],
    ["https://10.0.0.5/", "10/8"],
    ["https://172.16.3.4/", "172.16/12"],
    ["https://192.168.1.1/", "192.168/16"],
    ["https://169.254.169.254/latest/meta-data", "cloud metadata"],
    ["https://100.64.0.1/", "carrier-grade NAT"],
    ["https://0.0.0.0/", "this host"],
    ["https://[::1]/", "IPv6 loopback"],
    ["https://[::]/", "IPv6 unspecified"],
    ["https://[fd00::1]/", "IPv6 unique local"],
    ["https://[fe80::1]/", "IPv6 link-local"],
    ["https://[::ffff:127.0.0.1]/", "IPv4-mapped loopback"],
    ["https://[::ffff:10.1.2.3]/", "IPv4-mapped private"],
    ["https://user:pw@hooks.example.com/", "credentials in the URL"],
    ["https://localhost../", "localhost with two trailing dots"],
    ["https://localhost./", "localhost with a trailing dot"],
    ["https://api.localhost../", "a .localhost name with two trailing dots"],
    ["https://127.0.0.1../", "loopback with two trailing dots"],
    ["https://127.1../", "short loopback with two trailing dots"],
    ["https://0x7f000001../", "hex loopback with two trailing dots"],
    ["https://[::ffff:0:7f00:1]/", "IPv4-translated loopback"],
    ["https://[::ffff:0:a01:203]/", "IPv4-translated private"],
    ["https://[::7f00:1]/", "IPv4-compatible loopback"],
    ["https://[fec0::1]/", "IPv6 site-local"],
    ["https://[2002:7f00:1::1]/", "6to4 of loopback"],
    ["https://[2002:a00:1::1]/", "6to4 of 10/8"],
    ["https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/", "Teredo"],
    ["https://[64:ff9b::7f00:1]/", "NAT64 of loopback"],
    ["https://[100::1]/", "IPv6 discard-only"],
    ["https://[2001:db8::1]/", "IPv6 documentation"],
    ["https://intranet/", "a single-label name"],
    ["https://intranet./", "a single-label name with a trailing dot"],
    ["https://metadata/computeMetadata/v1/", "a single-label metadata name"],
    ["not a url", "garbage"],
  ])("refuses %s (%s)", (url) => {
    expect(destinationProblem(url, false)).toEqual(expect.any(String));
  });

  it.each([
    ["https://hooks.example.com/\u202emoc.elpmaxe.sdrocer-latot//:sptth", "a right-to-left override, which makes it read as another URL"],
    ["https://hooks.example.com/a\u2066b\u2069", "bidi isolates"],
    ["https://hooks.example.com/a\u0007b", "a control character"],
  ])("refuses %j (%s) as typed, and takes it percent-encoded; one stored before still goes out", (url) => {
    expect(typedUrlProblem(url)).toMatch(/control or bidirectional formatting characters/);
    expect(typedUrlProblem(new URL(url).href)).toBeNull();
    expect(destinationProblem(url, false)).toBeNull();
  });

  it("allows loopback and http when ALLOW_PRIVATE_DESTINATIONS is true", () => {
    expect(destinationProblem("http://127.0.0.1:9999/hook", true)).toBeNull();
    expect(destinationProblem("https://localhost/", true)).toBeNull();
    expect(destinationProblem("ftp://127.0.0.1/", true)).toEqual(expect.any(String));
  });

  it("says so when a host and port were given without the scheme, which the URL parser takes for one", () => {
    expect(destinationProblem("localhost:9000/hooks", true)).toBe("must be http: or https: (the scheme is missing: http://localhost:9000/hooks)");
    expect(destinationProblem("hooks.example.com:8443/in", false)).toBe("must be https: (the scheme is missing: https://hooks.example.com:8443/in)");
    expect(destinationProblem("ftp://127.0.0.1/", true)).toBe("must be http: or https:");
  });

  it("refuses credentials and port 0 even when ALLOW_PRIVATE_DESTINATIONS is true (docs/security.md)", () => {
    expect(destinationProblem("http://user:pw@127.0.0.1:9999/hook", true)).toBe("must not carry credentials");
    expect(destinationProblem("https://token@hooks.example.com/", true)).toBe("must not carry credentials");
    expect(destinationProblem("http://127.0.0.1:0/hook", true)).toBe("must not use port 0");
  });
});
