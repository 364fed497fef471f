-- A webhook's deliveries by insertion order, without their status: a status change (an
-- attempt settling a delivery, a retry, a hold) then moves no entry of this index, and D1
-- bills one row less per attempt. Lists and the bulk retry by status walk a webhook's range
-- and check the status on each row within their fixed budget (store/delivery-reads.ts, delivery-retry.ts).
DROP INDEX deliveries_webhook_status;
CREATE INDEX deliveries_webhook ON deliveries (webhook, seq);
-- Except failed ones, the few a busy webhook has, which lists and "retry failed" look for
-- among all it has: they keep a partial index of their own (an entry written when a delivery
-- fails for good, a few in a hundred; leaving it on a retry is not billed).
CREATE INDEX deliveries_failed ON deliveries (webhook, seq) WHERE status = 3;
