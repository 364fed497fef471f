-- Each owner's share (0054) refuses only a write that makes the webhook's own filter count more than
-- its row counted before: a new webhook with a filter, a heavier filter. A change that keeps the
-- filter (or lightens or removes it) passes even when it moves the webhook to an owner already at or
-- past its share (a location webhook confined to its organization by that organization's token):
-- the account-wide total is unchanged by a move, and the moved webhook is that owner's own, so the
-- owner can still disable or edit it. A write that both moves and grows is held to the new owner's
-- share with the whole new count. The shares still follow every move, so they equal a recount.
--
-- The share's row alone cannot tell a move from a growth (0054's bound on it saw only its sum), so
-- each trigger that adds to a share checks as it adds, where the webhook's old and new counts are
-- known, and aborts the statement that writes the webhook ('filter_program_share_bound', as 0054's).
-- In the UPDATE's SET, not a statement of its own: a SELECT of filter_program_shares in the trigger
-- costs a row read on every change of a webhook's owner, and a BEFORE trigger on webhooks one on
-- every change (SQLite seeks the row again after it; NEW.filter_owner, VIRTUAL, reads NULL there
-- unless the statement sets a column it is computed from).
DROP TRIGGER filter_program_share_bound;
DROP TRIGGER filter_program_share_added;
DROP TRIGGER filter_program_share_changed;
DROP TRIGGER filter_program_share_moved;

-- A new webhook: its owner's share with its whole count.
CREATE TRIGGER filter_program_share_added AFTER INSERT ON webhooks WHEN NEW.filter_program <> 0 AND NEW.filter_owner IS NOT NULL
  BEGIN
    INSERT INTO filter_program_shares (owner) VALUES (NEW.filter_owner) ON CONFLICT DO NOTHING;
    UPDATE filter_program_shares SET instructions = CASE WHEN instructions + NEW.filter_program > 32768
        THEN RAISE(ABORT, 'filter_program_share_bound') ELSE instructions + NEW.filter_program END
      WHERE owner = NEW.filter_owner;
  END;
-- The same owner: by the difference, checked only when the filter grows, so a change that lowers an
-- owner already past its share passes.
CREATE TRIGGER filter_program_share_changed AFTER UPDATE OF filter_program, organization_uid, grant_organization_uid, location_uid ON webhooks
  WHEN NEW.filter_owner IS OLD.filter_owner AND NEW.filter_owner IS NOT NULL AND NEW.filter_program <> OLD.filter_program
  BEGIN
    INSERT INTO filter_program_shares (owner) VALUES (NEW.filter_owner) ON CONFLICT DO NOTHING;
    UPDATE filter_program_shares SET instructions = CASE WHEN NEW.filter_program > OLD.filter_program AND instructions + NEW.filter_program - OLD.filter_program > 32768
        THEN RAISE(ABORT, 'filter_program_share_bound') ELSE instructions + NEW.filter_program - OLD.filter_program END
      WHERE owner = NEW.filter_owner;
  END;
-- Another owner (a location webhook confined to an organization): the old gives it back, the new takes
-- it, checked with the whole new count only when the filter grows.
CREATE TRIGGER filter_program_share_moved AFTER UPDATE OF filter_program, organization_uid, grant_organization_uid, location_uid ON webhooks
  WHEN NEW.filter_owner IS NOT OLD.filter_owner
  BEGIN
    UPDATE filter_program_shares SET instructions = instructions - OLD.filter_program WHERE owner = OLD.filter_owner AND OLD.filter_program <> 0;
    INSERT INTO filter_program_shares (owner) SELECT NEW.filter_owner WHERE NEW.filter_owner IS NOT NULL AND NEW.filter_program <> 0 ON CONFLICT DO NOTHING;
    UPDATE filter_program_shares SET instructions = CASE WHEN NEW.filter_program > OLD.filter_program AND instructions + NEW.filter_program > 32768
        THEN RAISE(ABORT, 'filter_program_share_bound') ELSE instructions + NEW.filter_program END
      WHERE owner = NEW.filter_owner AND NEW.filter_program <> 0;
  END;
