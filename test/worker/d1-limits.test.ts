// Limits D1 documents that the local runtime does not enforce (docs/testing.md): a statement
// over them passes every other test here and fails on Cloudflare.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { eventIdFor } from "../../src/domain/ids";
import type { IngestMessage } from "../../src/domain/types";
import { listDeliveries } from "../../src/store/delivery-reads";
import { listEvents, type EventFilter } from "../../src/store/events";
import { RETENTION_START, retentionStep } from "../../src/store/retention";
import { d1Double, type SeenStatement } from "./d1-double";
import { ingestMessage, podiumBody } from "./helpers";
import { pipeline, uniqueKey } from "./pipeline";
import { kept, recounted } from "./recount";

/** D1's documented limits: bytes of one string or BLOB, arguments of one SQL function. */
const MAX_VALUE_BYTES = 2_000_000;
const MAX_FUNCTION_ARGS = 32;

/** Words that a "(" may follow without making a function call. */
const NOT_CALLS = new Set(["conflict", "in", "exists", "values", "as", "on", "using", "over", "from", "join", "and", "or", "not", "then", "else", "when", "where", "select", "into", "table", "by", "with", "set", "case", "is"]);

/**
 * The most arguments any function call in `sql` takes: a name (bare or "quoted") before "(",
 * spaces allowed, unless a keyword or the table of an INTO; strings and comments skipped.
 */
function widestCall(sql: string): number {
  const frames: { call: boolean; args: number; empty: boolean }[] = [];
  let widest = 0;
  let word = "";
  let before = "";
  for (let i = 0; i < sql.length; i++) {
    const ch = sql.charAt(i);
    const skipTo = (end: string) => {
      const at = sql.indexOf(end, i + 1);
      i = at < 0 ? sql.length : at + end.length - 1;
    };
    if (ch === "'") skipTo("'");
    else if (ch === "-" && sql.charAt(i + 1) === "-") skipTo("\n");
    else if (ch === "/" && sql.charAt(i + 1) === "*") skipTo("*/");
    else if (ch === '"') {
      const end = sql.indexOf('"', i + 1);
      [before, word] = [word, end < 0 ? "" : sql.slice(i + 1, end)];
      i = end < 0 ? sql.length : end;
      continue;
    }
    const top = frames.at(-1);
    if (/\w/.test(ch)) {
      if (!/\w/.test(sql.charAt(i - 1))) [before, word] = [word, ""];
      word += ch;
      if (top) top.empty = false;
      continue;
    }
    if (/\s/.test(ch)) continue;
    if (top && ch !== ")") top.empty = false;
    if (ch === "(") {
      const call = word !== "" && !NOT_CALLS.has(word.toLowerCase()) && before.toLowerCase() !== "into" && !/^\d/.test(word);
      frames.push({ call, args: 1, empty: true });
    } else if (ch === ")") {
      const done = frames.pop();
      if (done?.call && !done.empty) widest = Math.max(widest, done.args);
    } else if (top && ch === ",") top.args++;
    [before, word] = ["", ""];
  }
  return widest;
}

const bytesOf = (v: unknown) => (typeof v === "string" ? new TextEncoder().encode(v).byteLength : v instanceof ArrayBuffer || ArrayBuffer.isView(v) ? v.byteLength : 0);

describe("D1's documented limits", () => {
  // The rest of the suite leans on these: a statement over D1's 100 bound parameters or 100,000
  // bytes fails here as on Cloudflare, whatever test builds it; the two limits the local runtime
  // does not enforce are checked statement by statement below (docs/testing.md).
  it("the local D1 refuses 101 bound parameters and a statement over 100,000 bytes, as Cloudflare's does", async () => {
    const inList = (n: number) => `SELECT count(*) AS n WHERE 1 IN (${Array.from({ length: n }, () => "?").join(", ")})`;
    const ones = (n: number) => Array.from({ length: n }, () => 1);
    expect(await env.DB.prepare(inList(100)).bind(...ones(100)).first<number>("n")).toBe(1);
    await expect(env.DB.prepare(inList(101)).bind(...ones(101)).first("n")).rejects.toThrow(/too many SQL variables/);
    const literals = (bytes: number) => `SELECT 1 AS n WHERE 1 IN (${"1, ".repeat(Math.floor((bytes - 40) / 3))}1)`;
    const near = literals(99_900);
    expect(near.length).toBeLessThanOrEqual(100_000);
    expect(await env.DB.prepare(near).first<number>("n")).toBe(1);
    const over = literals(100_100);
    expect(over.length).toBeGreaterThan(100_000);
    await expect(env.DB.prepare(over).first("n")).rejects.toThrow(/too long|TOOBIG/);
    // Not enforced here (so checked by the tests below): a value over 2,000,000 bytes.
    expect(await env.DB.prepare("SELECT length(?) AS n").bind("x".repeat(MAX_VALUE_BYTES + 1)).first<number>("n")).toBe(MAX_VALUE_BYTES + 1);
  });

  it("widestCall counts a function's arguments, not a list's, a subquery's or a table's columns", () => {
    expect(widestCall("SELECT max(a, b, c) FROM t WHERE x IN (1, 2, 3, 4) AND f((SELECT 1, 2), 'a,b')")).toBe(3);
    expect(widestCall("SELECT max(max(a, b), c), coalesce(x, y)")).toBe(2);
    expect(widestCall("SELECT count()")).toBe(0);
    expect(widestCall("INSERT INTO t (a, b, c, d) VALUES (1, 2, 3, 4) ON CONFLICT (a, b, c) DO NOTHING")).toBe(0);
    expect(widestCall("WITH r AS (SELECT 1, 2, 3) SELECT * FROM r WHERE EXISTS (SELECT 1, 2)")).toBe(0);
    const forty = Array.from({ length: 40 }, (_, i) => `c${i}`).join(", ");
    for (const sql of [`max (${forty})`, `max\n(${forty})`, `"it's", max(${forty})`, `-- it's\n max(${forty})`, `/* it's */ "max"(${forty})`]) {
      expect(widestCall(`SELECT ${sql} FROM t`), sql).toBe(40);
    }
  });

  it("hold for an ingest batch owed 52,000 deliveries, and for its purge", async () => {
    const seen: SeenStatement[] = [];
    const double = d1Double({ failStatement: (s) => (seen.push(s), false) });
    const p = pipeline({ DB: double.db });
    const key = uniqueKey();
    const org = `org-${key}`;
    // 100 events, each owed to 520 webhooks: 52,000 deliveries, ~7.7 MB as one JSON value, their ids ~2.03 MB.
    const hooks = 520;
    for (let i = 0; i < hooks; i++) await p.createWebhook({ url: `https://downstream.test/ok/${key}-${i}`, eventTypes: ["*"], organizationUid: org });
    const old = Date.now() - 11 * 86_400_000;
    await env.DB.prepare("UPDATE webhooks SET created_at = 0 WHERE organization_uid = ?").bind(org).run(); // there when they arrived
    const msgs: IngestMessage[] = await Promise.all(
      Array.from({ length: 100 }, async (_, i) => ({
        v: 1 as const,
        eventId: await eventIdFor({ id: "podium", eventSalt: null }, { given: `${key}-${i}` }),
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
    // A batch's contents are bound as the bytes stored (as hex, twice as many, they passed 2,000,000
    // before the row reached D1's limit for a row).
    const contents = seen.filter((st) => st.sql.includes("INSERT INTO contents"));
    expect(contents).toHaveLength(1);
    const data = contents[0]?.values[1];
    expect(await env.DB.prepare("SELECT COUNT(*) AS n FROM contents WHERE data = ?").bind(data).first<number>("n")).toBe(1);

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
  }, 60_000); // 52,000 deliveries written and purged: seconds of work, more on a loaded machine

  it("hold for the lists of a token limited to as many organizations and locations as a token may have", async () => {
    const p = pipeline();
    const key = uniqueKey();
    // The most a token may be given (api/schemas/tokens.ts TokenCreate), each stored: 100 of each.
    const orgs = Array.from({ length: 100 }, (_, i) => `org-${key}-${i}`);
    const locs = Array.from({ length: 100 }, (_, i) => `loc-${key}-${i}`);
    await p.runIngest(
      orgs.map((org, i) => ingestMessage({ organizationUid: org, locationUid: locs[i]!, body: podiumBody({ organizationUid: org, locationUid: locs[i]! }) })),
    );
    const seen: SeenStatement[] = [];
    // As on Cloudflare: a statement calling a function with more arguments than D1 allows fails.
    const double = d1Double({ failStatement: (s) => (seen.push(s), widestCall(s.sql) > MAX_FUNCTION_ARGS) });
    const access = { hiddenObjects: [], organizationUids: orgs, locationUids: locs };
    // Every place of the grant walked at once; one of its locations, organizations; a location no one has (its organizations walked).
    const cases: [EventFilter, number][] = [[{}, 100], [{ locationUid: locs[7]! }, 1], [{ organizationUid: orgs[9]! }, 1], [{ locationUid: `loc-${key}-none` }, 0]];
    for (const [filter, events] of cases) {
      const page = await listEvents(double.db, { limit: 200, access, filter });
      expect(page.events.length, JSON.stringify(filter)).toBe(events);
    }
    expect(seen.some((s) => s.sql.includes("FROM event_places"))).toBe(true);
  });

  it("hold for a list by status walking the packed rows of more webhooks than one call's paths", async () => {
    const p = pipeline();
    const { org, event } = await p.webhookOn("ok");
    for (let i = 0; i < 40; i++) await p.createWebhook({ url: `https://downstream.test/ok/${org}-${i}`, eventTypes: ["*"], organizationUid: org });
    const id = await p.ingest(event());
    const seen: SeenStatement[] = [];
    const double = d1Double({ failStatement: (s) => (seen.push(s), widestCall(s.sql) > MAX_FUNCTION_ARGS) });
    const listed: string[] = [];
    let before: number | undefined;
    do {
      const page = await listDeliveries(double.db, { status: "pending" }, { limit: 100, before });
      listed.push(...page.deliveries.filter((d) => d.eventId === id).map((d) => d.id));
      before = page.nextBefore ?? undefined;
    } while (before !== undefined);
    expect(listed).toHaveLength(41);
    expect(seen.some((s) => s.sql.includes("FROM delivery_webhooks"))).toBe(true);
  });
});
