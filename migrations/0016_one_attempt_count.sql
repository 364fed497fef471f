-- Webhook health reads its hourly attempt counts from attempt_counts (migration 0014),
-- which the stats keep in the same transactions; this copy of them is no longer written.
DROP TABLE webhook_attempt_hours;
