-- What the previous release stopped using (docs/operations.md: a removal takes two
-- releases): success rates come from attempt_counts, and a webhook's last failure from
-- its health (0019 copied the older ones there).
DROP TABLE webhook_attempt_hours;
ALTER TABLE delivery_counts DROP COLUMN last_failure_at;
ALTER TABLE delivery_counts DROP COLUMN last_error;
