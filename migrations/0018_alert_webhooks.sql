-- The name ids of notification endpoints, kept after they are deleted: their delivery and
-- attempt counters hold alerts, which only the admin counts (src/store/stats.ts), and
-- they stay until the retention. Written when an endpoint is created
-- (src/store/webhooks.ts); here, for the endpoints that exist.
CREATE TABLE alert_webhooks (
  webhook INTEGER PRIMARY KEY  -- names.id of the endpoint's uid
);
INSERT INTO names (name) SELECT uid FROM webhooks WHERE kind = 'notification' ON CONFLICT DO NOTHING;
INSERT INTO alert_webhooks (webhook) SELECT n.id FROM webhooks w JOIN names n ON n.name = w.uid WHERE w.kind = 'notification';
-- Endpoints deleted earlier: a webhook that is gone and whose deliveries carry alerts (an
-- endpoint is sent nothing else, so one delivery tells).
INSERT INTO alert_webhooks (webhook)
  SELECT c.webhook FROM delivery_counts c
  WHERE NOT EXISTS (SELECT 1 FROM names n JOIN webhooks w ON w.uid = n.name WHERE n.id = c.webhook)
    AND (SELECT e.source FROM deliveries d JOIN events e ON e.seq = d.event WHERE d.webhook = c.webhook LIMIT 1)
      = (SELECT id FROM names WHERE name = 'edgehook')
  ON CONFLICT DO NOTHING;
