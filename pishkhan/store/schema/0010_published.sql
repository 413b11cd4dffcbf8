-- What the edge agent has already sent to the centre from stored facts:
-- compliance events (key: the event's id, kind@start) and daily reports
-- (key: the date), so a restart does not send them again.
CREATE TABLE agent_published (
    kind         TEXT NOT NULL,   -- 'event' or 'report'
    key          TEXT NOT NULL,
    seq          INTEGER NOT NULL, -- the message's sequence number
    published_at TEXT NOT NULL,
    PRIMARY KEY (kind, key)
);
