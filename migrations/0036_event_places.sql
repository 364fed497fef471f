-- Where the events are (store/event-places.ts), in place of the events indexes by location and
-- organization (0024, 0025): two index entries written per event become one row per insert
-- group. A row spans a range of positions (seq to last): ingest joins small groups into the newest
-- row. The backfill writes a row per stored group (a `contents` row's (seq, last) are exactly
-- one) with the same expression as ingest's (test/worker/event-places.test.ts keeps them in step)
-- and skips the groups a row already spans, so run again (docs/operations.md) it lists only the
-- groups a release before it stored meanwhile, and forgets the rows whose events such a release
-- purged.
CREATE TABLE IF NOT EXISTS event_places (
  seq INTEGER PRIMARY KEY,  -- the range's first seq
  last INTEGER NOT NULL,    -- its last seq
  locations TEXT,           -- JSON: names.id of a location → offsets (seq - first) of its events there; NULL for none
  organizations TEXT        -- the same by organization
);
INSERT INTO event_places (seq, last, locations, organizations)
  SELECT first, last, locations, organizations FROM
    (SELECT first, last,
       NULLIF((SELECT json_group_object(location, json(offsets)) FROM
         (SELECT location, json_group_array(seq - first) AS offsets FROM
           (SELECT location, seq FROM events WHERE seq BETWEEN first AND last AND location IS NOT NULL ORDER BY location, seq)
         GROUP BY location)), '{}') AS locations,
       NULLIF((SELECT json_group_object(organization, json(offsets)) FROM
         (SELECT organization, json_group_array(seq - first) AS offsets FROM
           (SELECT organization, seq FROM events WHERE seq BETWEEN first AND last AND organization IS NOT NULL ORDER BY organization, seq)
         GROUP BY organization)), '{}') AS organizations
     FROM (SELECT c.seq AS first, c.last AS last FROM contents c WHERE NOT EXISTS
       (SELECT 1 FROM event_places p WHERE p.seq = (SELECT max(q.seq) FROM event_places q WHERE q.seq <= c.seq) AND c.seq <= p.last)))
  WHERE locations IS NOT NULL OR organizations IS NOT NULL;
DELETE FROM event_places WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.seq BETWEEN event_places.seq AND event_places.last);
DROP INDEX IF EXISTS events_location_block;
DROP INDEX IF EXISTS events_organization_block;
