"""The fleet database: SQLite for one region on one machine, PostgreSQL for the nation.

:func:`open_db` takes a URL — a path or ``sqlite:///PATH``, or
``postgresql://…`` — and returns a :class:`FleetDB` that speaks one small
SQL dialect to both: statements are written with ``?`` placeholders and
``ON CONFLICT … DO UPDATE`` upserts, which both servers understand; the
PostgreSQL side turns ``?`` into ``%s``. A unit of work is a function handed
to :meth:`FleetDB.write` (one transaction) or :meth:`FleetDB.read`.

Several monitors may share one PostgreSQL database, each taking part of the
fleet's messages through an MQTT 5 shared subscription: nothing a monitor
keeps in memory is needed for correctness. Duplicates and gaps are counted
in the database itself (``seen``: one row per device, epoch and sequence number,
inserted or found already there), so it does not matter which monitor a
message reached.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from central.errors import FleetDBError

SCHEMA = """
CREATE TABLE IF NOT EXISTS devices (
    device_id        TEXT PRIMARY KEY,
    province         TEXT NOT NULL DEFAULT '',
    office_id        TEXT NOT NULL DEFAULT '',
    office_name      TEXT NOT NULL DEFAULT '',
    online           INTEGER NOT NULL DEFAULT 0,
    status_since     TEXT,
    status_sent      TEXT,
    status_reason    TEXT NOT NULL DEFAULT '',
    will_seq         BIGINT,
    last_seen        TEXT,
    boot_id          TEXT NOT NULL DEFAULT '',
    agent_version    TEXT NOT NULL DEFAULT '',
    software_version TEXT NOT NULL DEFAULT '',
    board            TEXT,
    schedule         TEXT,
    clock            TEXT,
    telemetry        TEXT,
    telemetry_at     TEXT,
    compliance       TEXT,
    compliance_at    TEXT,
    highest_seq      BIGINT NOT NULL DEFAULT 0,
    received         BIGINT NOT NULL DEFAULT 0,
    duplicates       BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS devices_province ON devices(province);
CREATE TABLE IF NOT EXISTS seen (
    device_id TEXT NOT NULL,
    epoch     TEXT NOT NULL DEFAULT '',
    seq       BIGINT NOT NULL,
    at        TEXT NOT NULL,
    PRIMARY KEY (device_id, epoch, seq)
);
CREATE INDEX IF NOT EXISTS seen_at ON seen(at);
CREATE INDEX IF NOT EXISTS seen_device_at ON seen(device_id, at);
CREATE TABLE IF NOT EXISTS events (
    id          {serial},
    device_id   TEXT NOT NULL,
    province    TEXT NOT NULL DEFAULT '',
    seq         BIGINT,
    kind        TEXT NOT NULL,
    at          TEXT NOT NULL,
    received_at TEXT NOT NULL,
    detail      TEXT NOT NULL DEFAULT '{{}}'
);
CREATE INDEX IF NOT EXISTS events_recent ON events(received_at);
CREATE INDEX IF NOT EXISTS events_device ON events(device_id, at);
CREATE TABLE IF NOT EXISTS reports (
    device_id   TEXT NOT NULL,
    date        TEXT NOT NULL,
    province    TEXT NOT NULL DEFAULT '',
    report      TEXT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (device_id, date)
);
CREATE INDEX IF NOT EXISTS reports_day ON reports(date, province);
CREATE TABLE IF NOT EXISTS official (
    scope_key         TEXT NOT NULL,
    kind              TEXT NOT NULL,
    version           BIGINT NOT NULL,
    verification_code TEXT NOT NULL,
    effective_from    TEXT NOT NULL DEFAULT '',
    issuer            TEXT NOT NULL DEFAULT '',
    published_at      TEXT NOT NULL,
    envelope          TEXT NOT NULL,
    PRIMARY KEY (kind, scope_key, version)
);
CREATE INDEX IF NOT EXISTS official_code ON official(verification_code);
CREATE TABLE IF NOT EXISTS snapshots (
    device_id     TEXT PRIMARY KEY,
    at            TEXT NOT NULL,
    sha256        TEXT NOT NULL,
    board_version TEXT,
    png           {blob} NOT NULL
);
CREATE TABLE IF NOT EXISTS users (
    username      TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    province      TEXT
);
-- web
CREATE TABLE IF NOT EXISTS user_sessions (
    username   TEXT PRIMARY KEY,
    generation BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS door_failures (
    id       {serial},
    at       TEXT NOT NULL,
    door     TEXT NOT NULL,
    address  TEXT NOT NULL,
    username TEXT NOT NULL,
    reason   TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS door_failures_at ON door_failures(at);
CREATE TABLE IF NOT EXISTS door_locks (
    lock_key     TEXT PRIMARY KEY,
    failures     BIGINT NOT NULL DEFAULT 0,
    lockouts     BIGINT NOT NULL DEFAULT 0,
    locked_until TEXT,
    last_wrong   TEXT
);
CREATE TABLE IF NOT EXISTS door_known (
    username TEXT NOT NULL,
    address  TEXT NOT NULL,
    last_ok  TEXT NOT NULL,
    PRIMARY KEY (username, address)
);
-- registry: each device's office and province as the centre says (central/registry.py). A device
-- row holds no other identity (a database from before the registry loses what births told it)
CREATE TABLE IF NOT EXISTS registry (
    device_id     TEXT PRIMARY KEY,
    province      TEXT NOT NULL,
    office_id     TEXT NOT NULL,
    office_name   TEXT NOT NULL DEFAULT '',
    registered_at TEXT NOT NULL,
    changed_at    TEXT NOT NULL,
    retired_at    TEXT
);
CREATE INDEX IF NOT EXISTS registry_province ON registry(province);
CREATE TABLE IF NOT EXISTS claims (
    device_id   TEXT PRIMARY KEY,
    province    TEXT NOT NULL DEFAULT '',
    office_id   TEXT NOT NULL DEFAULT '',
    office_name TEXT NOT NULL DEFAULT '',
    at          TEXT NOT NULL
);
UPDATE devices SET province = '', office_id = '', office_name = '' WHERE province <> '' AND device_id NOT IN
    (SELECT device_id FROM registry WHERE retired_at IS NULL);
-- ingest: refused messages by device and reason (central.fleet.Fleet.refusals)
CREATE TABLE IF NOT EXISTS refusals (
    device_id    TEXT NOT NULL,
    reason       TEXT NOT NULL,
    refused      BIGINT NOT NULL DEFAULT 0,
    last_at      TEXT NOT NULL,
    last_message TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (device_id, reason)
);
-- ingest: how many events each device sent for each Tehran day, and whether its over_budget alert was raised that
-- day (central.fleet.EVENTS_PER_DAY)
CREATE TABLE IF NOT EXISTS budgets (
    device_id TEXT NOT NULL,
    day       TEXT NOT NULL,
    events    BIGINT NOT NULL DEFAULT 0,
    alerted   BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (device_id, day)
);
-- facts: each device's fact chain as received (central.verification), and what the broker saw of it
CREATE TABLE IF NOT EXISTS fact_links (
    device_id   TEXT NOT NULL,
    chain       TEXT NOT NULL,
    n           BIGINT NOT NULL,
    prev        TEXT NOT NULL,
    hash        TEXT NOT NULL,
    kind        TEXT NOT NULL,
    component   TEXT NOT NULL,
    at          TEXT NOT NULL,
    synced      INTEGER NOT NULL,
    body        TEXT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (device_id, chain, n)
);
CREATE INDEX IF NOT EXISTS fact_links_at ON fact_links(device_id, synced, at);
CREATE TABLE IF NOT EXISTS fact_heads (
    device_id       TEXT NOT NULL,
    chain           TEXT NOT NULL,
    first_received  TEXT NOT NULL,
    contiguous_n    BIGINT NOT NULL DEFAULT 0,
    contiguous_hash TEXT NOT NULL,
    highest_n       BIGINT NOT NULL DEFAULT 0,
    state_id        BIGINT NOT NULL DEFAULT 0,
    last_received   TEXT NOT NULL,
    PRIMARY KEY (device_id, chain)
);
CREATE TABLE IF NOT EXISTS fact_breaks (
    id          {serial},
    device_id   TEXT NOT NULL,
    chain       TEXT NOT NULL,
    n           BIGINT NOT NULL,
    reason      TEXT NOT NULL,
    received_at TEXT NOT NULL,
    detail      TEXT NOT NULL DEFAULT '{{}}'
);
CREATE INDEX IF NOT EXISTS fact_breaks_device ON fact_breaks(device_id, chain, n);
CREATE TABLE IF NOT EXISTS presence (
    id          {serial},
    device_id   TEXT NOT NULL,
    state       TEXT NOT NULL,
    boot_id     TEXT NOT NULL DEFAULT '',
    seq         BIGINT NOT NULL,
    will_seq    BIGINT,
    received_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS presence_device ON presence(device_id, received_at);
CREATE TABLE IF NOT EXISTS certificates (
    serial      TEXT PRIMARY KEY,
    device_id   TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    not_before  TEXT NOT NULL,
    not_after   TEXT NOT NULL,
    issued_at   TEXT NOT NULL,
    how         TEXT NOT NULL,
    revoked_at  TEXT,
    revoked_reason TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS certificates_device ON certificates(device_id, not_after);
CREATE TABLE IF NOT EXISTS enrolment_log (
    id          {serial},
    at          TEXT NOT NULL,
    device_id   TEXT NOT NULL DEFAULT '',
    office_id   TEXT NOT NULL DEFAULT '',
    kind        TEXT NOT NULL,
    reason      TEXT NOT NULL DEFAULT '',
    address     TEXT NOT NULL DEFAULT '',
    detail      TEXT NOT NULL DEFAULT '{{}}'
);
CREATE INDEX IF NOT EXISTS enrolment_log_device ON enrolment_log(device_id, at);
CREATE TABLE IF NOT EXISTS enrolment_claims (
    code_hash       TEXT PRIMARY KEY,
    claim_id        TEXT NOT NULL UNIQUE,
    office_id       TEXT NOT NULL,
    province        TEXT NOT NULL,
    office_name     TEXT NOT NULL DEFAULT '',
    licence         TEXT NOT NULL DEFAULT '',
    created_at      TEXT NOT NULL,
    expires_at      TEXT NOT NULL,
    used_at         TEXT,
    device_id       TEXT NOT NULL DEFAULT '',
    key_fingerprint TEXT NOT NULL DEFAULT '',
    hardware_serial TEXT NOT NULL DEFAULT '',
    certificate     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS enrolment_claims_office ON enrolment_claims(office_id, created_at);
-- releases (central/releases)
CREATE TABLE IF NOT EXISTS pool_packages (
    sha256       TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    version      TEXT NOT NULL,
    architecture TEXT NOT NULL,
    size         BIGINT NOT NULL,
    added_at     TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS rollouts (
    rollout         TEXT PRIMARY KEY,
    scope_key       TEXT NOT NULL,
    topic           TEXT NOT NULL,
    sha256          TEXT NOT NULL,
    package_version TEXT NOT NULL,
    architecture    TEXT NOT NULL DEFAULT '',
    stage           TEXT NOT NULL,
    stage_since     TEXT NOT NULL,
    canary_percent  DOUBLE PRECISION NOT NULL,
    soak_seconds    BIGINT NOT NULL,
    halt_threshold  DOUBLE PRECISION NOT NULL,
    doc_version     BIGINT NOT NULL,
    document_code   TEXT NOT NULL DEFAULT '',
    document        TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    halted_reason   TEXT NOT NULL DEFAULT '',
    halted_detail   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS rollouts_scope ON rollouts(scope_key, doc_version);
CREATE TABLE IF NOT EXISTS rollout_log (
    id      {serial},
    rollout TEXT NOT NULL,
    at      TEXT NOT NULL,
    action  TEXT NOT NULL,
    reason  TEXT NOT NULL DEFAULT '',
    detail  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS rollout_log_rollout ON rollout_log(rollout, at);
CREATE TABLE IF NOT EXISTS release_devices (
    rollout       TEXT NOT NULL,
    device_id     TEXT NOT NULL,
    province      TEXT NOT NULL DEFAULT '',
    state         TEXT NOT NULL,
    step          TEXT NOT NULL DEFAULT '',
    reason        TEXT NOT NULL DEFAULT '',
    detail        TEXT NOT NULL DEFAULT '',
    from_version  TEXT NOT NULL DEFAULT '',
    to_version    TEXT NOT NULL DEFAULT '',
    document_code TEXT NOT NULL DEFAULT '',
    first_at      TEXT NOT NULL,
    at            TEXT NOT NULL,
    received_at   TEXT NOT NULL,
    PRIMARY KEY (rollout, device_id)
);
CREATE INDEX IF NOT EXISTS release_devices_state ON release_devices(rollout, state);
CREATE TABLE IF NOT EXISTS device_release (
    device_id       TEXT PRIMARY KEY,
    rollout         TEXT NOT NULL DEFAULT '',
    document_code   TEXT NOT NULL DEFAULT '',
    scope           TEXT NOT NULL DEFAULT '',
    package_version TEXT NOT NULL DEFAULT '',
    state           TEXT NOT NULL DEFAULT '',
    reason          TEXT NOT NULL DEFAULT '',
    running_version TEXT NOT NULL DEFAULT '',
    at              TEXT NOT NULL,
    received_at     TEXT NOT NULL
);
-- sequence epochs (central.fleet): every outbox epoch the centre has met of each device, and when (the current one
-- is devices.epoch)
CREATE TABLE IF NOT EXISTS epochs (
    device_id TEXT NOT NULL,
    epoch     TEXT NOT NULL,
    first_at  TEXT NOT NULL,
    PRIMARY KEY (device_id, epoch)
);
-- the monitors' own health, written by each monitor every few seconds (central.monitor.Housekeeper), read by
-- /metrics and the fleet page
CREATE TABLE IF NOT EXISTS monitors (
    monitor_id      TEXT PRIMARY KEY,
    started_at      TEXT NOT NULL,
    heartbeat_at    TEXT NOT NULL,
    connected       INTEGER NOT NULL DEFAULT 0,
    received        BIGINT NOT NULL DEFAULT 0,
    refused         BIGINT NOT NULL DEFAULT 0,
    refusals        TEXT NOT NULL DEFAULT '{{}}',
    pending         BIGINT NOT NULL DEFAULT 0,
    lag_seconds     DOUBLE PRECISION NOT NULL DEFAULT 0,
    last_message_at TEXT
);
-- alerts (central.alerts): rules as data (a kind, its severity, its scope and how long the condition must hold),
-- the alerts they opened with their lifecycle (open, acknowledged by whom and when, resolved when the condition
-- cleared), each alert's devices (a grouped alert has many), and conditions seen but not yet held long enough
CREATE TABLE IF NOT EXISTS alert_rules (
    rule_id    {serial},
    kind       TEXT NOT NULL,
    severity   TEXT NOT NULL,
    province   TEXT NOT NULL DEFAULT '',
    minutes    BIGINT NOT NULL DEFAULT 0,
    threshold  DOUBLE PRECISION,
    group_at   BIGINT NOT NULL DEFAULT 10,
    enabled    INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS alerts (
    id              {serial},
    rule_id         BIGINT NOT NULL,
    kind            TEXT NOT NULL,
    severity        TEXT NOT NULL,
    province        TEXT NOT NULL DEFAULT '',
    device_id       TEXT NOT NULL DEFAULT '',
    grouped         INTEGER NOT NULL DEFAULT 0,
    devices         BIGINT NOT NULL DEFAULT 1,
    state           TEXT NOT NULL,
    since           TEXT NOT NULL,
    opened_at       TEXT NOT NULL,
    acknowledged_by TEXT,
    acknowledged_at TEXT,
    resolved_at     TEXT
);
CREATE INDEX IF NOT EXISTS alerts_state ON alerts(state, opened_at);
CREATE INDEX IF NOT EXISTS alerts_rule ON alerts(rule_id, state);
CREATE TABLE IF NOT EXISTS alert_devices (
    alert_id   BIGINT NOT NULL,
    device_id  TEXT NOT NULL,
    since      TEXT NOT NULL,
    cleared_at TEXT,
    PRIMARY KEY (alert_id, device_id)
);
CREATE INDEX IF NOT EXISTS alert_devices_device ON alert_devices(device_id);
CREATE TABLE IF NOT EXISTS alert_conditions (
    rule_id   BIGINT NOT NULL,
    device_id TEXT NOT NULL,
    since     TEXT NOT NULL,
    PRIMARY KEY (rule_id, device_id)
);
-- each attempt to tell a person of an alert's change (central.alert_notify): delivered (reason ''sent'') or why not
CREATE TABLE IF NOT EXISTS alert_notifications (
    id       {serial},
    alert_id BIGINT NOT NULL,
    event    TEXT NOT NULL,
    at       TEXT NOT NULL,
    reason   TEXT NOT NULL,
    status   BIGINT,
    detail   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS alert_notifications_alert ON alert_notifications(alert_id);
-- history (central.history): each stored report's figures, read once from its JSON and kept beside it (a row
-- whose received_at or province differs from its report's is read again)
CREATE TABLE IF NOT EXISTS report_figures (
    device_id            TEXT NOT NULL,
    date                 TEXT NOT NULL,
    province             TEXT NOT NULL,
    received_at          TEXT NOT NULL,
    readable             INTEGER NOT NULL,
    unreadable           BIGINT NOT NULL DEFAULT 0,
    scheduled_minutes    BIGINT NOT NULL DEFAULT 0,
    serving_minutes      BIGINT NOT NULL DEFAULT 0,
    degraded_minutes     BIGINT NOT NULL DEFAULT 0,
    closed_minutes       BIGINT NOT NULL DEFAULT 0,
    unknown_minutes      BIGINT NOT NULL DEFAULT 0,
    late_openings        BIGINT NOT NULL DEFAULT 0,
    late_opening_minutes BIGINT NOT NULL DEFAULT 0,
    early_closings       BIGINT NOT NULL DEFAULT 0,
    printer_out_minutes  BIGINT NOT NULL DEFAULT 0,
    display_off_minutes  BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (device_id, date)
);
CREATE INDEX IF NOT EXISTS report_figures_day ON report_figures(date, province);
CREATE INDEX IF NOT EXISTS report_figures_unreadable ON report_figures(date) WHERE unreadable > 0;
-- the dates (of a province, or '*' of every one) whose reports report_figures has read, and the newest received_at
-- it had seen then: after that, only reports received since are read again
CREATE TABLE IF NOT EXISTS report_figures_read (
    date     TEXT NOT NULL,
    province TEXT NOT NULL,
    PRIMARY KEY (date, province)
);
CREATE TABLE IF NOT EXISTS report_figures_mark (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS reports_received ON reports(received_at);
-- remote actions asked from the dashboard's office page (central.remote): which device, what, who asked and when,
-- and the result (outcome: pending, ok, refused, no_answer, not_sent)
CREATE TABLE IF NOT EXISTS remote_actions (
    id          TEXT PRIMARY KEY,
    device_id   TEXT NOT NULL,
    province    TEXT NOT NULL DEFAULT '',
    action      TEXT NOT NULL,
    args        TEXT NOT NULL DEFAULT '{{}}',
    asked_by    TEXT NOT NULL,
    asked_at    TEXT NOT NULL,
    outcome     TEXT NOT NULL DEFAULT 'pending',
    reason      TEXT NOT NULL DEFAULT '',
    result      TEXT,
    answered_at TEXT
);
CREATE INDEX IF NOT EXISTS remote_actions_device ON remote_actions(device_id, asked_at);
-- gap accounting (central.fleet): Last Will numbers a birth announced that the centre has not received (the
-- connection lives, or the broker never sent its will): holes by design, not losses
CREATE TABLE IF NOT EXISTS wills (
    device_id TEXT NOT NULL,
    epoch     TEXT NOT NULL DEFAULT '',
    seq       BIGINT NOT NULL,
    PRIMARY KEY (device_id, epoch, seq)
);
-- health history (central.health_history): each device's latest health sample, and at most one sample a device every
-- 10 minutes of its own time (slot), kept 90 days
CREATE TABLE IF NOT EXISTS health_now (
    device_id        TEXT PRIMARY KEY,
    slot             TEXT NOT NULL,
    at               TEXT NOT NULL,
    cpu_temp_c       DOUBLE PRECISION,
    under_voltage    BIGINT,
    disk_free_bytes  BIGINT,
    disk_total_bytes BIGINT,
    mem_total_kb     BIGINT,
    mem_available_kb BIGINT
);
CREATE INDEX IF NOT EXISTS health_now_at ON health_now(at);
CREATE TABLE IF NOT EXISTS health_samples (
    device_id        TEXT NOT NULL,
    slot             TEXT NOT NULL,
    at               TEXT NOT NULL,
    cpu_temp_c       DOUBLE PRECISION,
    under_voltage    BIGINT,
    disk_free_bytes  BIGINT,
    disk_total_bytes BIGINT,
    mem_total_kb     BIGINT,
    mem_available_kb BIGINT,
    PRIMARY KEY (device_id, slot)
);
CREATE INDEX IF NOT EXISTS health_samples_slot ON health_samples(slot);
-- history rollups (central.history), kept with report_figures in the same transaction (on ingest, and by the
-- back-fill of reports stored before): report_figures summed by office, Jalali month ('1405-09') and province,
-- and by date and province (reports: readable reports, unreadable: values that could not be read)
CREATE TABLE IF NOT EXISTS report_months (
    device_id            TEXT NOT NULL,
    month                TEXT NOT NULL,
    province             TEXT NOT NULL,
    reports              BIGINT NOT NULL DEFAULT 0,
    unreadable           BIGINT NOT NULL DEFAULT 0,
    scheduled_minutes    BIGINT NOT NULL DEFAULT 0,
    serving_minutes      BIGINT NOT NULL DEFAULT 0,
    degraded_minutes     BIGINT NOT NULL DEFAULT 0,
    closed_minutes       BIGINT NOT NULL DEFAULT 0,
    unknown_minutes      BIGINT NOT NULL DEFAULT 0,
    late_openings        BIGINT NOT NULL DEFAULT 0,
    late_opening_minutes BIGINT NOT NULL DEFAULT 0,
    early_closings       BIGINT NOT NULL DEFAULT 0,
    printer_out_minutes  BIGINT NOT NULL DEFAULT 0,
    display_off_minutes  BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (device_id, month, province)
);
CREATE INDEX IF NOT EXISTS report_months_month ON report_months(month, province);
CREATE TABLE IF NOT EXISTS report_days (
    date                 TEXT NOT NULL,
    province             TEXT NOT NULL,
    reports              BIGINT NOT NULL DEFAULT 0,
    unreadable           BIGINT NOT NULL DEFAULT 0,
    scheduled_minutes    BIGINT NOT NULL DEFAULT 0,
    serving_minutes      BIGINT NOT NULL DEFAULT 0,
    degraded_minutes     BIGINT NOT NULL DEFAULT 0,
    closed_minutes       BIGINT NOT NULL DEFAULT 0,
    unknown_minutes      BIGINT NOT NULL DEFAULT 0,
    late_openings        BIGINT NOT NULL DEFAULT 0,
    late_opening_minutes BIGINT NOT NULL DEFAULT 0,
    early_closings       BIGINT NOT NULL DEFAULT 0,
    printer_out_minutes  BIGINT NOT NULL DEFAULT 0,
    display_off_minutes  BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (date, province)
);
-- and by office, week (its Saturday's date) and province: the days of a partial month
CREATE TABLE IF NOT EXISTS report_weeks (
    device_id            TEXT NOT NULL,
    week                 TEXT NOT NULL,
    province             TEXT NOT NULL,
    reports              BIGINT NOT NULL DEFAULT 0,
    unreadable           BIGINT NOT NULL DEFAULT 0,
    scheduled_minutes    BIGINT NOT NULL DEFAULT 0,
    serving_minutes      BIGINT NOT NULL DEFAULT 0,
    degraded_minutes     BIGINT NOT NULL DEFAULT 0,
    closed_minutes       BIGINT NOT NULL DEFAULT 0,
    unknown_minutes      BIGINT NOT NULL DEFAULT 0,
    late_openings        BIGINT NOT NULL DEFAULT 0,
    late_opening_minutes BIGINT NOT NULL DEFAULT 0,
    early_closings       BIGINT NOT NULL DEFAULT 0,
    printer_out_minutes  BIGINT NOT NULL DEFAULT 0,
    display_off_minutes  BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (device_id, week, province)
);
CREATE INDEX IF NOT EXISTS report_weeks_week ON report_weeks(week, province);
-- figures filed under no province (a report that came before its device was registered): read again once it is
CREATE INDEX IF NOT EXISTS report_figures_unfiled ON report_figures(device_id, date) WHERE province = '';
-- the device list's "late today" and "closed today" filters (central.device_list): the day's events of a kind, and
-- the reports that name one (written %% for the PostgreSQL driver: the predicate is the query's LIKE, so that
-- PostgreSQL takes the index for it where it scanned the day's reports whole, SQLite keeps it unused)
CREATE INDEX IF NOT EXISTS events_kind_at ON events(kind, at);
CREATE INDEX IF NOT EXISTS reports_late ON reports(date) WHERE report LIKE '%%"late_opening"%%';
CREATE INDEX IF NOT EXISTS reports_closed ON reports(date)
    WHERE report LIKE '%%"closed_during_hours"%%' OR report LIKE '%%"early_closing"%%';
-- report_figures kept from before the rollups are dropped and read again once (central.history.refresh),
-- a database with none is marked as kept with them from the start
INSERT INTO report_figures_mark(name, value) SELECT 'rollups', 'kept' WHERE NOT EXISTS (SELECT 1 FROM report_figures)
    ON CONFLICT (name) DO NOTHING;
-- circulars (central/circulars): each index the centre published of a scope, each circular it listed,
-- and per office what the device said it received and what its staff acknowledged
CREATE TABLE IF NOT EXISTS circular_indexes (
    scope_key         TEXT NOT NULL,
    version           BIGINT NOT NULL,
    verification_code TEXT NOT NULL,
    topic             TEXT NOT NULL,
    published_at      TEXT NOT NULL,
    envelope          TEXT NOT NULL,
    PRIMARY KEY (scope_key, version)
);
CREATE TABLE IF NOT EXISTS circulars (
    scope_key     TEXT NOT NULL,
    number        TEXT NOT NULL,
    kind          TEXT NOT NULL,
    title         TEXT NOT NULL,
    issuer        TEXT NOT NULL,
    issued_on     TEXT NOT NULL,
    effective_on  TEXT NOT NULL,
    urgent        INTEGER NOT NULL DEFAULT 0,
    sha256        TEXT NOT NULL,
    size          BIGINT NOT NULL,
    supersedes    TEXT NOT NULL DEFAULT '',
    superseded_by TEXT NOT NULL DEFAULT '',
    index_version BIGINT NOT NULL,
    published_at  TEXT NOT NULL,
    PRIMARY KEY (scope_key, number)
);
CREATE INDEX IF NOT EXISTS circulars_published ON circulars(published_at);
CREATE TABLE IF NOT EXISTS circular_offices (
    scope           TEXT NOT NULL,
    number          TEXT NOT NULL,
    device_id       TEXT NOT NULL,
    province        TEXT NOT NULL DEFAULT '',
    sha256          TEXT NOT NULL DEFAULT '',
    received_at     TEXT,
    acknowledged_at TEXT,
    acknowledged_by TEXT NOT NULL DEFAULT '',
    updated_at      TEXT NOT NULL,
    PRIMARY KEY (scope, number, device_id)
);
CREATE INDEX IF NOT EXISTS circular_offices_device ON circular_offices(device_id);
"""

#: Columns added to existing tables after they first shipped: (table, column, type), added by ``setup()``
#: where missing. ``devices.seq_skipped``: sequence numbers a flagged jump skipped (not lost; central.fleet);
#: ``devices.epoch``: the device's current outbox epoch, ``devices.lost_before``: messages lost in its earlier
#: epochs; ``seen.epoch``: the epoch a sequence number counts in (``''``: from before epochs);
#: ``devices.booted_at``: when the device booted, as its last birth said (the office page's uptime);
#: ``alert_notifications.attempts``, ``last_at``, ``next_try_at``, ``gave_up``: a notification's tries so far, the
#: last one's time, when it is tried again (NULL: not again) and why it was given up (central.alert_notify).
#: ``devices.telemetry_dropped``: the largest count of telemetry the device's outbox bounds dropped (central.fleet).
#: ``ratings_count``, ``ratings_1`` … ``ratings_5`` of ``report_figures`` and its rollups: the customers' ratings of
#: an office's day (central.history.RATING_FIGURES; 0 for reports from before).
ADDED_COLUMNS = (("devices", "seq_skipped", "BIGINT NOT NULL DEFAULT 0"),
                 ("devices", "epoch", "TEXT NOT NULL DEFAULT ''"),
                 ("devices", "lost_before", "BIGINT NOT NULL DEFAULT 0"),
                 ("devices", "booted_at", "TEXT"),
                 ("alert_notifications", "attempts", "BIGINT NOT NULL DEFAULT 1"),
                 ("alert_notifications", "last_at", "TEXT"),
                 ("alert_notifications", "next_try_at", "TEXT"),
                 ("alert_notifications", "gave_up", "TEXT NOT NULL DEFAULT ''"),
                 ("devices", "telemetry_dropped", "BIGINT NOT NULL DEFAULT 0"),
                 *((table, column, "BIGINT NOT NULL DEFAULT 0")
                   for table in ("report_figures", "report_months", "report_weeks", "report_days")
                   for column in ("ratings_count", "ratings_1", "ratings_2", "ratings_3", "ratings_4", "ratings_5")))
#: ``wills`` came later than ``devices.will_seq``: each online device's announced will not received yet is entered
#: (idempotent, true at any time; run by ``setup()`` after the columns).
WILLS_BACKFILL = ("INSERT INTO wills(device_id, epoch, seq) SELECT d.device_id, d.epoch, d.will_seq FROM devices d "
                  "WHERE d.online = 1 AND d.will_seq IS NOT NULL AND d.will_seq <= d.highest_seq AND NOT EXISTS "
                  "(SELECT 1 FROM seen s WHERE s.device_id = d.device_id AND s.epoch = d.epoch AND s.seq = d.will_seq) "
                  "ON CONFLICT (device_id, epoch, seq) DO NOTHING")
#: ``seen``, keyed on device and seq before epochs, is rebuilt keyed on device, epoch and seq (its rows in ``''``).


class FleetDB:
    """Base: a connection per thread, units of work as functions."""

    dialect = "?"

    def __init__(self, url: str):
        self.url = url
        self._local = threading.local()
        self._all: list = []
        self._lock = threading.Lock()

    # -- connections ------------------------------------------------------
    def _connect(self):
        raise NotImplementedError

    def _conn(self):
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def close(self):
        with self._lock:
            for conn in self._all:
                try:
                    conn.close()
                except Exception:
                    pass
            self._all.clear()
        self._local = threading.local()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- work ---------------------------------------------------------------
    def sql(self, statement: str) -> str:
        return statement

    def write(self, fn):
        """Run ``fn(cursor)`` in one transaction; returns what it returns."""
        raise NotImplementedError

    def read(self, fn):
        return self.write(fn)

    def query(self, statement: str, params=()) -> list[dict]:
        return self.read(lambda c: _rows(c, self.sql(statement), params))

    def query_one(self, statement: str, params=()) -> dict | None:
        rows = self.query(statement, params)
        return rows[0] if rows else None

    def execute(self, statement: str, params=()):
        return self.write(lambda c: c.execute(self.sql(statement), params))

    def values(self, rows, types) -> tuple[str, list]:
        """*rows* as a table for ``FROM``/``JOIN``, its columns ``column1`` … in order; (SQL, parameters).

        *types* names each column's SQL type (``text``, ``bigint``). One
        statement then reads or updates many rows, where ``executemany``
        would send one statement a row: the monitor's batches go through here.
        """
        one = "(" + ", ".join("?" * len(types)) + ")"
        return "(VALUES " + ", ".join([one] * len(rows)) + ")", [v for row in rows for v in row]

    def setup(self):
        raise NotImplementedError


def _rows(cursor, statement, params) -> list[dict]:
    cursor.execute(statement, params)
    names = [d[0] for d in cursor.description or ()]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


class SQLiteFleetDB(FleetDB):
    """One file, WAL; every thread its own connection."""

    def __init__(self, path):
        super().__init__(f"sqlite:///{path}")
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.setup()

    def _connect(self):
        try:
            conn = sqlite3.connect(str(self.path), timeout=30, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA busy_timeout = 30000")
        except sqlite3.Error as e:
            raise FleetDBError(f"cannot open the fleet database {self.path}: {e}") from None
        return conn

    def write(self, fn):
        conn = self._conn()
        cursor = conn.cursor()
        try:
            cursor.execute("BEGIN IMMEDIATE")
            result = fn(cursor)
            cursor.execute("COMMIT")
            return result
        except sqlite3.Error as e:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise FleetDBError(f"fleet database {self.path}: {e}") from None
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def read(self, fn):
        cursor = self._conn().cursor()
        try:
            return fn(cursor)
        except sqlite3.Error as e:
            raise FleetDBError(f"fleet database {self.path}: {e}") from None

    def setup(self):
        ddl = SCHEMA.format(serial="INTEGER PRIMARY KEY", blob="BLOB")

        def create(c):
            for statement in ddl.split(";"):
                if statement.strip():
                    c.execute(statement)
            for table, column, kind in ADDED_COLUMNS:
                if column not in [row[1] for row in c.execute(f"PRAGMA table_info({table})").fetchall()]:
                    c.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
            if "epoch" not in [row[1] for row in c.execute("PRAGMA table_info(seen)").fetchall()]:
                _rebuild_seen_sqlite(c, ddl)
            c.execute(WILLS_BACKFILL)
        self.write(create)


def _rebuild_seen_sqlite(c, ddl: str):
    """``seen`` from before epochs (keyed on device and seq), rebuilt keyed on device, epoch and seq."""
    statements = [st for st in ddl.split(";") if st.strip().startswith("CREATE TABLE IF NOT EXISTS seen (")
                  or " ON seen(" in st]
    c.execute("ALTER TABLE seen RENAME TO seen_before_epochs")
    c.execute("DROP INDEX IF EXISTS seen_at")
    c.execute("DROP INDEX IF EXISTS seen_device_at")
    for statement in statements:
        c.execute(statement)
    c.execute("INSERT INTO seen(device_id, epoch, seq, at) SELECT device_id, '', seq, at FROM seen_before_epochs")
    c.execute("DROP TABLE seen_before_epochs")


class PostgresFleetDB(FleetDB):
    """PostgreSQL through psycopg 3; every thread its own connection."""

    dialect = "%s"

    def __init__(self, url: str):
        super().__init__(url)
        self.setup()

    def _connect(self):
        import psycopg

        try:
            return psycopg.connect(self.url, autocommit=False)
        except psycopg.Error as e:
            raise FleetDBError(f"cannot connect to the fleet database {_safe_url(self.url)}: {e}") from None

    def sql(self, statement: str) -> str:
        return statement.replace("?", "%s")

    def values(self, rows, types) -> tuple[str, list]:
        """As :meth:`FleetDB.values`, as ``unnest`` of one array a column: a few parameters, not one a value.

        The arrays go in binary (``%b``): in text each element is quoted and
        escaped, which for the telemetry's JSON cost more than the rest of
        the batch.
        """
        names = ", ".join(f"column{i + 1}" for i in range(len(types)))
        arrays = ", ".join(f"CAST(%b AS {t}[])" for t in types)
        columns = [list(column) for column in zip(*rows)] if rows else [[] for _ in types]
        return f"(SELECT * FROM unnest({arrays}) AS u({names}))", columns

    def write(self, fn):
        import psycopg

        conn = self._conn()
        try:
            with conn.cursor() as cursor:
                result = fn(_PgCursor(cursor, self))
            conn.commit()
            return result
        except psycopg.Error as e:
            conn.rollback()
            raise FleetDBError(f"fleet database {_safe_url(self.url)}: {e}") from None
        except BaseException:
            conn.rollback()
            raise

    def setup(self):
        ddl = SCHEMA.format(serial="BIGSERIAL PRIMARY KEY", blob="BYTEA")
        # Two monitors starting together must not race on CREATE: one lock for the schema.
        self.write(lambda c: (c.execute("SELECT pg_advisory_xact_lock(72517)"),
                              [c.execute(s) for s in ddl.split(";") if s.strip()],
                              [c.execute(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {column} {kind}")
                               for table, column, kind in ADDED_COLUMNS],
                              _rekey_seen_postgres(c), c.execute(WILLS_BACKFILL)))


def _rekey_seen_postgres(c):
    """``seen`` from before epochs: its column ``epoch`` added (``''``) and its key made device, epoch, seq."""
    c.execute("ALTER TABLE seen ADD COLUMN IF NOT EXISTS epoch TEXT NOT NULL DEFAULT ''")
    key = [r[0] for r in c.execute(
        "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
        "WHERE i.indrelid = 'seen'::regclass AND i.indisprimary").fetchall()]
    if "epoch" not in key:
        name = c.execute("SELECT conname FROM pg_constraint WHERE conrelid = 'seen'::regclass AND contype = 'p'"
                         ).fetchone()[0]
        c.execute(f"ALTER TABLE seen DROP CONSTRAINT {name}, ADD PRIMARY KEY (device_id, epoch, seq)")


class _PgCursor:
    """A psycopg cursor that takes the ``?`` dialect."""

    def __init__(self, cursor, db):
        self._cursor = cursor
        self._db = db

    def execute(self, statement, params=()):
        self._cursor.execute(self._db.sql(statement), params)
        return self

    def executemany(self, statement, seq):
        self._cursor.executemany(self._db.sql(statement), seq)
        return self

    @property
    def rowcount(self):
        return self._cursor.rowcount

    @property
    def description(self):
        return self._cursor.description

    def fetchall(self):
        return self._cursor.fetchall()

    def fetchone(self):
        return self._cursor.fetchone()


def _safe_url(url: str) -> str:
    """*url* without its password, for messages."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        return f"{scheme}://{creds.split(':')[0]}:***@{host}" if ":" in creds else url
    return url


def open_db(url: str) -> FleetDB:
    """The fleet database at *url*: a file path, ``sqlite:///PATH`` or ``postgresql://…``."""
    if url.startswith(("postgresql://", "postgres://")):
        return PostgresFleetDB(url)
    if url.startswith("sqlite:///"):
        return SQLiteFleetDB(url[len("sqlite:///"):])
    if "://" in url:
        raise FleetDBError(f"--db: expected a file path, sqlite:///PATH or postgresql://…, got {url!r}")
    return SQLiteFleetDB(url)
