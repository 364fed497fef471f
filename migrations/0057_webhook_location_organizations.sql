-- The organization a location webhook's location is known to belong to (locations, 0006), kept on the
-- webhook's row, so that a limited token finds the location webhooks it holds through its
-- organizations (store/access.ts grantParts) along an index of webhooks by it: the rows read are those
-- webhooks, where walking every location of its organizations (locations_organization, 0040) read a
-- row and a probe a location known (~10,000 a read for an organization of 10,000). NULL: no location,
-- or one not known yet. Equal to locations.organization_uid at all times, by the triggers below in
-- the statement that writes either row; never the webhook's version (updated_at, If-Match): a
-- location moving changes no webhook's settings. Locations are written only when one moves
-- (store/locations.ts), webhooks when changed: no write per event. locations_organization (0040) is
-- read no more, but kept: a Worker before this one, still running during a deploy or after a
-- rollback, names it (INDEXED BY fails without it); a later migration may drop it.
ALTER TABLE webhooks ADD COLUMN location_organization_uid TEXT;
UPDATE webhooks SET location_organization_uid = (SELECT l.organization_uid FROM locations l WHERE l.location_uid = webhooks.location_uid)
  WHERE location_uid IS NOT NULL;
-- In list order (kind, created_at, uid) as 0040's owners' indexes; webhooks of no known location
-- (organizations', catch-alls) are not in it.
CREATE INDEX webhooks_location_organization ON webhooks (location_organization_uid, kind, created_at, uid)
  WHERE location_organization_uid IS NOT NULL;
-- The webhooks at a location placed or moved (by webhooks_location, 0040): those of a busy
-- location are written once a move, not once an event.
CREATE TRIGGER webhooks_location_placed AFTER INSERT ON locations
  BEGIN UPDATE webhooks SET location_organization_uid = NEW.organization_uid
    WHERE location_uid = NEW.location_uid AND location_organization_uid IS NOT NEW.organization_uid; END;
CREATE TRIGGER webhooks_location_moved AFTER UPDATE OF location_uid, organization_uid ON locations
  BEGIN
    UPDATE webhooks SET location_organization_uid = NULL WHERE NEW.location_uid IS NOT OLD.location_uid AND location_uid = OLD.location_uid;
    UPDATE webhooks SET location_organization_uid = NEW.organization_uid
      WHERE location_uid = NEW.location_uid AND location_organization_uid IS NOT NEW.organization_uid;
  END;
-- Nothing deletes a location (it is moved, never forgotten); were one deleted, its webhooks' is no longer known.
CREATE TRIGGER webhooks_location_forgotten AFTER DELETE ON locations
  BEGIN UPDATE webhooks SET location_organization_uid = NULL WHERE location_uid = OLD.location_uid AND location_organization_uid IS NOT NULL; END;
-- A webhook made at a location, or moved to another: its location's, whatever the writer gave.
CREATE TRIGGER webhook_location_organization_added AFTER INSERT ON webhooks WHEN NEW.location_uid IS NOT NULL OR NEW.location_organization_uid IS NOT NULL
  BEGIN UPDATE webhooks SET location_organization_uid = (SELECT l.organization_uid FROM locations l WHERE l.location_uid = NEW.location_uid)
    WHERE uid = NEW.uid AND location_organization_uid IS NOT (SELECT l.organization_uid FROM locations l WHERE l.location_uid = NEW.location_uid); END;
CREATE TRIGGER webhook_location_organization_changed AFTER UPDATE OF location_uid ON webhooks
  BEGIN UPDATE webhooks SET location_organization_uid = (SELECT l.organization_uid FROM locations l WHERE l.location_uid = NEW.location_uid)
    WHERE uid = NEW.uid AND location_organization_uid IS NOT (SELECT l.organization_uid FROM locations l WHERE l.location_uid = NEW.location_uid); END;
