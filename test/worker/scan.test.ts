import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { meteredD1 } from "../../bench/d1-meter";
import { boundedScan, PACKED_WALK_STEPS, rowsBoundedScan } from "../../src/store/scan";
import { packedRowsSql, type PackedDriver } from "../../src/store/packed";

// The test files share one database (isolate: false): the tables a test makes are dropped after it,
// or a later file's schema comparison (migration.test.ts) finds them.
let tablesBefore = new Set<string>();
const tables = async () => (await env.DB.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all<{ name: string }>()).results.map((r) => r.name);
beforeEach(async () => {
  tablesBefore = new Set(await tables());
});
afterEach(async () => {
  const made = (await tables()).filter((t) => !tablesBefore.has(t));
  if (made.length > 0) await env.DB.batch(made.map((t) => env.DB.prepare(`DROP TABLE ${t}`)));
});

/** What the walk of "packed walks' named rows" read when every examined row was answered. */
const READ_BEFORE = 18_531;

/**
 * Creates `NAME_source` (n rows, seq 1..n, k = `k`) and `NAME_packed` (rows from `packedSql`, a
 * SELECT of seq, last, ks over NAME_source), with the driver walking NAME_packed by `ids`.
 */
async function packedFixture(name: string, n: number, k: string, packedSql: string, ids: number[], also: string[] = []): Promise<PackedDriver> {
  await env.DB.batch([
    env.DB.prepare(`CREATE TABLE ${name}_source (seq INTEGER PRIMARY KEY, k INTEGER NOT NULL)`),
    env.DB.prepare(`CREATE TABLE ${name}_packed (seq INTEGER PRIMARY KEY, last INTEGER NOT NULL, ks TEXT)`),
    env.DB.prepare(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${n}) INSERT INTO ${name}_source (seq, k) SELECT i, ${k} FROM n`),
    env.DB.prepare(`INSERT INTO ${name}_packed (seq, last, ks) ${packedSql}`),
    ...also.map((sql) => env.DB.prepare(sql)),
  ]);
  return { packing: { table: `${name}_packed`, source: `${name}_source`, columns: [{ stored: "ks", key: "k" }] }, ids: [ids] };
}

describe("bounded scans", () => {
  it("read at most scanRows however many index ranges they walk, and page through everything exactly once", async () => {
    await env.DB.batch([
      env.DB.prepare("CREATE TABLE scan_probe (seq INTEGER PRIMARY KEY, k INTEGER NOT NULL, odd INTEGER NOT NULL)"),
      env.DB.prepare("CREATE INDEX scan_probe_k ON scan_probe (k, seq)"),
      env.DB.prepare(
        `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 6000)
         INSERT INTO scan_probe (seq, k, odd) SELECT i, i % 100, i % 2 FROM n`,
      ),
    ]);
    const meter = meteredD1(env.DB);
    const drivers = Array.from({ length: 100 }, (_, k) => `k = ${k}`);
    const seen: number[] = [];
    let before = Number.MAX_SAFE_INTEGER;
    for (let calls = 0; calls < 1000; calls++) {
      meter.reset();
      const page = await boundedScan(meter.db, { table: "scan_probe", columns: "seq, k, odd", drivers, filter: "walked.odd = 1", before, limit: 50, scanRows: 4000 });
      expect(meter.usage.rowsRead).toBeLessThanOrEqual(4000 + 100);
      seen.push(...page.seqs);
      if (page.nextBefore === null) break;
      before = page.nextBefore;
    }
    expect(seen).toEqual(Array.from({ length: 3000 }, (_, i) => 5999 - 2 * i));
  });

  it("read packed rows whole when a driver names more keys than fit in SQL, at most 100 a statement, and page through everything exactly once", async () => {
    // A packed row a source row, each naming it under key 7 (offset 0); 1,001 keys: more than a
    // statement may name (packed.ts), so the rows are read whole.
    const driver = await packedFixture("whole", 1000, "7", `SELECT seq, seq, '{"7":[0]}' FROM whole_source`, [7, ...Array.from({ length: 1_000 }, (_, i) => 100_000 + i)]);
    const watch = mostPackedRows(env.DB);
    const seen: number[] = [];
    let before = Number.MAX_SAFE_INTEGER;
    for (let calls = 0; calls < 100; calls++) {
      // A rare filter, so a call walks on past its first steps.
      const page = await boundedScan(watch.db, { table: "whole_source", columns: "seq, k", drivers: driver, filter: "walked.seq % 100 = 0", before, limit: 50, scanRows: 4000 });
      seen.push(...page.seqs);
      if (page.nextBefore === null) break;
      before = page.nextBefore;
    }
    expect(seen).toEqual(Array.from({ length: 10 }, (_, i) => 1000 - 100 * i));
    expect(watch.most()).toBeGreaterThan(0);
    expect(watch.most()).toBeLessThanOrEqual(100);
  });

  it("walk no more packed rows than the rates seen say should reach the named rows' bound or fill the page, and page through everything exactly once", async () => {
    // A packed row a source row, most naming it under key 7 (about one named row a packed row, as an
    // organization's token on the seeded million), beside lookalike keys; every 7th only the lookalikes.
    const n = 12_000;
    const driver = await packedFixture(
      "rate", n, "7",
      `SELECT seq, seq, CASE WHEN seq % 7 = 0 THEN '{"17":[0],"70":[0]}' ELSE '{"17":[0],"7":[0],"70":[0]}' END FROM rate_source`,
      [7],
    );
    const meter = meteredD1(env.DB);
    // Without the estimate every call below read 8,000 rows: 4,000 packed rows and 2,000 named ones
    // (each counted twice, its IN list's row too). Matches every 50th: the named rows' bound comes
    // ~1,300 rows into the last step's 3,000. Every 25th: the page is full ~1,000 rows into it.
    // Every 25th among the newest 1,000, then every 500th: the last step's estimate falls short (a
    // shorter page, and on from its cursor).
    const cases = [
      { every: () => 50, sql: "50", most: 7_000 },
      { every: () => 25, sql: "25", most: 6_000 },
      { every: (s: number) => (s > n - 1_000 ? 25 : 500), sql: `CASE WHEN walked.seq > ${n - 1_000} THEN 25 ELSE 500 END`, most: 7_000 },
    ];
    for (const c of cases) {
      const seen: number[] = [];
      let before = Number.MAX_SAFE_INTEGER;
      let most = 0;
      for (let calls = 0; calls < 100; calls++) {
        meter.reset();
        const page = await boundedScan(meter.db, { table: "rate_source", columns: "seq, k", drivers: driver, filter: `walked.seq % (${c.sql}) = 0`, before, limit: 50, scanRows: 4000 });
        most = Math.max(most, meter.usage.rowsRead);
        seen.push(...page.seqs);
        if (page.nextBefore === null) break;
        before = page.nextBefore;
      }
      expect(most).toBeLessThanOrEqual(c.most);
      expect(seen).toEqual(Array.from({ length: n }, (_, i) => n - i).filter((s) => s % 7 !== 0 && s % c.every(s) === 0));
    }
  });
});

describe("packed walks' named rows", () => {
  it("answer only the rows the filter takes, the filter run once a row (rows read as before), and page through everything exactly once", async () => {
    // Packed rows of ten positions, all under key 7; a filter that reads another table for each row
    // (as a status reads deliveries), true for every 40th.
    const n = 3_000;
    const driver = await packedFixture("named", n, "7", `SELECT seq, seq + 9, '{"7":[0,1,2,3,4,5,6,7,8,9]}' FROM named_source WHERE seq % 10 = 1`, [7], [
      "CREATE TABLE named_side (s INTEGER PRIMARY KEY)",
      "INSERT INTO named_side (s) SELECT seq FROM named_source WHERE seq % 40 = 0",
    ]);
    const meter = meteredD1(env.DB);
    // What each statement answered, by its SQL.
    const answers: { sql: string; rows: Record<string, unknown>[] }[] = [];
    const statement = (s: D1PreparedStatement, sql: string): D1PreparedStatement =>
      new Proxy(s, {
        get: (t, prop) =>
          prop === "bind"
            ? (...v: unknown[]) => statement(t.bind(...v), sql)
            : prop === "all"
              ? async () => {
                  const r = await t.all<Record<string, unknown>>();
                  answers.push({ sql, rows: r.results });
                  return r;
                }
              : Reflect.get(t, prop),
      });
    const db = new Proxy(meter.db, { get: (t, prop) => (prop === "prepare" ? (sql: string) => statement(t.prepare(sql), sql) : Reflect.get(t, prop)) });
    const seen: number[] = [];
    let before = Number.MAX_SAFE_INTEGER;
    for (let calls = 0; calls < 100; calls++) {
      const page = await boundedScan(db, { table: "named_source", columns: "seq, k", drivers: driver, filter: "EXISTS (SELECT 1 FROM named_side WHERE s = walked.seq)", before, limit: 20, scanRows: 4000 });
      seen.push(...page.seqs);
      if (page.nextBefore === null) break;
      before = page.nextBefore;
    }
    expect(seen).toEqual(Array.from({ length: n / 40 }, (_, i) => n - 40 * i));
    const named = answers.filter((a) => !a.sql.includes("named_packed"));
    expect(named.length).toBeGreaterThan(0);
    // Before, each answered every row it examined (the walk's 3,000 and more), its filter's answer beside it.
    for (const a of named) for (const r of a.rows) expect(r.hit).toBe(1);
    // (Each examined row read once, its IN list's entry too, and its side row looked up once: as when every row was answered.)
    expect(meter.usage.rowsRead).toBe(READ_BEFORE);
  });
});

describe("packed walks' statements", () => {
  it("check their named rows in at most PACKED_WALK_STEPS statements, the rates' extra step included (rowsBoundedScan prices a bound list once each)", async () => {
    // The key in every other packed row; hits rarer with age, so that the estimates hold rows back for the extra step.
    const n = 6_000;
    const driver = await packedFixture("steps", n, "7", `SELECT seq, seq, CASE WHEN seq % 2 = 0 THEN '{"7":[0]}' ELSE '{"17":[0]}' END FROM steps_source`, [7]);
    const age = `(${n} - walked.seq)`;
    const filter = `walked.seq % (CASE WHEN ${age} < 250 THEN 6 WHEN ${age} < 420 THEN 32 WHEN ${age} < 560 THEN 70 ELSE 1000 END) = 0`;
    let most = 0;
    for (const scanRows of [400, 800, 4000]) {
      const meter = meteredD1(env.DB, { record: true });
      await boundedScan(meter.db, { table: "steps_source", columns: "seq, k", drivers: driver, filter, before: Number.MAX_SAFE_INTEGER, limit: 50, scanRows, exact: true });
      const checks = meter.calls.flatMap((c) => c.statements).filter((s) => !s.sql.includes("steps_packed"));
      most = Math.max(most, checks.length);
    }
    expect(most).toBeGreaterThan(4); // (the extra step was taken: the case this holds)
    expect(most).toBeLessThanOrEqual(PACKED_WALK_STEPS);
  });
});

describe("packed walks read whole", () => {
  it("walk no more packed rows a call than the steps' shares (100 a statement), the rates' extra step only what they held back", async () => {
    // More keys than are named inline (packed.ts INLINE_KEYS): each row read whole, 100 a statement.
    // None of the rows has one of them: every step finds nothing, and the estimate holds nothing back.
    const n = 1_000;
    const driver = await packedFixture("held", n, "1", `SELECT seq, seq, '{"1":[0]}' FROM held_source`, Array.from({ length: 1_001 }, (_, i) => i + 2));
    const meter = meteredD1(env.DB);
    const page = await boundedScan(meter.db, { table: "held_source", columns: "seq, k", drivers: driver, filter: "1", before: Number.MAX_SAFE_INTEGER, limit: 50, scanRows: 4000 });
    expect(page.seqs).toEqual([]);
    // 50, then 100 a step: 350 rows, as before the estimate.
    expect(n - page.nextBefore! + 1).toBe(350);
    expect(meter.usage.rowsRead).toBeLessThanOrEqual(350);
  });
});

describe("packed rows' SQL", () => {
  it("decode a row's JSON for a single key only where its quoted name is (most of a walk's time was decoding), for more keys every row", async () => {
    const packing = { table: "probe_packed", source: "probe_source", columns: [{ stored: "ks", key: "k" }] };
    expect(packedRowsSql({ packing, ids: [[7]] }, 10)).toContain(`CASE WHEN instr(ks, '"7"') > 0 THEN`);
    expect(packedRowsSql({ packing, ids: [[7, 8]] }, 10)).not.toContain("instr(");
    // The same offsets either way, lookalike keys ("17", "70") not taken for it.
    const rows = ['{"17":[0],"7":[1,2],"70":[3]}', '{"17":[0],"70":[3]}', '{"7":[4]}', null];
    const column = await env.DB.prepare(`SELECT ${packedRowsSql({ packing, ids: [[7]] }, 10).match(/CASE WHEN .* END/)![0]} AS ks FROM (SELECT key, value AS ks FROM json_each(?1)) ORDER BY key`)
      .bind(JSON.stringify(rows))
      .all<{ ks: string | null }>();
    expect(column.results.map((r) => r.ks)).toEqual(["[[null,[1,2]]]", null, "[[null,[4]]]", null]);
  });
});

describe("rows-bounded scans", () => {
  it("move on even when a filter costs more than it said: the row it left undecided at the top of a call is decided the next call, past the bound", async () => {
    await env.DB.batch([
      env.DB.prepare("CREATE TABLE lying_probe (seq INTEGER PRIMARY KEY)"),
      env.DB.prepare("CREATE TABLE lying_cost (id INTEGER PRIMARY KEY)"),
      env.DB.prepare(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200) INSERT INTO lying_probe (seq) SELECT i FROM n WHERE i <= 60`),
      env.DB.prepare(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200) INSERT INTO lying_cost (id) SELECT i FROM n`),
    ]);
    // Every row it examines reads 100 rows, whatever room it is given, and it never decides the newest.
    const costly = "(SELECT count(*) FROM (SELECT 1 FROM lying_cost c WHERE c.id > walked.seq * 0 LIMIT 100)) = 100";
    const seen: number[] = [];
    let before = Number.MAX_SAFE_INTEGER;
    let calls = 0;
    for (; calls < 20; calls++) {
      const page = await rowsBoundedScan(env.DB, {
        table: "lying_probe",
        columns: "seq",
        drivers: ["1"],
        filterWithin: () => `CASE WHEN walked.seq = 60 THEN 2 ELSE (${costly}) + (walked.seq % 2 = 0) = 2 END`,
        exactFilter: "walked.seq % 2 = 0",
        minRoom: 1,
        before,
        limit: 50,
        scanRows: 4000,
        maxRowsRead: 9000,
      });
      seen.push(...page.seqs);
      if (page.nextBefore === null) break;
      before = page.nextBefore;
    }
    expect(calls).toBeLessThan(20);
    expect(seen).toEqual(Array.from({ length: 30 }, (_, i) => 60 - 2 * i));
  });
});

/** `db`, noting the most packed rows (`SELECT seq, last, …`) one statement answered. */
function mostPackedRows(db: D1Database) {
  let most = 0;
  const statement = (s: D1PreparedStatement, sql: string): D1PreparedStatement =>
    new Proxy(s, {
      get(target, p) {
        if (p === "bind") return (...values: unknown[]) => statement(target.bind(...values), sql);
        if (p === "all")
          return async () => {
            const r = await target.all();
            if (sql.startsWith("SELECT seq, last")) most = Math.max(most, r.results.length);
            return r;
          };
        const v: unknown = Reflect.get(target, p);
        return typeof v === "function" ? v.bind(target) : v;
      },
    });
  const watched = new Proxy(db, {
    get(target, p) {
      if (p === "prepare") return (sql: string) => statement(target.prepare(sql), sql);
      const v: unknown = Reflect.get(target, p);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
  return { db: watched, most: () => most };
}
