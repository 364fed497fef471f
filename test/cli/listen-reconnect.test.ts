// `edgehook listen` as a process whose connection drops: the reconnect resumes after the last event
// forwarded, and its status line says that position, not the one the run started from; the signing
// secret is said once a run.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanUp, cliHome, eventNote as event, fakeApi, onCleanUp } from "./fake-api";

afterEach(cleanUp);

describe("edgehook listen reconnecting", () => {
  it("says it resumes after the last event forwarded, on a run that resumed and on a fresh one", { timeout: 20_000 }, async () => {
    const got: string[] = [];
    const target = createServer((req, res) => {
      got.push(String(req.headers["webhook-id"]));
      req.resume();
      res.end("ok");
    });
    await new Promise<void>((r) => target.listen(0, "127.0.0.1", r));
    onCleanUp(() => new Promise<void>((r) => (target.closeAllConnections(), target.close(() => r()))));

    // Each connection: a hello at the position asked after (10 when none), the next two events, then a drop (1011).
    const asked: (string | null)[] = [];
    const api = await fakeApi({
      listen: (ws, query) => {
        asked.push(query.get("after"));
        const from = Number(query.get("after") ?? 10);
        ws.send(JSON.stringify({ type: "hello", listenerId: "l", mode: "listen", position: from, secret: "whsec_x", webhookUid: null }));
        ws.send(JSON.stringify(event(from + 1)));
        ws.send(JSON.stringify(event(from + 2)));
        if (asked.length % 2 === 1) setTimeout(() => ws.close(1011, "dropped"), 200);
      },
    });
    const h = cliHome();
    const port = String((target.address() as AddressInfo).port);
    const args = ["listen", port, "--url", api.url, "--token", "ehk_test", "--json"];

    // A fresh run: its first connection starts at 10 and resumes nothing; the reconnect resumes after 12.
    const fresh = h.start(args);
    await vi.waitFor(() => expect(got).toEqual(["evt_11", "evt_12", "evt_13", "evt_14"]), { timeout: 10_000 });
    fresh.child.kill("SIGINT");
    const first = await fresh.exited;
    expect(asked).toEqual([null, "12"]);
    expect(first.stderr.match(/^Listening on .*$/gm)).toEqual([expect.not.stringContaining("resuming"), expect.stringContaining("(resuming after 12)")]);
    // The signing secret is printed once a run, not again at each reconnect.
    expect(first.stderr.match(/^Signing secret: whsec_x$/gm)).toHaveLength(1);

    // A run that resumes after 14: its reconnect resumes after 16, where the last connection got to.
    const resumed = h.start(args);
    await vi.waitFor(() => expect(got.slice(4)).toEqual(["evt_15", "evt_16", "evt_17", "evt_18"]), { timeout: 10_000 });
    resumed.child.kill("SIGINT");
    const second = await resumed.exited;
    expect(asked.slice(2)).toEqual(["14", "16"]);
    expect(second.stderr.match(/^Listening on .*$/gm)).toEqual([expect.stringContaining("(resuming after 14)"), expect.stringContaining("(resuming after 16)")]);
    expect(second.stderr.match(/^Signing secret: whsec_x$/gm)).toHaveLength(1);
  });
});
