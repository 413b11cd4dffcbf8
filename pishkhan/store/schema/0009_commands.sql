-- Nonces of the signed commands this device accepted, kept until the command
-- would have expired, so a replayed command is refused.
CREATE TABLE command_nonces (
    nonce      TEXT PRIMARY KEY,
    command_id TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    seen_at    TEXT NOT NULL
);
CREATE INDEX command_nonces_expiry ON command_nonces(expires_at);
