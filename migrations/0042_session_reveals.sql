-- Secrets made through the dashboard wait here for the page that shows each once, a row a secret
-- (0035 kept one a session, in sessions.reveal: a second tab's creation replaced the first's, whose
-- page then showed the second's secret). `id` is random, carried in the redirect to that page
-- (/dashboard/created/<id>); `reveal` is the JSON of what the page shows, its secret sealed for the
-- session; taken, and deleted, by that page's first view. The maintenance run deletes those past
-- `expires_at` (ten minutes after the form) that no page took. sessions.reveal is no longer written.
CREATE TABLE session_reveals (
  id TEXT PRIMARY KEY,
  session_id TEXT NOT NULL,   -- sessions.id
  reveal TEXT NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE INDEX session_reveals_by_expiry ON session_reveals (expires_at);
