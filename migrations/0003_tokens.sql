-- Scoped API tokens. Only a hash of each token is kept: the token itself is shown once.
CREATE TABLE tokens (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  token_hash TEXT NOT NULL UNIQUE,  -- hex HMAC-SHA256(TOKEN_PEPPER, token)
  scopes TEXT NOT NULL,             -- JSON array
  organization_uids TEXT,           -- JSON array, NULL = not limited
  location_uids TEXT,
  created_at INTEGER NOT NULL,
  last_used_at INTEGER,
  revoked_at INTEGER
);
