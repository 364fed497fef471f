/**
 * An upper bound of the program RE2 (re2js) compiles a pattern to, read from the pattern's text
 * without compiling it. Compiling takes time in proportion to the program (about 1–5 µs an
 * instruction in workerd), and a pattern of 256 characters can spell 36,000 instructions with counted
 * repetitions (`a{1000}b{1000}…`): `validateFilter` (a `$regex`) and a transformation (its literals
 * when saved and when run, any pattern JSONata builds while running: jsonata-check.ts,
 * linear-regexp.ts) refuse or charge such a pattern from its text, and compile only what this bound admits.
 *
 * It counts as re2js compiles (test/worker/filter.test.ts checks, on random patterns, that it never
 * counts less than `programSize()`): a literal character, a class, an
 * escape, `.`, `^`, `$` are one instruction each; a capturing group adds two, `*` two, `+` and
 * `?` one, an alternation one per `|`; `x{n,m}` is m copies of x and m−n more, `x{n,}` n copies
 * and one more. Where it reads the text loosely (an alternation RE2 makes a
 * class of, a lazy repetition) it counts more, never less.
 *
 * Building a class can take far longer than its one instruction: re2js appends the ranges of each
 * Unicode table in it and sorts them all (`[\pL\pL…]` with 84 tables: 3 instructions, 46 ms in
 * workerd). So a class (or a lone `\pL`) also counts what building it takes (classBuilding), once,
 * however often a repetition copies it; `flags` are a transformation literal's (`i` folds case).
 * Parsing comes before: a group nested past FREE_NESTING levels counts one, and a pattern at least
 * one per CHARS_PARSED_PER_INSTRUCTION characters of its text, what compiles to nothing included.
 */

/** How a refusal for the bound says what counts (a filter's `$regex`, a transformation's literal). */
export const REPETITIONS_COUNT = "a repetition counting what it repeats that many times (x{100} is 100 x's), a class the Unicode tables it is built of (\\pL 14 more)";

/** The instructions every program holds besides the pattern's (its start and match). */
const PROGRAM_OVERHEAD = 2;

interface Group {
  /** The sizes of the alternatives before the current one. */
  alternatives: number[];
  /** The current alternative's size so far. */
  size: number;
  /** The size of the current alternative's last item, which a repetition after it multiplies. */
  last: number;
  /** A capture (not `(?:…)` nor `(?i:…)`) adds two instructions. */
  capture: boolean;
}

const REPEAT = /^\{(\d+)(,(\d*))?\}/;
const FLAGS = /^\(\?[A-Za-z-]*\)/;
/** How a group opens: `(?:`, `(?i:`, `(?P<name>`, `(?<name>` (a name counts none, as it compiles to none). */
const GROUP_OPENING = /^\(\?(?:[A-Za-z-]*:|P?<\w*>)/;

/**
 * Characters of a pattern's text that count as one instruction at least: parsing takes ~0.5 µs a
 * character, so four are ~2 µs, within the ~5 µs an instruction compiling may take.
 */
const CHARS_PARSED_PER_INSTRUCTION = 4;

/** Levels of groups a pattern nests without counting for them (regexSizeBound). */
const FREE_NESTING = 8;

/** What follows `[:` in the longest POSIX class name RE2 knows, `^xdigit:]`. */
const POSIX_CLASS_CHARS = 9;

export const regexSizeBound = (pattern: string, flags = ""): number => regexShape(pattern, flags).size;

/**
 * A pattern read from its text: its size bound; whether it may begin the text, a `\A`, or a `^`
 * outside its classes unless the `m` flag makes every `^` a line's (so that RE2 may compile it
 * anchored at its start: linear-regexp.ts keeps it from building a one-pass program then); and
 * whether its groups, classes and `\Q` quotes close as they open (RE2 refuses it otherwise, and a
 * group around it would close in them).
 */
export function regexShape(pattern: string, flags = ""): { size: number; beginsText: boolean; balanced: boolean } {
  const chars = [...pattern];
  let caret = false;
  let beginsText = false;
  let balanced = true;
  // Case folding anywhere (a flag, `(?i)`, `(?i:…)`) is taken as folding everywhere: counting more, never less.
  const fold = flags.includes("i") || /\(\?[A-Za-z-]*i/.test(pattern);
  /** Instructions' worth of building the pattern's classes (counted once however often a repetition copies one) and parsing its deep groups. */
  let building = 0;
  const stack: Group[] = [];
  let g: Group = { alternatives: [], size: 0, last: 0, capture: false };
  const item = (size: number) => {
    g.size += size;
    g.last = size;
  };
  /** The item just read becomes `size` (a repetition of it). */
  const grow = (size: number) => {
    g.size += size - g.last;
    g.last = size;
  };
  const close = (group: Group): number => alternation(group) + (group.capture ? 2 : 0);
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i];
    if (c === "\\") {
      if (chars[i + 1] === "A") beginsText = true;
      const table = chars[i + 1] === "p" || chars[i + 1] === "P" ? tableRanges(chars, i + 2, fold).ranges : 0;
      building += classBuilding(table);
      const quoting = chars[i + 1] === "Q";
      i = escapeEnd(chars, i, item);
      // A `\Q` never ended quotes the rest, what a group around it would close too.
      if (quoting && i >= chars.length) balanced = false;
      grow(g.last + copying(table));
    } else if (c === "[") {
      const cls = classRanges(chars, i, fold);
      building += classBuilding(cls.ranges);
      i = cls.end;
      if (i >= chars.length) balanced = false;
      item(1 + copying(cls.ranges));
    } else if (c === "(" && FLAGS.test(chars.slice(i, i + 12).join(""))) {
      // `(?i)` sets flags: no item, so a repetition after it repeats the item before it.
      i = chars.indexOf(")", i);
    } else if (c === "(") {
      // RE2 parses each group, even one that compiles to nothing: `(?:`×1,000 around an `a` is 3
      // instructions and ~1 ms to compile. Deeper than a real pattern nests, a level counts one.
      if (stack.length >= FREE_NESTING) building += 1;
      stack.push(g);
      const opening = GROUP_OPENING.exec(chars.slice(i, i + 40).join(""))?.[0] ?? "(";
      g = { alternatives: [], size: 0, last: 0, capture: opening === "(" || opening.endsWith(">") };
      i += [...opening].length - 1;
    } else if (c === ")" && stack.length > 0) {
      const size = close(g);
      g = stack.pop() ?? g;
      item(size);
    } else if (c === "|") {
      g.alternatives.push(g.size);
      g.size = 0;
      g.last = 0;
    } else if (c === "*") {
      grow(g.last + 2);
    } else if (c === "+" || c === "?") {
      // A `?` after a repetition makes it lazy: counted as one more instruction, never fewer.
      grow(g.last + 1);
    } else if (c === "{" && REPEAT.test(chars.slice(i, i + 12).join(""))) {
      const text = chars.slice(i, i + 12).join("");
      const [whole = "", min = "0", comma, max] = REPEAT.exec(text) ?? [];
      const n = Number(min);
      const sub = g.last;
      if (comma === undefined) grow(Math.max(1, n * sub));
      else if (max === undefined || max === "") grow(n === 0 ? 2 + sub : 1 + n * sub);
      else grow(Math.max(1, Number(max) * sub + Math.max(0, Number(max) - n)));
      i += [...whole].length - 1;
    } else {
      if (c === ")") balanced = false;
      if (c === "^") caret = true;
      item(1);
    }
  }
  // An unclosed group (which RE2 refuses anyway) counts as closed.
  if (stack.length > 0) balanced = false;
  while (stack.length > 0) {
    const size = close(g);
    g = stack.pop() ?? g;
    item(size);
  }
  // (A flag turned off inline, `(?-m)`, may make a `^` the text's again.)
  const lines = flags.includes("m") && !/\(\?[A-Za-z]*-/.test(pattern);
  // RE2 parses every character, what compiles to nothing too (`(?:ab|…){0}` of 8 KB: 3 instructions, ~4 ms).
  const size = Math.max(alternation(g) + PROGRAM_OVERHEAD + building, Math.ceil(chars.length / CHARS_PARSED_PER_INSTRUCTION));
  return { size, beginsText: beginsText || (caret && !lines), balanced };
}

/** A group's alternatives, each at least one instruction (an empty one matches the empty string), and one per `|`. */
function alternation(g: Group): number {
  return [...g.alternatives, g.size].reduce((n, a) => n + Math.max(1, a), 0) + g.alternatives.length;
}

/** Reads the escape at `i` (`\d`, `\pL`, `\p{Greek}`, `\x{263a}`, `\Q…\E`), counting its items; the index of its last character. */
function escapeEnd(chars: string[], i: number, item: (size: number) => void): number {
  const next = chars[i + 1];
  if (next === "Q") {
    // Literal text up to `\E`: a character each.
    let j = i + 2;
    for (; j < chars.length && !(chars[j] === "\\" && chars[j + 1] === "E"); j++) item(1);
    return j < chars.length ? j + 1 : j;
  }
  item(1);
  if ((next === "p" || next === "P" || next === "x") && chars[i + 2] === "{") {
    const end = chars.indexOf("}", i + 3);
    return end < 0 ? chars.length : end;
  }
  if (next === "p" || next === "P") return i + 2;
  if (next === "x") return i + 3;
  return i + 1;
}

/**
 * The ranges of the Unicode tables re2js (2.10) appends, with more than 26: a table's, and its case
 * folds' (or -1 for none), a range per character where a table steps over some. Any other table
 * counts as TABLE_RANGES_OTHER.
 */
const TABLE_RANGES: Readonly<Record<string, readonly [number, number]>> = {
  C: [832, -1], Cn: [826, -1], L: [774, 1], LC: [158, 1], Lc: [158, 1], Ll: [698, 638], Lm: [86, -1], Lo: [611, -1], Lu: [683, 643],
  M: [391, 3], Mc: [240, -1], Mn: [438, 3], N: [148, -1], Nd: [72, -1], No: [75, -1], P: [226, -1], Pe: [76, -1], Po: [236, -1],
  Ps: [79, -1], S: [274, -1], Sk: [37, -1], Sm: [79, -1], So: [214, -1], Alphabetic: [841, -1], Emoji: [179, 1],
  Emoji_Modifier_Base: [50, -1], Emoji_Presentation: [94, -1], Extended_Pictographic: [185, 1], Lowercase: [715, 640],
  Math: [167, 12], Terminal_Punctuation: [141, -1], Uppercase: [690, 647], Arabic: [59, -1], Common: [198, 2], Ethiopic: [38, -1],
  Greek: [41, 2], Inherited: [32, 3], Latin: [36, -1], Unknown: [824, -1], Assigned: [826, 826],
};
const TABLE_RANGES_OTHER = 32;
/** Characters re2js folds one at a time (appendFoldedRange) per range's worth of time. */
const FOLDED_CHARS_PER_RANGE = 4;
/** A Perl class (`\d`) or a POSIX one (`[:alpha:]`): a few ranges, folded a character at a time (up to ~100 of them). */
const groupRanges = (fold: boolean) => (fold ? 4 + 100 / FOLDED_CHARS_PER_RANGE : 4);
/** Where re2js folds characters one at a time (Unicode.MIN_FOLD, MAX_FOLD). */
const MIN_FOLD = 0x41;
const MAX_FOLD = 0x1e943;

/**
 * Instructions' worth of building a class of `ranges` (as classRanges counts them): re2js appends
 * each, then sorts them all, so that time grows faster than the count (in node, classes of \pL
 * repeated: 6,000 ranges took 0.07 µs a range, 12,000 0.2, 25,000 0.35, 65,000 0.4, 390,000 0.7).
 * Weighed so that compiling stays under ~4 µs an instruction in node (~8 in workerd) for a class of
 * many tables (13 \pL: 547 for ~2 ms, 32: 2,736 for 7.5 ms), a lone \pL 14 more (~0.1 ms warm).
 */
function classBuilding(r: number): number {
  return Math.floor(r / 64) + Math.floor((r * r) / 2 ** 18);
}

/**
 * Instructions' worth more of each copy of a class of `ranges` in the program (a repetition copies
 * it): matching first goes through every range of every instruction (the DFA's classes of runes),
 * about 12 ns a range in node: `[\pL\pN\pP\pS\pM\pC]{300}` (2,652 ranges) took 9 ms to first match.
 */
const copying = (ranges: number): number => Math.floor(ranges / 1024);

/** The ranges re2js appends for the table named at `j` (`L`, `{Greek}`, `{^L}`), under case folding or not; and where the name ends. */
function tableRanges(chars: string[], j: number, fold: boolean): { ranges: number; end: number } {
  let name = chars[j] ?? "";
  let end = j;
  if (name === "{") {
    end = chars.indexOf("}", j + 1);
    if (end < 0) end = chars.length;
    name = chars.slice(j + 1, end).join("");
  }
  if (name.startsWith("^")) name = name.slice(1);
  const [table, folds] = TABLE_RANGES[name] ?? [TABLE_RANGES_OTHER, TABLE_RANGES_OTHER];
  // Folded, the table and its folds are appended, cleaned, and appended again.
  return { ranges: fold && folds >= 0 ? 2 * (table + folds) + 1 : table + 1, end };
}

const ESCAPED: Readonly<Record<string, number>> = { a: 7, f: 12, n: 10, r: 13, t: 9, v: 11 };

/** The character at `j` of a class (escaped or not), and the index of its last character; null for a class escape (`\d`, `\pL`). */
function classChar(chars: string[], j: number): { code: number; end: number } | null {
  const c = chars[j] ?? "";
  if (c !== "\\") return { code: c.codePointAt(0) ?? 0, end: j };
  const next = chars[j + 1] ?? "";
  if (next === "x" && chars[j + 2] === "{") {
    const end = chars.indexOf("}", j + 3);
    return { code: end < 0 ? 0 : parseInt(chars.slice(j + 3, end).join(""), 16) || 0, end: end < 0 ? chars.length : end };
  }
  if (next === "x") return { code: parseInt(chars.slice(j + 2, j + 4).join(""), 16) || 0, end: j + 3 };
  if (/[0-7]/.test(next)) {
    let end = j + 1;
    while (end < j + 3 && /[0-7]/.test(chars[end + 1] ?? "")) end++;
    return { code: parseInt(chars.slice(j + 1, end + 1).join(""), 8), end };
  }
  if (/[dDsSwWpP]/.test(next)) return null;
  return { code: ESCAPED[next] ?? next.codePointAt(0) ?? 0, end: j + 1 };
}

/**
 * The class opened at `i`: the index of the `]` closing it (a `]` first in it is a character of
 * it, as is `[:alpha:]`'s), and the ranges re2js appends to build it: one per character or range,
 * a table's (`\pL`: 774), and under case folding one per FOLDED_CHARS_PER_RANGE characters of a
 * range it folds character by character.
 */
function classRanges(chars: string[], i: number, fold: boolean): { end: number; ranges: number } {
  let j = i + 1;
  let ranges = 1;
  if (chars[j] === "^") j++;
  let first = true;
  for (; j < chars.length && (chars[j] !== "]" || first); j++) {
    first = false;
    if (chars[j] === "[" && chars[j + 1] === ":") {
      // Looked for within the longest name (`[:^xdigit:]`): a `:]` further on makes a name RE2 refuses,
      // and searching the whole rest at each `[:` made an 8 KB pattern cost ~50 ms to bound.
      const near = chars.slice(j + 2, j + 2 + POSIX_CLASS_CHARS).indexOf("]");
      const end = near < 0 ? -1 : j + 2 + near;
      if (end > 0 && chars[end - 1] === ":") {
        j = end;
        ranges += groupRanges(fold);
        continue;
      }
    }
    const lo = classChar(chars, j);
    if (lo === null) {
      const letter = chars[j + 1];
      if (letter === "p" || letter === "P") {
        const table = tableRanges(chars, j + 2, fold);
        ranges += table.ranges;
        j = table.end;
      } else {
        ranges += groupRanges(fold);
        j++;
      }
      continue;
    }
    j = lo.end;
    let hi = lo.code;
    if (chars[j + 1] === "-" && chars[j + 2] !== "]" && j + 2 < chars.length) {
      const h = classChar(chars, j + 2);
      if (h !== null) {
        hi = h.code;
        j = h.end;
      }
    }
    const folded = fold && !(lo.code <= MIN_FOLD && hi >= MAX_FOLD) ? Math.max(0, Math.min(hi, MAX_FOLD) - Math.max(lo.code, MIN_FOLD) + 1) : 0;
    ranges += 1 + Math.ceil(folded / FOLDED_CHARS_PER_RANGE);
  }
  return { end: j, ranges };
}
