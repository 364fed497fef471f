// The CLI's API client is typed from cli/src/openapi.json. This fails when the API's
// live document differs from it: run `npm run cli:api` to refresh both files.
import { describe, expect, it } from "vitest";
import { call } from "./helpers";

describe("the CLI's copy of the OpenAPI document", () => {
  it("is the document the API serves", async () => {
    const res = await call(new Request("https://edgehook.test/openapi.json"));
    const { servers: _servers, ...doc } = (await res.json()) as Record<string, unknown>;
    await expect(`${JSON.stringify(doc, null, 2)}\n`).toMatchFileSnapshot("../../cli/src/openapi.json");
  });
});
