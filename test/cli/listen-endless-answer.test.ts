// `edgehook listen` as a process whose local server answers 200 and then sends its body without
// end: the answer counts at its status, as a delivery's does, and the rest of the body is let go
// (the test's timeout, well under the 30 s forward timeout, is the only clock).
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanUp, cliHome, eventNote as event, fakeApi, onCleanUp } from "./fake-api";

afterEach(cleanUp);

const START = 70;

describe("edgehook listen forwarding to a server whose answer never ends", () => {
  it("prints the 200 at its status and closes the connection, reading a bounded part of the body", { timeout: 15_000 }, async () => {
    const chunk = Buffer.alloc(1024 * 1024, 0x61);
    const answered: { id: string | undefined; closed: boolean }[] = [];
    const endless = createServer((req, res) => {
      const seen = { id: req.headers["webhook-id"] as string | undefined, closed: false };
      answered.push(seen);
      req.resume();
      res.writeHead(200, { "content-type": "text/plain" });
      // 1 MiB at a time, as fast as the CLI reads it, until it lets go.
      const more = () => {
        while (!res.destroyed && res.write(chunk));
      };
      res.on("drain", more);
      res.once("close", () => (seen.closed = true));
      more();
    });
    await new Promise<void>((r) => endless.listen(0, "127.0.0.1", r));
    onCleanUp(() => new Promise<void>((r) => (endless.closeAllConnections(), endless.close(() => r()))));
    const api = await fakeApi({
      listen: (ws) => {
        ws.send(JSON.stringify({ type: "hello", listenerId: "l", mode: "listen", position: START, secret: "whsec_x", webhookUid: null }));
        ws.send(JSON.stringify(event(START + 1)));
        ws.send(JSON.stringify(event(START + 2)));
      },
    });
    const l = cliHome().start(["listen", String((endless.address() as AddressInfo).port), "--url", api.url, "--token", "ehk_test", "--json"]);

    // Both events are forwarded, one after the other: the first's endless body did not hold the second.
    await vi.waitFor(() => expect(l.stdout().trimEnd().split("\n")).toHaveLength(2), { timeout: 10_000 });
    const lines = l.stdout().trimEnd().split("\n").map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines).toEqual([START + 1, START + 2].map((p) => expect.objectContaining({ eventId: `evt_${p}`, status: 200, error: null, ms: expect.any(Number) })));
    await vi.waitFor(() => expect(answered).toEqual([START + 1, START + 2].map((p) => ({ id: `evt_${p}`, closed: true }))));

    l.child.kill("SIGINT");
    expect(await l.exited).toMatchObject({ code: 0, signal: null });
  });
});
