/** Bodies longer than this (in characters) are shown as received. */
export const PRETTY_MAX_LENGTH = 64 * 1024;
/** Nesting deeper than this is shown as received: each level indents every line below it. */
export const PRETTY_MAX_DEPTH = 64;
/** Nor is a body whose indented form would be longer than this. */
export const PRETTY_MAX_OUTPUT = 256 * 1024;

/**
 * The deepest nesting of objects and arrays in JSON text, and the number of
 * characters `JSON.stringify(…, null, 2)` adds to it (at most: empty
 * containers count as full), in one pass and without recursion.
 */
export function jsonShape(text: string): { depth: number; added: number } {
  let depth = 0;
  let max = 0;
  let added = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === 0x5c) i++; // a backslash escapes the next character
      else if (ch === 0x22) inString = false;
    } else if (ch === 0x22) inString = true;
    else if (ch === 0x7b || ch === 0x5b) {
      max = Math.max(max, ++depth);
      added += 1 + 2 * depth; // newline and indentation of the first member
    } else if (ch === 0x7d || ch === 0x5d) {
      depth--;
      added += 1 + 2 * Math.max(0, depth); // before the closing bracket
    } else if (ch === 0x2c) added += 1 + 2 * depth; // before each further member
    else if (ch === 0x3a) added += 1; // the space after a key
  }
  return { depth: max, added };
}

/**
 * The body as the event page shows it: indented when it is JSON small and
 * shallow enough for the indented form to stay in proportion, else exactly
 * as received.
 */
export function prettyBody(body: string): string {
  if (body.length > PRETTY_MAX_LENGTH) return body;
  const { depth, added } = jsonShape(body);
  if (depth > PRETTY_MAX_DEPTH || body.length + added > PRETTY_MAX_OUTPUT) return body;
  try {
    return JSON.stringify(JSON.parse(body), null, 2);
  } catch {
    return body;
  }
}
