import { once } from "node:events";
import pc from "picocolors";

/**
 * What a terminal may act on rather than show, or shows as nothing: C0 controls, DEL, C1 controls
 * (U+0080–U+009F: some terminals read U+009B as CSI), the line and paragraph separators, every
 * format character (bidi marks and overrides, the zero-width space U+200B, joiners, the word
 * joiner U+2060, the BOM U+FEFF, the soft hyphen, tags) and the other characters Unicode says a
 * renderer may ignore (variation selectors, Hangul fillers): each makes text display as something
 * it is not (`message\u200b.received` as `message.received`).
 */
const CONTROL = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Default_Ignorable_Code_Point}]/gu;
/** The same but C0, which JSON.stringify escapes inside strings (a raw newline there is layout). */
const CONTROL_IN_JSON = /[\u007f-\u009f\p{Cf}\p{Zl}\p{Zp}\p{Default_Ignorable_Code_Point}]/gu;

/** `\x1b`, `\u202e`, `\u{e0001}`: a control or invisible character made visible. @param {string} c */
const escaped = (c) => {
  const code = c.codePointAt(0) ?? 0;
  if (code < 0x100) return `\\x${code.toString(16).padStart(2, "0")}`;
  return code < 0x10000 ? `\\u${code.toString(16).padStart(4, "0")}` : `\\u{${code.toString(16)}}`;
};

/**
 * A word as a POSIX shell reads it back: as it is when plain, else in single quotes, or in bash's
 * `$'…'` when it holds a character `printable` would escape (there `\x1b` is read back as ESC).
 * @param {string} word
 */
export function shellWord(word) {
  if (/^[\w@%+=:,./-]+$/.test(word)) return word;
  if (!new RegExp(CONTROL.source, "u").test(word)) return `'${word.replaceAll("'", `'\\''`)}'`;
  const inside = word.replace(/[\\']/g, (c) => `\\${c}`).replace(CONTROL, (c) => {
    const code = c.codePointAt(0) ?? 0;
    return code < 0x10000 ? escaped(c) : `\\U${code.toString(16).padStart(8, "0")}`;
  });
  return `$'${inside}'`;
}

/** A character as JSON's `\u` escapes (a pair of them beyond U+FFFF): the same JSON string. @param {string} c */
const jsonEscaped = (c) =>
  c
    .split("")
    .map((unit) => `\\u${unit.charCodeAt(0).toString(16).padStart(4, "0")}`)
    .join("");

/**
 * A server-supplied value as text that is safe to print on a terminal: every control character
 * escaped (`\x1b`), so an event type or an error cannot move the cursor, fake a line or reach the
 * clipboard. With `lines`, a text block (a body) keeps its newlines and tabs.
 * @param {unknown} value @param {{ lines?: boolean }} [opts]
 */
export function printable(value, opts = {}) {
  return String(value).replace(CONTROL, (c) => (opts.lines && (c === "\n" || c === "\t") ? c : escaped(c)));
}

/**
 * JSON text with no raw control or invisible character: JSON.stringify escapes C0 controls, not
 * DEL, C1, the separators or format characters; those can only stand inside strings (a BOM is no
 * JSON white space), so `\u` escapes keep the same JSON.
 * @param {unknown} value @param {number} [indent]
 */
function jsonText(value, indent) {
  return String(JSON.stringify(value, null, indent)).replace(CONTROL_IN_JSON, jsonEscaped);
}

/** One JSON document on stdout. */
export function printJson(/** @type {unknown} */ value) {
  process.stdout.write(`${jsonText(value, 2)}\n`);
}

/** One JSON line on stdout (for `--json` streams). */
export function printJsonLine(/** @type {unknown} */ value) {
  process.stdout.write(jsonLine(value));
}

/** A value as printJsonLine writes it. @param {unknown} value */
export const jsonLine = (value) => `${jsonText(value)}\n`;

/**
 * Writes `text` to `out` (stdout), settling once `out` has taken it: at once, or when a full buffer
 * drained. A stream's lines go through it before their run is acked, so a pipe nobody reads holds
 * the stream back (the API sends nothing more until the ack) instead of filling the CLI's memory:
 * to a pipe, Node's write returns at once and keeps what it could not write.
 * @param {string} text @param {NodeJS.WritableStream} [out]
 */
export async function writeOut(text, out = process.stdout) {
  if (!out.write(text)) await once(out, "drain");
}

/**
 * A row's cell, or undefined (shown as —) when the row lacks what the cell reads: an older
 * deployment's answer may miss a member (`scopes`), or a whole list, and is read as far as it goes.
 * @template T @param {(row: T) => unknown} cell @param {T} row
 */
function cellOf(cell, row) {
  try {
    return cell(row);
  } catch (err) {
    if (err instanceof TypeError) return undefined;
    throw err;
  }
}

/**
 * The columns a terminal shows `text` in: string-width's (by UTF-16 length a CJK or emoji name
 * pushes the columns after it), loaded only for text beyond printable ASCII, one column a
 * character: its regexes and segmenter cost every command that prints a table a startup.
 * @param {string[]} texts @returns {Promise<(text: string) => number>}
 */
async function widthFor(texts) {
  if (texts.every((t) => /^[\x20-\x7e]*$/.test(t))) return (t) => t.length;
  return (await import("string-width")).default;
}

/**
 * Rows as aligned columns, the header dimmed; every cell printable (padded by the columns a terminal shows).
 * @template T
 * @param {T[] | undefined} rows none when the answer has no such list (cellOf)
 * @param {[string, (row: T) => unknown][]} columns title and cell of each column
 */
export async function printTable(rows, columns) {
  const cells = (Array.isArray(rows) ? rows : []).map((r) => columns.map(([, cell]) => printable(cellOf(cell, r) ?? "—")));
  const stringWidth = await widthFor([...columns.map(([title]) => title), ...cells.flat()]);
  const widths = columns.map(([title], i) => Math.max(stringWidth(title), ...cells.map((c) => stringWidth(c[i] ?? ""))));
  const line = (/** @type {string[]} */ c) => c.map((s, i) => s + " ".repeat(Math.max(0, (widths[i] ?? 0) - stringWidth(s)))).join("  ").trimEnd();
  process.stdout.write(`${pc.dim(line(columns.map(([title]) => title)))}\n`);
  for (const c of cells) process.stdout.write(`${line(c)}\n`);
  if (cells.length === 0) process.stdout.write(`${pc.dim("(none)")}\n`);
}

/** A status code or outcome coloured: 2xx green, 4xx yellow, anything else red. */
export function colourStatus(/** @type {number | null} */ status, /** @type {string} */ text = String(status ?? "ERR")) {
  if (status !== null && status >= 200 && status < 300) return pc.green(text);
  if (status !== null && status >= 400 && status < 500) return pc.yellow(text);
  return pc.red(text);
}

/** The local time of day of an ISO time, HH:MM:SS. */
export function clock(/** @type {string | number | Date} */ when = new Date()) {
  return new Date(when).toTimeString().slice(0, 8);
}
