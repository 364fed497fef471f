// The source bodies docs/providers.md shows are ones POST /v1/sources accepts, once the
// placeholder secret ("…") is replaced: a user copies them as they are.
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { SourceCreate } from "../../src/api/schemas";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const text = readFileSync(join(ROOT, "docs/providers.md"), "utf8");
/** Every JSON object in the page that names a provider: inline code or a curl `-d '…'`. */
const examples = [...text.matchAll(/(?:`|-d ')(\{[^`']*"provider":[^`']*\})(?:`|')/g)].map((m) => m[1]!);

describe("docs/providers.md source examples", () => {
  it("finds the examples", () => {
    expect(examples.length).toBeGreaterThanOrEqual(2);
  });

  it.each(examples)("POST /v1/sources accepts %s", (example) => {
    const body: unknown = JSON.parse(example.replaceAll('"…"', '"a-secret-of-your-own"'));
    const parsed = SourceCreate.safeParse(body);
    expect(parsed.error?.issues ?? []).toEqual([]);
  });
});
