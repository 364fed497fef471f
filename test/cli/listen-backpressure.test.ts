// `edgehook listen` as a process catching up a backlog faster than its local server answers: it
// asks the API for acks, forwards one event at a time in order, and acks each run of events only
// once it has forwarded it, so an API that waits for acks never has more than a run out; `tail`
// asks for acks too and acks each run once printed.
import { readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanUp, cliHome, eventNote as event, fakeApi, onCleanUp } from "./fake-api";

afterEach(cleanUp);

const RUN = 50;
const RUNS = 4;

describe("edgehook listen catching up a backlog", () => {
  it("forwards one event at a time, in order, each once, and acks a run only once it is forwarded", { timeout: 20_000 }, async () => {
    // A slow local server: each request answered after a few milliseconds.
    const got: string[] = [];
    let inFlight = 0;
    let mostInFlight = 0;
    const target = createServer((req, res) => {
      mostInFlight = Math.max(mostInFlight, ++inFlight);
      got.push(String(req.headers["webhook-id"]));
      req.resume();
      setTimeout(() => {
        inFlight--;
        res.end("ok");
      }, 3);
    });
    await new Promise<void>((r) => target.listen(0, "127.0.0.1", r));
    onCleanUp(() => new Promise<void>((r) => (target.closeAllConnections(), target.close(() => r()))));

    // An API that acks: a run of events and its position, then nothing until the ack of that position.
    const asked: (string | null)[] = [];
    /** How many events the target had received when each ack came, and what it acked. */
    const acks: { position: number; forwarded: number }[] = [];
    const api = await fakeApi({
      listen: (ws, query) => {
        asked.push(query.get("ack"));
        ws.send(JSON.stringify({ type: "hello", listenerId: "l", mode: "listen", position: 0, secret: "whsec_x", webhookUid: null, acks: true }));
        const sendRun = (n: number) => {
          for (let p = n * RUN + 1; p <= (n + 1) * RUN; p++) ws.send(JSON.stringify(event(p)));
          ws.send(JSON.stringify({ type: "position", position: (n + 1) * RUN }));
        };
        let run = 0;
        ws.on("message", (data) => {
          const ack = JSON.parse(String(data)) as { type: string; position: number };
          acks.push({ position: ack.position, forwarded: got.length });
          if (++run < RUNS) sendRun(run);
        });
        sendRun(0);
      },
    });
    const h = cliHome();
    const l = h.start(["listen", String((target.address() as AddressInfo).port), "--url", api.url, "--token", "ehk_test", "--json"]);
    await vi.waitFor(() => expect(acks).toHaveLength(RUNS), { timeout: 15_000, interval: 50 });
    l.child.kill("SIGINT");
    expect(await l.exited).toMatchObject({ code: 0 });

    expect(asked).toEqual(["true"]);
    expect(got).toEqual(Array.from({ length: RUN * RUNS }, (_, i) => `evt_${i + 1}`));
    expect(mostInFlight).toBe(1);
    // Each run acked once all of it reached the target, never before.
    expect(acks).toEqual(Array.from({ length: RUNS }, (_, i) => ({ position: (i + 1) * RUN, forwarded: (i + 1) * RUN })));
    const files = readdirSync(join(h.dir, "listen-state"));
    expect(JSON.parse(readFileSync(join(h.dir, "listen-state", files[0]!), "utf8"))).toMatchObject({ position: RUN * RUNS });
  });
});

describe("edgehook tail catching up", () => {
  it("asks for acks and acks each run once it is printed: an API that waits for them sends the next", { timeout: 20_000 }, async () => {
    const asked: (string | null)[] = [];
    const acks: number[] = [];
    const api = await fakeApi({
      listen: (ws, query) => {
        asked.push(query.get("ack"));
        ws.send(JSON.stringify({ type: "hello", listenerId: "l", mode: "tail", position: 0, secret: null, webhookUid: null, acks: true }));
        const sendRun = (n: number) => {
          for (let p = n * RUN + 1; p <= (n + 1) * RUN; p++) ws.send(JSON.stringify({ ...event(p), headers: undefined, body: undefined }));
          ws.send(JSON.stringify({ type: "position", position: (n + 1) * RUN }));
        };
        ws.on("message", (data) => {
          const ack = JSON.parse(String(data)) as { type: string; position: number };
          expect(ack.type).toBe("ack");
          acks.push(ack.position);
          if (acks.length < RUNS) sendRun(acks.length);
        });
        sendRun(0);
      },
    });
    const h = cliHome();
    const t = h.start(["tail", "--url", api.url, "--token", "ehk_test", "--json"]);
    await vi.waitFor(() => expect(acks).toHaveLength(RUNS), { timeout: 15_000, interval: 50 });
    t.child.kill("SIGINT");
    const run = await t.exited;
    expect(run.code).toBe(0);
    expect(asked).toEqual(["true"]);
    expect(acks).toEqual(Array.from({ length: RUNS }, (_, i) => (i + 1) * RUN));
    const printed = run.stdout.trimEnd().split("\n").map((l) => (JSON.parse(l) as { id: string }).id);
    expect(printed).toEqual(Array.from({ length: RUN * RUNS }, (_, i) => `evt_${i + 1}`));
  });
});
