-- The name ids of notification endpoints, kept after they are deleted: their delivery and
-- attempt counters hold alerts, which only the admin counts (src/store/stats.ts), and
-- they stay until the retention. Written when an endpoint is created
-- (src/store/webhooks.ts); here, for the endpoints that exist.
CREATE TABLE alert_webhooks (
  webhook INTEGER PRIMARY KEY  -- names.id of the endpoint's uid
);
INSERT INTO names (name) SELECT uid FROM webhooks WHERE kind = 'notification' ON CONFLICT DO NOTHING;
INSERT INTO alert_webhooks (webhook) SELECT n.id FROM webhooks w JOIN names n ON n.name = w.uid WHERE w.kind = 'notification';
