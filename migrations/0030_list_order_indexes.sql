-- Lists page by a key and read one page of it (docs/api.md#lists): tokens newest first
-- by (created_at, id), webhooks and notification endpoints by (kind, created_at, uid),
-- a limited token's sources by (organization_uid, id) for each organization it holds.
CREATE INDEX tokens_created ON tokens (created_at, id);
CREATE INDEX webhooks_created ON webhooks (kind, created_at, uid);
CREATE INDEX sources_organization ON sources (organization_uid, id);
