// A D1 binding that adds up what D1 reports for every statement run through it
// (rows read and written, from each result's `meta`), for the tests' row bounds and
// the benches' cost per event. `first()` and `raw()` are answered through `all()`,
// which reports its meta. With `record`, it also keeps every call's statements and binds, in
// order (bench/volume/ingest-replay.mjs replays them outside the runtime).

export interface D1Usage {
  rowsRead: number;
  rowsWritten: number;
  statements: number;
  /** Time D1 reports spending on the statements, in ms. */
  durationMs: number;
  /** The database's size in bytes after the last statement. */
  sizeAfter: number;
  /** The same by statement (its SQL's first line, trimmed), for finding where rows and time go. */
  bySql: Record<string, { runs: number; rowsRead: number; rowsWritten: number; durationMs: number }>;
}

/** A statement as D1 was asked to run it: its SQL and bound values (bytes as hex). */
export interface RanStatement {
  sql: string;
  binds: (string | number | null | { hex: string })[];
}

/** What one call to D1 ran: a batch (one transaction) or a statement alone. */
export interface RanCall {
  batch: boolean;
  statements: RanStatement[];
}

/** A bound value as JSON keeps it: bytes as hex, a boolean as D1 binds it. */
function boundValue(v: unknown): RanStatement["binds"][number] {
  if (v instanceof ArrayBuffer || ArrayBuffer.isView(v)) {
    const bytes = v instanceof ArrayBuffer ? new Uint8Array(v) : new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
    return { hex: Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("") };
  }
  if (typeof v === "boolean") return v ? 1 : 0;
  return typeof v === "number" || typeof v === "string" || v === null ? v : String(v);
}

export function meteredD1(
  db: D1Database,
  opts: { record?: boolean } = {},
): { db: D1Database; usage: D1Usage; calls: RanCall[]; reset(): D1Usage } {
  const usage: D1Usage = { rowsRead: 0, rowsWritten: 0, statements: 0, durationMs: 0, sizeAfter: 0, bySql: {} };
  const calls: RanCall[] = [];
  const real = new WeakMap<object, D1PreparedStatement>();
  const ranOf = new WeakMap<object, RanStatement>();
  const recorded = (batch: boolean, statements: RanStatement[]) => {
    if (opts.record) calls.push({ batch, statements });
  };
  const add = (meta: D1Meta | undefined, sql = "?") => {
    const key = sql.trim().split("\n")[0]!.slice(0, 100);
    const s = (usage.bySql[key] ??= { runs: 0, rowsRead: 0, rowsWritten: 0, durationMs: 0 });
    s.runs++;
    s.rowsRead += meta?.rows_read ?? 0;
    s.rowsWritten += meta?.rows_written ?? 0;
    s.durationMs += meta?.duration ?? 0;
    usage.statements++;
    usage.rowsRead += meta?.rows_read ?? 0;
    usage.rowsWritten += meta?.rows_written ?? 0;
    usage.durationMs += meta?.duration ?? 0;
    usage.sizeAfter = meta?.size_after ?? usage.sizeAfter;
  };
  const wrap = (stmt: D1PreparedStatement, ran: RanStatement): D1PreparedStatement => {
    const sql = ran.sql;
    const w = {
      bind: (...values: unknown[]) => wrap(stmt.bind(...values), { sql, binds: opts.record ? values.map(boundValue) : [] }),
      async all<T>() {
        recorded(false, [ran]);
        const r = await stmt.all<T>();
        add(r.meta, sql);
        return r;
      },
      async run<T>() {
        recorded(false, [ran]);
        const r = await stmt.run<T>();
        add(r.meta, sql);
        return r;
      },
      async first<T>(column?: string) {
        recorded(false, [ran]);
        const r = await stmt.all<Record<string, unknown>>();
        add(r.meta, sql);
        const row = r.results[0];
        if (row === undefined) return null;
        return (column === undefined ? row : row[column]) as T;
      },
      async raw<T>(options?: { columnNames?: boolean }) {
        recorded(false, [ran]);
        const r = await stmt.all<Record<string, unknown>>();
        add(r.meta, sql);
        const rows = r.results.map((x) => Object.values(x)) as T[];
        return options?.columnNames ? [Object.keys(r.results[0] ?? {}), ...rows] : rows;
      },
    };
    real.set(w, stmt);
    ranOf.set(w, ran);
    return w as unknown as D1PreparedStatement;
  };
  const proxy = new Proxy(db, {
    get(target, prop) {
      if (prop === "prepare") return (sql: string) => wrap(target.prepare(sql), { sql, binds: [] });
      if (prop === "batch") {
        return async <T>(stmts: D1PreparedStatement[]) => {
          recorded(true, stmts.map((s) => ranOf.get(s) ?? { sql: "?", binds: [] }));
          const results = await target.batch<T>(stmts.map((s) => real.get(s) ?? s));
          results.forEach((r, i) => add(r.meta, ranOf.get(stmts[i]!)?.sql));
          return results;
        };
      }
      const value = Reflect.get(target, prop);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return {
    db: proxy,
    usage,
    calls,
    reset() {
      const before = { ...usage };
      Object.assign(usage, { rowsRead: 0, rowsWritten: 0, statements: 0, durationMs: 0, bySql: {} });
      return before;
    },
  };
}
