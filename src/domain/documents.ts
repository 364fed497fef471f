// A body as the filter, the transform and the providers read it: its JSON as data,
// and the value at a path of its own fields.
import { isIndexable, own } from "./guards";

/**
 * A body's JSON text: without a leading byte order mark, which JSON.parse refuses and RFC 8259
 * lets a parser ignore (some senders, .NET's and PowerShell's UTF-8 writers, put one first). The
 * stored body keeps it, byte for byte; only reading it as JSON skips it.
 */
export function jsonText(body: string): string {
  return body.charCodeAt(0) === 0xfeff ? body.slice(1) : body;
}

/** A JSON body as data; any other body as one string. */
export function parseBody(body: string): unknown {
  try {
    return JSON.parse(jsonText(body));
  } catch {
    return body;
  }
}

/**
 * The value at a path into parsed JSON, or undefined: each key names an own field (an array's
 * element by its index, as a string), never an inherited one such as `constructor`.
 */
export function valueAt(doc: unknown, path: readonly string[]): unknown {
  let cur = doc;
  for (const key of path) {
    if (!isIndexable(cur)) return undefined;
    cur = own(cur, key);
  }
  return cur;
}

/** What a key given twice is told (the API's issue, the dashboard's and the CLI's words). */
export const REPEATED_KEY = "this key is given twice in one object (JSON would keep only the last): give it once";

/**
 * The path to the first key that `text`, valid JSON, gives twice in one object (array elements by
 * index), else null: JSON.parse keeps the last silently, so `{"a":"push","a":"release"}` read as
 * `{"a":"release"}`. A scan of its tokens, not a parser: over valid JSON a string is a key where
 * an object's member begins, and every brace or bracket outside strings opens or closes one.
 */
export function repeatedKey(text: string): (string | number)[] | null {
  // Each open object or array: the path to it, to its member now, and an object's keys so far.
  const open: { keys: Set<string> | null; base: (string | number)[]; at: (string | number)[]; n: number }[] = [];
  let member = false;
  for (const [t] of text.matchAll(/"(?:[^"\\]|\\.)*"|[{}[\],]/g)) {
    const top = open.at(-1);
    if (t === "{" || t === "[") {
      const base = top?.at ?? [];
      open.push({ keys: t === "{" ? new Set() : null, base, at: t === "[" ? [...base, 0] : base, n: 0 });
      member = t === "{";
    } else if (t === "}" || t === "]") {
      open.pop();
      member = false;
    } else if (t === ",") {
      if (top?.keys) member = true;
      else if (top) top.at = [...top.base, ++top.n];
    } else if (member && top?.keys) {
      const key = String(JSON.parse(t));
      top.at = [...top.base, key];
      member = false;
      if (top.keys.has(key)) return top.at;
      top.keys.add(key);
    }
  }
  return null;
}
