// `notification-endpoints` and `alerts`: the API's alert routes from the CLI, a table for people
// (server text escaped), --json as the API answered, usage errors exit 2 before anything is sent.
import { afterEach, describe, expect, it } from "vitest";
import { cleanUp, cliHome, fakeApi, Status } from "./fake-api";

afterEach(cleanUp);

const CONTROL = /[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/;
const endpoint = (uid: string, extra: object = {}) => ({
  uid,
  url: `https://ops.example.com/${uid}`,
  alertTypes: ["webhook.failing", "webhook.disabled"],
  format: "standard-webhooks",
  disabled: false,
  createdAt: "2026-11-30T10:00:00.000Z",
  updatedAt: "2026-11-30T10:00:00.000Z",
  ...extra,
});
const conn = (url: string) => ["--url", url, "--token", "t"];

describe("notification-endpoints", () => {
  it("create sends the URL, alert types and format, and prints the secret this once", async () => {
    const created = { ...endpoint("ne_1", { format: "slack" }), secret: "whsec_c2VjcmV0LW9mLXRoZS1lbmRwb2ludA==" };
    const api = await fakeApi({ routes: { "POST /v1/notification-endpoints": new Status(201, created) } });
    const h = cliHome();
    const args = ["notification-endpoints", "create", "--endpoint", "https://ops.example.com/a", "--alerts", "webhook.failing, source.rejecting", "--format", "slack", ...conn(api.url)];
    const r = await h.edgehook(args);
    expect(r.code, r.stderr).toBe(0);
    expect(api.seen[0]).toMatchObject({ method: "POST", path: "/v1/notification-endpoints", body: { url: "https://ops.example.com/a", alertTypes: ["webhook.failing", "source.rejecting"], format: "slack" } });
    expect(r.stdout).toMatch(/ne_1\s+https:\/\/ops\.example\.com\/ne_1\s+webhook\.failing,webhook\.disabled\s+slack\s+enabled/);
    expect(r.stdout).toContain(`secret: ${created.secret}  (shown this once)`);
    expect(JSON.parse((await h.edgehook([...args, "--json"])).stdout)).toEqual(created);
  });

  it("list follows the pages to the end; get, update and delete call the endpoint's route", async () => {
    const rows = [endpoint("ne_1"), endpoint("ne_2", { disabled: true, url: "https://x.example/\x1b]52;c;ZXZpbA==\x07" })];
    const api = await fakeApi({
      routes: {
        "GET /v1/notification-endpoints": (q: URLSearchParams) => (q.get("cursor") ? { data: [rows[1]], nextCursor: null } : { data: [rows[0]], nextCursor: "c1" }),
        "GET /v1/notification-endpoints/ne_1": rows[0],
        "PATCH /v1/notification-endpoints/ne_1": (_q: URLSearchParams, body: object) => ({ ...rows[0], ...body }),
        "DELETE /v1/notification-endpoints/ne_2": new Status(204),
      },
    });
    const h = cliHome();
    const listed = await h.edgehook(["notification-endpoints", "list", ...conn(api.url)]);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toContain("ne_1");
    expect(listed.stdout).toMatch(/ne_2 .*disabled/);
    expect(listed.stdout).toContain("https://x.example/\\x1b]52;c;ZXZpbA==\\x07");
    expect(listed.stdout).not.toMatch(CONTROL);
    expect(JSON.parse((await h.edgehook(["notification-endpoints", "list", "--json", ...conn(api.url)])).stdout)).toEqual({ data: rows, nextCursor: null });

    expect((await h.edgehook(["notification-endpoints", "get", "ne_1", ...conn(api.url)])).stdout).toContain("https://ops.example.com/ne_1");
    const updated = await h.edgehook(["notification-endpoints", "update", "ne_1", "--alerts", "ingest.dead_lettered", "--format", "standard-webhooks", "--disable", "--json", ...conn(api.url)]);
    expect(updated.code, updated.stderr).toBe(0);
    expect(api.seen.at(-1)!.body).toEqual({ alertTypes: ["ingest.dead_lettered"], format: "standard-webhooks", disabled: true });
    expect(JSON.parse(updated.stdout)).toMatchObject({ uid: "ne_1", disabled: true, alertTypes: ["ingest.dead_lettered"] });
    const deleted = await h.edgehook(["notification-endpoints", "delete", "ne_2", ...conn(api.url)]);
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(deleted.stdout).toBe("deleted ne_2\n");
    expect(JSON.parse((await h.edgehook(["notification-endpoints", "delete", "ne_2", "--json", ...conn(api.url)])).stdout)).toEqual({ deleted: "ne_2" });
  });

  it("list and get print how an endpoint's alerts are going: its health's state, failures in a row, alerts waiting and last failure", async () => {
    const health = (state: string, failures: number, backlog: { held: number; pending: number }, lastFailure: object | null) => ({
      state,
      consecutiveFailures: failures,
      failingSince: failures > 0 ? "2026-11-30T10:01:00.000Z" : null,
      successRate: { lastHour: 0, lastDay: 0 },
      lastSuccessAt: null,
      lastFailure,
      backlog,
    });
    const failing = endpoint("ne_1", { health: health("failing", 17, { held: 0, pending: 198 }, { at: "2026-11-30T10:21:00.000Z", error: "HTTP 410" }) });
    const fine = endpoint("ne_2", { health: health("healthy", 0, { held: 0, pending: 0 }, null) });
    const api = await fakeApi({ routes: { "GET /v1/notification-endpoints": { data: [failing, fine], nextCursor: null }, "GET /v1/notification-endpoints/ne_1": failing } });
    const h = cliHome();
    const listed = await h.edgehook(["notification-endpoints", "list", ...conn(api.url)]);
    expect(listed.code, listed.stderr).toBe(0);
    const lines = listed.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/STATE\s+FAILED\s+WAITING\s+LAST FAILURE$/);
    expect(lines[1]).toMatch(/^ne_1 .*standard-webhooks\s+failing\s+17\s+198\s+2026-11-30T10:21:00\.000Z HTTP 410$/);
    expect(lines[2]).toMatch(/^ne_2 .*standard-webhooks\s+healthy\s+0\s+0\s+—$/);
    const got = await h.edgehook(["notification-endpoints", "get", "ne_1", ...conn(api.url)]);
    expect(got.stdout).toMatch(/failing\s+17\s+198\s+2026-11-30T10:21:00\.000Z HTTP 410/);
  });

  it("an endpoint whose answer lacks `disabled` and a health (an older deployment's) shows its STATE as —, not enabled", async () => {
    const { disabled: _, ...older } = endpoint("ne_old");
    const api = await fakeApi({ routes: { "GET /v1/notification-endpoints": { data: [older], nextCursor: null }, "GET /v1/notification-endpoints/ne_old": older } });
    const h = cliHome();
    for (const args of [["list"], ["get", "ne_old"]]) {
      const r = await h.edgehook(["notification-endpoints", ...args, ...conn(api.url)]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^ne_old .*standard-webhooks\s+—/m);
      expect(r.stdout).not.toContain("enabled");
    }
  });

  it("an unknown alert type, --alerts naming none, an empty update or --enable with --disable exit 2 before anything is sent; an API refusal exits 1 in one line", async () => {
    const api = await fakeApi({
      routes: { "PATCH /v1/notification-endpoints/ne_1": new Status(409, { error: { code: "conflict", message: "Changed meanwhile.", details: { reason: "changed_meanwhile" } } }) },
    });
    const h = cliHome();
    const unknown = await h.edgehook(["notification-endpoints", "create", "--endpoint", "https://o.example", "--alerts", "webhook.failing,webhook.exploded", ...conn(api.url)]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("Unknown alert type webhook.exploded");
    for (const args of [["update", "ne_1"], ["update", "ne_1", "--enable", "--disable"], ["create", "--alerts", "webhook.failing"], ["create", "--endpoint", "https://o.example", "--alerts", " , "], ["update", "ne_1", "--alerts", ","]]) {
      expect((await h.edgehook(["notification-endpoints", ...args, ...conn(api.url)])).code, args.join(" ")).toBe(2);
    }
    expect(api.seen).toEqual([]);
    const refused = await h.edgehook(["notification-endpoints", "update", "ne_1", "--enable", ...conn(api.url)]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe("error 409 conflict (changed_meanwhile): Changed meanwhile.\n");
  });
});

describe("alerts list", () => {
  it("shows a page of episodes, newest first as the API answers, with the next page's cursor; --limit and --cursor are passed on", async () => {
    const alert = {
      id: "alr_2",
      type: "webhook.failing",
      subject: "wh_1",
      state: "open",
      openedAt: "2026-11-30T10:00:00.000Z",
      lastAt: "2026-11-30T10:05:00.000Z",
      closedAt: null,
      count: 4,
      data: {},
      message: "wh_1 is failing: 503\u202e",
    };
    const closed = { ...alert, id: "alr_1", state: "closed", closedAt: "2026-11-30T09:00:00.000Z", message: "recovered" };
    const answer = { data: [alert, closed], nextCursor: "c2" };
    const api = await fakeApi({ routes: { "GET /v1/alerts": answer } });
    const h = cliHome();
    const r = await h.edgehook(["alerts", "list", "--limit", "2", "--cursor", "c1", ...conn(api.url)]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines[1]).toMatch(/^alr_2\s+webhook\.failing\s+wh_1\s+open\s+4\s/);
    expect(lines[1]).toContain("wh_1 is failing: 503\\u202e");
    expect(lines[2]).toMatch(/^alr_1 .*closed 2026-11-30T09:00:00\.000Z/);
    expect(r.stdout).not.toMatch(CONTROL);
    expect(r.stderr).toContain(`more: edgehook alerts list --limit 2 --url ${api.url} --token '<token>' --cursor c2\n`);
    expect(Object.fromEntries(new URLSearchParams(api.seen[0]!.query))).toEqual({ limit: "2", cursor: "c1" });
    expect(JSON.parse((await h.edgehook(["alerts", "list", "--json", ...conn(api.url)])).stdout)).toEqual(answer);
  });
});
