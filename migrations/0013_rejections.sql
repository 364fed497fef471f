-- Requests the ingress refused: counts per source, reason and hour (so "invalid_signature
-- ×412 in the last hour" is one indexed read), and the latest samples per source.
CREATE TABLE rejection_counts (
  source_id TEXT NOT NULL,          -- a source id; "(unknown)" or "(invalid)" for paths naming none
  reason TEXT NOT NULL,             -- the error code answered
  hour INTEGER NOT NULL,            -- epoch ms of the hour's start
  count INTEGER NOT NULL,
  last_at INTEGER NOT NULL,
  PRIMARY KEY (source_id, reason, hour)
) WITHOUT ROWID;

CREATE TABLE rejections (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  source_id TEXT NOT NULL,
  requested TEXT NOT NULL,          -- the source id the path asked for
  at INTEGER NOT NULL,
  reason TEXT NOT NULL,
  client TEXT NOT NULL,
  user_agent TEXT,
  header_names TEXT NOT NULL        -- JSON array of the request's header names (never values)
);
CREATE INDEX rejections_source ON rejections (source_id, seq);
