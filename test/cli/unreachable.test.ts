// `tail` and `listen` whose first connection finds nothing at the URL exit 1 at once, as the API
// commands do, naming the host alone; they reconnect with backoff only once they have connected
// (tail-reconnect.test.ts, listen-reconnect.test.ts).
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { cleanUp, cliHome } from "./fake-api";

afterEach(cleanUp);

/** A loopback port nothing listens on. */
async function closedPort() {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe("tail and listen at a URL where nothing answers", () => {
  it("exit 1 at once saying they could not connect, with the host and never the rest of the URL", { timeout: 20_000 }, async () => {
    const port = await closedPort();
    const h = cliHome();
    for (const args of [["tail"], ["listen", "3000"], ["tail", "--json"]]) {
      const r = await h.edgehook([...args, "--url", `http://127.0.0.1:${port}/SECRETPATH`, "--token", "t"]);
      expect(r.code, args.join(" ")).toBe(1);
      expect(r.stderr, args.join(" ")).toMatch(new RegExp(`^error Cannot connect to the API at 127\\.0\\.0\\.1:${port}: .*ECONNREFUSED.*\\. Is the URL right.*\\n$`));
      expect(r.stderr).not.toContain("disconnected");
      expect(r.stderr).not.toContain("SECRET");
    }
    // A host that does not resolve, as a mistyped deployment's.
    const invalid = await h.edgehook(["tail", "--url", "https://edgehook.invalid", "--token", "t"]);
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toMatch(/^error Cannot connect to the API at edgehook\.invalid: /);
  });
});
