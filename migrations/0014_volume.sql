-- Volume: compact rows, compressed bodies, counters kept with the writes they count.
-- It comes after 0011-0013 (written for the text layout), so every database, whichever
-- of those it already had, reaches this layout the same way.
--
-- Strings that repeat on every row (sources, event types, organizations, locations,
-- webhook uids) are stored once in `names` and referred to by integer; event and
-- delivery ids, and dedupe keys that are UUIDs, are kept as their 16 bytes (the API
-- ids do not change); statuses are small integers (their order in domain/delivery.ts).
-- Headers and raw bodies are stored a batch to a row in `contents`, compressed
-- together (src/store/content.ts). Rows copied here keep their text uncompressed,
-- one event to a row (SQL cannot deflate); they are served the same way and go with
-- the retention like any other.

CREATE TABLE names (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE
);
INSERT INTO names (name)
  SELECT source_id FROM events UNION SELECT event_type FROM events
  UNION SELECT organization_uid FROM events WHERE organization_uid IS NOT NULL
  UNION SELECT location_uid FROM events WHERE location_uid IS NOT NULL
  UNION SELECT webhook_uid FROM deliveries;

CREATE TABLE events_v2 (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,  -- insertion order: lists page on it, listeners resume from it
  id BLOB NOT NULL UNIQUE,                -- the 16 bytes behind evt_<32 hex> (another id: as text)
  source INTEGER NOT NULL,                -- names.id
  type INTEGER NOT NULL,                  -- names.id
  object INTEGER NOT NULL,                -- 0 message, 1 contact, 2 invoice, 3 review, 4 any other (data scopes)
  organization INTEGER,                   -- names.id
  location INTEGER,                       -- names.id
  received_at INTEGER NOT NULL,           -- epoch ms, at the edge
  dedupe BLOB NOT NULL,                   -- the 16 bytes of a UUID, else the key as text
  part INTEGER NOT NULL,                  -- its place in its contents row
  filtered_out TEXT                       -- JSON array of the uids of webhooks whose filter excluded it; NULL: none
);
INSERT INTO events_v2 (seq, id, source, type, object, organization, location, received_at, dedupe, part, filtered_out)
  SELECT seq, (CASE WHEN length(id) = 36 AND substr(id, 1, 4) = 'evt_' AND substr(id, 5) NOT GLOB '*[^0-9a-f]*' THEN unhex(substr(id, 5)) ELSE id END), (SELECT id FROM names WHERE name = source_id), (SELECT id FROM names WHERE name = event_type), CASE WHEN event_type LIKE 'message.%' THEN 0 WHEN event_type LIKE 'contact.%' THEN 1 WHEN event_type LIKE 'invoice.%' THEN 2 WHEN event_type LIKE 'review.%' THEN 3 ELSE 4 END,
    (SELECT id FROM names WHERE name = organization_uid), (SELECT id FROM names WHERE name = location_uid), received_at, (CASE WHEN length(dedupe_key) = 36 AND substr(dedupe_key, 9, 1) = '-' AND substr(dedupe_key, 14, 1) = '-' AND substr(dedupe_key, 19, 1) = '-'
       AND substr(dedupe_key, 24, 1) = '-' AND length(replace(dedupe_key, '-', '')) = 32 AND replace(dedupe_key, '-', '') NOT GLOB '*[^0-9a-f]*'
     THEN unhex(replace(dedupe_key, '-', '')) ELSE dedupe_key END), 0, filtered_out
  FROM events ORDER BY seq;

-- The headers and bodies of the events from seq to last: key = the seq of the first.
CREATE TABLE contents (
  seq INTEGER PRIMARY KEY,
  last INTEGER NOT NULL,
  data BLOB NOT NULL
);
INSERT INTO contents (seq, last, data) SELECT seq, seq, '[]' || char(10) || json(headers) || char(10) || body FROM events;

CREATE TABLE deliveries_v2 (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id BLOB NOT NULL UNIQUE,                -- the 16 bytes behind dlv_<32 hex> (another id: as text)
  event INTEGER NOT NULL,                 -- events.seq
  webhook INTEGER NOT NULL,               -- names.id of the webhook's uid
  object INTEGER NOT NULL,                -- its event's object (counters)
  status INTEGER NOT NULL CHECK (status BETWEEN 0 AND 4), -- held, pending, succeeded, failed, expired
  attempt_count INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER,                -- epoch ms, while pending
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  event_received_at INTEGER               -- its event's, while owed: the order a webhook is owed its deliveries in
);
INSERT INTO deliveries_v2 (seq, id, event, webhook, object, status, attempt_count, next_attempt_at, created_at, updated_at, event_received_at)
  SELECT d.seq, (CASE WHEN length(d.id) = 36 AND substr(d.id, 1, 4) = 'dlv_' AND substr(d.id, 5) NOT GLOB '*[^0-9a-f]*' THEN unhex(substr(d.id, 5)) ELSE d.id END), e.seq, (SELECT id FROM names WHERE name = d.webhook_uid), e.object, CASE d.status WHEN 'held' THEN 0 WHEN 'pending' THEN 1 WHEN 'succeeded' THEN 2 WHEN 'failed' THEN 3 ELSE 4 END,
    d.attempt_count, d.next_attempt_at, d.created_at, d.updated_at, d.event_received_at
  FROM deliveries d JOIN events_v2 e ON e.id = (CASE WHEN length(d.event_id) = 36 AND substr(d.event_id, 1, 4) = 'evt_' AND substr(d.event_id, 5) NOT GLOB '*[^0-9a-f]*' THEN unhex(substr(d.event_id, 5)) ELSE d.event_id END) ORDER BY d.seq;

CREATE TABLE attempts_v2 (
  delivery INTEGER NOT NULL,              -- deliveries.seq
  number INTEGER NOT NULL,
  started_at INTEGER NOT NULL,
  duration_ms INTEGER NOT NULL,
  status_code INTEGER,
  error TEXT,
  response_snippet TEXT,
  PRIMARY KEY (delivery, number)
) WITHOUT ROWID;
INSERT INTO attempts_v2
  SELECT d.seq, a.number, a.started_at, a.duration_ms, a.status_code, a.error, a.response_snippet
  FROM attempts a JOIN deliveries_v2 d ON d.id = (CASE WHEN length(a.delivery_id) = 36 AND substr(a.delivery_id, 1, 4) = 'dlv_' AND substr(a.delivery_id, 5) NOT GLOB '*[^0-9a-f]*' THEN unhex(substr(a.delivery_id, 5)) ELSE a.delivery_id END);

DROP TABLE attempts;
DROP TABLE deliveries;
DROP TABLE events;
ALTER TABLE events_v2 RENAME TO events;
ALTER TABLE deliveries_v2 RENAME TO deliveries;
ALTER TABLE attempts_v2 RENAME TO attempts;

-- Only the indexes the reads use (each costs a written row per insert and per delete).
CREATE INDEX events_received_at ON events (received_at);
CREATE INDEX events_organization ON events (organization, seq);
CREATE INDEX events_location ON events (location, seq);
CREATE INDEX deliveries_event ON deliveries (event);
CREATE INDEX deliveries_webhook_status ON deliveries (webhook, status, seq);
-- What the scheduler of one webhook reads: its owed deliveries in event order (FIFO, and
-- releasing held ones oldest first), and its pending ones by due time (the next alarm, the
-- maintenance run's wake-up). Partial, so a settled delivery has no entry in either.
CREATE INDEX deliveries_owed_in_order ON deliveries (webhook, event_received_at) WHERE status IN (0, 1);
CREATE INDEX deliveries_pending_due ON deliveries (webhook, next_attempt_at) WHERE status = 1;

-- Events counted by where they belong and when they arrived. scope 0: every event;
-- +n: organization names.id n; -n: location names.id n, whose rows are split by
-- `owner`, the organization those events named (0: none), so a token limited to
-- organizations and locations counts each event once. hour: hours since the epoch,
-- -1 for the total stored. n<object * 6 + tenth of the hour>: the count.
CREATE TABLE event_counts (
  scope INTEGER NOT NULL,
  hour INTEGER NOT NULL,
  owner INTEGER NOT NULL,
  n0 INTEGER NOT NULL DEFAULT 0, n1 INTEGER NOT NULL DEFAULT 0, n2 INTEGER NOT NULL DEFAULT 0, n3 INTEGER NOT NULL DEFAULT 0, n4 INTEGER NOT NULL DEFAULT 0, n5 INTEGER NOT NULL DEFAULT 0, n6 INTEGER NOT NULL DEFAULT 0, n7 INTEGER NOT NULL DEFAULT 0, n8 INTEGER NOT NULL DEFAULT 0, n9 INTEGER NOT NULL DEFAULT 0, n10 INTEGER NOT NULL DEFAULT 0, n11 INTEGER NOT NULL DEFAULT 0, n12 INTEGER NOT NULL DEFAULT 0, n13 INTEGER NOT NULL DEFAULT 0, n14 INTEGER NOT NULL DEFAULT 0, n15 INTEGER NOT NULL DEFAULT 0, n16 INTEGER NOT NULL DEFAULT 0, n17 INTEGER NOT NULL DEFAULT 0, n18 INTEGER NOT NULL DEFAULT 0, n19 INTEGER NOT NULL DEFAULT 0, n20 INTEGER NOT NULL DEFAULT 0, n21 INTEGER NOT NULL DEFAULT 0, n22 INTEGER NOT NULL DEFAULT 0, n23 INTEGER NOT NULL DEFAULT 0, n24 INTEGER NOT NULL DEFAULT 0, n25 INTEGER NOT NULL DEFAULT 0, n26 INTEGER NOT NULL DEFAULT 0, n27 INTEGER NOT NULL DEFAULT 0, n28 INTEGER NOT NULL DEFAULT 0, n29 INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (scope, hour, owner)
) WITHOUT ROWID;

-- Deliveries of each webhook (names.id) by status and object: s<status * 5 + object>;
-- and its last failed attempt.
CREATE TABLE delivery_counts (
  webhook INTEGER PRIMARY KEY,
  s0 INTEGER NOT NULL DEFAULT 0, s1 INTEGER NOT NULL DEFAULT 0, s2 INTEGER NOT NULL DEFAULT 0, s3 INTEGER NOT NULL DEFAULT 0, s4 INTEGER NOT NULL DEFAULT 0, s5 INTEGER NOT NULL DEFAULT 0, s6 INTEGER NOT NULL DEFAULT 0, s7 INTEGER NOT NULL DEFAULT 0, s8 INTEGER NOT NULL DEFAULT 0, s9 INTEGER NOT NULL DEFAULT 0, s10 INTEGER NOT NULL DEFAULT 0, s11 INTEGER NOT NULL DEFAULT 0, s12 INTEGER NOT NULL DEFAULT 0, s13 INTEGER NOT NULL DEFAULT 0, s14 INTEGER NOT NULL DEFAULT 0, s15 INTEGER NOT NULL DEFAULT 0, s16 INTEGER NOT NULL DEFAULT 0, s17 INTEGER NOT NULL DEFAULT 0, s18 INTEGER NOT NULL DEFAULT 0, s19 INTEGER NOT NULL DEFAULT 0, s20 INTEGER NOT NULL DEFAULT 0, s21 INTEGER NOT NULL DEFAULT 0, s22 INTEGER NOT NULL DEFAULT 0, s23 INTEGER NOT NULL DEFAULT 0, s24 INTEGER NOT NULL DEFAULT 0,
  last_failure_at INTEGER,
  last_error TEXT
);

-- Attempts per hour and webhook: a<object * 6 + tenth>, and those that succeeded: ok<…>.
CREATE TABLE attempt_counts (
  hour INTEGER NOT NULL,
  webhook INTEGER NOT NULL,
  a0 INTEGER NOT NULL DEFAULT 0, a1 INTEGER NOT NULL DEFAULT 0, a2 INTEGER NOT NULL DEFAULT 0, a3 INTEGER NOT NULL DEFAULT 0, a4 INTEGER NOT NULL DEFAULT 0, a5 INTEGER NOT NULL DEFAULT 0, a6 INTEGER NOT NULL DEFAULT 0, a7 INTEGER NOT NULL DEFAULT 0, a8 INTEGER NOT NULL DEFAULT 0, a9 INTEGER NOT NULL DEFAULT 0, a10 INTEGER NOT NULL DEFAULT 0, a11 INTEGER NOT NULL DEFAULT 0, a12 INTEGER NOT NULL DEFAULT 0, a13 INTEGER NOT NULL DEFAULT 0, a14 INTEGER NOT NULL DEFAULT 0, a15 INTEGER NOT NULL DEFAULT 0, a16 INTEGER NOT NULL DEFAULT 0, a17 INTEGER NOT NULL DEFAULT 0, a18 INTEGER NOT NULL DEFAULT 0, a19 INTEGER NOT NULL DEFAULT 0, a20 INTEGER NOT NULL DEFAULT 0, a21 INTEGER NOT NULL DEFAULT 0, a22 INTEGER NOT NULL DEFAULT 0, a23 INTEGER NOT NULL DEFAULT 0, a24 INTEGER NOT NULL DEFAULT 0, a25 INTEGER NOT NULL DEFAULT 0, a26 INTEGER NOT NULL DEFAULT 0, a27 INTEGER NOT NULL DEFAULT 0, a28 INTEGER NOT NULL DEFAULT 0, a29 INTEGER NOT NULL DEFAULT 0, ok0 INTEGER NOT NULL DEFAULT 0, ok1 INTEGER NOT NULL DEFAULT 0, ok2 INTEGER NOT NULL DEFAULT 0, ok3 INTEGER NOT NULL DEFAULT 0, ok4 INTEGER NOT NULL DEFAULT 0, ok5 INTEGER NOT NULL DEFAULT 0, ok6 INTEGER NOT NULL DEFAULT 0, ok7 INTEGER NOT NULL DEFAULT 0, ok8 INTEGER NOT NULL DEFAULT 0, ok9 INTEGER NOT NULL DEFAULT 0, ok10 INTEGER NOT NULL DEFAULT 0, ok11 INTEGER NOT NULL DEFAULT 0, ok12 INTEGER NOT NULL DEFAULT 0, ok13 INTEGER NOT NULL DEFAULT 0, ok14 INTEGER NOT NULL DEFAULT 0, ok15 INTEGER NOT NULL DEFAULT 0, ok16 INTEGER NOT NULL DEFAULT 0, ok17 INTEGER NOT NULL DEFAULT 0, ok18 INTEGER NOT NULL DEFAULT 0, ok19 INTEGER NOT NULL DEFAULT 0, ok20 INTEGER NOT NULL DEFAULT 0, ok21 INTEGER NOT NULL DEFAULT 0, ok22 INTEGER NOT NULL DEFAULT 0, ok23 INTEGER NOT NULL DEFAULT 0, ok24 INTEGER NOT NULL DEFAULT 0, ok25 INTEGER NOT NULL DEFAULT 0, ok26 INTEGER NOT NULL DEFAULT 0, ok27 INTEGER NOT NULL DEFAULT 0, ok28 INTEGER NOT NULL DEFAULT 0, ok29 INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (hour, webhook)
) WITHOUT ROWID;

-- Counts of the existing rows, once.
CREATE TABLE counting (scope INTEGER, hour INTEGER, owner INTEGER, col INTEGER, k INTEGER);
INSERT INTO counting
  SELECT 0, received_at / 3600000, 0, object * 6 + (received_at % 3600000) / 600000, COUNT(*) FROM events GROUP BY 2, 4;
INSERT INTO counting
  SELECT organization, received_at / 3600000, 0, object * 6 + (received_at % 3600000) / 600000, COUNT(*) FROM events WHERE organization IS NOT NULL GROUP BY 1, 2, 4;
INSERT INTO counting
  SELECT -location, received_at / 3600000, COALESCE(organization, 0), object * 6 + (received_at % 3600000) / 600000, COUNT(*) FROM events WHERE location IS NOT NULL GROUP BY 1, 2, 3, 4;
INSERT INTO counting SELECT scope, -1, owner, col, SUM(k) FROM counting GROUP BY 1, 3, 4;
INSERT INTO event_counts (scope, hour, owner, n0, n1, n2, n3, n4, n5, n6, n7, n8, n9, n10, n11, n12, n13, n14, n15, n16, n17, n18, n19, n20, n21, n22, n23, n24, n25, n26, n27, n28, n29)
  SELECT scope, hour, owner,
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
  FROM counting GROUP BY 1, 2, 3;
DROP TABLE counting;

INSERT INTO delivery_counts (webhook, s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, s11, s12, s13, s14, s15, s16, s17, s18, s19, s20, s21, s22, s23, s24, last_failure_at, last_error)
  SELECT d.webhook,
    SUM(CASE d.status * 5 + d.object WHEN 0 THEN 1 ELSE 0 END),
    SUM(CASE d.status * 5 + d.object WHEN 1 THEN 1 ELSE 0 END),
    SUM(CASE d.status * 5 + d.object WHEN 2 THEN 1 ELSE 0 END),
    SUM(CASE d.status * 5 + d.object WHEN 3 THEN 1 ELSE 0 END),
    SUM(CASE d.status * 5 + d.object WHEN 4 THEN 1 ELSE 0 END),
    SUM(CASE d.status * 5 + d.object WHEN 5 THEN 1 ELSE 0 END),
    SUM(CASE d.status * 5 + d.object WHEN 6 THEN 1 ELSE 0 END),
    SUM(CASE d.status * 5 + d.object WHEN 7 THEN 1 ELSE 0 END),
    SUM(CASE d.status * 5 + d.object WHEN 8 THEN 1 ELSE 0 END),
    SUM(CASE d.status * 5 + d.object WHEN 9 THEN 1 ELSE 0 END),
    SUM(CASE d.status * 5 + d.object WHEN 10 THEN 1 ELSE 0 END),
    SUM(CASE d.status * 5 + d.object WHEN 11 THEN 1 ELSE 0 END),
    SUM(CASE d.status * 5 + d.object WHEN 12 THEN 1 ELSE 0 END),
    SUM(CASE d.status * 5 + d.object WHEN 13 THEN 1 ELSE 0 END),
    SUM(CASE d.status * 5 + d.object WHEN 14 THEN 1 ELSE 0 END),
    SUM(CASE d.status * 5 + d.object WHEN 15 THEN 1 ELSE 0 END),
    SUM(CASE d.status * 5 + d.object WHEN 16 THEN 1 ELSE 0 END),
    SUM(CASE d.status * 5 + d.object WHEN 17 THEN 1 ELSE 0 END),
    SUM(CASE d.status * 5 + d.object WHEN 18 THEN 1 ELSE 0 END),
    SUM(CASE d.status * 5 + d.object WHEN 19 THEN 1 ELSE 0 END),
    SUM(CASE d.status * 5 + d.object WHEN 20 THEN 1 ELSE 0 END),
    SUM(CASE d.status * 5 + d.object WHEN 21 THEN 1 ELSE 0 END),
    SUM(CASE d.status * 5 + d.object WHEN 22 THEN 1 ELSE 0 END),
    SUM(CASE d.status * 5 + d.object WHEN 23 THEN 1 ELSE 0 END),
    SUM(CASE d.status * 5 + d.object WHEN 24 THEN 1 ELSE 0 END),
    (SELECT MAX(a.started_at) FROM attempts a JOIN deliveries d2 ON d2.seq = a.delivery WHERE d2.webhook = d.webhook AND a.error IS NOT NULL),
    (SELECT a.error FROM attempts a JOIN deliveries d2 ON d2.seq = a.delivery WHERE d2.webhook = d.webhook AND a.error IS NOT NULL ORDER BY a.started_at DESC LIMIT 1)
  FROM deliveries d GROUP BY d.webhook;

INSERT INTO attempt_counts (hour, webhook, a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, a17, a18, a19, a20, a21, a22, a23, a24, a25, a26, a27, a28, a29, ok0, ok1, ok2, ok3, ok4, ok5, ok6, ok7, ok8, ok9, ok10, ok11, ok12, ok13, ok14, ok15, ok16, ok17, ok18, ok19, ok20, ok21, ok22, ok23, ok24, ok25, ok26, ok27, ok28, ok29)
  SELECT a.started_at / 3600000, d.webhook,
    SUM(CASE d.object * 6 + (a.started_at % 3600000) / 600000 WHEN 0 THEN 1 ELSE 0 END),
    SUM(CASE d.object * 6 + (a.started_at % 3600000) / 600000 WHEN 1 THEN 1 ELSE 0 END),
    SUM(CASE d.object * 6 + (a.started_at % 3600000) / 600000 WHEN 2 THEN 1 ELSE 0 END),
    SUM(CASE d.object * 6 + (a.started_at % 3600000) / 600000 WHEN 3 THEN 1 ELSE 0 END),
    SUM(CASE d.object * 6 + (a.started_at % 3600000) / 600000 WHEN 4 THEN 1 ELSE 0 END),
    SUM(CASE d.object * 6 + (a.started_at % 3600000) / 600000 WHEN 5 THEN 1 ELSE 0 END),
    SUM(CASE d.object * 6 + (a.started_at % 3600000) / 600000 WHEN 6 THEN 1 ELSE 0 END),
    SUM(CASE d.object * 6 + (a.started_at % 3600000) / 600000 WHEN 7 THEN 1 ELSE 0 END),
    SUM(CASE d.object * 6 + (a.started_at % 3600000) / 600000 WHEN 8 THEN 1 ELSE 0 END),
    SUM(CASE d.object * 6 + (a.started_at % 3600000) / 600000 WHEN 9 THEN 1 ELSE 0 END),
    SUM(CASE d.object * 6 + (a.started_at % 3600000) / 600000 WHEN 10 THEN 1 ELSE 0 END),
    SUM(CASE d.object * 6 + (a.started_at % 3600000) / 600000 WHEN 11 THEN 1 ELSE 0 END),
    SUM(CASE d.object * 6 + (a.started_at % 3600000) / 600000 WHEN 12 THEN 1 ELSE 0 END),
    SUM(CASE d.object * 6 + (a.started_at % 3600000) / 600000 WHEN 13 THEN 1 ELSE 0 END),
    SUM(CASE d.object * 6 + (a.started_at % 3600000) / 600000 WHEN 14 THEN 1 ELSE 0 END),
    SUM(CASE d.object * 6 + (a.started_at % 3600000) / 600000 WHEN 15 THEN 1 ELSE 0 END),
    SUM(CASE d.object * 6 + (a.started_at % 3600000) / 600000 WHEN 16 THEN 1 ELSE 0 END),
    SUM(CASE d.object * 6 + (a.started_at % 3600000) / 600000 WHEN 17 THEN 1 ELSE 0 END),
    SUM(CASE d.object * 6 + (a.started_at % 3600000) / 600000 WHEN 18 THEN 1 ELSE 0 END),
    SUM(CASE d.object * 6 + (a.started_at % 3600000) / 600000 WHEN 19 THEN 1 ELSE 0 END),
    SUM(CASE d.object * 6 + (a.started_at % 3600000) / 600000 WHEN 20 THEN 1 ELSE 0 END),
    SUM(CASE d.object * 6 + (a.started_at % 3600000) / 600000 WHEN 21 THEN 1 ELSE 0 END),
    SUM(CASE d.object * 6 + (a.started_at % 3600000) / 600000 WHEN 22 THEN 1 ELSE 0 END),
    SUM(CASE d.object * 6 + (a.started_at % 3600000) / 600000 WHEN 23 THEN 1 ELSE 0 END),
    SUM(CASE d.object * 6 + (a.started_at % 3600000) / 600000 WHEN 24 THEN 1 ELSE 0 END),
    SUM(CASE d.object * 6 + (a.started_at % 3600000) / 600000 WHEN 25 THEN 1 ELSE 0 END),
    SUM(CASE d.object * 6 + (a.started_at % 3600000) / 600000 WHEN 26 THEN 1 ELSE 0 END),
    SUM(CASE d.object * 6 + (a.started_at % 3600000) / 600000 WHEN 27 THEN 1 ELSE 0 END),
    SUM(CASE d.object * 6 + (a.started_at % 3600000) / 600000 WHEN 28 THEN 1 ELSE 0 END),
    SUM(CASE d.object * 6 + (a.started_at % 3600000) / 600000 WHEN 29 THEN 1 ELSE 0 END),
    SUM(CASE d.object * 6 + (a.started_at % 3600000) / 600000 WHEN 0 THEN (a.error IS NULL) ELSE 0 END),
    SUM(CASE d.object * 6 + (a.started_at % 3600000) / 600000 WHEN 1 THEN (a.error IS NULL) ELSE 0 END),
    SUM(CASE d.object * 6 + (a.started_at % 3600000) / 600000 WHEN 2 THEN (a.error IS NULL) ELSE 0 END),
    SUM(CASE d.object * 6 + (a.started_at % 3600000) / 600000 WHEN 3 THEN (a.error IS NULL) ELSE 0 END),
    SUM(CASE d.object * 6 + (a.started_at % 3600000) / 600000 WHEN 4 THEN (a.error IS NULL) ELSE 0 END),
    SUM(CASE d.object * 6 + (a.started_at % 3600000) / 600000 WHEN 5 THEN (a.error IS NULL) ELSE 0 END),
    SUM(CASE d.object * 6 + (a.started_at % 3600000) / 600000 WHEN 6 THEN (a.error IS NULL) ELSE 0 END),
    SUM(CASE d.object * 6 + (a.started_at % 3600000) / 600000 WHEN 7 THEN (a.error IS NULL) ELSE 0 END),
    SUM(CASE d.object * 6 + (a.started_at % 3600000) / 600000 WHEN 8 THEN (a.error IS NULL) ELSE 0 END),
    SUM(CASE d.object * 6 + (a.started_at % 3600000) / 600000 WHEN 9 THEN (a.error IS NULL) ELSE 0 END),
    SUM(CASE d.object * 6 + (a.started_at % 3600000) / 600000 WHEN 10 THEN (a.error IS NULL) ELSE 0 END),
    SUM(CASE d.object * 6 + (a.started_at % 3600000) / 600000 WHEN 11 THEN (a.error IS NULL) ELSE 0 END),
    SUM(CASE d.object * 6 + (a.started_at % 3600000) / 600000 WHEN 12 THEN (a.error IS NULL) ELSE 0 END),
    SUM(CASE d.object * 6 + (a.started_at % 3600000) / 600000 WHEN 13 THEN (a.error IS NULL) ELSE 0 END),
    SUM(CASE d.object * 6 + (a.started_at % 3600000) / 600000 WHEN 14 THEN (a.error IS NULL) ELSE 0 END),
    SUM(CASE d.object * 6 + (a.started_at % 3600000) / 600000 WHEN 15 THEN (a.error IS NULL) ELSE 0 END),
    SUM(CASE d.object * 6 + (a.started_at % 3600000) / 600000 WHEN 16 THEN (a.error IS NULL) ELSE 0 END),
    SUM(CASE d.object * 6 + (a.started_at % 3600000) / 600000 WHEN 17 THEN (a.error IS NULL) ELSE 0 END),
    SUM(CASE d.object * 6 + (a.started_at % 3600000) / 600000 WHEN 18 THEN (a.error IS NULL) ELSE 0 END),
    SUM(CASE d.object * 6 + (a.started_at % 3600000) / 600000 WHEN 19 THEN (a.error IS NULL) ELSE 0 END),
    SUM(CASE d.object * 6 + (a.started_at % 3600000) / 600000 WHEN 20 THEN (a.error IS NULL) ELSE 0 END),
    SUM(CASE d.object * 6 + (a.started_at % 3600000) / 600000 WHEN 21 THEN (a.error IS NULL) ELSE 0 END),
    SUM(CASE d.object * 6 + (a.started_at % 3600000) / 600000 WHEN 22 THEN (a.error IS NULL) ELSE 0 END),
    SUM(CASE d.object * 6 + (a.started_at % 3600000) / 600000 WHEN 23 THEN (a.error IS NULL) ELSE 0 END),
    SUM(CASE d.object * 6 + (a.started_at % 3600000) / 600000 WHEN 24 THEN (a.error IS NULL) ELSE 0 END),
    SUM(CASE d.object * 6 + (a.started_at % 3600000) / 600000 WHEN 25 THEN (a.error IS NULL) ELSE 0 END),
    SUM(CASE d.object * 6 + (a.started_at % 3600000) / 600000 WHEN 26 THEN (a.error IS NULL) ELSE 0 END),
    SUM(CASE d.object * 6 + (a.started_at % 3600000) / 600000 WHEN 27 THEN (a.error IS NULL) ELSE 0 END),
    SUM(CASE d.object * 6 + (a.started_at % 3600000) / 600000 WHEN 28 THEN (a.error IS NULL) ELSE 0 END),
    SUM(CASE d.object * 6 + (a.started_at % 3600000) / 600000 WHEN 29 THEN (a.error IS NULL) ELSE 0 END)
  FROM attempts a JOIN deliveries d ON d.seq = a.delivery GROUP BY 1, 2;

-- Open dead letters, counted by triggers: every path that opens or closes one
-- (the recording upsert, a retry, a replay) is an insert or an update of replayed_at.
CREATE TABLE dead_letter_counts (id INTEGER PRIMARY KEY CHECK (id = 0), open INTEGER NOT NULL);
INSERT INTO dead_letter_counts SELECT 0, COUNT(*) FROM dead_letters WHERE replayed_at IS NULL;
CREATE TRIGGER dead_letters_opened AFTER INSERT ON dead_letters WHEN NEW.replayed_at IS NULL
  BEGIN UPDATE dead_letter_counts SET open = open + 1 WHERE id = 0; END;
CREATE TRIGGER dead_letters_changed AFTER UPDATE OF replayed_at ON dead_letters
  WHEN (OLD.replayed_at IS NULL) != (NEW.replayed_at IS NULL)
  BEGIN UPDATE dead_letter_counts SET open = open + (CASE WHEN NEW.replayed_at IS NULL THEN 1 ELSE -1 END) WHERE id = 0; END;
CREATE TRIGGER dead_letters_removed AFTER DELETE ON dead_letters WHEN OLD.replayed_at IS NULL
  BEGIN UPDATE dead_letter_counts SET open = open - 1 WHERE id = 0; END;
