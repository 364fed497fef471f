-- The account-wide bound of filters' $regex programs (FILTER_LIMITS.accountRegexProgram, 262,144 RE2
-- instructions), held in the transaction that writes a webhook: the API checks it before saving, but two
-- saves at once could both pass that check. A write that would take the total (0053) up past the bound
-- aborts with 'filter_program_bound' and nothing of it is written; one that lowers it or leaves it as it
-- is never does. test/worker/webhooks-api.test.ts checks the number against FILTER_LIMITS.
CREATE TRIGGER filter_program_bound BEFORE UPDATE OF instructions ON filter_program_total
  WHEN NEW.instructions > OLD.instructions AND NEW.instructions > 262144
  BEGIN SELECT RAISE(ABORT, 'filter_program_bound'); END;
