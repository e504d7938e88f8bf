-- Neighbourhoods with referents (Miramas): a request names the caller's neighbourhood,
-- and is kept for that neighbourhood's referents until `reserved_until`; after that, or
-- when the neighbourhood has no referent, everyone working the line sees it.
ALTER TABLE callback_requests ADD COLUMN neighbourhood TEXT;
ALTER TABLE callback_requests ADD COLUMN reserved_until TEXT;

-- The neighbourhoods of a line a referent (a coordinator) handles.
CREATE TABLE referent_neighbourhoods (
    agent_id      INTEGER NOT NULL REFERENCES agents (id),
    line          TEXT NOT NULL,
    neighbourhood TEXT NOT NULL,
    PRIMARY KEY (agent_id, line, neighbourhood)
) STRICT, WITHOUT ROWID;
