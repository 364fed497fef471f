-- Ingest's pending counts (0031) were folded once 200 rows waited: a batch's row each, so light
-- traffic (batches of a few events) folded every few hundred events, each fold writing a counter
-- row per scope and hour those events touched (~0.8 rows per event). Each row now also says how
-- many cells wait up to it, and the fold waits for 2,000 rows or 50,000 cells, whichever comes
-- first (src/store/counters.ts): what a read of the counts decodes stays as bounded as before.
-- Rows written before this count none; the first fold after it starts the count afresh.
ALTER TABLE event_count_deltas ADD COLUMN cells_through INTEGER NOT NULL DEFAULT 0;
