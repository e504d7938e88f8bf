-- A changed call drops the kept figures of its day as before, but looks for that day with
-- two equalities instead of `day IN (OLD.day, NEW.day)`: the list made SQLite build a
-- temporary b-tree (a page allocated and zeroed) on every change of every call, a few
-- percent of each webhook's work, for a check that almost never finds a kept day.
DROP TRIGGER stats_call_days_on_update;
CREATE TRIGGER stats_call_days_on_update
AFTER UPDATE OF day, line, started_at, open_at_arrival, outcome, left_menu_at, ended_at, menu_keys,
    invalid_inputs, silences, transfers, transfers_answered ON calls
WHEN EXISTS (SELECT 1 FROM stats_call_days WHERE day = OLD.day)
    OR (NEW.day IS NOT OLD.day AND EXISTS (SELECT 1 FROM stats_call_days WHERE day = NEW.day))
BEGIN
    DELETE FROM stats_call_days WHERE day = OLD.day;
    DELETE FROM stats_call_days WHERE day = NEW.day;
END;
