// The headers and bodies of stored events, a batch to a row (content.ts says how).
import { DATA_READ_SQL, decodeRead, encodeGroup, type EventContent } from "./content";
import { chunksOf } from "./chunks";
import { idKeySql } from "./names";

/** The greatest `contents` key not above an events row's seq: the row holding its body. */
export const groupOfSql = (seq: string) => `(SELECT MAX(c.seq) FROM contents c WHERE c.seq <= ${seq})`;

/**
 * Stores one group's contents keyed by the seq its first event is about to get
 * (the events table's AUTOINCREMENT position + 1), for the caller's transaction,
 * just before those events are inserted in one statement. Every event of the group
 * takes a seq, one stored before too (AUTOINCREMENT allocates it before the
 * conflict), so `last` is exact; a group none of whose events is new (a redelivered
 * batch) is not stored at all, as no event would ever lead the purge to it.
 */
export async function groupStatement(db: D1Database, parts: (EventContent & { eventId: string })[]): Promise<D1PreparedStatement> {
  const next = "COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'events'), 0) + 1";
  return db
    .prepare(
      `INSERT INTO contents (seq, last, data)
       SELECT ${next}, ${next} + ?1 - 1, ?2
       WHERE EXISTS (SELECT 1 FROM json_each(?3) j WHERE NOT EXISTS (SELECT 1 FROM events WHERE id = ${idKeySql("evt_", "j.value")}))
       ON CONFLICT (seq) DO UPDATE SET last = excluded.last, data = excluded.data`,
    )
    .bind(parts.length, await encodeGroup(parts), JSON.stringify(parts.map((p) => p.eventId)));
}

/**
 * Content rows one statement of contentsOf answers at most: a compressed group can be ~800 KB of hex
 * (varied text compresses little), so the 50 groups of a scheduler's page of deliveries, each from
 * another batch, would come back as ~40 MB at once.
 */
const GROUPS_AT_ONCE = 4;

/** Content rows by their keys (a JSON array bound as ?). */
const GROUPS_BY_KEY = `SELECT seq, ${DATA_READ_SQL} FROM contents WHERE seq IN (SELECT value FROM json_each(?))`;

/** The headers and body of each of some events (by seq): their groups read a few at a time, the first few with their places. */
export async function contentsOf(db: D1Database, seqs: number[]): Promise<Map<number, EventContent>> {
  if (seqs.length === 0) return new Map();
  const list = JSON.stringify(seqs);
  const [where, first] = await db.batch<Record<string, unknown>>([
    db.prepare(`SELECT e.seq, e.part, ${groupOfSql("e.seq")} AS g FROM events e WHERE e.seq IN (SELECT value FROM json_each(?))`).bind(list),
    db.prepare(`SELECT seq, ${DATA_READ_SQL} FROM contents WHERE seq IN (SELECT ${groupOfSql("value")} FROM json_each(?)) ORDER BY seq LIMIT ${GROUPS_AT_ONCE}`).bind(list),
  ]);
  const places = where?.results ?? [];
  const out = await contentsRead(places, first?.results ?? []);
  const read = new Set((first?.results ?? []).map((g) => Number(g.seq)));
  const rest = [...new Set(places.filter((r) => r.g !== null && !read.has(Number(r.g))).map((r) => Number(r.g)))];
  for (const some of chunksOf(rest, GROUPS_AT_ONCE)) {
    const { results } = await db.prepare(GROUPS_BY_KEY).bind(JSON.stringify(some)).all();
    for (const [seq, content] of await contentsRead(places, results)) out.set(seq, content);
  }
  return out;
}

/**
 * contentsOf's two statements for the one event whose stored id `key` (SQL of ?1) is, bound to
 * `id`: for a caller's batch that reads its row too, one round trip in all. `contentsRead` decodes their results.
 */
export function contentOfEventStatements(db: D1Database, key: string, id: string): [D1PreparedStatement, D1PreparedStatement] {
  return [
    db.prepare(`SELECT e.seq, e.part, ${groupOfSql("e.seq")} AS g FROM events e WHERE e.id = ${key}`).bind(id),
    db.prepare(`SELECT seq, ${DATA_READ_SQL} FROM contents WHERE seq = (SELECT ${groupOfSql("e.seq")} FROM events e WHERE e.id = ${key})`).bind(id),
  ];
}

/**
 * Each event's part (by seq) of the groups read: `where` as contentsOf selects it, `groups` the
 * contents rows. A group is inflated one at a time and only its events' parts are kept (a page of
 * 50 events from 50 groups of ~1 MB of text each would otherwise hold them all).
 */
export async function contentsRead(where: Record<string, unknown>[], groups: Record<string, unknown>[]): Promise<Map<number, EventContent>> {
  const wanted = new Map<number, Map<number, number[]>>(); // group → part → seqs
  for (const r of where) {
    const parts = wanted.get(Number(r.g)) ?? new Map<number, number[]>();
    wanted.set(Number(r.g), parts.set(Number(r.part), [...(parts.get(Number(r.part)) ?? []), Number(r.seq)]));
  }
  const out = new Map<number, EventContent>();
  for (const g of groups) {
    const parts = wanted.get(Number(g.seq));
    if (!parts) continue;
    const decoded = await decodeRead(g, new Set(parts.keys()));
    for (const [part, seqs] of parts) {
      const content = decoded[part];
      if (content) for (const seq of seqs) out.set(seq, content);
    }
  }
  return out;
}

/** Where a walk's event is: its `groupOfSql` key (null when it has none) and its part. */
interface ContentPlace {
  grp: number | null;
  part: number;
}

/**
 * A reader of events' contents in the order a walk reaches them: `read(group, part,
 * upcoming)` answers one event's part of a group (the `groupOfSql` key), reading the
 * group row, with the next groups the walk will need (`upcoming()`, up to `perRead`
 * in all), only when it is not read yet, and inflating each group once. Of a group it keeps
 * only the parts the walk will still ask for (upcoming's), each until it is asked for: a walk
 * of 1,000 events from as many groups of ~1 MB of text each would otherwise hold them all.
 * `read.rowsRead`: the D1 rows read so far (a bounded read counts them); `read.heldChars()`:
 * the characters of the bodies it holds now.
 */
export function contentsReader(db: D1Database, perRead: number) {
  const readGroups = new Set<number>();
  const held = new Map<string, EventContent>(); // by `${group}:${part}`
  const read = async (group: number, part: number, upcoming: () => Iterable<ContentPlace>): Promise<EventContent | undefined> => {
    const key = `${group}:${part}`;
    if (!readGroups.has(group)) {
      const keys = new Set([group]);
      const rest = [...upcoming()];
      for (const u of rest) {
        if (keys.size >= perRead) break;
        if (u.grp !== null && !readGroups.has(u.grp)) keys.add(u.grp);
      }
      const wanted = new Map<number, Set<number>>([[group, new Set([part])]]);
      for (const u of rest) if (u.grp !== null && keys.has(u.grp)) wanted.set(u.grp, (wanted.get(u.grp) ?? new Set()).add(u.part));
      const { results, meta } = await db
        .prepare(GROUPS_BY_KEY)
        .bind(JSON.stringify([...keys]))
        .all<{ seq: number; data: unknown; data_hex: unknown }>();
      reader.rowsRead += meta.rows_read;
      for (const k of keys) readGroups.add(k);
      for (const r of results) {
        const parts = wanted.get(Number(r.seq))!;
        const decoded = await decodeRead(r, parts);
        for (const p of parts) {
          const content = decoded[p];
          if (content) held.set(`${r.seq}:${p}`, content);
        }
      }
    }
    const content = held.get(key);
    // (A walk asks for each place once: an event's part is its own.)
    held.delete(key);
    return content;
  };
  const heldChars = () => [...held.values()].reduce((n, c) => n + c.body.length, 0);
  const reader = Object.assign(read, { rowsRead: 0, heldChars });
  return reader;
}

/**
 * Deletes the groups of some purged events that no stored event needs any more (for the
 * purge's transaction). `last` bounds a group's seqs exactly: an event of the batch that
 * was stored before still takes its seq (AUTOINCREMENT allocates it before the conflict).
 */
export function dropGroupsStatement(db: D1Database, purgedSeqs: string): D1PreparedStatement {
  return db
    .prepare(
      `DELETE FROM contents WHERE seq IN (SELECT ${groupOfSql("value")} FROM json_each(?1))
         AND NOT EXISTS (SELECT 1 FROM events e WHERE e.seq BETWEEN contents.seq AND contents.last)`,
    )
    .bind(purgedSeqs);
}
