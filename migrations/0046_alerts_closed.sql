-- The maintenance run deletes alerts closed more than the retention ago (store/alerts.ts
-- purgeClosedAlerts): with no index on closed_at it walked every alert kept, each minute, to find
-- none past it (a flapping webhook's dead-letter episodes, one an hour or so, are ~240 rows over
-- ten days). Along this index it reads what it deletes. Partial: an open episode has no entry;
-- its close writes one (episodes close once), the purge deletes it.
CREATE INDEX alerts_closed ON alerts (closed_at) WHERE closed_at IS NOT NULL;
