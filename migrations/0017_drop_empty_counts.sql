-- Counter rows that a purge left at zero (hours past the retention) were kept forever; the
-- retention now deletes them with the last event or attempt they counted
-- (src/store/counters.ts). This drops the ones earlier releases left. Counts are never
-- negative, so an empty row's largest count is 0.
DELETE FROM event_counts WHERE max(n0, n1, n2, n3, n4, n5, n6, n7, n8, n9, n10, n11, n12, n13, n14, n15, n16, n17, n18, n19, n20, n21, n22, n23, n24, n25, n26, n27, n28, n29) = 0;
DELETE FROM attempt_counts WHERE max(a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, a17, a18, a19, a20, a21, a22, a23, a24, a25, a26, a27, a28, a29, ok0, ok1, ok2, ok3, ok4, ok5, ok6, ok7, ok8, ok9, ok10, ok11, ok12, ok13, ok14, ok15, ok16, ok17, ok18, ok19, ok20, ok21, ok22, ok23, ok24, ok25, ok26, ok27, ok28, ok29) = 0;
