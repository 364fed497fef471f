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
  // One path, a step per open object or array (its member now), and each open object's keys so far
  // (null for an array): changed in place, so the scan stays linear however deep the nesting.
  const path: (string | number)[] = [];
  const keys: (Set<string> | null)[] = [];
  let member = false;
  for (const [t] of text.matchAll(/"(?:[^"\\]|\\.)*"|[{}[\],]/g)) {
    const last = path.length - 1;
    if (t === "{" || t === "[") {
      path.push(t === "[" ? 0 : "");
      keys.push(t === "{" ? new Set() : null);
      member = t === "{";
    } else if (t === "}" || t === "]") {
      path.pop();
      keys.pop();
      member = false;
    } else if (t === ",") {
      const at = path[last];
      if (keys[last]) member = true;
      else if (typeof at === "number") path[last] = at + 1;
    } else if (member) {
      const own = keys[last];
      const key = String(JSON.parse(t));
      path[last] = key;
      member = false;
      if (own?.has(key)) return path.slice();
      own?.add(key);
    }
  }
  return null;
}
