-- source.rejecting's bookkeeping, one row per source and clock hour with refusals: the hour's refusals
-- (`total`), how many of them an episode has been given (`counted`, set when the hour reaches the
-- threshold), the last claim's share (`claimed`), and whether the hour has counted in an episode
-- (`alerted`). Written by the statement that records the refusals' tallies, in their transaction, so
-- two batches recorded at once each claim only what the other did not: no refusal is counted twice.
-- Kept as rejection_counts is (the retention's purge, a source's deletion).
CREATE TABLE rejection_hours (
  source_id TEXT NOT NULL,
  hour INTEGER NOT NULL,            -- epoch ms of the hour's start
  total INTEGER NOT NULL,
  counted INTEGER NOT NULL,
  claimed INTEGER NOT NULL,
  alerted INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (source_id, hour)
) WITHOUT ROWID;
CREATE INDEX rejection_hours_hour ON rejection_hours (hour);
