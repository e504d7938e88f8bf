-- Several cities on one server: an account belongs to the lines it works on, and an
-- administrator sees every line. Run with foreign keys off (the migration runner turns
-- them off around every migration and checks them after), so that `agents` can be
-- rebuilt with the new role.
CREATE TABLE agents_new (
    id            INTEGER PRIMARY KEY,
    login         TEXT NOT NULL UNIQUE,
    role          TEXT NOT NULL CHECK (role IN ('agent', 'supervisor', 'coordinator', 'volunteer', 'admin')),
    password_hash TEXT NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_at    TEXT NOT NULL,
    phone         TEXT,
    -- The console's language the account chose (`en`, `fr`, `nl`); none: the browser's.
    language      TEXT CHECK (language IN ('en', 'fr', 'nl'))
) STRICT;
INSERT INTO agents_new (id, login, role, password_hash, disabled, created_at, phone)
    SELECT id, login, role, password_hash, disabled, created_at, phone FROM agents;
DROP TABLE agents;
ALTER TABLE agents_new RENAME TO agents;

-- The lines an account works on. An account with none (every account made before this
-- migration) works on every line, as on a server with one line.
CREATE TABLE agent_lines (
    agent_id  INTEGER NOT NULL REFERENCES agents (id),
    line      TEXT NOT NULL,
    PRIMARY KEY (agent_id, line)
) STRICT, WITHOUT ROWID;
