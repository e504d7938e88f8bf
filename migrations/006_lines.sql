-- The end of a line's service (Herstal closed its platform and reopened it on a second
-- wave): a row here ends the line from `ends_at`; reopening removes it. Every change is
-- in the audit log with who and when.
CREATE TABLE line_states (
    line      TEXT PRIMARY KEY,
    ends_at   TEXT NOT NULL
) STRICT;

CREATE TABLE line_history (
    id        INTEGER PRIMARY KEY,
    line      TEXT NOT NULL,
    action    TEXT NOT NULL CHECK (action IN ('end', 'reopen', 'notice', 'notice removed')),
    agent_id  INTEGER REFERENCES agents (id),   -- NULL: the command line
    detail    TEXT NOT NULL DEFAULT '',
    at        TEXT NOT NULL
) STRICT;
CREATE INDEX line_history_by_line ON line_history (line, id);

-- A campaign notice said before the menu of every call for a period ("vaccination
-- bookings now on key 1"), one text per language of the line.
CREATE TABLE line_notices (
    line       TEXT PRIMARY KEY,
    texts      TEXT NOT NULL,      -- JSON: language -> text
    starts_at  TEXT NOT NULL,
    ends_at    TEXT NOT NULL
) STRICT;
