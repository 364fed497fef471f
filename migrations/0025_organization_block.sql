-- The events index by organization, led by its block as the location's is (0024).
DROP INDEX events_organization;
CREATE INDEX events_organization_block ON events (seq >> 12, organization, seq);
