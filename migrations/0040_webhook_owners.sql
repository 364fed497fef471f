-- A limited token's webhooks by their owners (store/access.ts grantedWebhookUidsSql), instead of
-- every webhook read to check the grant on each (~2 rows a webhook: ~16,000 at 8,000 webhooks for
-- a token whose organization has one). By organization, by location, by the organization a
-- location webhook is confined to (0028), each in list order (kind, created_at, uid) as
-- webhooks_created (0030); and the locations of an organization, for the location webhooks its
-- token holds through them. Webhooks change rarely, locations only when an event moves one: no
-- write per event.
CREATE INDEX webhooks_organization ON webhooks (organization_uid, kind, created_at, uid);
CREATE INDEX webhooks_location ON webhooks (location_uid, kind, created_at, uid);
CREATE INDEX webhooks_grant_organization ON webhooks (grant_organization_uid, kind, created_at, uid);
CREATE INDEX locations_organization ON locations (organization_uid);
