-- A webhook belongs to exactly one location or organization (or neither: a catch-all).
-- Routing let the organization win when both were set, so those rows keep that meaning.
UPDATE webhooks SET location_uid = NULL WHERE location_uid IS NOT NULL AND organization_uid IS NOT NULL;

-- Which organization each location belongs to, learned at ingest from events of sources
-- no tenant owns. Grants use it: an organization's token may subscribe to its locations.
CREATE TABLE locations (
  location_uid TEXT PRIMARY KEY,
  organization_uid TEXT NOT NULL,
  updated_at INTEGER NOT NULL        -- epoch ms of the last change
) WITHOUT ROWID;

-- A source's owner: the organization whose events it may send (pinned at ingress), or
-- NULL for a source of the admin's.
ALTER TABLE sources ADD COLUMN organization_uid TEXT;

-- The event types each source has received, so a subscription to a type no source has
-- seen can be pointed out. Looked up by type (and source), hence the key's order.
CREATE TABLE source_event_types (
  event_type TEXT NOT NULL,
  source_id TEXT NOT NULL,
  first_seen_at INTEGER NOT NULL,
  PRIMARY KEY (event_type, source_id)
) WITHOUT ROWID;

-- `admin` with organization or location limits is refused from now on; a token made so
-- before read every organization's events, so it stops working.
UPDATE tokens SET revoked_at = CAST(strftime('%s', 'now') AS INTEGER) * 1000
WHERE revoked_at IS NULL AND EXISTS (SELECT 1 FROM json_each(tokens.scopes) WHERE value = 'admin')
  AND (organization_uids IS NOT NULL OR location_uids IS NOT NULL);
