// Limits D1 documents that the local runtime does not enforce (docs/testing.md): a statement
// over them passes every other test here and fails on Cloudflare.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { eventIdFor } from "../../src/domain/ids";
import type { IngestMessage } from "../../src/domain/types";
import { RETENTION_START, retentionStep } from "../../src/store/retention";
import { d1Double, type SeenStatement } from "./d1-double";
import { podiumBody } from "./helpers";
import { pipeline, uniqueKey } from "./pipeline";
import { kept, recounted } from "./recount";

/** D1's documented limits: bytes of one string or BLOB, arguments of one SQL function. */
const MAX_VALUE_BYTES = 2_000_000;
const MAX_FUNCTION_ARGS = 32;

/** The most arguments any function call in `sql` takes (a name right before "(", outside quotes). */
export function widestCall(sql: string): number {
  const frames: { call: boolean; args: number; empty: boolean }[] = [];
  let widest = 0;
  for (let i = 0; i < sql.length; i++) {
    const ch = sql[i]!;
    if (ch === "'") {
      i = sql.indexOf("'", i + 1);
      if (i < 0) break;
      continue;
    }
    const top = frames.at(-1);
    if (ch === "(") {
      frames.push({ call: /\w/.test(sql[i - 1] ?? ""), args: 1, empty: true });
    } else if (ch === ")") {
      const done = frames.pop();
      if (done?.call && !done.empty) widest = Math.max(widest, done.args);
    } else if (top && ch === ",") {
      top.args++;
    } else if (top && !/\s/.test(ch)) {
      top.empty = false;
    }
  }
  return widest;
}

const bytesOf = (v: unknown) => (typeof v === "string" ? new TextEncoder().encode(v).byteLength : v instanceof ArrayBuffer || ArrayBuffer.isView(v) ? v.byteLength : 0);

describe("D1's documented limits", () => {
  it("widestCall counts a function's arguments, not a list's or a subquery's", () => {
    expect(widestCall("SELECT max(a, b, c) FROM t WHERE x IN (1, 2, 3, 4) AND f((SELECT 1, 2), 'a,b')")).toBe(3);
    expect(widestCall("SELECT max(max(a, b), c), coalesce(x, y)")).toBe(2);
    expect(widestCall("SELECT count()")).toBe(0);
  });

  it("hold for an ingest batch owed more deliveries than one statement takes, and for its purge", async () => {
    const seen: SeenStatement[] = [];
    const double = d1Double({ failStatement: (s) => (seen.push(s), false) });
    const p = pipeline({ DB: double.db });
    const key = uniqueKey();
    const org = `org-${key}`;
    // 100 events, each owed to 140 webhooks: 14,000 deliveries, ~2.1 MB as one JSON value.
    const hooks = 140;
    for (let i = 0; i < hooks; i++) await p.createWebhook({ url: `https://downstream.test/ok/${key}-${i}`, eventTypes: ["*"], organizationUid: org });
    const old = Date.now() - 11 * 86_400_000;
    await env.DB.prepare("UPDATE webhooks SET created_at = 0 WHERE organization_uid = ?").bind(org).run(); // there when they arrived
    const msgs: IngestMessage[] = await Promise.all(
      Array.from({ length: 100 }, async (_, i) => ({
        v: 1 as const,
        eventId: await eventIdFor("podium", `${key}-${i}`),
        sourceId: "podium",
        dedupeKey: `${key}-${i}`,
        eventType: "message.received",
        locationUid: `loc-${key}`,
        organizationUid: org,
        receivedAt: old + i,
        headers: { "content-type": "application/json" },
        body: podiumBody({ type: "message.received", eventUid: `${key}-${i}`, organizationUid: org, locationUid: `loc-${key}` }),
      })),
    );
    const { acked } = await p.runIngest(msgs);
    expect(acked).toHaveLength(100);
    // One transaction stored them all (not the per-event fallback), with every delivery.
    expect(double.calls.batches.filter((n) => n > 1)).toHaveLength(1);
    const owed = await env.DB.prepare(
      "SELECT COUNT(*) AS n FROM deliveries WHERE webhook IN (SELECT n.id FROM names n JOIN webhooks w ON w.uid = n.name WHERE w.organization_uid = ?)",
    )
      .bind(org)
      .first<number>("n");
    expect(owed).toBe(hooks * 100);
    expect(await kept(env.DB)).toEqual(await recounted(env.DB));

    // Two passes: the first expires what they are owed, the second purges them.
    for (const pass of [1, 2]) {
      const now = Date.now() + pass;
      let from = RETENTION_START;
      for (let step = await retentionStep(double.db, { cutoff: now - 10 * 86_400_000, graceCutoff: now + 1, from, limit: 5_000, now }); step.next; ) {
        from = step.next;
        step = await retentionStep(double.db, { cutoff: now - 10 * 86_400_000, graceCutoff: now + 1, from, limit: 5_000, now });
      }
    }
    expect(await env.DB.prepare("SELECT COUNT(*) AS n FROM events WHERE organization = (SELECT id FROM names WHERE name = ?)").bind(org).first<number>("n")).toBe(0);

    expect(seen.some((s) => /DELETE FROM attempt_counts/.test(s.sql))).toBe(true);
    for (const s of seen) {
      expect(widestCall(s.sql), s.sql.slice(0, 200)).toBeLessThanOrEqual(MAX_FUNCTION_ARGS);
      for (const v of s.values) expect(bytesOf(v), s.sql.slice(0, 200)).toBeLessThanOrEqual(MAX_VALUE_BYTES);
    }
  });
});
