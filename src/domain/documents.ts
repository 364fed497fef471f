// A body as the filter, the transform and the providers read it: its JSON as data,
// and the value at a path of its own fields.
import { isIndexable, own } from "./guards";

/** A JSON body as data; any other body as one string. */
export function parseBody(body: string): unknown {
  try {
    return JSON.parse(body);
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
