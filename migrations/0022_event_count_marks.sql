-- Event totals folded by the hour (src/store/counters.ts). Each event counted in two
-- event_counts rows per scope, its hour's and the total's (hour -1), and a busy account's
-- batch touches ~100 locations and ~60 organizations: the totals were half the counter rows
-- written at ingest and at the retention. Now a total row holds the hours in
-- (after, through] only; the maintenance run folds each closed hour into the totals and
-- takes out each hour the retention reaches, so ingest and purge write hour rows only.
-- A scope's events stored = its total row + its hour rows outside (after, through].
CREATE TABLE event_count_marks (
  id INTEGER PRIMARY KEY CHECK (id = 0),
  after INTEGER NOT NULL,
  through INTEGER NOT NULL
);
-- The totals hold every hour so far. Folding starts a day from now, so a Worker of the
-- previous release, writing both rows until the new one is deployed, keeps to the rule.
INSERT INTO event_count_marks (id, after, through) VALUES (0, -1, CAST(unixepoch() AS INTEGER) / 3600 + 24);
-- Folding reads one hour of every scope.
CREATE INDEX event_counts_hour ON event_counts (hour);
