-- Dashboard sessions. The cookie carries a random secret; only its SHA-256 is kept here.
CREATE TABLE sessions (
  id TEXT PRIMARY KEY,            -- hex SHA-256 of the cookie's secret
  principal TEXT NOT NULL,        -- a scoped token's id (tok_…), or admin:<fingerprint of ADMIN_TOKEN>
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);
-- The maintenance run deletes expired sessions, oldest first.
CREATE INDEX sessions_by_expiry ON sessions (expires_at);
