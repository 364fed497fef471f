/**
 * How deeply a JSONata expression nests, counted in one pass over its text before JSONata parses
 * it. JSONata's parser, its post-processing and its evaluator all recurse once per level, so an
 * expression nested deeply enough overflows the parser's stack, or the evaluator's depth bound at
 * every delivery: the limit (TRANSFORM_LIMITS.nesting) refuses it first, the same way whatever
 * the stack left.
 *
 * A level is a bracket ( [ { or a transform's | … |, a unary minus, or a binary operator after
 * another in the same bracket (`a & b & c` is two levels: JSONata builds it as (a & b) & c).
 * Path steps (`a.b.c`), predicates' and steps' own operators (@ #) do not nest. A `,` or `;`
 * starts a new expression at the same level. Strings, `names` and comments are skipped; a
 * regular expression is read as JSONata reads it.
 */

/** Operators that make a binary node whose operand may be another (left or right). */
const NESTING_OPERATORS = ["..", ":=", "!=", "<=", ">=", "~>", "?:", "??", "+", "-", "*", "/", "%", "=", "<", ">", "&", "?", ":", "^"];
/** Operators that do not nest: path steps and their bindings. */
const FLAT_OPERATORS = [".", "@", "#"];
const WORD_OPERATORS = new Set(["and", "or", "in"]);
const OPEN = "([{";
const CLOSE = ")]}";
/** Characters that end a name (JSONata's operator characters, quotes and whitespace). */
const NUMBER = /(0|[1-9][0-9]*)(\.[0-9]+)?([Ee][-+]?[0-9]+)?/y;
const NAME_END = /[.[\]{}(),@#;:?+\-*/%|=<>^&!~"'`\s]/;

interface Frame {
  /** The level the frame's contents start at. */
  base: number;
  /** Binary operators so far in the frame's current expression. */
  ops: number;
  /** For a transform's | pattern | update |: how many bars it has met. */
  bars?: number;
}

/**
 * The deepest level the expression reaches, counting stops once it is over `limit` (the answer is
 * then limit + 1). A syntax error is left to JSONata: this only measures.
 */
export function nestingDepth(source: string, limit: number): number {
  const frames: Frame[] = [{ base: 0, ops: 0 }];
  let unary = 0;
  let max = 0;
  // Whether the next token is an operand (JSONata reads a `/` there as a regular expression).
  let operand = true;
  const top = () => frames[frames.length - 1]!;
  const reach = () => {
    const level = top().base + top().ops + unary;
    if (level > max) max = level;
    return max > limit;
  };
  const endOperand = () => {
    operand = false;
    unary = 0;
  };

  let i = 0;
  while (i < source.length) {
    const c = source[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === "/" && source[i + 1] === "*") {
      const end = source.indexOf("*/", i + 2);
      i = end < 0 ? source.length : end + 2;
    } else if (c === '"' || c === "'" || c === "`") {
      i = skipQuoted(source, i);
      endOperand();
    } else if (c === "/" && operand) {
      i = skipRegex(source, i + 1);
      endOperand();
    } else if (OPEN.includes(c)) {
      const level = top().base + top().ops + unary + 1;
      frames.push({ base: level, ops: 0 });
      unary = 0;
      operand = true;
      if (reach()) return limit + 1;
      i++;
    } else if (CLOSE.includes(c)) {
      if (frames.length > 1) frames.pop();
      endOperand();
      i++;
    } else if (c === "|") {
      const frame = top();
      if (operand) {
        frames.push({ base: frame.base + frame.ops + unary + 1, ops: 0, bars: 0 });
        unary = 0;
        if (reach()) return limit + 1;
      } else if (frame.bars === 0) {
        frame.bars = 1;
        frame.ops = 0;
        operand = true;
      } else {
        if (frame.bars === 1 && frames.length > 1) frames.pop();
        endOperand();
      }
      i++;
    } else if (c === "," || c === ";") {
      top().ops = 0;
      unary = 0;
      operand = true;
      i++;
    } else if (operand && c === "-") {
      unary++;
      if (reach()) return limit + 1;
      i++;
    } else if (operand && (c === "*" || c === "%")) {
      // A wildcard, descendants (**) or the parent (%): an operand.
      i += source.startsWith("**", i) ? 2 : 1;
      endOperand();
    } else {
      const op = NESTING_OPERATORS.find((o) => source.startsWith(o, i));
      const flat = FLAT_OPERATORS.find((o) => source.startsWith(o, i));
      if (op !== undefined) {
        top().ops++;
        unary = 0;
        operand = true;
        if (reach()) return limit + 1;
        i += op.length;
      } else if (flat !== undefined) {
        operand = true;
        unary = 0;
        i += flat.length;
      } else {
        // A number (its "." and exponent sign are its own), or a name, keyword or variable.
        NUMBER.lastIndex = i;
        let end = NUMBER.test(source) ? NUMBER.lastIndex : i + 1;
        while (end < source.length && !NAME_END.test(source[end]!)) end++;
        const word = source.slice(i, end);
        if (!operand && WORD_OPERATORS.has(word)) {
          top().ops++;
          operand = true;
          if (reach()) return limit + 1;
        } else endOperand();
        i = end;
      }
    }
  }
  return max;
}

/** The index after a quoted string or `name` starting at `start` (backslash escapes in strings). */
function skipQuoted(source: string, start: number): number {
  const quote = source[start]!;
  let i = start + 1;
  while (i < source.length && source[i] !== quote) i += quote !== "`" && source[i] === "\\" ? 2 : 1;
  return i + 1;
}

/** The index after a regular expression whose body starts at `start`, ended as JSONata ends it: an unescaped `/` outside brackets, then flags. */
function skipRegex(source: string, start: number): number {
  let depth = 0;
  let i = start;
  for (; i < source.length; i++) {
    const c = source[i]!;
    const escaped = source[i - 1] === "\\";
    if (c === "/" && depth === 0) {
      let backslashes = 0;
      while (source[i - 1 - backslashes] === "\\") backslashes++;
      if (backslashes % 2 === 0) break;
    }
    if (OPEN.includes(c) && !escaped) depth++;
    if (CLOSE.includes(c) && !escaped) depth--;
  }
  i++;
  while (source[i] === "i" || source[i] === "m") i++;
  return i;
}
