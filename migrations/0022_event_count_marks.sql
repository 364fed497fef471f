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
-- The totals hold every hour, as the previous release writes them until this one is
-- deployed: `through` is an hour far ahead (in hours since the epoch), which this
-- release's first maintenance run brings to the clock (foldEventCounts).
INSERT INTO event_count_marks (id, after, through) VALUES (0, -1, 1000000000);

-- The rows keyed hour first: an hour's rows (what a batch writes, what folding and the
-- retention read) lie together, not one per scope across the table. The reads by scope
-- (/v1/stats) take the index, whose entry is written once per row, not per update. The
-- columns stay as they are, so the previous release's statements run unchanged until it
-- is replaced.
CREATE TABLE event_counts_by_hour (
  scope INTEGER NOT NULL,
  hour INTEGER NOT NULL,
  owner INTEGER NOT NULL,
  n0 INTEGER NOT NULL DEFAULT 0, n1 INTEGER NOT NULL DEFAULT 0, n2 INTEGER NOT NULL DEFAULT 0, n3 INTEGER NOT NULL DEFAULT 0, n4 INTEGER NOT NULL DEFAULT 0, n5 INTEGER NOT NULL DEFAULT 0, n6 INTEGER NOT NULL DEFAULT 0, n7 INTEGER NOT NULL DEFAULT 0, n8 INTEGER NOT NULL DEFAULT 0, n9 INTEGER NOT NULL DEFAULT 0, n10 INTEGER NOT NULL DEFAULT 0, n11 INTEGER NOT NULL DEFAULT 0, n12 INTEGER NOT NULL DEFAULT 0, n13 INTEGER NOT NULL DEFAULT 0, n14 INTEGER NOT NULL DEFAULT 0, n15 INTEGER NOT NULL DEFAULT 0, n16 INTEGER NOT NULL DEFAULT 0, n17 INTEGER NOT NULL DEFAULT 0, n18 INTEGER NOT NULL DEFAULT 0, n19 INTEGER NOT NULL DEFAULT 0, n20 INTEGER NOT NULL DEFAULT 0, n21 INTEGER NOT NULL DEFAULT 0, n22 INTEGER NOT NULL DEFAULT 0, n23 INTEGER NOT NULL DEFAULT 0, n24 INTEGER NOT NULL DEFAULT 0, n25 INTEGER NOT NULL DEFAULT 0, n26 INTEGER NOT NULL DEFAULT 0, n27 INTEGER NOT NULL DEFAULT 0, n28 INTEGER NOT NULL DEFAULT 0, n29 INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (hour, scope, owner)
) WITHOUT ROWID;
INSERT INTO event_counts_by_hour (scope, hour, owner, n0, n1, n2, n3, n4, n5, n6, n7, n8, n9, n10, n11, n12, n13, n14, n15, n16, n17, n18, n19, n20, n21, n22, n23, n24, n25, n26, n27, n28, n29)
  SELECT scope, hour, owner, n0, n1, n2, n3, n4, n5, n6, n7, n8, n9, n10, n11, n12, n13, n14, n15, n16, n17, n18, n19, n20, n21, n22, n23, n24, n25, n26, n27, n28, n29 FROM event_counts;
DROP TABLE event_counts;
ALTER TABLE event_counts_by_hour RENAME TO event_counts;
CREATE INDEX event_counts_scope ON event_counts (scope, hour, owner);
