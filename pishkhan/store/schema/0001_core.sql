-- Core tables: audit log, state log, device settings, trusted keys, boards.

CREATE TABLE audit_log (
    id      INTEGER PRIMARY KEY,
    at      TEXT NOT NULL,             -- UTC, ISO 8601
    actor   TEXT NOT NULL,             -- 'staff', 'centre', 'usb', 'cli:root', ...
    action  TEXT NOT NULL,             -- 'board.install', 'key.trust', ...
    subject TEXT NOT NULL DEFAULT '',
    detail  TEXT NOT NULL DEFAULT '{}' -- JSON
);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;

-- Timestamped state changes of every component, for compliance.
CREATE TABLE state_log (
    id        INTEGER PRIMARY KEY,
    at        TEXT NOT NULL,
    component TEXT NOT NULL,           -- 'kiosk', 'display', 'printer', 'counter:2', ...
    state     TEXT NOT NULL,
    reason    TEXT NOT NULL DEFAULT '',
    detail    TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX state_log_component ON state_log(component, id);

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE trusted_keys (
    fingerprint TEXT PRIMARY KEY,
    pem         TEXT NOT NULL,
    scope       TEXT NOT NULL DEFAULT 'any',  -- 'any', 'national', 'province:23', 'office:X'
    label       TEXT NOT NULL DEFAULT '',
    added_at    TEXT NOT NULL
);

CREATE TABLE boards (
    id                INTEGER PRIMARY KEY,
    scope_key         TEXT NOT NULL,
    version           INTEGER NOT NULL,
    effective_from    TEXT NOT NULL,   -- YYYY-MM-DD, Asia/Tehran
    issuer            TEXT NOT NULL,
    key_fingerprint   TEXT NOT NULL,
    verification_code TEXT NOT NULL,
    envelope          TEXT NOT NULL,   -- the signed document, exactly as received
    source            TEXT NOT NULL,   -- 'cli', 'usb', 'centre'
    installed_at      TEXT NOT NULL,
    UNIQUE (scope_key, version)
);
