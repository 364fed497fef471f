/** Bodies longer than this (in characters) are shown as received. */
const PRETTY_MAX_LENGTH = 64 * 1024;
/** Nesting deeper than this is shown as received: each level indents every line below it. */
export const PRETTY_MAX_DEPTH = 64;
/** Nor is a body whose indented form would be longer than this. */
const PRETTY_MAX_OUTPUT = 256 * 1024;

const WHITESPACE = new Set([" ", "\t", "\n", "\r"]);
const STRUCTURE = new Set(["{", "}", "[", "]", ",", ":", '"']);
const CLOSING: Record<string, string> = { "{": "}", "[": "]" };

/**
 * Valid JSON text indented as `JSON.stringify(…, null, 2)` indents it, each token
 * kept exactly as written: parsing would round integers beyond 2^53 and rewrite
 * escapes. null when it nests deeper than `maxDepth` or grows past `maxLength`.
 */
export function indentJson(text: string, maxDepth: number, maxLength: number): string | null {
  const out: string[] = [];
  let length = 0;
  let depth = 0;
  const emit = (s: string) => {
    out.push(s);
    length += s.length;
  };
  const newline = () => emit(`\n${"  ".repeat(depth)}`);
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    let next = i + 1;
    if (ch === '"') {
      while (next < text.length && text[next] !== '"') next += text[next] === "\\" ? 2 : 1;
      emit(text.slice(i, ++next));
    } else if (ch === "{" || ch === "[") {
      while (WHITESPACE.has(text[next] ?? "")) next++;
      if (text[next] === CLOSING[ch]) emit(ch + text[next++]);
      else {
        if (++depth > maxDepth) return null;
        emit(ch);
        newline();
      }
    } else if (ch === "}" || ch === "]") {
      depth--;
      newline();
      emit(ch);
    } else if (ch === ",") {
      emit(ch);
      newline();
    } else if (ch === ":") emit(": ");
    else if (!WHITESPACE.has(ch)) {
      while (next < text.length && !STRUCTURE.has(text[next]!) && !WHITESPACE.has(text[next]!)) next++;
      emit(text.slice(i, next)); // a number, true, false or null
    }
    if (length > maxLength) return null;
    i = next;
  }
  return out.join("");
}

/**
 * The body as the event page shows it: indented when it is JSON small and
 * shallow enough for the indented form to stay in proportion, else exactly
 * as received.
 */
export function prettyBody(body: string): string {
  if (body.length > PRETTY_MAX_LENGTH) return body;
  try {
    JSON.parse(body);
  } catch {
    return body;
  }
  return indentJson(body, PRETTY_MAX_DEPTH, PRETTY_MAX_OUTPUT) ?? body;
}
