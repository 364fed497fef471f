// The shared guards keep the two meanings their callers had: indexable (any non-null
// object, arrays included: a dot path reads an array's element by index) and record
// (not an array); a plain object is a record JSON.parse could have made.
import { describe, expect, it } from "vitest";
import { isIndexable, isPlainObject, isRecord, isString, isStringArray, recordOf } from "../../src/domain/guards";
import { isHmacConfig } from "../../src/domain/hmac-config";

describe("object guards", () => {
  it("tell arrays, records and plain objects apart", () => {
    const cases: [unknown, boolean, boolean, boolean][] = [
      // value, indexable, record, plain object
      [{ a: 1 }, true, true, true],
      [Object.create(null), true, true, true],
      [[1], true, false, false],
      [new Date(0), true, true, false],
      [new Map(), true, true, false],
      [null, false, false, false],
      ["{}", false, false, false],
      [undefined, false, false, false],
    ];
    for (const [i, [v, indexable, record, plain]] of cases.entries()) {
      expect([isIndexable(v), isRecord(v), isPlainObject(v)], `case ${i}`).toEqual([indexable, record, plain]);
    }
  });

  it("check every element or value", () => {
    expect(isStringArray(["a", "b"])).toBe(true);
    expect(isStringArray(["a", 1])).toBe(false);
    expect(isStringArray({ 0: "a" })).toBe(false);
    expect(recordOf(isString)({ a: "x" })).toBe(true);
    expect(recordOf(isString)({ a: 1 })).toBe(false);
    expect(recordOf(isString)(["x"])).toBe(false);
  });
});

describe("the HMAC configuration guard", () => {
  const hmac = { header: "x-sig", algorithm: "SHA-256", encoding: "hex", prefix: "", timestampHeader: null, typePath: null, dedupePath: null };

  it("takes what the stored shape holds, and a key it does not know (as the hand-written guard did)", () => {
    expect(isHmacConfig(hmac)).toBe(true);
    expect(isHmacConfig({ ...hmac, timestampHeader: "x-ts", typePath: "type", dedupePath: "id", extra: 1 })).toBe(true);
  });

  it("refuses a missing field, an unknown algorithm or a field of another type, without filling defaults", () => {
    const { prefix: _, ...noPrefix } = hmac;
    for (const bad of [noPrefix, { ...hmac, algorithm: "MD5" }, { ...hmac, typePath: 7 }, { ...hmac, timestampHeader: undefined }, [hmac]]) {
      expect(isHmacConfig(bad), JSON.stringify(bad)).toBe(false);
    }
  });
});
