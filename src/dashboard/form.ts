import { emptyEntryProblem } from "../api/schemas/fields";
/** A parsed form (Hono's parseBody): a value per name, several when parsed with `all`. */
export type Form = Record<string, string | File | (string | File)[]>;

/** A form's text values under `name`; a file sent where text is expected is none of them (it would read "[object File]"). */
export function textsOf(form: Form, name: string): string[] {
  const value = form[name];
  return (Array.isArray(value) ? value : value === undefined ? [] : [value]).filter((v): v is string => typeof v === "string");
}

/** A form's text field: its last text value (as a field given twice is read elsewhere), or "". */
export function textOf(form: Form, name: string): string {
  return textsOf(form, name).at(-1) ?? "";
}

/**
 * A comma box's entries, each trimmed, or why it is refused: an empty entry (`a,,b`, one at either
 * end) is said, with the box's `label`, rather than dropped, as the API's comma lists refuse one.
 */
export function commaEntries(text: string, label: string): { ok: true; entries: string[] } | { ok: false; error: string } {
  const entries = text.split(",").map((x) => x.trim());
  const empty = entries.indexOf("");
  return empty === -1 ? { ok: true, entries } : { ok: false, error: `${label}: ${emptyEntryProblem(empty, entries.length)}.` };
}
