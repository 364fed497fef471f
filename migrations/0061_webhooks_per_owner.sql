-- What a limited token's new webhook counts its owner's webhooks by (0054's `filter_owner`: the
-- organization, or the one a location webhook is confined to, else the location): the count reads at
-- most WEBHOOKS_PER_OWNER index entries (src/store/webhooks.ts insertWebhook).
CREATE INDEX webhooks_filter_owner ON webhooks (filter_owner) WHERE filter_owner IS NOT NULL;
