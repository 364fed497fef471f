-- A delivery keeps its attempts in its own row (src/store/attempts.ts): recording one
-- rewrites the row its status change rewrites anyway, where a row of its own cost a
-- write to store and another to purge. Nothing is copied: the attempts recorded
-- before stay in `attempts`, where they are read alongside, until the retention
-- takes them with their events; a later release drops the table.
ALTER TABLE deliveries ADD COLUMN attempts TEXT;
