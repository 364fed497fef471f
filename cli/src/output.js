import pc from "picocolors";

/**
 * What a terminal may act on rather than show: C0 controls, DEL, C1 controls (U+0080–U+009F:
 * some terminals read U+009B as CSI), and the line separators and bidirectional overrides that
 * make text display as something it is not.
 */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
/** The same but C0, which JSON.stringify escapes inside strings (a raw newline there is layout). */
const CONTROL_IN_JSON = /[\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** `\x1b`, `\u202e`: a control character made visible. @param {string} c */
const escaped = (c) => {
  const code = c.charCodeAt(0);
  return code < 0x100 ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
};

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
 * JSON text with no raw control character: JSON.stringify escapes C0 controls, not DEL, C1 or
 * the separators; those can only stand inside strings, so `\u` escapes keep the same JSON.
 * @param {unknown} value @param {number} [indent]
 */
function jsonText(value, indent) {
  return String(JSON.stringify(value, null, indent)).replace(CONTROL_IN_JSON, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** One JSON document on stdout. */
export function printJson(/** @type {unknown} */ value) {
  process.stdout.write(`${jsonText(value, 2)}\n`);
}

/** One JSON line on stdout (for `--json` streams). */
export function printJsonLine(/** @type {unknown} */ value) {
  process.stdout.write(`${jsonText(value)}\n`);
}

/**
 * Rows as aligned columns, the header dimmed; every cell printable.
 * @template T
 * @param {T[]} rows
 * @param {[string, (row: T) => unknown][]} columns title and cell of each column
 */
export function printTable(rows, columns) {
  const cells = rows.map((r) => columns.map(([, cell]) => printable(cell(r) ?? "—")));
  const widths = columns.map(([title], i) => Math.max(title.length, ...cells.map((c) => (c[i] ?? "").length)));
  const line = (/** @type {string[]} */ c) => c.map((s, i) => s.padEnd(widths[i] ?? 0)).join("  ").trimEnd();
  process.stdout.write(`${pc.dim(line(columns.map(([title]) => title)))}\n`);
  for (const c of cells) process.stdout.write(`${line(c)}\n`);
  if (rows.length === 0) process.stdout.write(`${pc.dim("(none)")}\n`);
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
