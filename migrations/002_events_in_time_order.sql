-- Version 2: the step log is written in time order and read by time.
-- Its unique index on (call_sid, step) put every insert at a random place of a large
-- index (CallSids are random): many pages written per commit. A replayed webhook is now
-- found through calls.last_event, the log row of the call's last answer; the log keeps
-- an index on its time only, which grows at its end (and serves the retention purge).
CREATE TABLE events_v2 (
    id          INTEGER PRIMARY KEY,
    call_sid    TEXT NOT NULL,             -- the call (calls.sid)
    step        INTEGER NOT NULL,          -- the webhook's step (0: the call arrived)
    kind        TEXT NOT NULL,             -- incoming | gather | silence | dial | record
    node        TEXT NOT NULL,             -- where the caller was
    input       TEXT NOT NULL,             -- keys, 'silence', 'dial:busy', …
    result      TEXT NOT NULL,             -- what the engine made of it
    at          TEXT NOT NULL,
    response    TEXT NOT NULL              -- the TwiML answered
) STRICT;
INSERT INTO events_v2 (id, call_sid, step, kind, node, input, result, at, response)
    SELECT id, call_sid, step, kind, node, input, result, at, response FROM events ORDER BY id;
DROP TABLE events;
ALTER TABLE events_v2 RENAME TO events;
CREATE INDEX events_by_time ON events (at);

ALTER TABLE calls ADD COLUMN last_event INTEGER;   -- events.id of the last answer, for replays
UPDATE calls SET last_event = last.id
    FROM (SELECT call_sid, max(id) AS id FROM events GROUP BY call_sid) AS last
    WHERE last.call_sid = calls.sid;
