-- A source pinned to an organization never taught where locations belong (its events' claims are
-- not learned: the ingest consumer keeps their location only where it is known to be the owner's),
-- yet one the admin made was stored as teaching, so the API said it did and only the admin could
-- rotate its secret. Such sources are recorded as they behave; the admin's pinned sources made from
-- now on are stored so too.
UPDATE sources SET teaches_locations = 0 WHERE organization_uid IS NOT NULL;
