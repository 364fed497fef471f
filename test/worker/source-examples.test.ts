// The source bodies docs/providers.md shows are ones POST /v1/sources accepts, once the
// placeholder secret ("…") is replaced: a user copies them as they are.
import { describe, expect, it } from "vitest";
import providersDoc from "../../docs/providers.md?raw";
import { ADMIN, call } from "./helpers";

/** Every JSON object in the page that names a provider: inline code or a curl `-d '…'`. */
const examples = [...providersDoc.matchAll(/(?:`|-d ')(\{[^`']*"provider":[^`']*\})(?:`|')/g)].map((m) => m[1]!);

describe("docs/providers.md source examples", () => {
  it("finds the examples", () => {
    expect(examples.length).toBeGreaterThanOrEqual(2);
  });

  it.each(examples)("POST /v1/sources accepts %s", async (example) => {
    const body = example.replaceAll('"…"', '"a-secret-of-your-own-32-characters"');
    const res = await call(
      new Request("https://edgehook.test/v1/sources", { method: "POST", headers: { ...ADMIN, "content-type": "application/json" }, body }),
    );
    expect(res.status, await res.clone().text()).toBe(201);
  });
});
