// `sources list` and `tokens list` show every row: the API answers a page a call, and the
// CLI follows nextCursor to the end. `events show` shows the page of deliveries it was given and
// says how to list the rest.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { apiEvent, cleanUp, cliHome, fakeApi, Status } from "./fake-api";

afterEach(cleanUp);

/** A list of `rows` served `size` a page, its cursor the index of the next page's first row. */
const paged = (rows: unknown[], size: number) => (query: URLSearchParams) => {
  const from = Number(query.get("cursor") ?? 0);
  const to = from + size;
  return { data: rows.slice(from, to), nextCursor: to < rows.length ? String(to) : null };
};

const source = (id: string) => ({ id, name: `name-${id}`, provider: "podium", disabled: false, ingressUrl: `https://e.test/webhooks/${id}` });
const token = (id: string) => ({ id, name: `name-${id}`, scopes: ["events:read"], organizationUids: null, locationUids: null });

describe("lists the CLI shows whole", () => {
  for (const [command, path, row] of [
    ["sources", "/v1/sources", source],
    ["tokens", "/v1/tokens", token],
  ] as const) {
    it(`${command} list follows nextCursor over every page`, async () => {
      const rows = Array.from({ length: 5 }, (_, i) => row(`${command}-${i}`));
      const api = await fakeApi({ routes: { [`GET ${path}`]: paged(rows, 2) } });
      const h = cliHome();
      const args = [command, "list", "--url", api.url, "--token", "t"];

      const table = await h.edgehook(args);
      expect(table.code, table.stderr).toBe(0);
      for (const r of rows) expect(table.stdout).toContain(r.id);
      expect(api.seen.map((s) => new URLSearchParams(s.query).get("cursor"))).toEqual([null, "2", "4"]);

      const json = await h.edgehook([...args, "--json"]);
      expect(JSON.parse(json.stdout)).toEqual({ data: rows, nextCursor: null });
    });
  }
});

describe("events show", () => {
  const delivery = (id: string) => ({ id, webhookUid: "wh_1", status: "succeeded", attempts: [] });
  const event = apiEvent;

  it("says where the rest of an event's deliveries are when the API answers only their first page", async () => {
    const api = await fakeApi({
      routes: {
        "GET /v1/events/evt_1": { ...event, deliveries: [delivery("dlv_new")], deliveriesNextCursor: "c2" },
        "GET /v1/events/evt_2": { ...event, id: "evt_2", deliveries: [delivery("dlv_only")], deliveriesNextCursor: null },
      },
    });
    const h = cliHome();
    const more = await h.edgehook(["events", "show", "evt_1", "--url", api.url, "--token", "t"]);
    expect(more.code, more.stderr).toBe(0);
    expect(more.stdout).toContain("dlv_new");
    expect(more.stderr).toContain(`more deliveries: edgehook deliveries list --event evt_1 --url ${api.url} --token '<token>' --cursor c2\n`);
    const all = await h.edgehook(["events", "show", "evt_2", "--url", api.url, "--token", "t"]);
    expect(all.code, all.stderr).toBe(0);
    expect(all.stdout).toContain("dlv_only");
    expect(all.stderr).not.toContain("more deliveries");
    // The command it names runs: the list by event, from that cursor.
    const api2 = await fakeApi({ routes: { "GET /v1/deliveries": { data: [], nextCursor: null } } });
    expect((await h.edgehook(["deliveries", "list", "--event", "evt_1", "--cursor", "c2", "--url", api2.url, "--token", "t"])).code).toBe(0);
    expect(new URLSearchParams(api2.seen[0]!.query).get("eventId")).toBe("evt_1");
    expect(new URLSearchParams(api2.seen[0]!.query).get("cursor")).toBe("c2");
  });
});

describe("events list --search", () => {
  it("sends the search as the API's q, with the other filters", async () => {
    const api = await fakeApi({ routes: { "GET /v1/events": { data: [], nextCursor: "c2" } } });
    const h = cliHome();
    const r = await h.edgehook(["events", "list", "--search", "data.conversation.uid=c-1", "--since", "2026-11-01T00:00:00Z", "--url", api.url, "--token", "t"]);
    expect(r.code, r.stderr).toBe(0);
    // A search page may be empty and still have more further back: the next page's command is
    // said whole, its filters with the cursor (the API refuses a cursor with others), the token a placeholder.
    const more = `edgehook events list --search data.conversation.uid=c-1 --since 2026-11-01T00:00:00Z --url ${api.url} --token '<token>' --cursor c2`;
    expect(r.stderr).toContain(`more: ${more}\n`);
    expect(Object.fromEntries(new URLSearchParams(api.seen[0]!.query))).toEqual({ q: "data.conversation.uid=c-1", since: "2026-11-01T00:00:00Z" });
    // As printed, the token put in its place, it runs and asks for the next page with the same filters.
    expect((await h.edgehook(more.replace("'<token>'", "t").split(" ").slice(1))).code).toBe(0);
    expect(Object.fromEntries(new URLSearchParams(api.seen[1]!.query))).toEqual({ q: "data.conversation.uid=c-1", since: "2026-11-01T00:00:00Z", cursor: "c2" });
  });

  it("quotes what a shell would split in the next page's command, gives a --token= a placeholder, and leaves out the old cursor", async () => {
    const api = await fakeApi({ routes: { "GET /v1/events": { data: [], nextCursor: "c3" } } });
    const h = cliHome();
    const r = await h.edgehook(["events", "list", "--search", "data.text='hi there'", "--cursor=c2", `--url=${api.url}`, "--token=secret-t"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`more: edgehook events list --search 'data.text='\\''hi there'\\''' --url=${api.url} --token '<token>' --cursor c3\n`);
    expect(r.stderr).not.toContain("secret-t");
  });
});

describe("deliveries list --webhook", () => {
  it("shows the API's 404 for a webhook the token may not see, or none, and exits 1 (no empty table)", async () => {
    const refused = { error: { code: "not_found", message: 'No webhook "wh_typo" (deleted, or not one this token may see).' } };
    const api = await fakeApi({ routes: { "GET /v1/deliveries": new Status(404, refused) } });
    const r = await cliHome().edgehook(["deliveries", "list", "--webhook", "wh_typo", "--url", api.url, "--token", "t"]);
    expect(new URLSearchParams(api.seen[0]!.query).get("webhookUid")).toBe("wh_typo");
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe('error 404 not_found: No webhook "wh_typo" (deleted, or not one this token may see).\n');
  });
});

describe("events list --source", () => {
  it("shows the API's 404 for a source that is none, and exits 1 (no empty table)", async () => {
    const refused = { error: { code: "not_found", message: 'No source "podum" (GET /v1/sources lists those this token may see).' } };
    const api = await fakeApi({ routes: { "GET /v1/events": new Status(404, refused) } });
    const r = await cliHome().edgehook(["events", "list", "--source", "podum", "--url", api.url, "--token", "t"]);
    expect(new URLSearchParams(api.seen[0]!.query).get("sourceId")).toBe("podum");
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe('error 404 not_found: No source "podum" (GET /v1/sources lists those this token may see).\n');
  });
});

describe("the next page's command keeps the view it was listed with", () => {
  // Cursors are bound to the filters, not the token: a hint without --token would page on with the
  // token the CLI finds otherwise (here .dev.vars' admin token), another tenant's events among them.
  for (const [args, path, filter] of [
    [["webhooks", "list"], "/v1/webhooks", {}],
    [["events", "list", "--source", "src_1"], "/v1/events", { sourceId: "src_1" }],
    [["deliveries", "list", "--webhook", "wh_1"], "/v1/deliveries", { webhookUid: "wh_1" }],
    [["dead-letters", "list"], "/v1/dead-letters", { withMessage: "false" }],
    [["alerts", "list"], "/v1/alerts", {}],
  ] as const) {
    it(`${args.join(" ")} --token: the hint gives --token a placeholder, never the token, and runs with it filled`, async () => {
      const api = await fakeApi({ routes: { [`GET ${path}`]: { data: [], nextCursor: "c2" } } });
      const h = cliHome();
      writeFileSync(join(h.dir, ".dev.vars"), "ADMIN_TOKEN=admin-secret\n");
      const env = { EDGEHOOK_URL: api.url };
      const r = await h.edgehook([...args, "--limit", "1", "--token", "scoped-secret"], env);
      expect(r.code, r.stderr).toBe(0);
      const more = `edgehook ${args.join(" ")} --limit 1 --token '<token>' --cursor c2`;
      expect(r.stderr).toContain(`more: ${more}\n`);
      expect(r.stdout + r.stderr).not.toContain("scoped-secret");

      // Run as printed, the placeholder is refused (exit 2), not sent, nor another token instead.
      const asPrinted = await h.edgehook(more.split(" ").slice(1).map((w) => (w === "'<token>'" ? "<token>" : w)), env);
      expect(asPrinted.code).toBe(2);
      expect(asPrinted.stderr).toContain("The API token given with --token is the placeholder <token>");
      expect(api.seen).toHaveLength(1);

      // The token put in its place: the next page, as the same token, with the same filters.
      const next = await h.edgehook(more.replace("'<token>'", "scoped-secret").split(" ").slice(1), env);
      expect(next.code, next.stderr).toBe(0);
      expect(api.seen.map((s) => s.authorization)).toEqual(["Bearer scoped-secret", "Bearer scoped-secret"]);
      expect(Object.fromEntries(new URLSearchParams(api.seen[1]!.query))).toEqual({ ...filter, limit: "1", cursor: "c2" });
    });
  }

  it("events show's more deliveries names the --url, --config and --token (a placeholder) it was given", async () => {
    const route = { ...apiEvent, deliveries: [], deliveriesNextCursor: "c2" };
    const api = await fakeApi({ routes: { "GET /v1/events/evt_1": route } });
    const h = cliHome();
    const r = await h.edgehook(["events", "show", "evt_1", "--config", h.config, "--url", api.url, "--token", "scoped-secret"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`more deliveries: edgehook deliveries list --event evt_1 --url ${api.url} --config ${h.config} --token '<token>' --cursor c2\n`);
    expect(r.stdout + r.stderr).not.toContain("scoped-secret");
    // Given by the environment, they are not repeated: the same environment gives them again.
    const fromEnv = await h.edgehook(["events", "show", "evt_1"], { EDGEHOOK_URL: api.url, EDGEHOOK_TOKEN: "scoped-secret" });
    expect(fromEnv.stderr).toContain("more deliveries: edgehook deliveries list --event evt_1 --cursor c2\n");
    expect(fromEnv.stdout + fromEnv.stderr).not.toContain("scoped-secret");
  });
});
