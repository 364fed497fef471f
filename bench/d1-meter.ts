// A D1 binding that adds up what D1 reports for every statement run through it
// (rows read and written, from each result's `meta`), for the tests' row bounds and
// the benches' cost per event. `first()` and `raw()` are answered through `all()`,
// which reports its meta.

export interface D1Usage {
  rowsRead: number;
  rowsWritten: number;
  statements: number;
  /** Time D1 reports spending on the statements, in ms. */
  durationMs: number;
}

export function meteredD1(db: D1Database): { db: D1Database; usage: D1Usage; reset(): D1Usage } {
  const usage: D1Usage = { rowsRead: 0, rowsWritten: 0, statements: 0, durationMs: 0 };
  const real = new WeakMap<object, D1PreparedStatement>();
  const add = (meta: D1Meta | undefined) => {
    usage.statements++;
    usage.rowsRead += meta?.rows_read ?? 0;
    usage.rowsWritten += meta?.rows_written ?? 0;
    usage.durationMs += meta?.duration ?? 0;
  };
  const wrap = (stmt: D1PreparedStatement): D1PreparedStatement => {
    const w = {
      bind: (...values: unknown[]) => wrap(stmt.bind(...values)),
      async all<T>() {
        const r = await stmt.all<T>();
        add(r.meta);
        return r;
      },
      async run<T>() {
        const r = await stmt.run<T>();
        add(r.meta);
        return r;
      },
      async first<T>(column?: string) {
        const r = await stmt.all<Record<string, unknown>>();
        add(r.meta);
        const row = r.results[0];
        if (row === undefined) return null;
        return (column === undefined ? row : row[column]) as T;
      },
      async raw<T>(options?: { columnNames?: boolean }) {
        const r = await stmt.all<Record<string, unknown>>();
        add(r.meta);
        const rows = r.results.map((x) => Object.values(x)) as T[];
        return options?.columnNames ? [Object.keys(r.results[0] ?? {}), ...rows] : rows;
      },
    };
    real.set(w, stmt);
    return w as unknown as D1PreparedStatement;
  };
  const proxy = new Proxy(db, {
    get(target, prop) {
      if (prop === "prepare") return (sql: string) => wrap(target.prepare(sql));
      if (prop === "batch") {
        return async <T>(stmts: D1PreparedStatement[]) => {
          const results = await target.batch<T>(stmts.map((s) => real.get(s) ?? s));
          for (const r of results) add(r.meta);
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
    reset() {
      const before = { ...usage };
      Object.assign(usage, { rowsRead: 0, rowsWritten: 0, statements: 0, durationMs: 0 });
      return before;
    },
  };
}
