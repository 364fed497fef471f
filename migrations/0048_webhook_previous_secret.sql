-- Zero-downtime rotation of a webhook's signing secret: the secret a change replaced keeps
-- signing beside the new one (a second `webhook-signature` entry) until
-- previous_secret_expires_at (epoch ms). Stored as `secret` is; both NULL: none kept (every
-- webhook before this release, and a rotation with previousSecretValidSeconds 0).
ALTER TABLE webhooks ADD COLUMN previous_secret TEXT;
ALTER TABLE webhooks ADD COLUMN previous_secret_expires_at INTEGER;
