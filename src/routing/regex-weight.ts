/**
 * What matching a compiled RE2 program costs a character, weighed by its instructions' kinds, and
 * matching on the engines those weights were measured on: a transformation's regular expressions
 * (pipeline/linear-regexp.ts, charged in TRANSFORM_LIMITS.regexWorkPerStep) and a content filter's
 * `$regex` (filter.ts, charged in FILTER_LIMITS.regexWork) are weighed alike.
 */
import type { RE2JS } from "re2js";
import { isIndexable } from "../domain/guards";
import { regexShape, regexSizeBound } from "../domain/regex-size";

/**
 * re2js builds a one-pass program when compiling a pattern anchored at its start (`^`, `\A`), in
 * time growing with the square of its alternatives times their classes' ranges (240 alternatives of
 * 28 characters, `^(?:([…])|…)*$`: 6.6 s in node, 4.6–6.1 s in workerd at each attempt, for a bound
 * of 965), which the bound does not count, and holding each class's ranges in each instruction
 * (`^\pL{990}` ×8, a filter's: ~1 s and 65 MB). After this the program starts elsewhere and gets none
 * (50 ms); matching runs on the other engines, charged by what they read. Three instructions more,
 * and a search from past the text's start reads on where RE2 stopped at once: both charged.
 */
const NO_ONE_PASS = "(?:\\b|\\B)";
/** What NO_ONE_PASS's wrapper adds to a program: not the pattern's, so not counted against a filter's limit. */
export const NO_ONE_PASS_INSTRUCTIONS = 3;

/**
 * A pattern (RE2 syntax) as compiled here: one that may begin the text held after an empty
 * alternative that always matches (NO_ONE_PASS), else as written (one RE2 refuses is compiled as
 * written, to be refused as written); and the most RE2 instructions it compiles to, read from its
 * text (regexSizeBound). A transformation's regular expressions and a filter's `$regex` alike.
 */
export function withoutOnePass(written: string, flags: string): { pattern: string; bound: number } {
  const shape = regexShape(written, flags);
  if (!shape.beginsText || !shape.balanced) return { pattern: written, bound: shape.size };
  const pattern = `${NO_ONE_PASS}(?:${written})`;
  return { pattern, bound: regexSizeBound(pattern, flags) };
}

/**
 * What a character of matching costs at each kind of RE2 instruction (programWeight), a thread
 * alive at it at each character, in node over 4,000 characters: 16–24 ns at a plain one (`.`, a
 * rune, a rune folded within ASCII, a class of one range; alternatives and assertions less), ~22
 * at a class of 2–4 ranges (`[^,]`, `[a-z0-9_.-]`: 27 weighed 2, the dearest then), ~33 at a class
 * searched by halves (`\pL`), ~39 at a rune folded to its case whose orbit leaves ASCII (`(?i)k`
 * over Kelvin signs).
 */
const REGEX_INSTRUCTION_WEIGHTS = {
  /** An instruction of any other kind: a rune, a class of one range, `.`, an alternative, an empty-width assertion, a capture. */
  plain: 2,
  /** A class of 2 to 4 ranges (`[a-z0-9_.-]`, `[^,]`): re2js goes through them one by one. */
  smallClass: 3,
  /** A class of more than 4 ranges (`\pL`, `[\w.-]`): re2js searches its ranges by halves. */
  largeClass: 5,
  /**
   * A rune matched with its case folded whose orbit leaves ASCII (`(?i)k`: k, K, U+212A; `(?i)s`;
   * `(?i)ι`): re2js walks it in a map at each character. One within ASCII (`(?i)a`) is plain: it is
   * compared directly with an ASCII character (`(?i)a{300}x` ran as `.{300}x`).
   */
  folded: 5,
} as const;

/** re2js 2.10's instruction kind (its `Inst.RUNE`) that the weights tell apart: a class, or a rune folded to its case. */
const RUNE = 8;
/** Its `arg` flag on a RUNE instruction of one rune matched with its case folded. */
const FOLD_CASE = 1;

/**
 * Whether a folded rune's case orbit is two ASCII letters (`a` `A`): re2js compares such a rune
 * with an ASCII character directly, and walks the orbit only for a character past ASCII, at most two
 * members. The other ASCII letters' orbits leave ASCII (`k` `K` U+212A KELVIN SIGN, `s` `S` U+017F
 * LONG S: Unicode's simple case folding), as do all non-ASCII letters' (re2js keeps the rune
 * lowest in its orbit: `K`, `S`).
 */
const asciiPairFolded = (rune: number): boolean => {
  const lower = rune | 0x20;
  return rune < 0x80 && lower >= 0x61 && lower <= 0x7a && lower !== 0x6b && lower !== 0x73;
};

/**
 * A compiled program's instructions, each weighed by what a character of matching costs at it
 * (REGEX_INSTRUCTION_WEIGHTS): a rune folded to its case whose orbit leaves ASCII
 * walks the orbit at each character, a class is gone through range by range (up to 4) or searched
 * by halves, the rest cost alike. Read from re2js's program once per compile
 * (test/worker/transform.test.ts pins what it reads); one it cannot read (not re2js 2.10's) weighs
 * as if each instruction were of the dearest kind. Capture groups are not weighed here: they make
 * only reading a match's groups dearer (captureFactor).
 */
export function programWeight(re: RE2JS): number {
  const weights = REGEX_INSTRUCTION_WEIGHTS;
  const dearest = Math.max(weights.plain, weights.smallClass, weights.largeClass, weights.folded);
  const insts: unknown = re.re2().prog.inst;
  if (!Array.isArray(insts) || insts.length !== re.programSize()) return re.programSize() * dearest;
  let weight = 0;
  for (const inst of insts) {
    if (!isIndexable(inst) || typeof inst.op !== "number" || typeof inst.arg !== "number" || !(inst.runes instanceof Int32Array)) {
      return re.programSize() * dearest;
    }
    const runes = inst.runes;
    if (inst.op !== RUNE) weight += weights.plain;
    else if (runes.length === 1) weight += (inst.arg & FOLD_CASE) !== 0 && !asciiPairFolded(runes[0] ?? -1) ? weights.folded : weights.plain;
    // re2js goes through up to 4 ranges one by one, and searches more by halves.
    else if (runes.length > 8) weight += weights.largeClass;
    else if (runes.length > 2) weight += weights.smallClass;
    else weight += weights.plain;
  }
  return weight;
}

/**
 * Whether `re` matches somewhere in `s`, by re2js's matcher: its one-pass, bit-state or NFA engine,
 * the engines whose cost programWeight's weights and rates were measured on (a find reads a
 * character at most once at each instruction: `s.length × programWeight(re)` at most). Not `re.test`:
 * asking for no groups takes re2js's lazy DFA, which over some texts builds a state at nearly every
 * character (8 × `(?i)[kι]\pL{12}[xy]` over 261 KB of Kelvin signs, `k`, `κ`, `Ι`: ~1 s an event in
 * workerd, where the NFA is bounded by its weight). A content filter's `$regex` (filter.ts).
 */
export const findsIn = (re: RE2JS, s: string): boolean => re.matcher(s).find();
