-- Before going back to a release older than migration 0022 (docs/operations.md): every
-- event total rebuilt from its scope's hour rows (which every release keeps exact), and the
-- marks frozen with every hour in the totals, which such a release reads and writes alone;
-- this release's maintenance run, still running until the older one is deployed, then moves
-- nothing (src/store/counters.ts, FROZEN_THROUGH). Run it twice: the second run repairs
-- anything a fold or an ingest changed between the first one's statements.
--   npx wrangler d1 execute DB --remote --file scripts/freeze-event-counts.sql
INSERT INTO event_counts (scope, hour, owner, n0, n1, n2, n3, n4, n5, n6, n7, n8, n9, n10, n11, n12, n13, n14, n15, n16, n17, n18, n19, n20, n21, n22, n23, n24, n25, n26, n27, n28, n29)
  SELECT scope, -1, owner, SUM(n0), SUM(n1), SUM(n2), SUM(n3), SUM(n4), SUM(n5), SUM(n6), SUM(n7), SUM(n8), SUM(n9), SUM(n10), SUM(n11), SUM(n12), SUM(n13), SUM(n14), SUM(n15), SUM(n16), SUM(n17), SUM(n18), SUM(n19), SUM(n20), SUM(n21), SUM(n22), SUM(n23), SUM(n24), SUM(n25), SUM(n26), SUM(n27), SUM(n28), SUM(n29)
  FROM event_counts WHERE hour >= 0 GROUP BY scope, owner
  ON CONFLICT (scope, hour, owner) DO UPDATE SET n0 = excluded.n0, n1 = excluded.n1, n2 = excluded.n2, n3 = excluded.n3, n4 = excluded.n4, n5 = excluded.n5, n6 = excluded.n6, n7 = excluded.n7, n8 = excluded.n8, n9 = excluded.n9, n10 = excluded.n10, n11 = excluded.n11, n12 = excluded.n12, n13 = excluded.n13, n14 = excluded.n14, n15 = excluded.n15, n16 = excluded.n16, n17 = excluded.n17, n18 = excluded.n18, n19 = excluded.n19, n20 = excluded.n20, n21 = excluded.n21, n22 = excluded.n22, n23 = excluded.n23, n24 = excluded.n24, n25 = excluded.n25, n26 = excluded.n26, n27 = excluded.n27, n28 = excluded.n28, n29 = excluded.n29;
DELETE FROM event_counts WHERE hour = -1 AND (scope, owner) NOT IN (SELECT scope, owner FROM event_counts WHERE hour >= 0);
UPDATE event_count_marks SET after = -1, through = 2000000000;
