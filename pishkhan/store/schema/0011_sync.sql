-- Documents from the centre the agent has handled (installed or refused),
-- by topic and the SHA-256 of the payload as received: a retained document
-- delivered again on every reconnect, or a replay, is not applied or
-- reported twice, also across restarts.
CREATE TABLE sync_documents (
    topic      TEXT NOT NULL,
    sha256     TEXT NOT NULL,
    kind       TEXT NOT NULL,
    outcome    TEXT NOT NULL,            -- applied | refused
    reason     TEXT NOT NULL DEFAULT '', -- refusal code
    message    TEXT NOT NULL DEFAULT '',
    handled_at TEXT NOT NULL,
    PRIMARY KEY (topic, sha256)
);
