-- Working-hours schedules and holiday lists, signed by an issuer the device
-- trusts (see pishkhan/schedule/installed.py). Every version ever installed
-- is kept; the one in effect on a date is the highest version of its kind and
-- scope whose effective_from is on or before that date.
CREATE TABLE schedule_documents (
    id                INTEGER PRIMARY KEY,
    kind              TEXT NOT NULL CHECK (kind IN ('schedule', 'holidays')),
    scope_key         TEXT NOT NULL,   -- 'national', 'province:23', 'office:23-1234'
    version           INTEGER NOT NULL,
    effective_from    TEXT NOT NULL,   -- YYYY-MM-DD, Asia/Tehran
    issuer            TEXT NOT NULL,
    key_fingerprint   TEXT NOT NULL,
    verification_code TEXT NOT NULL,
    envelope          TEXT NOT NULL,   -- the signed document, exactly as received
    source            TEXT NOT NULL,   -- 'cli', 'usb', 'centre'
    installed_at      TEXT NOT NULL,
    UNIQUE (kind, scope_key, version)
);
