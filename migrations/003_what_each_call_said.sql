-- Whether a request's number is the caller ID of the call that made it. A typed number
-- proves nothing: a later call joins only a request whose number was its caller ID, from
-- the same caller ID. Requests made before this version are treated as typed.
ALTER TABLE callback_requests ADD COLUMN phone_is_caller_id INTEGER NOT NULL DEFAULT 0;

-- What each call of a request said. The first call's words are also the request's own;
-- a later call's are kept here beside them and only fill what the first left empty.
ALTER TABLE callback_calls ADD COLUMN at TEXT;
ALTER TABLE callback_calls ADD COLUMN postcode TEXT;
ALTER TABLE callback_calls ADD COLUMN answers TEXT;
ALTER TABLE callback_calls ADD COLUMN recording_url TEXT;
ALTER TABLE callback_calls ADD COLUMN recording_seconds INTEGER;
