-- A new call drops the kept figures of its day (`stats_call_days`) in the store's own
-- inserts (`store::calls`), no longer in a trigger: a trigger on INSERT made SQLite keep a
-- statement journal for every new call, a tenth of the cost of storing it. Changes and
-- deletions of calls keep their triggers.
DROP TRIGGER stats_call_days_on_insert;
