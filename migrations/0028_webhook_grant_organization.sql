-- A location webhook made by a token that holds its location only through an
-- organization (a token limited to organizations): that organization. It is owed
-- the location's events only while they name it, and stays within that token's
-- grant, so a location that later moves to another organization does not carry
-- the token's webhook along. NULL: no such limit (the admin's, an unlimited
-- token's, one that names the location itself, and every webhook made before).
ALTER TABLE webhooks ADD COLUMN grant_organization_uid TEXT;
