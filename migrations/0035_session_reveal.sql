-- A signing secret made through the dashboard waits here, with its session, for the one page that
-- shows it (the redirect after the form, so that reloading that page makes nothing again): taken,
-- and cleared, by that page's first view; it expires with the session, or after ten minutes.
ALTER TABLE sessions ADD COLUMN reveal TEXT;
