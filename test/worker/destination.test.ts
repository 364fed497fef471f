import { describe, expect, it } from "vitest";
import { destinationProblem } from "../../src/domain/destination";

describe("destination URLs (SSRF)", () => {
  it.each([
    "https://hooks.example.com/edgehook",
    "https://8.8.8.8/x",
    "https://[2606:4700::1111]/x",
    "https://downstream.test/ok/a",
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
    ["not a url", "garbage"],
  ])("refuses %s (%s)", (url) => {
    expect(destinationProblem(url, false)).toEqual(expect.any(String));
  });

  it("allows loopback and http when ALLOW_PRIVATE_DESTINATIONS is true", () => {
    expect(destinationProblem("http://127.0.0.1:9999/hook", true)).toBeNull();
    expect(destinationProblem("https://localhost/", true)).toBeNull();
    expect(destinationProblem("ftp://127.0.0.1/", true)).toEqual(expect.any(String));
  });
});
