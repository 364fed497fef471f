-- A Shopify source may be pinned to its shop: requests naming another shop are refused.
ALTER TABLE sources ADD COLUMN shop_domain TEXT;

-- One delivery, one dead letter: a delivery that fails again after a retry updates
-- (and reopens) its record. Older duplicates of the same delivery's failure go first.
DELETE FROM dead_letters
WHERE delivery_id IS NOT NULL
  AND seq NOT IN (SELECT MAX(seq) FROM dead_letters WHERE delivery_id IS NOT NULL GROUP BY delivery_id);
CREATE UNIQUE INDEX dead_letters_delivery ON dead_letters (delivery_id) WHERE delivery_id IS NOT NULL;
