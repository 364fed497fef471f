-- Webhook health, auto-disable and alerts (docs/alerts.md).

-- `kind`: a forwarding webhook, or an operator's notification endpoint (alerts only;
-- hidden from /v1/webhooks and from event routing). Auto-disable after every attempt
-- has failed for this many minutes (NULL: never); `failing` after this many failed
-- attempts in a row. Why and when it was disabled, while it is.
ALTER TABLE webhooks ADD COLUMN kind TEXT NOT NULL DEFAULT 'webhook' CHECK (kind IN ('webhook', 'notification'));
ALTER TABLE webhooks ADD COLUMN auto_disable_after_minutes INTEGER DEFAULT 1440;
ALTER TABLE webhooks ADD COLUMN failing_after_attempts INTEGER NOT NULL DEFAULT 10;
ALTER TABLE webhooks ADD COLUMN disabled_reason TEXT;
ALTER TABLE webhooks ADD COLUMN disabled_at INTEGER;

-- One row per webhook that has been attempted, written in the transaction that records
-- its attempts. failing_since: the first attempt of the current all-failed streak.
CREATE TABLE webhook_health (
  webhook_uid TEXT PRIMARY KEY,
  consecutive_failures INTEGER NOT NULL,
  failing_since INTEGER,
  last_success_at INTEGER,
  last_failure_at INTEGER,
  last_error TEXT
) WITHOUT ROWID;
-- The minute cron's auto-disable reads only the webhooks in a failed streak.
CREATE INDEX webhook_health_failing ON webhook_health (failing_since) WHERE failing_since IS NOT NULL;

-- Attempts per webhook and clock hour (epoch ms of its start), kept 25 hours: success rates.
CREATE TABLE webhook_attempt_hours (
  webhook_uid TEXT NOT NULL,
  hour INTEGER NOT NULL,
  attempts INTEGER NOT NULL,
  succeeded INTEGER NOT NULL,
  PRIMARY KEY (webhook_uid, hour)
) WITHOUT ROWID;

-- Alert episodes: one open per (type, subject); a repeat bumps count and last_at.
CREATE TABLE alerts (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  type TEXT NOT NULL,
  subject TEXT NOT NULL,            -- a webhook uid, a source id, or "ingest"
  opened_at INTEGER NOT NULL,
  last_at INTEGER NOT NULL,
  closed_at INTEGER,
  count INTEGER NOT NULL,
  data TEXT NOT NULL                -- JSON object: what the opening alert said
);
CREATE UNIQUE INDEX alerts_open ON alerts (subject, type) WHERE closed_at IS NULL;
