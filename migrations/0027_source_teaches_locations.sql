-- Whether a source's events teach which organization a location belongs to (what a
-- token limited to organizations may subscribe to by location rests on): those of
-- sources the admin created. A source any other token creates without an owner does
-- not, or that token could move another's location into an organization it holds.
-- Sources stored before keep teaching, as they did.
ALTER TABLE sources ADD COLUMN teaches_locations INTEGER NOT NULL DEFAULT 1;
