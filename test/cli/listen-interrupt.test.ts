// `edgehook listen` as a process, stopped with Ctrl-C while its local server holds a forward and
// never answers: it gives the forward up and exits at once (the test's timeout, well under the
// 30 s forward timeout, is the only clock), says so without calling it the server's failure, and
// keeps the event for the next run.
import { readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanUp, cliHome, eventNote as event, fakeApi, onCleanUp } from "./fake-api";

afterEach(cleanUp);

const START = 40;

describe("edgehook listen stopped with Ctrl-C", () => {
  it("while the local server never answers: gives the forward up, closes the socket and exits 0 at once, and sends the event again next run", { timeout: 15_000 }, async () => {
    // Takes each request and never answers it; notes when the CLI closes the request's connection.
    const held: { id: string | undefined; closed: boolean }[] = [];
    const hung = createServer((req) => {
      const seen = { id: req.headers["webhook-id"] as string | undefined, closed: false };
      held.push(seen);
      req.socket.once("close", () => (seen.closed = true));
      req.resume();
    });
    await new Promise<void>((r) => hung.listen(0, "127.0.0.1", r));
    onCleanUp(
      () =>
        new Promise<void>((r) => {
          hung.closeAllConnections();
          hung.close(() => r());
        }),
    );
    const closes: number[] = [];
    const api = await fakeApi({
      listen: (ws) => {
        ws.on("close", (code) => closes.push(code));
        ws.send(JSON.stringify({ type: "hello", listenerId: "l", mode: "listen", position: START, secret: "whsec_x", webhookUid: null }));
        ws.send(JSON.stringify(event(START + 1)));
        ws.send(JSON.stringify(event(START + 2))); // behind the one in hand: left for the next run
      },
    });
    const h = cliHome();
    const l = h.start(["listen", String((hung.address() as AddressInfo).port), "--url", api.url, "--token", "ehk_test", "--json"]);
    await vi.waitFor(() => expect(held.map((x) => x.id)).toEqual([`evt_${START + 1}`]), { timeout: 10_000 });

    l.child.kill("SIGINT");
    const run = await l.exited;
    expect(run).toMatchObject({ code: 0, signal: null });
    // The CLI aborted the request it was waiting on: nothing ever answered it.
    await vi.waitFor(() => expect(held).toEqual([{ id: `evt_${START + 1}`, closed: true }]));
    await vi.waitFor(() => expect(closes).toEqual([1000]));
    // No result line (the local server did not fail), and a line on stderr saying what happened.
    expect(run.stdout).toBe("");
    expect(run.stderr).toContain(`Stopped while forwarding evt_${START + 1} (no answer yet): it is sent again on the next run.`);
    expect(run.stderr).not.toMatch(/\n\s+at /);
    // The position stays before it, so the next run asks for it (and what came behind it) again.
    const files = readdirSync(join(h.dir, "listen-state"));
    expect(files).toHaveLength(1);
    expect(JSON.parse(readFileSync(join(h.dir, "listen-state", files[0]!), "utf8"))).toMatchObject({ position: START });
  });
});
