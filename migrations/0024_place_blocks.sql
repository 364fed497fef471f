-- The events indexes by location and organization, led by the block of 4,096 insertion
-- positions an event is in (src/store/scan.ts, BLOCK_BITS). Keyed (location, seq), a
-- batch of a busy account's events (~95 locations, ~60 organizations) wrote into as many
-- pages across each index, one per location or organization; keyed by block first, its
-- entries go into the few pages at the index's end, as they do for the other indexes
-- ingest writes. Lists by location or organization (and tokens limited to some) seek
-- their range in each block, newest block first.
-- A release before this one lists by location or organization through the two indexes
-- dropped here: without them its lists walk the events newest first until a page is found,
-- however far (the same answers, many more rows read). Deploy in one step; to go back to
-- such a release, create them again first (docs/operations.md).
CREATE INDEX events_location_block ON events (seq >> 12, location, seq);
CREATE INDEX events_organization_block ON events (seq >> 12, organization, seq);
DROP INDEX events_location;
DROP INDEX events_organization;
