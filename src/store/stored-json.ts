// A JSON column is read back through a guard of what it holds: a value that is
// not (a row written by hand, a column from an older schema) raises an error that
// names the row and column, instead of flowing on as the wrong type.
import { isString, type Guard } from "../domain/guards";

/** `text` parsed as JSON, if `is` accepts it; else an error naming `what` (a row and column; never the value, which may be secret). */
export function storedJson<T>(text: string, is: Guard<T>, what: string): T {
  const value = parsed(text);
  if (value === NOT_JSON) throw new Error(`${what}: the stored value is not JSON`);
  if (!is(value)) throw new Error(`${what}: the stored value is not of its column's shape`);
  return value;
}

const NOT_JSON = Symbol("not JSON");

/** JSON.parse without its error, whose message quotes the text. */
function parsed(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return NOT_JSON;
  }
}

/** `text` parsed as JSON, or null when it is not (a row written by hand): for a column shown as it is, where one such row must not fail a whole list. */
export function jsonOrNull(text: string): unknown {
  const value = parsed(text);
  return value === NOT_JSON ? null : value;
}

/** The strings of a JSON array this Worker's own SQL built (json_group_array), leniently: anything else is none. */
export function stringsIn(json: string | null): string[] {
  if (json === null) return [];
  const v = parsed(json);
  return Array.isArray(v) ? v.filter(isString) : [];
}
