-- A new delivery writes one row less: no entry by event. Every delivery's id starts with its
-- event's receipt time (a routed one always did; a replay's does from this release, with a
-- random tail: domain/delivery.ts), so an event's deliveries lie in one range of the id index,
-- [time ‖ 00…, time ‖ ff…], shared only with the deliveries of events received in the same
-- millisecond (store/event-deliveries.ts).
--
-- Deliveries stored before whose id lies outside their event's range (replays, whose id
-- started with the time they were asked for; ids kept as text, or made before ids had a time,
-- by 0014) are listed here instead, read beside the range and purged with their events: no
-- delivery made from now on is added, so the table empties within the retention. Run again, it
-- adds those a release before it made meanwhile (docs/operations.md).
CREATE TABLE IF NOT EXISTS stray_deliveries (
  event INTEGER NOT NULL,    -- events.seq
  delivery INTEGER NOT NULL, -- deliveries.seq
  PRIMARY KEY (event, delivery)
) WITHOUT ROWID;
INSERT OR IGNORE INTO stray_deliveries (event, delivery)
  SELECT d.event, d.seq FROM deliveries d JOIN events e ON e.seq = d.event
  WHERE NOT (d.id BETWEEN unhex(printf('%012x', max(0, e.received_at)) || '00000000000000000000')
                      AND unhex(printf('%012x', max(0, e.received_at)) || 'ffffffffffffffffffff'));
-- Run again after an older release ran meanwhile, it also forgets the strays of the events
-- that release's retention purged (it knows nothing of this table).
DELETE FROM stray_deliveries WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.seq = stray_deliveries.event);
DROP INDEX IF EXISTS deliveries_event;
