// `sources list` and `tokens list` show every row: the API answers a page a call, and the
// CLI follows nextCursor to the end.
import { afterEach, describe, expect, it } from "vitest";
import { cleanUp, cliHome, fakeApi } from "./fake-api";

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
