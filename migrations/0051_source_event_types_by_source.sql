-- Deleting a source deletes the event types it received (src/store/sources.ts deleteSource).
-- The table's key leads with the type; this index leads to a source's rows without reading the
-- rest. Written only when a source receives a type for the first time.
CREATE INDEX source_event_types_source ON source_event_types (source_id);
