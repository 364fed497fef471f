-- Sources created through the API (configuration-declared sources live in env, not here).
CREATE TABLE sources (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  provider TEXT NOT NULL,
  verification TEXT NOT NULL DEFAULT 'signature',
  secrets TEXT NOT NULL,            -- JSON array, current first; write-only through the API
  tolerance_seconds INTEGER,        -- NULL: SIGNATURE_TOLERANCE_S
  disabled INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,      -- epoch ms
  updated_at INTEGER NOT NULL
);

-- One row per (source, dedupe key). `seq` is the insertion order: lists page on it,
-- so events stored while someone pages are never skipped or repeated.
CREATE TABLE events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,          -- evt_ + hash(source, dedupe key)
  source_id TEXT NOT NULL,
  dedupe_key TEXT NOT NULL,
  event_type TEXT NOT NULL,
  location_uid TEXT,
  organization_uid TEXT,
  received_at INTEGER NOT NULL,     -- epoch ms, at the edge
  headers TEXT NOT NULL,            -- JSON object, signatures and credentials removed
  body TEXT NOT NULL,               -- the raw body, byte for byte (UTF-8)
  UNIQUE (source_id, dedupe_key)
);
CREATE INDEX events_received_at ON events (received_at);
