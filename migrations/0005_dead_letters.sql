-- What reached a dead-letter queue, so that no failure is silent and an operator can replay it.
CREATE TABLE dead_letters (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  queue TEXT NOT NULL,              -- the dead-letter queue it arrived on
  message_id TEXT NOT NULL UNIQUE,  -- the queue's id: a redelivered dead letter is recorded once
  event_id TEXT,
  delivery_id TEXT,
  reason TEXT,
  body TEXT NOT NULL,               -- the message as JSON, to replay it
  attempts INTEGER NOT NULL,
  received_at INTEGER NOT NULL,
  replayed_at INTEGER
);
CREATE INDEX dead_letters_open ON dead_letters (replayed_at, seq);
