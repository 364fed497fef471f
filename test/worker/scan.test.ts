import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { meteredD1 } from "../../bench/d1-meter";
import { BLOCK_BITS, BLOCK_SEEKS, boundedScan, type Driver } from "../../src/store/scan";

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

  it("walk block indexes newest block first, seeking each block of their window, and page through everything exactly once", async () => {
    // Positions 3,000 to 62,999 (the oldest purged), in 16 blocks; k spread over 200
    // values, and a rare key in three places far apart.
    const [first, last] = [3000, 62999];
    const rare = [3001, 30000, 62000];
    await env.DB.batch([
      env.DB.prepare("CREATE TABLE block_probe (seq INTEGER PRIMARY KEY, k INTEGER NOT NULL, r INTEGER, odd INTEGER NOT NULL)"),
      env.DB.prepare(`CREATE INDEX block_probe_k ON block_probe (seq >> ${BLOCK_BITS}, k, seq)`),
      env.DB.prepare(`CREATE INDEX block_probe_r ON block_probe (seq >> ${BLOCK_BITS}, r, seq)`),
      env.DB.prepare(
        `WITH RECURSIVE n(i) AS (SELECT ${first} UNION ALL SELECT i + 1 FROM n WHERE i < ${last})
         INSERT INTO block_probe (seq, k, r, odd) SELECT i, i % 200, CASE WHEN i IN (${rare.join(", ")}) THEN 1 END, i % 2 FROM n`,
      ),
    ]);
    const meter = meteredD1(env.DB);
    const pageThrough = async (drivers: Driver[], filter: string) => {
      const seen: number[] = [];
      let before = Number.MAX_SAFE_INTEGER;
      let calls = 0;
      for (; calls < 1000; calls++) {
        meter.reset();
        const page = await boundedScan(meter.db, { table: "block_probe", columns: "seq, k, r, odd", drivers, filter, before, limit: 50, scanRows: 4000 });
        expect(meter.usage.rowsRead).toBeLessThanOrEqual(4000 + BLOCK_SEEKS + 2);
        seen.push(...page.seqs);
        if (page.nextBefore === null) break;
        before = page.nextBefore;
      }
      return { seen, calls: calls + 1 };
    };

    // 200 drivers share the seeks: 5 blocks a call, so at least four windows cover the 16 blocks.
    const many = await pageThrough(
      Array.from({ length: 200 }, (_, k) => ({ index: "block_probe_k", where: `k = ${k}` })),
      "walked.seq % 97 = 0",
    );
    expect(many.seen).toEqual(Array.from({ length: 619 }, (_, i) => 62953 - 97 * i));

    // One rare key: its three rows, in one call, and nothing after.
    const one = await pageThrough([{ index: "block_probe_r", where: "r = 1" }], "1");
    expect(one).toEqual({ seen: [...rare].reverse(), calls: 1 });

    // The table's own walk finds them too, 4,000 rows a call.
    expect(await pageThrough(["1"], "walked.r = 1")).toEqual({ seen: [...rare].reverse(), calls: 16 });
  });

  it("continue below a window that stops short of the oldest block, and end where the oldest row now is", async () => {
    // One row a block over 1,100 blocks; three of them match, in the newest, a middle and the oldest block.
    await env.DB.batch([
      env.DB.prepare("CREATE TABLE sparse_probe (seq INTEGER PRIMARY KEY, r INTEGER)"),
      env.DB.prepare(`CREATE INDEX sparse_probe_r ON sparse_probe (seq >> ${BLOCK_BITS}, r, seq)`),
      env.DB.prepare(
        `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 1099)
         INSERT INTO sparse_probe (seq, r) SELECT i * ${2 ** BLOCK_BITS} + 7, CASE WHEN i IN (0, 500, 1099) THEN 1 END FROM n`,
      ),
    ]);
    const at = (block: number) => block * 2 ** BLOCK_BITS + 7;
    const meter = meteredD1(env.DB);
    const scan = (before: number) =>
      boundedScan(meter.db, { table: "sparse_probe", columns: "seq, r", drivers: [{ index: "sparse_probe_r", where: "r = 1" }], filter: "1", before, limit: 50, scanRows: 4000 });

    const first = await scan(Number.MAX_SAFE_INTEGER);
    expect(first).toEqual({ seqs: [at(1099), at(500)], nextBefore: (1099 - BLOCK_SEEKS + 1) * 2 ** BLOCK_BITS });
    expect(meter.usage.rowsRead).toBeLessThanOrEqual(2 * BLOCK_SEEKS + 10);
    expect(await scan(first.nextBefore!)).toEqual({ seqs: [at(0)], nextBefore: null });

    // Purged below block 300 meanwhile: nothing is left below the cursor.
    await env.DB.prepare(`DELETE FROM sparse_probe WHERE seq < ${at(300)}`).run();
    expect(await scan(first.nextBefore!)).toEqual({ seqs: [], nextBefore: null });
  });
});
