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
 */

/** How a refusal for the bound says what counts (a filter's `$regex`, a transformation's literal). */
export const REPETITIONS_COUNT = "a repetition counting what it repeats that many times (x{100} is 100 x's)";

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

export function regexSizeBound(pattern: string): number {
  const chars = [...pattern];
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
      i = escapeEnd(chars, i, item);
    } else if (c === "[") {
      i = classEnd(chars, i);
      item(1);
    } else if (c === "(" && FLAGS.test(chars.slice(i, i + 12).join(""))) {
      // `(?i)` sets flags: no item, so a repetition after it repeats the item before it.
      i = chars.indexOf(")", i);
    } else if (c === "(") {
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
      item(1);
    }
  }
  // An unclosed group (which RE2 refuses anyway) counts as closed.
  while (stack.length > 0) {
    const size = close(g);
    g = stack.pop() ?? g;
    item(size);
  }
  return alternation(g) + PROGRAM_OVERHEAD;
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

/** The index of the `]` closing the class opened at `i` (a `]` first in it is a character of it, as is `[:alpha:]`'s). */
function classEnd(chars: string[], i: number): number {
  let j = i + 1;
  if (chars[j] === "^") j++;
  if (chars[j] === "]") j++;
  for (; j < chars.length; j++) {
    if (chars[j] === "\\") j++;
    else if (chars[j] === "[" && chars[j + 1] === ":") {
      const end = chars.indexOf("]", j + 2);
      if (end > 0 && chars[end - 1] === ":") j = end;
    } else if (chars[j] === "]") return j;
  }
  return j;
}
