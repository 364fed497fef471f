-- Event counts written a batch to a row (src/store/counters.ts). An ingest batch of a busy
-- account touches ~160 event_counts rows (its ~95 locations, ~60 organizations and
-- everyone's, for the hour), each a row written: ~1.6 of the ~13 rows an event costs. Now
-- the batch writes the cells it adds as one row here, in its own transaction; the
-- maintenance run (or an ingest, once PENDING_DELTAS are waiting) adds them to event_counts
-- and deletes them, so a fold shares each counter row among many batches. Reads of the
-- counts add the rows still waiting. No AUTOINCREMENT: it would write sqlite_sequence too.
CREATE TABLE event_count_deltas (
  id INTEGER PRIMARY KEY,
  at INTEGER NOT NULL,          -- epoch ms of the ingest that wrote it
  first_hour INTEGER NOT NULL,  -- the earliest hour it counts (the retention folds first when it reaches it)
  cells TEXT NOT NULL           -- JSON array of [scope, hour, owner, col, n]: n events in event_counts' cell
);
