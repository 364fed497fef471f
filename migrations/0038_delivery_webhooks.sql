-- Whose the deliveries are (store/delivery-webhooks.ts, packed.ts), in place of the deliveries
-- index by (webhook, seq) (0032): an index entry written per delivery becomes one row per insert
-- group. A row spans a range of positions (seq to last): ingest joins small groups into the
-- newest row. The backfill packs the deliveries no row spans yet, by spans of 128 positions
-- (within the gap between two rows: rows never overlap), each row what a recount says
-- (test/worker/delivery-webhooks.test.ts), so run again (docs/operations.md) it packs only the
-- deliveries a release before it stored meanwhile, and forgets the rows whose deliveries such a
-- release purged. The failed ones keep their partial index (deliveries_failed).
CREATE TABLE IF NOT EXISTS delivery_webhooks (
  seq INTEGER PRIMARY KEY,  -- the range's first seq
  last INTEGER NOT NULL,    -- its last seq
  webhooks TEXT             -- JSON: names.id of a webhook → offsets (seq - first) of its deliveries
);
WITH loose AS MATERIALIZED (SELECT d.seq, d.webhook, d.seq >> 7 AS span, (SELECT max(q.seq) FROM delivery_webhooks q WHERE q.seq <= d.seq) AS prev
    FROM deliveries d
    WHERE NOT EXISTS (SELECT 1 FROM delivery_webhooks p WHERE p.seq = (SELECT max(q.seq) FROM delivery_webhooks q WHERE q.seq <= d.seq) AND d.seq <= p.last)),
  ranges AS MATERIALIZED (SELECT span, prev, min(seq) AS first, max(seq) AS last FROM loose GROUP BY span, prev),
  offsets AS (SELECT r.first, r.last, l.webhook, json_group_array(l.seq - r.first) AS offsets
    FROM ranges r JOIN (SELECT * FROM loose ORDER BY webhook, seq) l ON l.span = r.span AND l.prev IS r.prev
    GROUP BY r.first, l.webhook)
INSERT INTO delivery_webhooks (seq, last, webhooks)
  SELECT first, last, json_group_object(webhook, json(offsets)) FROM offsets GROUP BY first;
DELETE FROM delivery_webhooks WHERE NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.seq BETWEEN delivery_webhooks.seq AND delivery_webhooks.last);
DROP INDEX IF EXISTS deliveries_webhook;
