-- Circulars: the signed indexes of circulars, instructions,
-- regulations and tariff lists each scope communicated, installed through the
-- one install path (pishkhan/circulars/installed.py), and the library they
-- make: one row per circular ever received, never deleted.
CREATE TABLE circular_indexes (
    id                INTEGER PRIMARY KEY,
    scope_key         TEXT NOT NULL,   -- 'national', 'province:23'
    version           INTEGER NOT NULL,
    issued_at         TEXT NOT NULL,   -- ISO UTC, as signed
    issuer            TEXT NOT NULL,
    key_fingerprint   TEXT NOT NULL,
    verification_code TEXT NOT NULL,
    envelope          TEXT NOT NULL,   -- the signed index, exactly as received
    source            TEXT NOT NULL,   -- 'cli', 'usb', 'centre'
    installed_at      TEXT NOT NULL,
    UNIQUE (scope_key, version)
);

CREATE TABLE circulars (
    scope_key      TEXT NOT NULL,
    number         TEXT NOT NULL,      -- Latin digits
    kind           TEXT NOT NULL,      -- 'circular', 'instruction', 'regulation', 'tariff_list'
    title          TEXT NOT NULL,
    issuer         TEXT NOT NULL,
    issued_on      TEXT NOT NULL,      -- Jalali YYYY-MM-DD
    effective_on   TEXT NOT NULL,      -- Jalali YYYY-MM-DD
    summary        TEXT NOT NULL,
    urgent         INTEGER NOT NULL,
    sha256         TEXT NOT NULL,
    size           INTEGER NOT NULL,
    received_at    TEXT NOT NULL,      -- ISO UTC: the index that first listed it was installed
    index_version  INTEGER NOT NULL,   -- the newest index of its scope that listed it
    fetched_at     TEXT,               -- ISO UTC: the attachment kept, hash checked; NULL until then
    superseded_by  TEXT,               -- the number of the circular that superseded it
    fetch_attempts INTEGER NOT NULL DEFAULT 0,
    next_fetch_at  TEXT,               -- ISO UTC: the next try (backoff)
    last_error     TEXT,
    reported_at    TEXT,               -- ISO UTC: circular_received went into the agent's outbox
    PRIMARY KEY (scope_key, number)
);

CREATE TABLE circular_acks (
    scope_key   TEXT NOT NULL,
    number      TEXT NOT NULL,
    who         TEXT NOT NULL,
    at          TEXT NOT NULL,         -- ISO UTC
    reported_at TEXT,                  -- ISO UTC: circular_acknowledged went into the agent's outbox
    PRIMARY KEY (scope_key, number)
);
