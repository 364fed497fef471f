-- A webhook's deliveries by insertion order, without their status: a status change (an
-- attempt settling a delivery, a retry, a hold) then moves no entry of this index, and D1
-- bills one row less per attempt. Lists and the bulk retry by status walk a webhook's range
-- and check the status on each row within their fixed budget (store/deliveries.ts).
DROP INDEX deliveries_webhook_status;
CREATE INDEX deliveries_webhook ON deliveries (webhook, seq);
