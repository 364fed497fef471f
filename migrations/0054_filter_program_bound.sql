-- The bounds of filters' $regex programs, held in the transaction that writes a webhook: the API
-- checks them before saving (api/filter-programs.ts), but two saves at once could both pass that
-- check. test/worker/webhooks-api.test.ts checks the numbers against FILTER_LIMITS.
--
-- All webhooks together (FILTER_LIMITS.accountRegexProgram, 262,144 RE2 instructions): a write that
-- would take the total (0053) up past it aborts with 'filter_program_bound' and nothing of it is
-- written; one that lowers it or leaves it as it is never does.
CREATE TRIGGER filter_program_bound BEFORE UPDATE OF instructions ON filter_program_total
  WHEN NEW.instructions > OLD.instructions AND NEW.instructions > 262144
  BEGIN SELECT RAISE(ABORT, 'filter_program_bound'); END;

-- Each owner's share (FILTER_LIMITS.ownerRegexProgram, 32,768: an eighth of the bound), so that one
-- tenant cannot take the whole bound and leave every other organization unable to save a filter.
-- The owner is the webhook's organization (or the one a location webhook is confined to: 0028), else
-- its location; a catch-all (made by unlimited tokens) counts toward the total only. The key names
-- its kind, so an organization and a location of the same uid stay apart.
ALTER TABLE webhooks ADD COLUMN filter_owner TEXT GENERATED ALWAYS AS (
  CASE WHEN coalesce(organization_uid, grant_organization_uid) IS NOT NULL THEN 'organization:' || coalesce(organization_uid, grant_organization_uid)
       WHEN location_uid IS NOT NULL THEN 'location:' || location_uid END
) VIRTUAL;

-- One row per owner whose filters count something (a row falling to 0 is deleted), kept by triggers
-- in the statement that writes the webhook, as the total is.
CREATE TABLE filter_program_shares (
  owner TEXT PRIMARY KEY,
  instructions INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
INSERT INTO filter_program_shares (owner, instructions)
  SELECT filter_owner, sum(filter_program) FROM webhooks WHERE filter_owner IS NOT NULL AND filter_program <> 0 GROUP BY filter_owner;

CREATE TRIGGER filter_program_share_added AFTER INSERT ON webhooks WHEN NEW.filter_program <> 0 AND NEW.filter_owner IS NOT NULL
  BEGIN
    INSERT INTO filter_program_shares (owner) VALUES (NEW.filter_owner) ON CONFLICT DO NOTHING;
    UPDATE filter_program_shares SET instructions = instructions + NEW.filter_program WHERE owner = NEW.filter_owner;
  END;
-- The same owner: by the difference, so a change that lowers an owner already past its share passes.
CREATE TRIGGER filter_program_share_changed AFTER UPDATE OF filter_program, organization_uid, grant_organization_uid, location_uid ON webhooks
  WHEN NEW.filter_owner IS OLD.filter_owner AND NEW.filter_owner IS NOT NULL AND NEW.filter_program <> OLD.filter_program
  BEGIN
    INSERT INTO filter_program_shares (owner) VALUES (NEW.filter_owner) ON CONFLICT DO NOTHING;
    UPDATE filter_program_shares SET instructions = instructions + NEW.filter_program - OLD.filter_program WHERE owner = NEW.filter_owner;
  END;
-- Another owner (a location webhook confined to an organization): the old gives it back, the new takes it.
CREATE TRIGGER filter_program_share_moved AFTER UPDATE OF filter_program, organization_uid, grant_organization_uid, location_uid ON webhooks
  WHEN NEW.filter_owner IS NOT OLD.filter_owner
  BEGIN
    UPDATE filter_program_shares SET instructions = instructions - OLD.filter_program WHERE owner = OLD.filter_owner AND OLD.filter_program <> 0;
    INSERT INTO filter_program_shares (owner) SELECT NEW.filter_owner WHERE NEW.filter_owner IS NOT NULL AND NEW.filter_program <> 0 ON CONFLICT DO NOTHING;
    UPDATE filter_program_shares SET instructions = instructions + NEW.filter_program WHERE owner = NEW.filter_owner AND NEW.filter_program <> 0;
  END;
CREATE TRIGGER filter_program_share_removed AFTER DELETE ON webhooks WHEN OLD.filter_program <> 0 AND OLD.filter_owner IS NOT NULL
  BEGIN UPDATE filter_program_shares SET instructions = instructions - OLD.filter_program WHERE owner = OLD.filter_owner; END;

-- A write that would take an owner's part up past its share aborts with 'filter_program_share_bound'; one
-- that lowers it or leaves it never does, so an owner already past it (filters saved before) stays editable.
CREATE TRIGGER filter_program_share_bound BEFORE UPDATE OF instructions ON filter_program_shares
  WHEN NEW.instructions > OLD.instructions AND NEW.instructions > 32768
  BEGIN SELECT RAISE(ABORT, 'filter_program_share_bound'); END;
CREATE TRIGGER filter_program_share_emptied AFTER UPDATE OF instructions ON filter_program_shares WHEN NEW.instructions = 0
  BEGIN DELETE FROM filter_program_shares WHERE owner = NEW.owner; END;
