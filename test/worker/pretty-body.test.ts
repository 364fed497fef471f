import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { indentJson, PRETTY_MAX_DEPTH, prettyBody } from "../../src/dashboard/pretty-body";

describe("the event page's body", () => {
  it("indents JSON exactly as JSON.stringify does, whatever whitespace it came with", () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), fc.constantFrom(0, 1, 4, "\t"), (value, space) => {
        const expected = JSON.stringify(value, null, 2);
        expect(indentJson(JSON.stringify(value, null, space), 100, Infinity)).toBe(expected);
      }),
      { numRuns: 300 },
    );
    expect(indentJson('{ "a" : "[[{\\"[" , "b":[ ] ,"c":{ \n}}', 100, Infinity)).toBe('{\n  "a": "[[{\\"[",\n  "b": [],\n  "c": {}\n}');
  });

  it("keeps every number and escape as received (parsing would round integers beyond 2^53)", () => {
    const body = '{"id":12345678901234567891,"amount":1.10,"e":1E+2,"name":"caf\\u00e9","n":-0}';
    expect(prettyBody(body)).toBe('{\n  "id": 12345678901234567891,\n  "amount": 1.10,\n  "e": 1E+2,\n  "name": "caf\\u00e9",\n  "n": -0\n}');
  });

  it("indents small, shallow JSON and leaves anything else as received", () => {
    expect(prettyBody('{"a":[1,2]}')).toBe('{\n  "a": [\n    1,\n    2\n  ]\n}');
    expect(prettyBody("not json")).toBe("not json");
    expect(prettyBody('{"a":1')).toBe('{"a":1');
    const tooDeep = `${"[".repeat(PRETTY_MAX_DEPTH + 1)}1${"]".repeat(PRETTY_MAX_DEPTH + 1)}`;
    expect(prettyBody(tooDeep)).toBe(tooDeep);
    const deepEnough = `${"[".repeat(PRETTY_MAX_DEPTH)}1${"]".repeat(PRETTY_MAX_DEPTH)}`;
    expect(prettyBody(deepEnough)).toBe(JSON.stringify(JSON.parse(deepEnough), null, 2));
    // 40 KB, 60 deep, thousands of members: indented it would be about 3 MB.
    const wide = `${"[".repeat(60)}${Array(20_000).fill("1").join(",")}${"]".repeat(60)}`;
    expect(prettyBody(wide)).toBe(wide);
    const large = JSON.stringify({ pad: "x".repeat(70_000) });
    expect(prettyBody(large)).toBe(large);
  });
});
