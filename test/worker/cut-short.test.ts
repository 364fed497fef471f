// The one cut of a text to a length (domain/cut-short.ts): a filter's reasons and excerpts, the
// dashboard's shortened names. Never half a character (a surrogate pair, a ZWJ sequence, a letter and
// its accent) or half a JSON escape, and no ellipsis on a text that fits.
import { describe, expect, it } from "vitest";
import { cutShort, jsonPrefix, prefix } from "../../src/domain/cut-short";

describe("cutShort", () => {
  it("keeps a text that fits whole, without an ellipsis, by either count", () => {
    expect(cutShort("abc", 3, "units")).toBe("abc");
    expect(cutShort("", 1, "points")).toBe("");
    // Four units, two code points: over 3 units, within 3 code points.
    expect(cutShort("😀😀", 3, "points")).toBe("😀😀");
    expect(cutShort("😀😀", 3, "units")).toBe("😀…");
  });

  it("cuts to max - 1 and an ellipsis, one unit fewer where the cut would split a pair", () => {
    expect(cutShort("abcdef", 4, "units")).toBe("abc…");
    // The 3rd unit, the last of the 3 kept, is the high half of the emoji: cut before it, no lone surrogate.
    const cut = cutShort("ab😀😀cd", 4, "units");
    expect(cut).toBe("ab…");
    expect(cut.isWellFormed()).toBe(true);
    expect(cutShort(`a${"😀".repeat(5)}`, 4, "points")).toBe("a😀😀…");
  });

  it("prefix counts as [...text] does: a lone surrogate is one code point", () => {
    expect(prefix("\ud83dx😀y", 3, "points")).toBe("\ud83dx😀");
    expect(prefix("x😀", 2, "units")).toBe("x");
    expect(prefix("x😀", 3, "units")).toBe("x😀");
  });
});

describe("a cut at a whole character (grapheme cluster)", () => {
  const family = "👨‍👩‍👧"; // man, ZWJ, woman, ZWJ, girl: 5 code points, 8 units, one character

  it("never keeps part of a ZWJ sequence or a letter without its combining accent", () => {
    expect(prefix(`a${family}b`, 4, "units")).toBe("a");
    expect(prefix(`a${family}b`, 9, "units")).toBe(`a${family}`);
    expect(cutShort(`ab${family}`, 4, "points")).toBe("ab…");
    // "é" written as e and U+0301: 4 code points keep "cafe", which is another word.
    expect(cutShort("cafe\u0301s", 5, "points")).toBe("caf…");
    expect(cutShort("cafe\u0301", 5, "points")).toBe("cafe\u0301");
  });

  it("cuts a long text, segmenting only as far as the cut", () => {
    expect(prefix(`${"a".repeat(1_000_000)}${family}`, 3, "points")).toBe("aaa");
    expect(prefix(`${"a".repeat(1_000_000)}${family}`, 1_000_003, "units")).toBe("a".repeat(1_000_000));
  });
});

describe("jsonPrefix", () => {
  it("never keeps half an escape (\\n, \\uXXXX, \\\" or \\\\), counted from the text's start", () => {
    const json = JSON.stringify("ab\n\u0001\"\\n"); // "ab\n\u0001\"\\n"
    expect(jsonPrefix(json, 4)).toBe('"ab');
    expect(jsonPrefix(json, 5)).toBe('"ab\\n');
    expect(jsonPrefix(json, 10)).toBe('"ab\\n');
    expect(jsonPrefix(json, 11)).toBe('"ab\\n\\u0001');
    expect(jsonPrefix(json, 12)).toBe('"ab\\n\\u0001');
    expect(jsonPrefix(json, 13)).toBe('"ab\\n\\u0001\\"');
    // `\\` is one escape, and the `n` after it a letter, not the end of a `\n`.
    expect(jsonPrefix(json, 14)).toBe('"ab\\n\\u0001\\"');
    expect(jsonPrefix(json, 15)).toBe('"ab\\n\\u0001\\"\\\\');
    expect(jsonPrefix(json, 16)).toBe('"ab\\n\\u0001\\"\\\\n');
    expect(jsonPrefix(json, 99)).toBe(json);
  });

  it("never keeps half a character either", () => {
    expect(jsonPrefix(JSON.stringify(["😀", "👨‍👩‍👧"]), 9)).toBe('["😀","');
  });
});
