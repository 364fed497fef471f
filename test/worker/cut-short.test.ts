// The one cut of a text to a length (domain/cut-short.ts): a filter's reasons and excerpts, the
// dashboard's shortened names. Never half a surrogate pair, and no ellipsis on a text that fits.
import { describe, expect, it } from "vitest";
import { cutShort, prefix } from "../../src/domain/cut-short";

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
