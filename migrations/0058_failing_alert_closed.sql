-- When a webhook's last `webhook.failing` episode closed (its `webhook.recovered`), written in the
-- transaction that closes it: a failing streak within the hour after does not open another at
-- once (a flapping downstream would page two alerts a flip); the maintenance run announces one
-- that lasts (domain/alerts.ts REFAILING_COOLDOWN_MS). NULL: none closed since this migration.
ALTER TABLE webhook_health ADD COLUMN failing_alert_closed_at INTEGER;
