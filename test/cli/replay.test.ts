// `events replay --since --until`: the API replays a range a page per call; the CLI follows the
// cursor to the end with the same request and adds the pages up.
import { afterEach, describe, expect, it } from "vitest";
import { cleanUp, cliHome, fakeApi } from "./fake-api";

afterEach(cleanUp);

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null;

describe("events replay of a range", () => {
  it("follows nextCursor over every page, sending the same range each time, and sums what was replayed", async () => {
    const api = await fakeApi({
      routes: {
        "POST /v1/events/replay": (_q: URLSearchParams, body: unknown) => {
          const at = isRecord(body) && typeof body.cursor === "string" ? Number(body.cursor) : 0;
          return { dryRun: false, events: 2, deliveries: 3, nextCursor: at < 2 ? String(at + 1) : null };
        },
      },
    });
    const h = cliHome();
    const range = ["--since", "2026-11-01T00:00:00Z", "--until", "2026-11-02T00:00:00Z", "--webhook", "wh_1"];
    const r = await h.edgehook(["events", "replay", ...range, "--url", api.url, "--token", "t", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ dryRun: false, events: 6, deliveries: 9 });
    expect(api.seen.map((s) => s.body)).toEqual(
      [undefined, "1", "2"].map((cursor) => ({ since: "2026-11-01T00:00:00Z", until: "2026-11-02T00:00:00Z", webhookUid: "wh_1", ...(cursor && { cursor }) })),
    );
  });

  it("one event's replay and a range's options are not mixed, and a range needs both ends", async () => {
    const api = await fakeApi({ routes: {} });
    const h = cliHome();
    for (const args of [["evt_1", "--since", "2026-11-01T00:00:00Z"], ["--since", "2026-11-01T00:00:00Z"], []]) {
      const r = await h.edgehook(["events", "replay", ...args, "--url", api.url, "--token", "t"]);
      expect(r.code, args.join(" ")).toBe(2);
    }
    expect(api.seen).toEqual([]);
  });
});
