-- Volunteers, missions and the people who coordinate them.
-- Run with foreign keys off (the migration runner turns them off around every
-- migration and checks them after), so that `agents` can be rebuilt with new roles.

-- Accounts gain two roles: coordinators keep the roster and assign missions (a
-- coordinator holding postcodes is a referent: only those postcodes); volunteers with an
-- account see and answer their own missions.
CREATE TABLE agents_new (
    id            INTEGER PRIMARY KEY,
    login         TEXT NOT NULL UNIQUE,
    role          TEXT NOT NULL CHECK (role IN ('agent', 'supervisor', 'coordinator', 'volunteer')),
    password_hash TEXT NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_at    TEXT NOT NULL
) STRICT;
INSERT INTO agents_new (id, login, role, password_hash, disabled, created_at)
    SELECT id, login, role, password_hash, disabled, created_at FROM agents;
DROP TABLE agents;
ALTER TABLE agents_new RENAME TO agents;

-- The postcodes a referent handles (none: every postcode of the line).
CREATE TABLE referent_postcodes (
    agent_id    INTEGER NOT NULL REFERENCES agents (id),
    postcode    TEXT NOT NULL,
    PRIMARY KEY (agent_id, postcode)
) STRICT;

-- The kind of help a request asks for (an id of the flow's `[line.helps]`), and the
-- mission serving it: while one is live the request is out of the agents' queue.
ALTER TABLE callback_requests ADD COLUMN help TEXT;
ALTER TABLE callback_requests ADD COLUMN mission_id INTEGER;

CREATE TABLE volunteers (
    id            INTEGER PRIMARY KEY,
    line          TEXT NOT NULL,
    name          TEXT NOT NULL,            -- '' for one who signed up by phone (see name_recording_url)
    name_recording_url TEXT,                -- the name as said on the phone
    phone         TEXT,                     -- E.164; NULL once purged after leaving
    postcode      TEXT NOT NULL,
    section       TEXT,                     -- a section of the postcode, when known
    latitude      REAL NOT NULL,
    longitude     REAL NOT NULL,
    languages     TEXT NOT NULL,            -- comma-separated: fr,nl
    helps         TEXT NOT NULL,            -- comma-separated ids of the line's kinds of help
    availability  TEXT NOT NULL DEFAULT '', -- weekday ranges (`mon 09:00-12:00; sat 10:00-18:00`); '' any hour
    radius_km     REAL NOT NULL,
    weekly_max    INTEGER NOT NULL DEFAULT 3,
    on_duty       INTEGER NOT NULL DEFAULT 1,
    state         TEXT NOT NULL CHECK (state IN ('pending', 'active', 'paused', 'left')),
    consent_at    TEXT,
    consent_how   TEXT,                     -- 'by phone', 'paper form', …
    notes         TEXT NOT NULL DEFAULT '',
    account_id    INTEGER REFERENCES agents (id),
    created_at    TEXT NOT NULL,
    left_at       TEXT
) STRICT;
CREATE UNIQUE INDEX volunteers_by_phone ON volunteers (line, phone) WHERE phone IS NOT NULL;
CREATE INDEX volunteers_by_postcode ON volunteers (line, postcode);

-- Everything that happened to a volunteer's record, with who and when.
CREATE TABLE volunteer_history (
    id            INTEGER PRIMARY KEY,
    volunteer_id  INTEGER NOT NULL REFERENCES volunteers (id),
    agent_id      INTEGER REFERENCES agents (id),   -- NULL: the line itself or the operator
    action        TEXT NOT NULL,
    detail        TEXT NOT NULL DEFAULT '',
    at            TEXT NOT NULL
) STRICT;
CREATE INDEX volunteer_history_by_volunteer ON volunteer_history (volunteer_id, id);

-- A request handed to volunteers.
CREATE TABLE missions (
    id            INTEGER PRIMARY KEY,
    request_id    INTEGER NOT NULL REFERENCES callback_requests (id),
    line          TEXT NOT NULL,
    help          TEXT NOT NULL,
    postcode      TEXT NOT NULL,
    language      TEXT NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('proposed', 'offered', 'accepted', 'done', 'not_done', 'cancelled')),
    volunteer_id  INTEGER REFERENCES volunteers (id),   -- who accepted (or was assigned)
    created_at    TEXT NOT NULL,
    accepted_at   TEXT,
    closed_at     TEXT
) STRICT;
CREATE UNIQUE INDEX missions_live ON missions (request_id) WHERE state IN ('proposed', 'offered', 'accepted');
CREATE INDEX missions_by_state ON missions (line, state, created_at);
CREATE INDEX missions_by_volunteer ON missions (volunteer_id, accepted_at);
CREATE INDEX missions_by_created ON missions (created_at);

-- Each offer of a mission to a volunteer, and the answer: the monthly cap counts these.
CREATE TABLE mission_offers (
    mission_id    INTEGER NOT NULL REFERENCES missions (id),
    volunteer_id  INTEGER NOT NULL REFERENCES volunteers (id),
    at            TEXT NOT NULL,
    answer        TEXT,                      -- accepted | declined | taken (another accepted first) | withdrawn
    PRIMARY KEY (mission_id, volunteer_id)
) STRICT;
CREATE INDEX mission_offers_by_volunteer ON mission_offers (volunteer_id, at);

-- Everything that happened to a mission, with who and when.
CREATE TABLE mission_history (
    id            INTEGER PRIMARY KEY,
    mission_id    INTEGER NOT NULL REFERENCES missions (id),
    agent_id      INTEGER REFERENCES agents (id),     -- NULL: the line or a volunteer by phone
    volunteer_id  INTEGER REFERENCES volunteers (id),
    action        TEXT NOT NULL,
    detail        TEXT NOT NULL DEFAULT '',
    at            TEXT NOT NULL
) STRICT;
CREATE INDEX mission_history_by_mission ON mission_history (mission_id, id);

-- Bumped by every change to the roster: matching keeps the roster in memory and reads it
-- again only when this has moved (whoever changed it: the service, the command line).
CREATE TABLE roster_version (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    version     INTEGER NOT NULL
) STRICT;
INSERT INTO roster_version (id, version) VALUES (1, 0);
CREATE TRIGGER roster_added AFTER INSERT ON volunteers
    BEGIN UPDATE roster_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER roster_changed AFTER UPDATE ON volunteers
    BEGIN UPDATE roster_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER roster_removed AFTER DELETE ON volunteers
    BEGIN UPDATE roster_version SET version = version + 1 WHERE id = 1; END;
