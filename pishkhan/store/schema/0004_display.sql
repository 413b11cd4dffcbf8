-- Proof of display: small snapshots of what the wall screen showed, with
-- their hash and the board version on show. Only the last few are kept.
CREATE TABLE display_snapshots (
    id                INTEGER PRIMARY KEY,
    at                TEXT NOT NULL,
    path              TEXT NOT NULL,
    sha256            TEXT NOT NULL,
    board_version     TEXT,
    verification_code TEXT,
    screen_state      TEXT NOT NULL DEFAULT '',
    width             INTEGER NOT NULL,
    height            INTEGER NOT NULL
);
