-- Calling out: the calls the service places itself (missions offered to volunteers by
-- phone, agents put through to residents), written as an outbox in the same transaction
-- as the decision and placed by a worker through the provider's REST API; and the calls
-- volunteers make to the line about their missions ('desk'), which take the same steps.

-- An agent's own phone, rung by click-to-call (E.164; never shown to a resident).
ALTER TABLE agents ADD COLUMN phone TEXT;

-- A volunteer who pressed "pause my calls for a week" is not phoned before this time.
ALTER TABLE volunteers ADD COLUMN calls_paused_until TEXT;

-- A mission the line is offering by phone, round after round, until someone accepts or
-- nobody is left to call.
ALTER TABLE missions ADD COLUMN phoning INTEGER NOT NULL DEFAULT 0;
-- The worker looks for the missions waiting for their next round every second.
CREATE INDEX missions_phoning ON missions (id) WHERE phoning <> 0 AND state IN ('proposed', 'offered');

CREATE TABLE outbound_calls (
    id            INTEGER PRIMARY KEY,
    line          TEXT NOT NULL,
    purpose       TEXT NOT NULL CHECK (purpose IN ('offer', 'agent', 'desk')),
    mission_id    INTEGER REFERENCES missions (id),
    volunteer_id  INTEGER REFERENCES volunteers (id),
    request_id    INTEGER REFERENCES callback_requests (id),
    agent_id      INTEGER REFERENCES agents (id),
    to_number     TEXT NOT NULL,              -- whom the line rings (volunteer or agent), E.164
    -- queued: waiting for the worker; sending: handed to the provider (a crash here never
    -- sends it twice); placed: the provider took it; answered / accepted: a person is on it;
    -- ended: over, see outcome; failed: the provider refused it, or retries ran out.
    state         TEXT NOT NULL CHECK (state IN ('queued', 'sending', 'placed', 'answered', 'accepted', 'ended', 'failed')),
    attempts      INTEGER NOT NULL DEFAULT 0,
    next_try_at   TEXT NOT NULL,
    sid           TEXT UNIQUE,                -- the provider's call id
    outcome       TEXT,                       -- no-answer, busy, machine, declined, accepted, taken, paused, bridged, …
    error         TEXT,                       -- the provider's refusal, for the coordinators
    step          INTEGER NOT NULL DEFAULT 0, -- the webhook step of the call
    response      TEXT,                       -- the last answer sent (a replayed webhook gets it again)
    tries         INTEGER NOT NULL DEFAULT 0, -- questions left unanswered in a row
    withdraw      INTEGER NOT NULL DEFAULT 0, -- 1: still ringing when someone else took the mission, to cancel; 2: cancelled
    created_at    TEXT NOT NULL,
    placed_at     TEXT,
    answered_at   TEXT,
    bridged_at    TEXT,
    ended_at      TEXT
) STRICT;
CREATE INDEX outbound_calls_due ON outbound_calls (next_try_at) WHERE state = 'queued';
CREATE INDEX outbound_calls_live ON outbound_calls (state) WHERE state IN ('sending', 'placed', 'answered', 'accepted');
CREATE INDEX outbound_calls_by_mission ON outbound_calls (mission_id);
CREATE INDEX outbound_calls_to_withdraw ON outbound_calls (id) WHERE withdraw = 1;
CREATE INDEX outbound_calls_by_request ON outbound_calls (request_id);
CREATE INDEX outbound_calls_by_created ON outbound_calls (created_at);
