-- The events index by location, led by the block of 4,096 insertion positions an event is
-- in (src/store/scan.ts): keyed (location, seq), a busy account's batch wrote into a page
-- per location across the index; keyed by block first, into the few pages at its end
-- (docs/scale-and-cost.md). Its own migration, as is the organization's: each builds an
-- index over every stored event. A release before this one, without `events_location`,
-- walks the events instead (same answers, more rows read): docs/operations.md.
DROP INDEX events_location;
CREATE INDEX events_location_block ON events (seq >> 12, location, seq);
