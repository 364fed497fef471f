#!/usr/bin/env bash
# bench/volume/id-index-trial.sh DIR [BATCHES]
#
# Why ingest is slower with a million events stored (docs/scale-and-cost.md), outside the
# runtime: with the sqlite3 CLI (Debian's `sqlite3`), on a copy of the D1 file a seed left in
# DIR (`npm run seed -- --persist-to DIR`), it times BATCHES transactions (default 200) each
# storing what an ingest batch stores: a contents row, 100 events over the seed's places and a
# delivery each. Once with random event ids (as they are: a hash of the source and the
# provider's id), once with the same inserts given ids in insertion order, once into an empty
# database of the same schema. Nothing in DIR is changed; times are this machine's.
set -euo pipefail
dir=${1:?usage: id-index-trial.sh DIR [BATCHES]}
batches=${2:-200}
db=$(find "$dir" -path '*miniflare-D1DatabaseObject*' -name '*.sqlite' ! -name metadata.sqlite -size +1M | head -1)
[ -n "$db" ] || { echo "no seeded D1 file under $dir" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# One batch; ID is the event id expression, k its place in the batch.
batch() {
  cat <<SQL
BEGIN;
INSERT INTO contents (seq, last, data) SELECT s + 1, s + 100, randomblob(150000)
  FROM (SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'events'), 0) AS s);
WITH RECURSIVE n(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM n WHERE k < 99)
INSERT INTO events (id, source, type, object, organization, location, received_at, dedupe, part)
  SELECT $1, 1, 2 + abs(random()) % 22, 3, 30 + abs(random()) % 100, 200 + abs(random()) % 1000,
    1796134447824 + k, randomblob(16), k FROM n;
INSERT INTO deliveries (id, event, webhook, object, status, created_at, updated_at, event_received_at)
  SELECT cast(printf('%016d', received_at) AS blob) || substr(id, 1, 2) || randomblob(8), seq, 1100, 3, 1,
    received_at, received_at, received_at
  FROM events WHERE seq > (SELECT seq FROM sqlite_sequence WHERE name = 'events') - 100;
COMMIT;
SQL
}
for _ in $(seq "$batches"); do batch 'randomblob(16)'; done > "$work/random.sql"
for _ in $(seq "$batches"); do
  batch "cast(printf('%016d', coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'events'), 0) + k) AS blob)"
done > "$work/ordered.sql"
sqlite3 "$db" .schema > "$work/schema.sql"

timed() { # LABEL FILE SCRIPT
  local start end
  start=$(date +%s%N)
  sqlite3 -bail "$2" < "$3" > /dev/null
  end=$(date +%s%N)
  printf '%-34s %6d ms\n' "$1" $(((end - start) / 1000000))
}
for round in 1 2 3; do
  cp "$db" "$work/seeded.sqlite"
  timed "seeded, random ids (as stored)" "$work/seeded.sqlite" "$work/random.sql"
  cp "$db" "$work/seeded.sqlite"
  timed "seeded, ids in insertion order" "$work/seeded.sqlite" "$work/ordered.sql"
  rm -f "$work/empty.sqlite"
  sqlite3 "$work/empty.sqlite" < "$work/schema.sql" > /dev/null 2>&1 || true
  sqlite3 "$work/empty.sqlite" 'PRAGMA journal_mode = WAL' > /dev/null
  timed "empty, random ids" "$work/empty.sqlite" "$work/random.sql"
done
