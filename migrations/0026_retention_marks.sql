-- Where the retention has got to (src/maintenance/cron.ts): every event before
-- (received_at, seq) was purged, or is kept for the grace period after its deliveries
-- expired. Each run goes on from here, and looks behind it only for what its grace
-- freed, instead of reading from the oldest event: kept events at the front, more
-- than a run reads, stopped the retention behind them for a day at a time.
CREATE TABLE retention_marks (
  id INTEGER PRIMARY KEY CHECK (id = 0),
  received_at INTEGER NOT NULL,
  seq INTEGER NOT NULL
);
INSERT INTO retention_marks (id, received_at, seq) VALUES (0, -1, 0);
