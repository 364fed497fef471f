-- Routing and reshaping by content. A webhook's filter is a JSON document matched against
-- each event's body and headers at storage; its transform (JSONata) and transformHeaders
-- (a JSON object: header name -> JSONata) reshape what is sent. NULL: none.
ALTER TABLE webhooks ADD COLUMN filter TEXT;
ALTER TABLE webhooks ADD COLUMN transform TEXT;
ALTER TABLE webhooks ADD COLUMN transform_headers TEXT;

-- The webhooks whose filter excluded an event when it was stored (a JSON array of uids,
-- NULL when none): written with the event's own row, so an exclusion costs no row of its own.
ALTER TABLE events ADD COLUMN filtered_out TEXT;
