// `edgehook dead-letters`: the admin's list, replay (made once: a closed letter answers 409 with
// details.reason, which the error line carries for a script, with details.cause if any) and delete.
import { afterEach, describe, expect, it } from "vitest";
import { cleanUp, cliHome, fakeApi, Status } from "./fake-api";

afterEach(cleanUp);

const letter = (id: number, replayedAt: string | null = null) => ({
  id,
  queue: "edgehook-deliveries-dlq",
  eventId: `evt_${id}`,
  deliveryId: `dlv_${id}`,
  reason: "delivery failed after 1 attempt: HTTP 500",
  attempts: 1,
  receivedAt: "2026-11-30T10:00:00.000Z",
  replayedAt,
});

const withMessage = (l: ReturnType<typeof letter>) => ({ ...l, message: { deliveryId: l.deliveryId, eventId: l.eventId } });

describe("dead-letters", () => {
  it("lists them (only the open ones with --open), replays one, deletes one", async () => {
    const api = await fakeApi({
      routes: {
        "GET /v1/dead-letters": (q: URLSearchParams) => {
          const letters = q.get("open") === "true" ? [letter(2)] : [letter(2), letter(1, "2026-11-30T11:00:00.000Z")];
          // As the API answers: each letter's queued message unless withMessage=false.
          return { data: q.get("withMessage") === "false" ? letters : letters.map(withMessage), nextCursor: "c2" };
        },
        "POST /v1/dead-letters/2/replay": new Status(202, { ...letter(2, "2026-11-30T12:00:00.000Z"), held: false }),
        "POST /v1/dead-letters/3/replay": new Status(202, { ...letter(3, "2026-11-30T12:00:00.000Z"), held: true }),
        "DELETE /v1/dead-letters/2": new Status(204),
      },
    });
    const h = cliHome();
    const conn = ["--url", api.url, "--token", "t"];

    const all = await h.edgehook(["dead-letters", "list", ...conn]);
    expect(all.code, all.stderr).toBe(0);
    expect(all.stdout).toContain("dlv_1");
    expect(all.stdout).toContain("dlv_2");
    expect(all.stderr).toContain(`more: edgehook dead-letters list --url ${api.url} --token '<token>' --cursor c2\n`);
    // The table shows no message: it asks the API to leave them out.
    expect(Object.fromEntries(new URLSearchParams(api.seen.at(-1)!.query))).toEqual({ withMessage: "false" });
    const open = await h.edgehook(["dead-letters", "list", "--open", "--limit", "5", ...conn, "--json"]);
    expect(JSON.parse(open.stdout)).toEqual({ data: [withMessage(letter(2))], nextCursor: "c2" });
    // --json is the API's whole answer: the messages are asked for.
    expect(Object.fromEntries(new URLSearchParams(api.seen.at(-1)!.query))).toEqual({ open: "true", limit: "5" });

    const replay = await h.edgehook(["dead-letters", "replay", "2", ...conn]);
    expect(replay.code, replay.stderr).toBe(0);
    expect(replay.stdout).toBe("replayed 2\n");
    const held = await h.edgehook(["dead-letters", "replay", "3", ...conn]);
    expect(held.stdout).toBe("replayed 3: its delivery is held, its webhook disabled (enabling it sends it)\n");
    const gone = await h.edgehook(["dead-letters", "delete", "2", ...conn, "--json"]);
    expect(gone.code, gone.stderr).toBe(0);
    // The id as the API and `list --json` give it: a number, not the argument's string.
    expect(JSON.parse(gone.stdout)).toEqual({ deleted: 2 });
    expect(api.seen.slice(-2).map((s) => `${s.method} ${s.path}`)).toEqual(["POST /v1/dead-letters/3/replay", "DELETE /v1/dead-letters/2"]);
  });

  it("a second replay fails (exit 1) with the API's details.reason on the error line", async () => {
    const api = await fakeApi({
      routes: {
        "POST /v1/dead-letters/1/replay": new Status(409, {
          error: { code: "conflict", message: "This dead letter was replayed at 2026-11-30T11:00:00.000Z; a replay is made once.", details: { reason: "already_replayed" } },
        }),
      },
    });
    const h = cliHome();
    const r = await h.edgehook(["dead-letters", "replay", "1", "--url", api.url, "--token", "t"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain("409 conflict (already_replayed): This dead letter was replayed");
  });

  it("a replay with nothing to retry fails with the API's details.cause beside its reason on the error line", async () => {
    const message = "Its delivery's webhook wh_1 was deleted: there is nowhere to send it, nothing to retry. Once handled, DELETE the dead letter.";
    const api = await fakeApi({
      routes: {
        "POST /v1/dead-letters/1/replay": new Status(409, { error: { code: "conflict", message, details: { reason: "nothing_to_retry", cause: "webhook_deleted" } } }),
      },
    });
    const h = cliHome();
    const r = await h.edgehook(["dead-letters", "replay", "1", "--url", api.url, "--token", "t"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain(`409 conflict (nothing_to_retry: webhook_deleted): ${message}`);
  });
});
