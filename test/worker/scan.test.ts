import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { meteredD1 } from "../../bench/d1-meter";
import { boundedScan } from "../../src/store/scan";

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
});
