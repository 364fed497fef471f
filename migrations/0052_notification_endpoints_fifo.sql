-- Notification endpoints deliver their alerts in order (FIFO, 0011's `ordering`): unordered, an
-- alert whose first attempt failed went out after the ones raised behind it (a webhook.failing
-- retried after its webhook.recovered had arrived), so a receiver keeping state was left with the
-- wrong one. Endpoints are made FIFO (src/api/routes/alerts.ts) and their API cannot change it; this
-- makes those made before so. Their version (updated_at) stays: nothing their API shows changed, and
-- each run of a scheduler reads its webhook's ordering again.
UPDATE webhooks SET ordering = 'fifo' WHERE kind = 'notification' AND ordering <> 'fifo';
