-- The maintenance run forgets a rotation's previous secret once its window has ended (store/webhooks.ts
-- clearExpiredPreviousSecrets): it signs nothing after it, so it is not kept. Along this index a run
-- reads the secrets it clears, not every webhook. Partial: a webhook keeping no previous secret (most)
-- has no entry; a rotation writes one, the run's clear removes it.
CREATE INDEX webhooks_previous_secret_expiry ON webhooks (previous_secret_expires_at) WHERE previous_secret IS NOT NULL;
