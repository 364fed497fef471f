-- A deleted notification endpoint's alert_webhooks row (0018) was kept for good, though it only
-- marks counters that go at the retention; /v1/stats reads every row, one per endpoint ever made.
-- It now goes with its counts: with its delivery_counts row (dropped with its last delivery, or with
-- the endpoint when it has none: store/counters.ts dropDeletedDeliveryCountsStatement), or with the
-- endpoint when it never had one (store/webhooks.ts deleteWebhook). Its attempt counts are gone by then:
-- they go with its deliveries.
CREATE TRIGGER alert_webhooks_forgotten AFTER DELETE ON delivery_counts
  BEGIN DELETE FROM alert_webhooks WHERE webhook = OLD.webhook
    AND NOT EXISTS (SELECT 1 FROM names n JOIN webhooks w ON w.uid = n.name WHERE n.id = OLD.webhook); END;
-- Those of endpoints deleted before it whose counts are gone already.
DELETE FROM alert_webhooks
WHERE NOT EXISTS (SELECT 1 FROM delivery_counts c WHERE c.webhook = alert_webhooks.webhook)
  AND NOT EXISTS (SELECT 1 FROM names n JOIN webhooks w ON w.uid = n.name WHERE n.id = alert_webhooks.webhook);
