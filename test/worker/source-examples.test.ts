// The source bodies docs/providers.md shows are ones POST /v1/sources accepts, once the
// placeholder secret ("…") is replaced: a user copies them as they are.
import { describe, expect, it } from "vitest";
import providersDoc from "../../docs/providers.md?raw";
import { ADMIN, apiCall, call, testEnv } from "./helpers";

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

  // The page once said only "1 to 5": a user picking a short secret met a 400 it did not explain.
  it("states the secret lengths POST /v1/sources takes", async () => {
    const stated = /`secrets`: 1 to 5, each of (\d+) to (\d+) characters/.exec(providersDoc);
    expect(stated, "providers.md states the secret lengths").not.toBeNull();
    const [min, max] = [Number(stated![1]), Number(stated![2])];
    for (const [length, status] of [[min - 1, 400], [min, 201], [max, 201], [max + 1, 400]] as const) {
      const res = await apiCall(testEnv().env, "POST", "/v1/sources", { name: "Lengths", provider: "podium", secrets: ["s".repeat(length)] });
      expect(res.status, `${length} characters: ${JSON.stringify(res.json)}`).toBe(status);
      if (status === 400) expect(res.json.error.code).toBe("invalid_request");
    }
  });
});
