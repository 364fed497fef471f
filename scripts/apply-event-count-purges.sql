-- Before going back to a release older than migration 0039 (docs/operations.md), once it is
-- deployed: the retention's waiting purges (event_count_purges), which such a release neither takes
-- off nor reads, taken off event_counts as this release's maintenance run takes them off
-- (src/store/counters.ts, applyEventCountPurges), the rows they leave at zero deleted, and the
-- purges deleted. Running it again takes off nothing.
--   npx wrangler d1 execute DB --remote --file scripts/apply-event-count-purges.sql
WITH p AS MATERIALIZED (SELECT value->>0 AS scope, value->>1 AS hour, value->>2 AS owner, value->>3 AS col, value->>4 AS n FROM event_count_purges, json_each(cells)),
  c AS (SELECT scope, hour, owner, col, n FROM p UNION ALL SELECT scope, -1, owner, col, n FROM p WHERE hour > (SELECT after FROM event_count_marks) AND hour <= (SELECT through FROM event_count_marks))
INSERT INTO event_counts (scope, hour, owner, n0, n1, n2, n3, n4, n5, n6, n7, n8, n9, n10, n11, n12, n13, n14, n15, n16, n17, n18, n19, n20, n21, n22, n23, n24, n25, n26, n27, n28, n29)
  SELECT scope, hour, owner, -SUM(n * (col = 0)), -SUM(n * (col = 1)), -SUM(n * (col = 2)), -SUM(n * (col = 3)), -SUM(n * (col = 4)), -SUM(n * (col = 5)), -SUM(n * (col = 6)), -SUM(n * (col = 7)), -SUM(n * (col = 8)), -SUM(n * (col = 9)), -SUM(n * (col = 10)), -SUM(n * (col = 11)), -SUM(n * (col = 12)), -SUM(n * (col = 13)), -SUM(n * (col = 14)), -SUM(n * (col = 15)), -SUM(n * (col = 16)), -SUM(n * (col = 17)), -SUM(n * (col = 18)), -SUM(n * (col = 19)), -SUM(n * (col = 20)), -SUM(n * (col = 21)), -SUM(n * (col = 22)), -SUM(n * (col = 23)), -SUM(n * (col = 24)), -SUM(n * (col = 25)), -SUM(n * (col = 26)), -SUM(n * (col = 27)), -SUM(n * (col = 28)), -SUM(n * (col = 29))
  FROM c WHERE true GROUP BY scope, hour, owner
  ON CONFLICT (scope, hour, owner) DO UPDATE SET n0 = n0 + excluded.n0, n1 = n1 + excluded.n1, n2 = n2 + excluded.n2, n3 = n3 + excluded.n3, n4 = n4 + excluded.n4, n5 = n5 + excluded.n5, n6 = n6 + excluded.n6, n7 = n7 + excluded.n7, n8 = n8 + excluded.n8, n9 = n9 + excluded.n9, n10 = n10 + excluded.n10, n11 = n11 + excluded.n11, n12 = n12 + excluded.n12, n13 = n13 + excluded.n13, n14 = n14 + excluded.n14, n15 = n15 + excluded.n15, n16 = n16 + excluded.n16, n17 = n17 + excluded.n17, n18 = n18 + excluded.n18, n19 = n19 + excluded.n19, n20 = n20 + excluded.n20, n21 = n21 + excluded.n21, n22 = n22 + excluded.n22, n23 = n23 + excluded.n23, n24 = n24 + excluded.n24, n25 = n25 + excluded.n25, n26 = n26 + excluded.n26, n27 = n27 + excluded.n27, n28 = n28 + excluded.n28, n29 = n29 + excluded.n29;
-- (Every column 0: a row an ingest count not folded yet leaves below 0 stays, and is set right when it is.)
WITH p AS MATERIALIZED (SELECT value->>0 AS scope, value->>1 AS hour, value->>2 AS owner FROM event_count_purges, json_each(cells))
DELETE FROM event_counts WHERE (scope, hour, owner) IN (SELECT scope, hour, owner FROM p UNION ALL SELECT scope, -1, owner FROM p)
  AND max(n0, n1, n2, n3, n4, n5, n6, n7, n8, n9, n10, n11, n12, n13, n14, n15, n16, n17, n18, n19, n20, n21, n22, n23, n24, n25, n26, n27, n28, n29) = 0 AND min(n0, n1, n2, n3, n4, n5, n6, n7, n8, n9, n10, n11, n12, n13, n14, n15, n16, n17, n18, n19, n20, n21, n22, n23, n24, n25, n26, n27, n28, n29) = 0;
DELETE FROM event_count_purges;
