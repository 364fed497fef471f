-- The $regex programs of every webhook's filter together, in RE2 instructions (each pattern at least
-- FILTER_LIMITS.regexCharge), so that saving a filter checks FILTER_LIMITS.accountRegexProgram by
-- reading a row, however many webhooks there are. Each
-- webhook's own part is written with its filter (store/webhooks.ts); the total is kept by triggers in
-- the statement that writes it, as delivery_totals (0041) is, so no writer can miss it. Filters stored
-- before count 0 until their filter is saved again: the program size is RE2's, known only to the Worker
-- (routing keeps them, compiled once, as any other: routing/filter-cache.ts).
ALTER TABLE webhooks ADD COLUMN filter_program INTEGER NOT NULL DEFAULT 0;

CREATE TABLE filter_program_total (
  id INTEGER PRIMARY KEY CHECK (id = 0),
  instructions INTEGER NOT NULL DEFAULT 0
);
INSERT INTO filter_program_total (id) VALUES (0);

CREATE TRIGGER filter_program_added AFTER INSERT ON webhooks WHEN NEW.filter_program <> 0
  BEGIN UPDATE filter_program_total SET instructions = instructions + NEW.filter_program WHERE id = 0; END;
CREATE TRIGGER filter_program_changed AFTER UPDATE OF filter_program ON webhooks WHEN NEW.filter_program <> OLD.filter_program
  BEGIN UPDATE filter_program_total SET instructions = instructions + NEW.filter_program - OLD.filter_program WHERE id = 0; END;
CREATE TRIGGER filter_program_removed AFTER DELETE ON webhooks WHEN OLD.filter_program <> 0
  BEGIN UPDATE filter_program_total SET instructions = instructions - OLD.filter_program WHERE id = 0; END;
