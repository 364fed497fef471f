// The one cut of a text to a length (domain/cut-short.ts): a filter's reasons and excerpts, the
// dashboard's shortened names. Never half a character (a surrogate pair, a ZWJ sequence, a letter and
// its accent) or half a JSON escape, and no ellipsis on a text that fits.
import { describe, expect, it } from "vitest";
import { cutShort, jsonPrefix } from "../../src/domain/cut-short";

describe("cutShort", () => {
  it("keeps a text that fits whole, without an ellipsis, counting code points", () => {
    expect(cutShort("abc", 3)).toBe("abc");
    expect(cutShort("", 1)).toBe("");
    // Four units, two code points: within 3 code points.
    expect(cutShort("😀😀", 3)).toBe("😀😀");
  });

  it("cuts to max - 1 code points and an ellipsis, counting a lone surrogate as one", () => {
    expect(cutShort("abcdef", 4)).toBe("abc…");
    expect(cutShort(`a${"😀".repeat(5)}`, 4)).toBe("a😀😀…");
    const cut = cutShort("\ud83dx😀yz", 4);
    expect(cut).toBe("\ud83dx😀…");
  });
});

describe("a cut at a whole character (grapheme cluster)", () => {
  const family = "👨‍👩‍👧"; // man, ZWJ, woman, ZWJ, girl: 5 code points, 8 units, one character

  it("never keeps part of a ZWJ sequence or a letter without its combining accent", () => {
    expect(cutShort(`ab${family}`, 4)).toBe("ab…");
    expect(cutShort(`a${family}bc`, 7)).toBe(`a${family}…`);
    // "é" written as e and U+0301: 4 code points keep "cafe", which is another word.
    expect(cutShort("cafe\u0301s", 5)).toBe("caf…");
    expect(cutShort("cafe\u0301", 5)).toBe("cafe\u0301");
  });

  it("cuts a long text, segmenting only as far as the cut", () => {
    expect(cutShort(`${"a".repeat(1_000_000)}${family}`, 4)).toBe("aaa…");
    expect(cutShort(`${"a".repeat(1_000_000)}${family}`, 1_000_004)).toBe(`${"a".repeat(1_000_000)}…`);
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
