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

    // 200 drivers share the seeks: 5 blocks a call, so three windows cover the 16 blocks.
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
});
