-- The delivery counts of webhooks deleted before this release, once they count nothing (their
-- deliveries purged): every maintenance run read each such row (store/deliveries.ts expireHeld
-- reads two, deletedWithOwed one), a row for every webhook ever deleted, for good. Such a row now
-- goes with the webhook's last delivery at the retention, or with the webhook when it has none
-- (store/counters.ts dropDeletedDeliveryCountsStatement). The rows deleted hold zeros, so
-- delivery_totals (0041's trigger) is unchanged.
DELETE FROM delivery_counts
WHERE max(s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, s11, s12, s13, s14, s15, s16, s17, s18, s19, s20, s21, s22, s23, s24) = 0
  AND NOT EXISTS (SELECT 1 FROM names n JOIN webhooks w ON w.uid = n.name WHERE n.id = delivery_counts.webhook);
