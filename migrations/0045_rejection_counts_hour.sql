-- The maintenance run drops refusal tallies past the retention (store/rejections.ts
-- purgeRejectionCounts) by their hour, which rejection_counts' key (source_id, reason, hour) does
-- not lead with: every run walked every tally kept (sources × reasons × the retention's hours,
-- ~480 rows a minute for one source refused every hour of ten days) to find none past it. Along
-- this index it reads what it deletes and one row more. An entry is written once per source,
-- reason and hour (the first refusal's tally), not per tally added to it.
CREATE INDEX rejection_counts_hour ON rejection_counts (hour);
