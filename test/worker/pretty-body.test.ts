import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { jsonShape, PRETTY_MAX_DEPTH, prettyBody } from "../../src/dashboard/pretty-body";

describe("the event page's body", () => {
  it("measures depth and indentation exactly as JSON.stringify indents, or more (empty containers)", () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), (value) => {
        const compact = JSON.stringify(value);
        const shape = jsonShape(compact);
        expect(shape.added).toBeGreaterThanOrEqual(JSON.stringify(value, null, 2).length - compact.length);
        expect(shape.depth).toBe(depthOf(value));
      }),
      { numRuns: 300 },
    );
    expect(jsonShape('{"a":"[[{\\"[","b":[1,[2]]}').depth).toBe(3);
  });

  it("indents small, shallow JSON and leaves anything else as received", () => {
    expect(prettyBody('{"a":[1,2]}')).toBe('{\n  "a": [\n    1,\n    2\n  ]\n}');
    expect(prettyBody("not json")).toBe("not json");
    const tooDeep = `${"[".repeat(PRETTY_MAX_DEPTH + 1)}${"]".repeat(PRETTY_MAX_DEPTH + 1)}`;
    expect(prettyBody(tooDeep)).toBe(tooDeep);
    // 40 KB, 60 deep, thousands of members: indented it would be about 3 MB.
    const wide = `${"[".repeat(60)}${Array(20_000).fill("1").join(",")}${"]".repeat(60)}`;
    expect(prettyBody(wide)).toBe(wide);
    const large = JSON.stringify({ pad: "x".repeat(70_000) });
    expect(prettyBody(large)).toBe(large);
  });
});

function depthOf(v: unknown): number {
  if (Array.isArray(v)) return 1 + Math.max(0, ...v.map(depthOf));
  if (v !== null && typeof v === "object") return 1 + Math.max(0, ...Object.values(v).map(depthOf));
  return 0;
}
