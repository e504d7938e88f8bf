-- solidaire's whole schema. Applied once to a new database under PRAGMA user_version;
-- later changes are added as numbered migrations in src/store/mod.rs.
-- Timestamps are UTC text, RFC 3339 with milliseconds: 2026-11-21T08:30:00.000Z.
-- Phone numbers are E.164 text, NULL when withheld or once anonymised.

CREATE TABLE calls (
    sid         TEXT PRIMARY KEY,          -- the provider's CallSid
    line        TEXT NOT NULL,             -- flow id (file stem)
    caller      TEXT,                      -- E.164, NULL when withheld
    called      TEXT,                      -- the number dialled (To)
    language    TEXT,                      -- chosen language, NULL before the choice
    started_at  TEXT NOT NULL,
    day         TEXT NOT NULL,             -- local date of started_at in the line's time zone
    open_at_arrival INTEGER,               -- 1 when the line was open as the call arrived
    ended_at    TEXT,
    status      TEXT NOT NULL,             -- the provider's CallStatus
    status_seq  INTEGER NOT NULL DEFAULT -1, -- highest status SequenceNumber applied
    duration    INTEGER,                   -- seconds, from the status callback
    outcome     TEXT,                      -- transferred | callback | informed | no_response | abandoned
    step        INTEGER NOT NULL DEFAULT 0,-- webhooks processed
    node        TEXT NOT NULL DEFAULT '',  -- current node
    state       TEXT NOT NULL,             -- the engine's call state, JSON
    -- Figures for the statistics, kept on the call (they survive the retention purge):
    left_menu_at       TEXT,               -- a transfer started, a request was stored, or the flow ended the call
    menu_keys          TEXT NOT NULL DEFAULT '',  -- keys pressed at menus, in order
    invalid_inputs     INTEGER NOT NULL DEFAULT 0,
    silences           INTEGER NOT NULL DEFAULT 0,
    transfers          INTEGER NOT NULL DEFAULT 0,
    transfers_answered INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX calls_by_start ON calls (started_at);
CREATE INDEX calls_by_day ON calls (day, line);
CREATE INDEX calls_by_caller ON calls (caller, started_at);

CREATE TABLE events (
    id          INTEGER PRIMARY KEY,
    call_sid    TEXT NOT NULL REFERENCES calls (sid) ON DELETE CASCADE,
    step        INTEGER NOT NULL,          -- the webhook's step (0: the call arrived)
    kind        TEXT NOT NULL,             -- incoming | gather | silence | dial | record
    node        TEXT NOT NULL,             -- where the caller was
    input       TEXT NOT NULL,             -- keys, 'silence', 'dial:busy', …
    result      TEXT NOT NULL,             -- what the engine made of it
    at          TEXT NOT NULL,
    response    TEXT NOT NULL,             -- the TwiML answered, replayed to a repeated webhook
    UNIQUE (call_sid, step)
) STRICT;

CREATE TABLE agents (
    id            INTEGER PRIMARY KEY,
    login         TEXT NOT NULL UNIQUE,
    role          TEXT NOT NULL CHECK (role IN ('agent', 'supervisor')),
    password_hash TEXT NOT NULL,          -- argon2id, PHC string
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_at    TEXT NOT NULL
) STRICT;

CREATE TABLE api_tokens (
    id          INTEGER PRIMARY KEY,
    agent_id    INTEGER NOT NULL REFERENCES agents (id),
    token_hash  TEXT NOT NULL UNIQUE,     -- SHA-256 of the token, hex; the token is shown once
    created_at  TEXT NOT NULL
) STRICT;

CREATE TABLE sessions (
    token_hash  TEXT PRIMARY KEY,         -- SHA-256 of the cookie value, hex
    agent_id    INTEGER NOT NULL REFERENCES agents (id),
    csrf        TEXT NOT NULL,            -- the token every form of this session carries
    created_at  TEXT NOT NULL,
    last_seen   TEXT NOT NULL
) STRICT;

CREATE TABLE callback_requests (
    id                INTEGER PRIMARY KEY,  -- the request number told to the caller
    call_sid          TEXT NOT NULL REFERENCES calls (sid), -- the call that asked first
    line              TEXT NOT NULL,
    service           TEXT NOT NULL,
    language          TEXT NOT NULL,
    phone             TEXT,                 -- E.164; NULL once anonymised
    postcode          TEXT,
    priority          INTEGER NOT NULL DEFAULT 0,   -- 0 normal, 1 high, 2 urgent
    answers           TEXT NOT NULL DEFAULT '{}',   -- JSON: eligibility, errand, …
    recording_url     TEXT,
    recording_seconds INTEGER,
    state             TEXT NOT NULL DEFAULT 'open'
                      CHECK (state IN ('open', 'claimed', 'done', 'unreachable', 'cancelled')),
    attempts          INTEGER NOT NULL DEFAULT 0,
    max_attempts      INTEGER NOT NULL DEFAULT 3,
    not_before        TEXT NOT NULL,        -- not shown to agents before this time
    created_at        TEXT NOT NULL,
    claimed_by        INTEGER REFERENCES agents (id),
    lease_until       TEXT,                 -- a claim past this time is open again
    first_attempt_at  TEXT,
    closed_at         TEXT,
    closed_reason     TEXT                  -- the last outcome, or the cancel reason
) STRICT;
CREATE INDEX callbacks_queue ON callback_requests (state, priority DESC, created_at);
CREATE INDEX callbacks_by_created ON callback_requests (created_at);
CREATE INDEX callbacks_by_phone ON callback_requests (phone, service, created_at);

-- Every call that asked for a request; a second call for the same service within a day
-- joins the first request. A call asks once: replays find their request here.
CREATE TABLE callback_calls (
    request_id  INTEGER NOT NULL REFERENCES callback_requests (id),
    call_sid    TEXT NOT NULL UNIQUE REFERENCES calls (sid)
) STRICT;
CREATE INDEX callback_calls_by_request ON callback_calls (request_id);

-- Everything that happened to a request, with who and when.
CREATE TABLE callback_history (
    id          INTEGER PRIMARY KEY,
    request_id  INTEGER NOT NULL REFERENCES callback_requests (id),
    agent_id    INTEGER REFERENCES agents (id),   -- NULL: the line itself
    action      TEXT NOT NULL,    -- created, merged, claimed, released, lease_expired, outcome, …
    detail      TEXT NOT NULL DEFAULT '',
    at          TEXT NOT NULL
) STRICT;
CREATE INDEX callback_history_by_request ON callback_history (request_id, id);
