-- The queue: tickets and every change of their state, calls to counters,
-- which counters are open, and the learned service time of each lane.
-- No personal data: a ticket is a number, a service and times.

CREATE TABLE tickets (
    id            INTEGER PRIMARY KEY,
    day           TEXT NOT NULL,              -- business day: Asia/Tehran date, YYYY-MM-DD
    lane          TEXT NOT NULL,
    number        INTEGER NOT NULL,
    label         TEXT NOT NULL,              -- as printed: 'A012' or '123'
    service_code  TEXT NOT NULL,
    service_title TEXT NOT NULL,
    priority      INTEGER NOT NULL DEFAULT 0,
    state         TEXT NOT NULL CHECK (state IN
                  ('waiting', 'called', 'serving', 'done', 'no_show', 'cancelled', 'transferred')),
    issued_at     TEXT NOT NULL,              -- when this row was made (UTC ISO)
    arrived_at    TEXT NOT NULL,              -- when the customer took the ticket; kept on transfer
    origin_id     INTEGER REFERENCES tickets(id),  -- set on the copy a transfer makes
    counter       INTEGER,
    recalls       INTEGER NOT NULL DEFAULT 0,
    people_ahead  INTEGER NOT NULL DEFAULT 0,
    wait_minutes  INTEGER NOT NULL DEFAULT 0,
    called_at     TEXT,                       -- first call
    finished_at   TEXT,                       -- entered done, no_show, cancelled or transferred
    print_state   TEXT NOT NULL DEFAULT 'pending',
    print_error   TEXT NOT NULL DEFAULT ''
);
-- One number per lane per day, whatever crashes: the database refuses a duplicate.
CREATE UNIQUE INDEX tickets_number ON tickets(day, lane, number) WHERE origin_id IS NULL;
CREATE INDEX tickets_waiting ON tickets(day, lane, state, arrived_at);
CREATE INDEX tickets_counter ON tickets(counter, state);

-- Every state change of a ticket, with its time (append-only).
CREATE TABLE ticket_events (
    id        INTEGER PRIMARY KEY,
    ticket_id INTEGER NOT NULL REFERENCES tickets(id),
    at        TEXT NOT NULL,
    event     TEXT NOT NULL,     -- a state entered, or 'recalled', 'printed', 'print_failed'
    counter   INTEGER,
    actor     TEXT NOT NULL DEFAULT '',
    detail    TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX ticket_events_ticket ON ticket_events(ticket_id, id);
CREATE TRIGGER ticket_events_no_update BEFORE UPDATE ON ticket_events
BEGIN SELECT RAISE(ABORT, 'ticket_events is append-only'); END;
CREATE TRIGGER ticket_events_no_delete BEFORE DELETE ON ticket_events
BEGIN SELECT RAISE(ABORT, 'ticket_events is append-only'); END;

-- Calls shown and announced on the wall: first calls (recall = 0) and recalls.
CREATE TABLE calls (
    id        INTEGER PRIMARY KEY,
    ticket_id INTEGER NOT NULL REFERENCES tickets(id),
    counter   INTEGER NOT NULL,
    at        TEXT NOT NULL,
    recall    INTEGER NOT NULL DEFAULT 0
);

-- Counters opened or closed by staff (history is in state_log as counter:N).
CREATE TABLE counters (
    number INTEGER PRIMARY KEY,
    open   INTEGER NOT NULL DEFAULT 0,
    since  TEXT NOT NULL
);

-- Exponentially weighted mean service time per lane, in minutes.
CREATE TABLE lane_stats (
    lane            TEXT PRIMARY KEY,
    service_minutes REAL NOT NULL,
    samples         INTEGER NOT NULL DEFAULT 0,
    updated_at      TEXT NOT NULL
);
