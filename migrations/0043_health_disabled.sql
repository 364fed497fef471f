-- The minute cron's auto-disable walks the failing streaks of enabled webhooks only. A disabled
-- webhook keeps its streak (the health view shows it; enabling resets it), so along
-- webhook_health_failing (migration 0015) it read every webhook ever disabled while failing, each
-- minute. `disabled` copies the webhook's, written by the disable and the enable that change it,
-- and by each recorded batch of attempts into the health row it writes anyway (no row more), and
-- the walk's index leaves those out.
ALTER TABLE webhook_health ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0;
UPDATE webhook_health SET disabled = 1 WHERE webhook_uid IN (SELECT uid FROM webhooks WHERE disabled = 1);
CREATE INDEX webhook_health_due ON webhook_health (failing_since) WHERE failing_since IS NOT NULL AND disabled = 0;
