-- The call figures of each settled day (every call of it ended, the day two days past),
-- kept so that a year of statistics does not read every call again. One row per scope
-- (a line, or '*' for every line together), time zone (its hours depend on it) and local
-- day; `figures` is their JSON. Always equal to recomputing from the calls: any change to
-- a counted column of a call of that day drops the day's rows, which are computed again.
-- The caller is not among those columns: only the retention purge changes it, to a
-- pseudonym that counts as the same distinct caller.
CREATE TABLE stats_call_days (
    day     TEXT NOT NULL,
    scope   TEXT NOT NULL,
    tz      TEXT NOT NULL,
    figures TEXT NOT NULL,
    PRIMARY KEY (day, scope, tz)
) WITHOUT ROWID;

CREATE TRIGGER stats_call_days_on_insert AFTER INSERT ON calls
WHEN EXISTS (SELECT 1 FROM stats_call_days WHERE day = NEW.day)
BEGIN
    DELETE FROM stats_call_days WHERE day = NEW.day;
END;

CREATE TRIGGER stats_call_days_on_update
AFTER UPDATE OF day, line, started_at, open_at_arrival, outcome, left_menu_at, ended_at, menu_keys,
    invalid_inputs, silences, transfers, transfers_answered ON calls
WHEN EXISTS (SELECT 1 FROM stats_call_days WHERE day IN (OLD.day, NEW.day))
BEGIN
    DELETE FROM stats_call_days WHERE day IN (OLD.day, NEW.day);
END;

CREATE TRIGGER stats_call_days_on_delete AFTER DELETE ON calls
WHEN EXISTS (SELECT 1 FROM stats_call_days WHERE day = OLD.day)
BEGIN
    DELETE FROM stats_call_days WHERE day = OLD.day;
END;
