-- Flow control per webhook: a rate limit (deliveries per second, NULL: none), how many
-- requests may be in flight at once, and whether deliveries go out strictly in the
-- order their events were received (one at a time) or in parallel.
ALTER TABLE webhooks ADD COLUMN rate_limit INTEGER;
ALTER TABLE webhooks ADD COLUMN max_concurrency INTEGER NOT NULL DEFAULT 6;
ALTER TABLE webhooks ADD COLUMN ordering TEXT NOT NULL DEFAULT 'unordered' CHECK (ordering IN ('fifo', 'unordered'));

-- The order a webhook's deliveries are owed in is their events' order of receipt, which
-- neither the delivery's insertion order (replays, concurrent ingest batches) nor the
-- event's matches: each delivery carries its event's received_at, set when it is made.
-- Settled deliveries need it only if retried by hand, which fills it in then.
ALTER TABLE deliveries ADD COLUMN event_received_at INTEGER;
UPDATE deliveries SET event_received_at = (SELECT e.received_at FROM events e WHERE e.id = deliveries.event_id)
WHERE status IN ('held', 'pending');

-- What the scheduler of one webhook reads, and nothing else: its owed deliveries in
-- event order (FIFO, and releasing held ones oldest first), and its pending ones by due
-- time (unordered; the next alarm; the maintenance run's re-drive). Partial, so a
-- settled delivery (almost all rows) has no entry in either.
CREATE INDEX deliveries_owed_in_order ON deliveries (webhook_uid, event_received_at) WHERE status IN ('held', 'pending');
CREATE INDEX deliveries_pending_due ON deliveries (webhook_uid, next_attempt_at) WHERE status = 'pending';
