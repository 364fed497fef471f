// Event contents read back: a group comes from D1 as hex text, not as an array of numbers (a byte an element).
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { decodeGroup, encodeGroup } from "../../src/store/content";
import { contentsOf, contentsReader } from "../../src/store/contents";
import { storeEvents, type EventRow } from "../../src/store/events";
import { uniqueKey } from "./pipeline";

function row(tag: string, i: number, body: string): EventRow {
  return {
    eventId: `evt_${tag}_${i}`,
    sourceId: "podium",
    dedupeKey: `${tag}-${i}`,
    eventType: "message.received",
    locationUid: null,
    organizationUid: null,
    receivedAt: Date.UTC(2022, 0, 1) + i,
    headers: { "content-type": "application/json", "x-i": String(i) },
    body,
  };
}

/** `db`, keeping every row its statements answered. */
function answersOf(db: D1Database) {
  const rows: Record<string, unknown>[] = [];
  /** Each statement's answer. */
  const answers: Record<string, unknown>[][] = [];
  const wrap = (s: D1PreparedStatement): D1PreparedStatement =>
    new Proxy(s, {
      get(target, p) {
        if (p === "bind") return (...values: unknown[]) => wrap(target.bind(...values));
        if (p === "all")
          return async () => {
            const r = await target.all<Record<string, unknown>>();
            rows.push(...r.results);
            answers.push(r.results);
            return r;
          };
        const v: unknown = Reflect.get(target, p);
        return typeof v === "function" ? v.bind(target) : v;
      },
    });
  const watched = new Proxy(db, {
    get(target, p) {
      if (p === "prepare") return (sql: string) => wrap(target.prepare(sql));
      if (p === "batch")
        return async (statements: D1PreparedStatement[]) => {
          const done = await target.batch<Record<string, unknown>>(statements);
          for (const r of done) {
            rows.push(...r.results);
            answers.push(r.results);
          }
          return done;
        };
      const v: unknown = Reflect.get(target, p);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
  return { db: watched, rows, answers };
}

describe("event contents", () => {
  it("come back as hex text, not a byte an array element, and decode to what was stored; a migrated TEXT row as is", async () => {
    const tag = uniqueKey();
    const events = Array.from({ length: 5 }, (_, i) => row(tag, i, JSON.stringify({ i, text: "é ✓ ".repeat(50 + i) })));
    await storeEvents(env.DB, events);
    const seqs = (await env.DB.prepare("SELECT seq FROM events ORDER BY seq DESC LIMIT 5").all<{ seq: number }>()).results.map((r) => r.seq).reverse();
    const watched = answersOf(env.DB);
    const byOne = await contentsOf(watched.db, seqs);
    expect(seqs.map((s) => byOne.get(s)?.body)).toEqual(events.map((e) => e.body));
    expect(seqs.map((s) => byOne.get(s)?.headers)).toEqual(events.map((e) => e.headers));
    const group = (await env.DB.prepare("SELECT max(seq) AS g FROM contents WHERE seq <= ?").bind(seqs[0]).first<number>("g"))!;
    const read = contentsReader(watched.db, 4);
    expect(await read(group, 2, () => [])).toEqual(byOne.get(seqs[2]!));
    const answered = watched.rows.filter((r) => "data_hex" in r || "data" in r);
    expect(answered.length).toBeGreaterThanOrEqual(2);
    for (const r of answered) {
      expect(typeof r.data_hex).toBe("string");
      expect(r.data).toBeNull();
    }

    // A row of the old layout, migrated as TEXT: read as is.
    const text = `${JSON.stringify([])}\n${JSON.stringify({ "x-old": "1" })}\nold body`;
    await env.DB.prepare("UPDATE contents SET data = ? WHERE seq = ?").bind(text, group).run();
    expect((await contentsOf(env.DB, [group])).get(group)).toEqual({ headers: { "x-old": "1" }, body: "old body" });
  });

  it("read a group stored over 1,000,000 bytes as its bytes: its hex would pass D1's 2,000,000 for a string", async () => {
    // Five bodies of 256 KB (the most ingress takes) of varied three-byte characters: one group
    // (content.ts MAX_GROUP_UNITS), compressed to over 1,000,000 bytes (deflate codes them ~2.3 bytes each).
    let state = 7;
    const char = () => {
      // (xorshift32: a fixed sequence that does not repeat within these bodies.)
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      return String.fromCharCode(0x800 + ((state >>> 0) % (0xd800 - 0x800)));
    };
    const body = () => Array.from({ length: Math.floor((256 * 1024) / 3) }, char).join("");
    const tag = uniqueKey();
    const events = Array.from({ length: 5 }, (_, i) => row(tag, i, body()));
    await storeEvents(env.DB, events);
    const seqs = (await env.DB.prepare("SELECT seq FROM events ORDER BY seq DESC LIMIT 5").all<{ seq: number }>()).results.map((r) => r.seq).reverse();
    const group = (await env.DB.prepare("SELECT max(seq) AS g FROM contents WHERE seq <= ?").bind(seqs[0]).first<number>("g"))!;
    expect(await env.DB.prepare("SELECT length(data) AS n FROM contents WHERE seq = ?").bind(group).first<number>("n")).toBeGreaterThan(1_000_000);
    const watched = answersOf(env.DB);
    const byOne = await contentsOf(watched.db, seqs);
    expect(seqs.map((s) => byOne.get(s)?.body)).toEqual(events.map((e) => e.body));
    const read = contentsReader(watched.db, 4);
    expect((await read(group, 4, () => []))?.body).toBe(events[4]!.body);
    // (The local runtime does not enforce D1's limit: d1-limits.test.ts.)
    const strings = watched.rows.flatMap((r) => Object.values(r).filter((v) => typeof v === "string"));
    for (const v of strings) expect(new TextEncoder().encode(v).length).toBeLessThanOrEqual(2_000_000);
  });

  it("keep only the parts asked for: a group decoded for one event holds that event's body, not the batch's", async () => {
    const parts = Array.from({ length: 10 }, (_, i) => ({ headers: { "x-i": String(i) }, body: `${i}`.repeat(50_000) }));
    const decoded = await decodeGroup(await encodeGroup(parts), new Set([3, 7]));
    expect(decoded.length).toBe(10);
    expect(decoded[3]).toEqual(parts[3]);
    expect(decoded[7]).toEqual(parts[7]);
    // The characters kept: the two bodies asked for (100,000), not the group's 500,000.
    expect(decoded.reduce((n, p) => n + (p?.body.length ?? 0), 0)).toBe(100_000);
    // Without `wanted`, every part.
    expect((await decodeGroup(await encodeGroup(parts))).map((p) => p?.body)).toEqual(parts.map((p) => p.body));
  });

  it("read along a walk hold only the parts the walk still asks for, not every group read", async () => {
    // Eight groups of five events of 60,000 characters (a group: 300,000), the walk wanting one event of each
    // (as a search's time order does, or a scheduler's webhook subscribed to one type of a busy source).
    const tag = uniqueKey();
    const places: { grp: number; part: number; body: string }[] = [];
    for (let g = 0; g < 8; g++) {
      const events = Array.from({ length: 5 }, (_, i) => row(`${tag}_${g}`, i, `{"g":${g},"i":${i},"pad":"${"x".repeat(60_000)}"}`));
      await storeEvents(env.DB, events);
      const seq = (await env.DB.prepare("SELECT seq FROM events ORDER BY seq DESC LIMIT 1 OFFSET 2").first<number>("seq"))!;
      const grp = (await env.DB.prepare("SELECT max(seq) AS g FROM contents WHERE seq <= ?").bind(seq).first<number>("g"))!;
      places.push({ grp, part: seq - grp, body: events[seq - grp]!.body });
    }
    const read = contentsReader(env.DB, 4);
    let most = 0;
    for (const [i, p] of places.entries()) {
      expect((await read(p.grp, p.part, () => places.slice(i + 1)))?.body).toBe(p.body);
      most = Math.max(most, read.heldChars());
    }
    // At most the three read ahead of the four a read fetches: ~180,000 characters, where the groups read hold 2,400,000.
    expect(most).toBeGreaterThan(0);
    expect(most).toBeLessThanOrEqual(3 * 60_100);
    expect(read.heldChars()).toBe(0);
  });

  it("of many groups come back a few groups a statement, not all at once", async () => {
    // Ten groups (a scheduler's page of deliveries can name 50, each of another batch), an event of each wanted.
    const tag = uniqueKey();
    const wanted: { seq: number; body: string }[] = [];
    for (let g = 0; g < 10; g++) {
      const events = Array.from({ length: 2 }, (_, i) => row(`${tag}_${g}`, i, JSON.stringify({ g, i })));
      await storeEvents(env.DB, events);
      const seq = (await env.DB.prepare("SELECT seq FROM events ORDER BY seq DESC LIMIT 1").first<number>("seq"))!;
      wanted.push({ seq, body: events[1]!.body });
    }
    const watched = answersOf(env.DB);
    const got = await contentsOf(watched.db, wanted.map((w) => w.seq));
    expect(wanted.map((w) => got.get(w.seq)?.body)).toEqual(wanted.map((w) => w.body));
    const groupsAnswered = watched.answers.map((a) => a.filter((r) => "data_hex" in r).length);
    expect(groupsAnswered.reduce((n, k) => n + k, 0)).toBe(10);
    expect(Math.max(...groupsAnswered)).toBeLessThanOrEqual(4);
  });
});
