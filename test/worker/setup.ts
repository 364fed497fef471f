import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { forgetSource } from "../../src/ingress/sources";
import { hubOf } from "../../src/listen/announce";

// The schema as applyD1Migrations (cloudflare:test) leaves it, d1_migrations included, but in one
// batch rather than one a migration: its 38 round trips were most of a file's setup. A migration
// already recorded is left out, as there.
await env.DB.prepare(
  "CREATE TABLE IF NOT EXISTS d1_migrations (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE, applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL)",
).run();
const applied = new Set((await env.DB.prepare("SELECT name FROM d1_migrations").all<{ name: string }>()).results.map((r) => r.name));
const record = env.DB.prepare("INSERT INTO d1_migrations (name) VALUES (?)");
const due = env.TEST_MIGRATIONS.filter((m) => !applied.has(m.name));
if (due.length > 0) await env.DB.batch(due.flatMap((m) => [...m.queries.map((q) => env.DB.prepare(q)), record.bind(m.name)]));

// With `isolate: false` (vitest.config.ts) one runtime runs several files one after another,
// sharing its storage: every file starts from the database as the migrations leave it (their
// few seeded rows), the first as it finds it, each later one from the copy the first took.
interface Fresh {
  tables: string[];
  rows: Map<string, Record<string, unknown>[]>;
}
declare global {
  // The first file's copy, kept for the files after it in the same runtime.
  var edgehookFresh: Fresh | undefined;
}
const holder = globalThis;
const KEEP = "d1_migrations";
if (holder.edgehookFresh === undefined) {
  const tables = (
    await env.DB.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\' AND name <> ?").bind(KEEP).all<{ name: string }>()
  ).results.map((t) => t.name);
  const read = await env.DB.batch<Record<string, unknown>>(
    tables.map((t) => (t === "sqlite_sequence" ? env.DB.prepare(`SELECT * FROM sqlite_sequence WHERE name <> ?`).bind(KEEP) : env.DB.prepare(`SELECT * FROM "${t}"`))),
  );
  holder.edgehookFresh = { tables, rows: new Map(tables.map((t, i) => [t, read[i]?.results ?? []])) };
} else {
  const { tables, rows } = holder.edgehookFresh;
  const data = tables.filter((t) => t !== "sqlite_sequence");
  // A delete's triggers may write rows into tables already emptied: again until all are empty.
  for (let pass = 0; ; pass++) {
    await env.DB.batch(data.map((t) => env.DB.prepare(`DELETE FROM "${t}"`)));
    const left = await env.DB.batch<{ n: number }>(data.map((t) => env.DB.prepare(`SELECT count(*) AS n FROM "${t}"`)));
    if (left.every((r) => r.results[0]?.n === 0)) break;
    if (pass === 5) throw new Error("the database did not empty between files");
  }
  const inserts = [env.DB.prepare("DELETE FROM sqlite_sequence WHERE name <> ?").bind(KEEP)];
  for (const [t, list] of rows)
    for (const row of list) {
      const cols = Object.keys(row);
      inserts.push(env.DB.prepare(`INSERT INTO "${t}" (${cols.map((c) => `"${c}"`).join(", ")}) VALUES (${cols.map(() => "?").join(", ")})`).bind(...cols.map((c) => row[c])));
    }
  await env.DB.batch(inserts);
  // What this runtime remembers of sources read from the database before (up to 15 s) goes with it.
  forgetSource();
  // R2 too starts empty: claim-checked bodies, parked dead letters (a maintenance run would take
  // or set aside another file's) and those set aside. Every key in the bucket is one of these.
  for (;;) {
    const { objects } = await env.BODIES.list({ limit: 1000 });
    if (objects.length === 0) break;
    await env.BODIES.delete(objects.map((o) => o.key));
  }
  // And the listener hub (one object of a fixed name): no socket another file left open, no
  // listener configuration or catch-up kept, nothing in memory (its instance is torn down).
  const hub = hubOf(env);
  await runInDurableObject(hub, async (_instance, state) => {
    await state.storage.deleteAlarm();
    await state.storage.deleteAll();
  });
  await evictDurableObject(hub, { webSockets: "close" });
}
