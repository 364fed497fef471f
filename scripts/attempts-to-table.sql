-- Before going back to a release older than migration 0023 (docs/operations.md): the
-- attempts kept in deliveries' rows copied into the `attempts` table, which such a
-- release reads (and purges, with their counts) alone. A row's attempts are cleared
-- only once every one of them is in the table, so an attempt recorded meanwhile is
-- never lost: run it before deploying the older release and again once it is live.
-- It takes the deliveries whose seq is in [:from, :to), so that each run stays well
-- inside D1's time for a statement; the loop in docs/operations.md fills them in.
INSERT INTO attempts (delivery, number, started_at, duration_ms, status_code, error, response_snippet)
  SELECT d.seq, x.value->>0, x.value->>1, x.value->>2, x.value->>3, x.value->>4, x.value->>5
  FROM deliveries d, json_each(d.attempts) x WHERE d.seq >= :from AND d.seq < :to AND d.attempts IS NOT NULL
  ON CONFLICT DO NOTHING;
UPDATE deliveries SET attempts = NULL
  WHERE seq >= :from AND seq < :to AND attempts IS NOT NULL AND NOT EXISTS (
    SELECT 1 FROM json_each(deliveries.attempts) x
    WHERE NOT EXISTS (SELECT 1 FROM attempts a WHERE a.delivery = deliveries.seq AND a.number = x.value->>0));
