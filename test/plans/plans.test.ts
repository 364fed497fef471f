// Query plans under the newest SQLite at hand (Node's), on the real schema: the plan a
// statement gets can change with SQLite's version and with the schema (a column added to
// deliveries once made the planner walk a webhook's deliveries), and the workers tests run
// an older runtime than `wrangler dev`. Each statement here must keep to the index it was
// written for, whatever the planner would otherwise prefer.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { describe, expect, it } from "vitest";
import { newDelivery } from "../../src/domain/delivery";
import { attemptsOfSql } from "../../src/store/attempts";
import { insertDeliveriesStatements } from "../../src/store/deliveries";

const dir = join(import.meta.dirname, "../../migrations");
const db = new DatabaseSync(":memory:");
for (const f of readdirSync(dir).sort()) db.exec(readFileSync(join(dir, f), "utf8"));

const plan = (sql: string) => db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all().map((r) => String(r.detail));

/** The SQL of the statements a store function prepares, without a database. */
function preparedBy(run: (d1: D1Database) => unknown): string[] {
  const sqls: string[] = [];
  const statement = { bind: () => statement };
  const d1 = { prepare: (sql: string) => (sqls.push(sql), statement) };
  run(d1 as unknown as D1Database);
  return sqls;
}

describe("query plans", () => {
  it("reads an event's attempts by its deliveries' keys, from both places they are kept", () => {
    const steps = plan(attemptsOfSql("SELECT seq, attempts FROM deliveries WHERE event = 5", ["seq"]));
    expect(steps).toContain("SEARCH a USING PRIMARY KEY (delivery=?)");
    expect(steps.filter((s) => /^SCAN (a|attempts|deliveries)\b/.test(s))).toEqual([]);
  });

  it("checks what a new delivery's event already has by the event's index, not the webhook's", async () => {
    const delivery = await newDelivery("routed", { id: `evt_${"0".repeat(32)}`, receivedAt: 1 }, { uid: "w", disabled: false }, 1);
    const sqls = preparedBy((d1) => insertDeliveriesStatements(d1, [delivery]));
    const insert = sqls.find((s) => s.startsWith("INSERT INTO deliveries"))!;
    const steps = plan(insert.replace(/\?(?!\d)/g, "'[]'"));
    expect(steps).toContain("SEARCH x USING INDEX deliveries_event (event=?)");
    expect(steps.some((s) => s.includes("deliveries_webhook_status"))).toBe(false);
  });
});
