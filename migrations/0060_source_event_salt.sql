-- An event's id is derived from its source's id and its dedupe key (src/domain/ids.ts), and a
-- source deleted leaves its events stored until the retention: one made again under its id, by any
-- organization, shared their ids, and its events with the same keys were answered 202 and never
-- stored. Each source made from now on holds a random salt its events' ids are derived with, so it is
-- a stream of its own. Those stored before stay NULL and keep the ids they had (as do the sources
-- configuration declares): an event stored before, or a provider's redelivery across the deploy,
-- keeps its id.
ALTER TABLE sources ADD COLUMN event_salt TEXT;
