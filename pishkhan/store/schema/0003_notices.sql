-- Notices posted by staff or sent in an office board, shown on the kiosk and the wall.
CREATE TABLE notices (
    id         INTEGER PRIMARY KEY,
    text       TEXT NOT NULL,
    posted_at  TEXT NOT NULL,
    posted_by  TEXT NOT NULL,
    removed_at TEXT,
    removed_by TEXT
);
