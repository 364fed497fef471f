-- A new delivery writes one row less: no entry by event. Every delivery's id starts with its
-- event's receipt time and the first two bytes of its event's id, then a hash (routed) or
-- random bytes (a replay) (domain/delivery.ts), so an event's deliveries lie in one narrow
-- range of the id index, [time ‖ mark ‖ 00…, time ‖ mark ‖ ff…], shared only with the
-- deliveries of events received in the same millisecond whose ids start alike, and the
-- deliveries of the events received from one time to another in one wider range
-- (store/event-deliveries.ts).
--
-- Deliveries stored before whose id lies outside their event's range (all made before this
-- release: routed ids had the time and a hash, replays the time they were asked for; ids kept
-- as text by 0014) are listed here instead, read beside the range and purged with their
-- events: no delivery made from now on is added, so the table empties within the retention.
-- Run again, it adds those a release before it made meanwhile (docs/operations.md).
CREATE TABLE IF NOT EXISTS stray_deliveries (
  event INTEGER NOT NULL,    -- events.seq
  delivery INTEGER NOT NULL, -- deliveries.seq
  PRIMARY KEY (event, delivery)
) WITHOUT ROWID;
INSERT OR IGNORE INTO stray_deliveries (event, delivery)
  SELECT d.event, d.seq FROM deliveries d JOIN events e ON e.seq = d.event
  WHERE NOT (d.id BETWEEN
    unhex(printf('%012x', max(0, e.received_at)) || (CASE WHEN typeof(e.id) = 'blob' THEN hex(substr(e.id, 1, 2)) ELSE '0000' END) || '0000000000000000')
    AND unhex(printf('%012x', max(0, e.received_at)) || (CASE WHEN typeof(e.id) = 'blob' THEN hex(substr(e.id, 1, 2)) ELSE '0000' END) || 'ffffffffffffffff'));
-- Run again after an older release ran meanwhile, it also forgets the strays of the events
-- that release's retention purged (it knows nothing of this table).
DELETE FROM stray_deliveries WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.seq = stray_deliveries.event);
DROP INDEX IF EXISTS deliveries_event;
