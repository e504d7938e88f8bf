-- Calls a supervisor makes from the console to try a line (`/console/lines/{line}/try`):
-- the same steps as a real call, kept for their path, never counted in the statistics
-- nor in a number's calls (a request they register is discarded before it is kept).
ALTER TABLE calls ADD COLUMN trial INTEGER NOT NULL DEFAULT 0;
