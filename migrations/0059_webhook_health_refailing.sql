-- The maintenance run's catch-up of the re-open cool-down (unannouncedFailures) looks for failing
-- streaks of enabled webhooks whose last `webhook.failing` episode closed lately. Along
-- webhook_health_due it read every streak begun in the last two hours, mostly ones alerted at
-- once (no recovery before them), to discard them after reading. This holds only the failing
-- webhooks whose episode closed at least once, walked by when it last closed. Not `failing_since >
-- failing_alert_closed_at`: a batch with a success then a failure closes the episode after that
-- failure began (the close is stamped when the batch is alerted on), and the cool-down passes
-- over that streak all the same.
CREATE INDEX webhook_health_refailing ON webhook_health (failing_alert_closed_at)
  WHERE failing_since IS NOT NULL AND failing_alert_closed_at IS NOT NULL AND disabled = 0;
