-- Forwarding subscriptions, shaped like Podium's webhook object.
CREATE TABLE webhooks (
  uid TEXT PRIMARY KEY,
  url TEXT NOT NULL,
  event_types TEXT NOT NULL,        -- JSON array: exact types, `object.*` or `*`
  location_uid TEXT,
  organization_uid TEXT,            -- wins over location_uid when both are set
  source_ids TEXT,                  -- JSON array, NULL = every source
  secret TEXT NOT NULL,             -- write-only through the API
  disabled INTEGER NOT NULL DEFAULT 0,
  timeout_ms INTEGER NOT NULL,
  max_attempts INTEGER NOT NULL,
  created_at INTEGER NOT NULL,      -- epoch ms; events received from then on are owed
  updated_at INTEGER NOT NULL
);

-- One event owed to one webhook. Routing gives it a deterministic id, so
-- creating it again (queue redelivery) changes nothing.
CREATE TABLE deliveries (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  event_id TEXT NOT NULL,
  webhook_uid TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('held', 'pending', 'succeeded', 'failed', 'expired')),
  attempt_count INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER,          -- epoch ms, while pending
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX deliveries_event ON deliveries (event_id);
CREATE INDEX deliveries_webhook_status ON deliveries (webhook_uid, status, seq);
CREATE INDEX deliveries_status_next ON deliveries (status, next_attempt_at);

-- One HTTP try of a delivery.
CREATE TABLE attempts (
  delivery_id TEXT NOT NULL,
  number INTEGER NOT NULL,
  started_at INTEGER NOT NULL,
  duration_ms INTEGER NOT NULL,
  status_code INTEGER,
  error TEXT,
  response_snippet TEXT,
  PRIMARY KEY (delivery_id, number)
);
