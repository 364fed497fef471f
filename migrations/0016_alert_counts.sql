-- Alerts (events of the reserved source `edgehook`) are counted apart in everyone's
-- counter rows (scope 0, owner -1), so /v1/stats counts them for the admin only
-- (src/store/counters.ts). The alerts stored so far move out of owner 0's rows.
CREATE TABLE alert_counting (hour INTEGER NOT NULL, col INTEGER NOT NULL, k INTEGER NOT NULL);

INSERT INTO alert_counting (hour, col, k)
  SELECT received_at / 3600000, object * 6 + (received_at % 3600000) / 600000, COUNT(*)
  FROM events WHERE source = (SELECT id FROM names WHERE name = 'edgehook') GROUP BY 1, 2;
INSERT INTO alert_counting (hour, col, k) SELECT -1, col, SUM(k) FROM alert_counting GROUP BY col;

INSERT INTO event_counts (scope, hour, owner, n0, n1, n2, n3, n4, n5, n6, n7, n8, n9, n10, n11, n12, n13, n14, n15, n16, n17, n18, n19, n20, n21, n22, n23, n24, n25, n26, n27, n28, n29)
  SELECT 0, hour, -1,
  SUM(CASE col WHEN 0 THEN k ELSE 0 END),
  SUM(CASE col WHEN 1 THEN k ELSE 0 END),
  SUM(CASE col WHEN 2 THEN k ELSE 0 END),
  SUM(CASE col WHEN 3 THEN k ELSE 0 END),
  SUM(CASE col WHEN 4 THEN k ELSE 0 END),
  SUM(CASE col WHEN 5 THEN k ELSE 0 END),
  SUM(CASE col WHEN 6 THEN k ELSE 0 END),
  SUM(CASE col WHEN 7 THEN k ELSE 0 END),
  SUM(CASE col WHEN 8 THEN k ELSE 0 END),
  SUM(CASE col WHEN 9 THEN k ELSE 0 END),
  SUM(CASE col WHEN 10 THEN k ELSE 0 END),
  SUM(CASE col WHEN 11 THEN k ELSE 0 END),
  SUM(CASE col WHEN 12 THEN k ELSE 0 END),
  SUM(CASE col WHEN 13 THEN k ELSE 0 END),
  SUM(CASE col WHEN 14 THEN k ELSE 0 END),
  SUM(CASE col WHEN 15 THEN k ELSE 0 END),
  SUM(CASE col WHEN 16 THEN k ELSE 0 END),
  SUM(CASE col WHEN 17 THEN k ELSE 0 END),
  SUM(CASE col WHEN 18 THEN k ELSE 0 END),
  SUM(CASE col WHEN 19 THEN k ELSE 0 END),
  SUM(CASE col WHEN 20 THEN k ELSE 0 END),
  SUM(CASE col WHEN 21 THEN k ELSE 0 END),
  SUM(CASE col WHEN 22 THEN k ELSE 0 END),
  SUM(CASE col WHEN 23 THEN k ELSE 0 END),
  SUM(CASE col WHEN 24 THEN k ELSE 0 END),
  SUM(CASE col WHEN 25 THEN k ELSE 0 END),
  SUM(CASE col WHEN 26 THEN k ELSE 0 END),
  SUM(CASE col WHEN 27 THEN k ELSE 0 END),
  SUM(CASE col WHEN 28 THEN k ELSE 0 END),
  SUM(CASE col WHEN 29 THEN k ELSE 0 END)
  FROM alert_counting GROUP BY hour;

UPDATE event_counts SET
  n0 = n0 - (SELECT COALESCE(SUM(k), 0) FROM alert_counting a WHERE a.hour = event_counts.hour AND a.col = 0),
  n1 = n1 - (SELECT COALESCE(SUM(k), 0) FROM alert_counting a WHERE a.hour = event_counts.hour AND a.col = 1),
  n2 = n2 - (SELECT COALESCE(SUM(k), 0) FROM alert_counting a WHERE a.hour = event_counts.hour AND a.col = 2),
  n3 = n3 - (SELECT COALESCE(SUM(k), 0) FROM alert_counting a WHERE a.hour = event_counts.hour AND a.col = 3),
  n4 = n4 - (SELECT COALESCE(SUM(k), 0) FROM alert_counting a WHERE a.hour = event_counts.hour AND a.col = 4),
  n5 = n5 - (SELECT COALESCE(SUM(k), 0) FROM alert_counting a WHERE a.hour = event_counts.hour AND a.col = 5),
  n6 = n6 - (SELECT COALESCE(SUM(k), 0) FROM alert_counting a WHERE a.hour = event_counts.hour AND a.col = 6),
  n7 = n7 - (SELECT COALESCE(SUM(k), 0) FROM alert_counting a WHERE a.hour = event_counts.hour AND a.col = 7),
  n8 = n8 - (SELECT COALESCE(SUM(k), 0) FROM alert_counting a WHERE a.hour = event_counts.hour AND a.col = 8),
  n9 = n9 - (SELECT COALESCE(SUM(k), 0) FROM alert_counting a WHERE a.hour = event_counts.hour AND a.col = 9),
  n10 = n10 - (SELECT COALESCE(SUM(k), 0) FROM alert_counting a WHERE a.hour = event_counts.hour AND a.col = 10),
  n11 = n11 - (SELECT COALESCE(SUM(k), 0) FROM alert_counting a WHERE a.hour = event_counts.hour AND a.col = 11),
  n12 = n12 - (SELECT COALESCE(SUM(k), 0) FROM alert_counting a WHERE a.hour = event_counts.hour AND a.col = 12),
  n13 = n13 - (SELECT COALESCE(SUM(k), 0) FROM alert_counting a WHERE a.hour = event_counts.hour AND a.col = 13),
  n14 = n14 - (SELECT COALESCE(SUM(k), 0) FROM alert_counting a WHERE a.hour = event_counts.hour AND a.col = 14),
  n15 = n15 - (SELECT COALESCE(SUM(k), 0) FROM alert_counting a WHERE a.hour = event_counts.hour AND a.col = 15),
  n16 = n16 - (SELECT COALESCE(SUM(k), 0) FROM alert_counting a WHERE a.hour = event_counts.hour AND a.col = 16),
  n17 = n17 - (SELECT COALESCE(SUM(k), 0) FROM alert_counting a WHERE a.hour = event_counts.hour AND a.col = 17),
  n18 = n18 - (SELECT COALESCE(SUM(k), 0) FROM alert_counting a WHERE a.hour = event_counts.hour AND a.col = 18),
  n19 = n19 - (SELECT COALESCE(SUM(k), 0) FROM alert_counting a WHERE a.hour = event_counts.hour AND a.col = 19),
  n20 = n20 - (SELECT COALESCE(SUM(k), 0) FROM alert_counting a WHERE a.hour = event_counts.hour AND a.col = 20),
  n21 = n21 - (SELECT COALESCE(SUM(k), 0) FROM alert_counting a WHERE a.hour = event_counts.hour AND a.col = 21),
  n22 = n22 - (SELECT COALESCE(SUM(k), 0) FROM alert_counting a WHERE a.hour = event_counts.hour AND a.col = 22),
  n23 = n23 - (SELECT COALESCE(SUM(k), 0) FROM alert_counting a WHERE a.hour = event_counts.hour AND a.col = 23),
  n24 = n24 - (SELECT COALESCE(SUM(k), 0) FROM alert_counting a WHERE a.hour = event_counts.hour AND a.col = 24),
  n25 = n25 - (SELECT COALESCE(SUM(k), 0) FROM alert_counting a WHERE a.hour = event_counts.hour AND a.col = 25),
  n26 = n26 - (SELECT COALESCE(SUM(k), 0) FROM alert_counting a WHERE a.hour = event_counts.hour AND a.col = 26),
  n27 = n27 - (SELECT COALESCE(SUM(k), 0) FROM alert_counting a WHERE a.hour = event_counts.hour AND a.col = 27),
  n28 = n28 - (SELECT COALESCE(SUM(k), 0) FROM alert_counting a WHERE a.hour = event_counts.hour AND a.col = 28),
  n29 = n29 - (SELECT COALESCE(SUM(k), 0) FROM alert_counting a WHERE a.hour = event_counts.hour AND a.col = 29)
  WHERE scope = 0 AND owner = 0 AND hour IN (SELECT hour FROM alert_counting);

DROP TABLE alert_counting;
