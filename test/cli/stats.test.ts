// `edgehook stats`: the API's totals and per-webhook counts, the next webhooks by cursor.
import { afterEach, describe, expect, it } from "vitest";
import { cleanUp, cliHome, fakeApi, Status } from "./fake-api";

afterEach(cleanUp);

const stats = {
  events: { total: 12, last24h: 5 },
  series: [],
  deliveries: { held: 1, pending: 2, succeeded: 7, failed: 3, expired: 0 },
  deadLetters: 3,
  parkedDeadLetters: 0,
  webhooks: [
    { uid: "wh_1", url: "https://a.test/", disabled: false, succeeded: 7, failed: 3, pending: 2, held: 1, successRate: 0.7, lastFailureAt: "2026-11-30T10:00:00.000Z", lastError: "HTTP 500" },
  ],
  webhooksNextCursor: "c2",
};

describe("stats", () => {
  it("prints the totals, each webhook's counts and where the next webhooks are; --json as the API answered", async () => {
    const api = await fakeApi({ routes: { "GET /v1/stats": stats } });
    const h = cliHome();
    const conn = ["--url", api.url, "--token", "t"];
    const r = await h.edgehook(["stats", ...conn]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("12 (5 in the last 24 h)");
    expect(r.stdout).toContain("2 pending, 1 held, 7 succeeded, 3 failed, 0 expired");
    expect(r.stdout).toContain("3 open");
    expect(r.stdout).toMatch(/wh_1 .* 70% .* HTTP 500/);
    // Named as the dashboard's overview names them: the rate is of deliveries, each once, not of attempts.
    expect(r.stdout).toMatch(/SUCCEEDED +FAILED +PENDING +HELD +DELIVERIES SUCCEEDED/);
    expect(r.stderr).toContain("more webhooks: --cursor c2");

    const json = await h.edgehook(["stats", "--failing-first", ...conn, "--json"]);
    expect(JSON.parse(json.stdout)).toEqual(stats);
    expect(Object.fromEntries(new URLSearchParams(api.seen.at(-1)!.query))).toEqual({ failingFirst: "true" });
    await h.edgehook(["stats", "--webhooks", "wh_1,wh_2", ...conn]);
    expect(Object.fromEntries(new URLSearchParams(api.seen.at(-1)!.query))).toEqual({ webhookUids: "wh_1,wh_2" });
  });

  it("--webhooks, --failing-first and --cursor, which the API takes one at a time, are a usage error (exit 2) before anything is sent", async () => {
    const api = await fakeApi({ routes: { "GET /v1/stats": stats } });
    const h = cliHome();
    for (const [a, b] of [[["--failing-first"], ["--webhooks", "wh_1"]], [["--failing-first"], ["--cursor", "c2"]], [["--webhooks", "wh_1"], ["--cursor", "c2"]]]) {
      const r = await h.edgehook(["stats", ...a!, ...b!, "--url", api.url, "--token", "t"]);
      expect(r.code, [...a!, ...b!].join(" ")).toBe(2);
      expect(r.stderr).toMatch(/option '--[a-z-]+( <[a-z]+>)?' cannot be used with option '--[a-z-]+( <[a-z]+>)?'/);
    }
    expect(api.seen).toEqual([]);
  });

  it("--webhooks is sent as given, each uid trimmed, so the API's refusal of an empty entry is shown rather than the others' counts", async () => {
    const said = "entry 1 of 2 is empty (two commas together, or one at either end)";
    const message = `Invalid query: webhookUids.0: ${said}.`;
    const refusal = new Status(400, { error: { code: "invalid_request", message, details: { issues: [{ path: "webhookUids.0", message: said }] } } });
    const api = await fakeApi({ routes: { "GET /v1/stats": (q: URLSearchParams) => (q.get("webhookUids")?.split(",").includes("") ? refusal : stats) } });
    const h = cliHome();
    const conn = ["--url", api.url, "--token", "t"];
    const r = await h.edgehook(["stats", "--webhooks", ",wh_1", ...conn]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(message);
    expect(Object.fromEntries(new URLSearchParams(api.seen.at(-1)!.query))).toEqual({ webhookUids: ",wh_1" });
    expect((await h.edgehook(["stats", "--webhooks", "wh_1, wh_2", ...conn])).code).toBe(0);
    expect(Object.fromEntries(new URLSearchParams(api.seen.at(-1)!.query))).toEqual({ webhookUids: "wh_1,wh_2" });
  });

  it("--webhooks naming one the token may not see shows the API's 404 and exits 1, not the others' counts", async () => {
    const refused = { error: { code: "not_found", message: 'No webhook "wh_typo" (deleted, or not one this token may see).', details: { webhookUids: ["wh_typo"] } } };
    const api = await fakeApi({ routes: { "GET /v1/stats": new Status(404, refused) } });
    const r = await cliHome().edgehook(["stats", "--webhooks", "wh_1,wh_typo", "--url", api.url, "--token", "t"]);
    expect(new URLSearchParams(api.seen[0]!.query).get("webhookUids")).toBe("wh_1,wh_typo");
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain('error 404 not_found: No webhook "wh_typo" (deleted, or not one this token may see).');
  });

  it("a token that sees no totals: says so rather than printing zeros", async () => {
    const api = await fakeApi({ routes: { "GET /v1/stats": { ...stats, deliveries: null, deadLetters: null, parkedDeadLetters: null, webhooksNextCursor: null } } });
    const r = await cliHome().edgehook(["stats", "--url", api.url, "--token", "t"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toContain("dead letters");
    expect(r.stdout).toMatch(/deliveries: +— /);
  });

  it("an answer with members missing (an older deployment's) is read as far as it goes: — where a member is missing, never a crash", async () => {
    const api = await fakeApi({ routes: { "GET /v1/stats": { events: {} }, "GET /v1/webhooks": { data: [{ uid: "wh_old" }], nextCursor: null }, "GET /v1/tokens": { data: [{ id: "tok_old" }], nextCursor: null } } });
    const h = cliHome();
    const conn = ["--url", api.url, "--token", "t"];
    const st = await h.edgehook(["stats", ...conn]);
    expect(st.stderr).toBe("");
    expect(st.code).toBe(0);
    expect(st.stdout).toMatch(/events: +— \(— in the last 24 h\)/);
    expect(st.stdout).toMatch(/deliveries: +—\n/);
    expect(st.stdout).not.toContain("undefined");
    for (const [args, id] of [[["webhooks", "list"], "wh_old"], [["tokens", "list"], "tok_old"]] as const) {
      const r = await h.edgehook([...args, ...conn]);
      expect(r.stderr, args[0]).toBe("");
      expect(r.code, args[0]).toBe(0);
      expect(r.stdout, args[0]).toMatch(new RegExp(`${id} .*—`));
    }
  });
  it("a member missing or of another type shows —, never a default that says what the answer did not (enabled, catch-all, 0 parked, NaN%, open)", async () => {
    const old = { uid: "wh_old", url: "https://a.test/", eventTypes: ["*"] };
    const api = await fakeApi({
      routes: {
        "GET /v1/stats": { ...stats, parkedDeadLetters: undefined, webhooks: [{ ...old, succeeded: 1, failed: 0, pending: 0, held: 0, lastFailureAt: null }] },
        "GET /v1/webhooks": { data: [old, { ...old, uid: "wh_odd", disabled: "no", organizationUid: 5, locationUid: null }], nextCursor: null },
        "GET /v1/sources": { data: [{ id: "src_old", provider: "stripe", name: "s", ingressUrl: "https://i.test/" }], nextCursor: null },
        "GET /v1/dead-letters": { data: [{ id: 1, queue: "q", eventId: "evt_1", deliveryId: null, attempts: 1, receivedAt: "r", reason: "x" }], nextCursor: null },
      },
    });
    const h = cliHome();
    const conn = ["--url", api.url, "--token", "t"];
    const st = await h.edgehook(["stats", ...conn]);
    expect(st.code, st.stderr).toBe(0);
    expect(st.stdout).toContain("dead letters: 3 open, — parked");
    expect(st.stdout).toMatch(/wh_old +https:\/\/a\.test\/ +— +1 +0 +0 +0 +— +—\n/);
    const wh = await h.edgehook(["webhooks", "list", ...conn]);
    expect(wh.code, wh.stderr).toBe(0);
    expect(wh.stdout).toMatch(/wh_old +https:\/\/a\.test\/ +\* +— +—\n/);
    expect(wh.stdout).toMatch(/wh_odd +https:\/\/a\.test\/ +\* +— +—\n/);
    const src = await h.edgehook(["sources", "list", ...conn]);
    expect(src.stdout).toMatch(/src_old +stripe +s +— +https:\/\/i\.test\//);
    const dl = await h.edgehook(["dead-letters", "list", ...conn]);
    expect(dl.stdout).toMatch(/evt_1 +— +1 +r +— +x/);
    for (const r of [st, wh, src, dl]) expect(r.stdout).not.toMatch(/enabled|catch-all|NaN|open\b(?!,)/);
  });
});
