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
