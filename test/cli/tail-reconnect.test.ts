// `edgehook tail` as a process whose connection drops: the events stored meanwhile follow (it
// resumes after the last position printed), and it says at each reconnect that the delivery
// attempts made while it was disconnected are not shown (the API announces them live only).
import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanUp, cliHome, eventNote as event, fakeApi } from "./fake-api";

afterEach(cleanUp);

const NOT_SHOWN = "attempts made while disconnected are not shown";

describe("edgehook tail reconnecting", () => {
  it("resumes events and says, at each reconnect only, that the attempts made meanwhile are not shown", { timeout: 20_000 }, async () => {
    const asked: (string | null)[] = [];
    const api = await fakeApi({
      listen: (ws, query) => {
        asked.push(query.get("after"));
        const from = Number(query.get("after") ?? 20);
        ws.send(JSON.stringify({ type: "hello", listenerId: "l", mode: "tail", position: from, secret: null, webhookUid: null }));
        ws.send(JSON.stringify(event(from + 1)));
        if (asked.length % 2 === 1) setTimeout(() => ws.close(1011, "dropped"), 200);
      },
    });
    const h = cliHome();
    for (const json of [false, true]) {
      const t = h.start(["tail", "--url", api.url, "--token", "ehk_test", "--webhook", "wh_1", ...(json ? ["--json"] : [])]);
      await vi.waitFor(() => expect(t.stdout()).toContain("evt_22"), { timeout: 10_000 });
      t.child.kill("SIGINT");
      const run = await t.exited;
      expect(run.code).toBe(0);
      const lines = run.stderr.trimEnd().split("\n");
      expect(lines).toEqual([
        `Tailing ${api.url} (Ctrl-C stops)`,
        "disconnected (1011); reconnecting in 1 s, resuming after position 21",
        `Tailing ${api.url} again: events stored meanwhile follow, ${NOT_SHOWN} (\`edgehook deliveries list --webhook wh_1\` lists their deliveries)`,
      ]);
      // --json keeps stdout the API's messages alone: the note is a status line, on stderr.
      if (json) expect(run.stdout.trimEnd().split("\n").map((l) => (JSON.parse(l) as { id: string }).id)).toEqual(["evt_21", "evt_22"]);
    }
    expect(asked).toEqual([null, "21", null, "21"]);
  });
});
