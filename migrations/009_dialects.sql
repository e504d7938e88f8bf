-- The provider's dialect each call speaks (twilio: TwiML, also SignalWire's cXML;
-- telnyx: TeXML; jambonz: JSON), so that its replays and its apology answer in it.
ALTER TABLE calls ADD COLUMN dialect TEXT NOT NULL DEFAULT 'twilio';
