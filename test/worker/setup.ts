import { env } from "cloudflare:workers";

// The schema as applyD1Migrations (cloudflare:test) leaves it, d1_migrations included, but in one
// batch rather than one a migration: every workers file starts from an empty database, and its
// 38 round trips were most of each file's setup. A migration already recorded is left out, as there.
await env.DB.prepare(
  "CREATE TABLE IF NOT EXISTS d1_migrations (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE, applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL)",
).run();
const applied = new Set((await env.DB.prepare("SELECT name FROM d1_migrations").all<{ name: string }>()).results.map((r) => r.name));
const record = env.DB.prepare("INSERT INTO d1_migrations (name) VALUES (?)");
const due = env.TEST_MIGRATIONS.filter((m) => !applied.has(m.name));
if (due.length > 0) await env.DB.batch(due.flatMap((m) => [...m.queries.map((q) => env.DB.prepare(q)), record.bind(m.name)]));
