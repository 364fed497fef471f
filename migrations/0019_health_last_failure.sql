-- A webhook's last failure is read from its health now (src/store/stats.ts), no longer from
-- delivery_counts. Health rows exist only for attempts made since 0015, so a webhook whose
-- last failure is older gets it copied here (a newer one in its health is kept).
INSERT INTO webhook_health (webhook_uid, consecutive_failures, last_failure_at, last_error)
  SELECT w.uid, 0, c.last_failure_at, c.last_error
  FROM delivery_counts c JOIN names n ON n.id = c.webhook JOIN webhooks w ON w.uid = n.name
  WHERE c.last_failure_at IS NOT NULL
  ON CONFLICT (webhook_uid) DO UPDATE SET last_failure_at = excluded.last_failure_at, last_error = excluded.last_error
  WHERE webhook_health.last_failure_at IS NULL;
