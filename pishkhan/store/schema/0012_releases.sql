-- Release documents (pishkhan.release/1), signed by an issuer the device
-- trusts and installed through the one install path (see
-- pishkhan/releases/installed.py). Every version ever installed is kept; the
-- document in force is the most specific scope's highest version not expired.
CREATE TABLE release_documents (
    id                INTEGER PRIMARY KEY,
    scope_key         TEXT NOT NULL,   -- 'national', 'province:23', 'office:OFF-1', 'device:pi-0001'
    version           INTEGER NOT NULL,
    issuer            TEXT NOT NULL,
    rollout           TEXT NOT NULL,
    package_version   TEXT NOT NULL,
    sha256            TEXT NOT NULL,
    not_before        TEXT NOT NULL,   -- ISO UTC
    expires           TEXT NOT NULL,   -- ISO UTC
    key_fingerprint   TEXT NOT NULL,
    verification_code TEXT NOT NULL,
    envelope          TEXT NOT NULL,   -- the signed document, exactly as received
    source            TEXT NOT NULL,   -- 'cli', 'usb', 'centre'
    installed_at      TEXT NOT NULL,
    UNIQUE (scope_key, version)
);
