// Reading parsed JSON (an API answer, /openapi.json, a body sent) in a test without casting it:
// what is not there reads undefined, which the test's assertion then names.
import { isIndexable, isRecord } from "../../src/domain/guards";

/** The value at `path` in `value` (`at(doc, "components", "schemas", "Webhook")`; an array's items by index), or undefined. */
export function at(value: unknown, ...path: readonly string[]): unknown {
  return path.reduce<unknown>((v, key) => (isIndexable(v) ? v[key] : undefined), value);
}

/** The keys of the object at `path` in `value` (none where there is no object). */
export function keysAt(value: unknown, ...path: readonly string[]): string[] {
  const v = at(value, ...path);
  return isRecord(v) ? Object.keys(v) : [];
}
