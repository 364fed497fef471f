-- A new delivery (pending, never attempted, due when made) gets no entry in the due-time index:
-- one row less written per delivery. Its scheduler finds it in its webhook's order instead, whose
-- key now parts fresh ones (pending, never attempted: 1) from the rest owed (held, or pending a
-- retry: 0), so that either range is read on its own, in event order (store/scheduler-reads.ts).
-- An attempt rewrites both entries anyway (its status is set), so the first failing one moves
-- the delivery into the due-time index at no extra entry.
DROP INDEX deliveries_owed_in_order;
DROP INDEX deliveries_pending_due;
CREATE INDEX deliveries_owed_in_order ON deliveries (webhook, (status = 1 AND attempt_count = 0), event_received_at) WHERE status IN (0, 1);
CREATE INDEX deliveries_pending_due ON deliveries (webhook, next_attempt_at) WHERE status = 1 AND attempt_count > 0;
