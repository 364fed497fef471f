-- The retention's decrements of the event counters written a chunk to a row (src/store/counters.ts).
-- A chunk (~3,500 events at 1,000,000 a day, one every ten minutes) took its events off ~1,100
-- event_counts rows (each location, organization and everyone's, for the hour), and each of an
-- hour's ~6 chunks wrote those rows again before the last deleted them: ~0.31 rows written an
-- event. Now a chunk writes the cells it takes off as one row here, in its own transaction; once
-- the retention has passed every hour a row counts (or too many wait), the maintenance run takes
-- them off event_counts at once, deleting the rows they empty, and deletes them. Reads of the
-- counts subtract the rows still waiting. No AUTOINCREMENT: it would write sqlite_sequence too.
CREATE TABLE event_count_purges (
  id INTEGER PRIMARY KEY,
  last_hour INTEGER NOT NULL,   -- the latest hour it counts: it waits until the retention is past it
  cell_count INTEGER NOT NULL,  -- its cells, which the bound on what waits counts
  cells TEXT NOT NULL           -- JSON array of [scope, hour, owner, col, n]: n events purged from event_counts' cell
);
