import pc from "picocolors";

/** One JSON document on stdout. */
export function printJson(/** @type {unknown} */ value) {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** One JSON line on stdout (for `--json` streams). */
export function printJsonLine(/** @type {unknown} */ value) {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

/**
 * Rows as aligned columns, the header dimmed.
 * @template T
 * @param {T[]} rows
 * @param {[string, (row: T) => unknown][]} columns title and cell of each column
 */
export function printTable(rows, columns) {
  const cells = rows.map((r) => columns.map(([, cell]) => (cell(r) ?? "—").toString()));
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
