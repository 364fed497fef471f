// The one D1 double of the workerd tests: the real local D1, seen through a proxy
// that records what is prepared and batched and fails on demand.
import { env } from "cloudflare:workers";

/** A statement as the double saw it: its SQL and the values bound to it. */
export interface SeenStatement {
  sql: string;
  values: unknown[];
}

export interface D1DoubleOptions {
  /** Every call fails: D1 is down. */
  down?: boolean;
  /** A batch() call fails, before anything of it is written, when this says so. */
  failBatch?: (statements: SeenStatement[]) => boolean;
  /** A statement fails when this says so, run alone (run/all/first) or in a batch (the batch fails, nothing of it written). */
  failStatement?: (statement: SeenStatement) => boolean;
  /** A batch() call is written, then its answer lost (it throws) when this says so: D1 committed it, its caller never heard. */
  loseAnswer?: (statements: SeenStatement[]) => boolean;
  /** A batch() call waits for this before it is written: what another run does meanwhile. */
  beforeBatch?: (statements: SeenStatement[]) => Promise<void>;
  /** A statement's run() waits for this before it is written: what another run does meanwhile. */
  beforeRun?: (statement: SeenStatement) => Promise<void>;
  /** A statement run alone (run/all/first) waits for this once it is written, before its caller goes on: what another run does right after it. */
  afterRun?: (statement: SeenStatement) => Promise<void>;
}

/**
 * The test D1 (or `db`) with faults: `calls.prepared` counts prepare() calls (`calls.sql`
 * holds their SQL and exec()'s), `calls.batches` the number of statements of each batch() call, in order.
 */
export function d1Double(opts: D1DoubleOptions = {}, db: D1Database = env.DB) {
  const calls = { prepared: 0, sql: [] as string[], batches: [] as number[] };
  const seen = new WeakMap<D1PreparedStatement, SeenStatement>();
  const down = () => {
    throw new Error("D1 unavailable (test)");
  };
  const failing = (statement: SeenStatement) => {
    if (opts.failStatement?.(statement)) throw new Error("D1 statement failed (test)");
  };

  // A statement that remembers its SQL and values through bind().
  const track = (stmt: D1PreparedStatement, sql: string, values: unknown[]): D1PreparedStatement => {
    seen.set(stmt, { sql, values });
    const bind = stmt.bind.bind(stmt);
    stmt.bind = (...more: unknown[]) => track(bind(...more), sql, more);
    const run = stmt.run.bind(stmt);
    const after = async <R>(result: R) => {
      await opts.afterRun?.({ sql, values });
      return result;
    };
    stmt.run = async <T>() => {
      failing({ sql, values });
      await opts.beforeRun?.({ sql, values });
      return after(await run<T>());
    };
    const all = stmt.all.bind(stmt);
    stmt.all = async <T>() => {
      failing({ sql, values });
      return after(await all<T>());
    };
    const first = stmt.first.bind(stmt);
    stmt.first = (async (column?: string) => {
      failing({ sql, values });
      return after(await (column === undefined ? first() : first(column)));
    }) as D1PreparedStatement["first"];
    return stmt;
  };

  const proxy = new Proxy(db, {
    get(target, prop) {
      if (prop === "prepare") {
        return (sql: string) => {
          if (opts.down) down();
          calls.prepared++;
          calls.sql.push(sql);
          return track(target.prepare(sql), sql, []);
        };
      }
      if (prop === "batch") {
        return async (stmts: D1PreparedStatement[]) => {
          if (opts.down) down();
          calls.batches.push(stmts.length);
          const statements = stmts.map((s) => seen.get(s) ?? { sql: "", values: [] });
          if (opts.failBatch?.(statements)) throw new Error("D1 write failed (test)");
          statements.forEach(failing);
          await opts.beforeBatch?.(statements);
          const results = await target.batch(stmts);
          if (opts.loseAnswer?.(statements)) throw new Error("D1 answer lost (test)");
          return results;
        };
      }
      if (opts.down && (prop === "exec" || prop === "dump")) return async () => down();
      if (prop === "exec") {
        return (sql: string) => {
          calls.sql.push(sql);
          return target.exec(sql);
        };
      }
      const v = Reflect.get(target, prop);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
  return { db: proxy, calls };
}
