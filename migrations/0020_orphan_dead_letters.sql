-- Dead letters of deliveries earlier releases purged: the retention now deletes a delivery's
-- dead letter with it (src/store/events.ts), but before it left them, open for good (nothing
-- is left to replay) and counted in /v1/stats. The dead_letters_removed trigger (0014) keeps
-- the open count right. The id as the API writes it maps to the stored key as in
-- src/store/names.ts (idKeySql).
DELETE FROM dead_letters
WHERE delivery_id IS NOT NULL AND NOT EXISTS (
  SELECT 1 FROM deliveries d WHERE d.id = (CASE
    WHEN length(dead_letters.delivery_id) = 36 AND substr(dead_letters.delivery_id, 1, 4) = 'dlv_'
      AND substr(dead_letters.delivery_id, 5) NOT GLOB '*[^0-9a-f]*'
    THEN unhex(substr(dead_letters.delivery_id, 5)) ELSE dead_letters.delivery_id END));
