"""The local store: one SQLite file shared by every process on the device.

The file runs in WAL mode with ``synchronous=FULL`` and a busy timeout, so
the agent, the kiosk and the display can each open it and write. A process
notices another's commit through :meth:`Store.changed` (``PRAGMA
data_version``). The schema is versioned with ``PRAGMA user_version`` and
upgraded by the numbered SQL files in ``pishkhan/schema/``.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import threading
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

from pishkhan.exc import SchemaTooNew, StoreError


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def iso(moment: dt.datetime) -> str:
    """A UTC timestamp as stored: ``2026-11-28T07:30:00.123456Z``."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.timezone.utc)


def migrations() -> list[tuple[int, str, str]]:
    """Every schema step as ``(number, name, sql)``, in order."""
    steps = []
    for entry in resources.files("pishkhan.store.schema").iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:4].isdigit():
            steps.append((int(name[:4]), name, entry.read_text(encoding="utf-8")))
    steps.sort()
    numbers = [n for n, _, _ in steps]
    if len(set(numbers)) != len(numbers):
        raise StoreError(f"two schema steps share a number: {numbers}")
    return steps


SCHEMA_VERSION = max(n for n, _, _ in migrations())


class Store:
    """An open connection to the device's SQLite file.

    :param path: the file; created, with its folder, when missing.
    :param clock: returns the current aware datetime; tests pass their own.
    :param timeout: seconds to wait for another process's lock.
    :param boot: a :class:`~pishkhan.hardware.clock.ClockStatus` that stamps each
        fact with its boot id, seconds since boot and clock-sync state
        (default: the real machine's).

    Use it as a context manager or call :meth:`close`. A closed store raises
    :exc:`StoreError` on use.
    """

    def __init__(self, path, *, clock=utc_now, timeout: float = 15.0, boot=None):
        self.path = Path(path)
        self.clock = clock
        if boot is None:
            from pishkhan.hardware.clock import system_clock
            boot = system_clock()
        self.boot = boot
        self._lock = threading.RLock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(str(self.path), timeout=timeout, isolation_level=None,
                                         check_same_thread=False)
        except (OSError, sqlite3.Error) as e:
            raise StoreError(f"cannot open the store {self.path}: {e}") from None
        self._conn.row_factory = sqlite3.Row
        try:
            self._conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            self._refuse_newer()  # before anything writes to the file
            mode = self._conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode.lower() != "wal":
                raise StoreError(f"{self.path}: could not switch to WAL mode (got {mode})")
            self._conn.execute("PRAGMA synchronous = FULL")
            self._conn.execute("PRAGMA foreign_keys = ON")
            self._migrate()
        except sqlite3.DatabaseError as e:
            self._conn.close()
            raise StoreError(f"{self.path} is not a usable Pishkhan store: {e}") from None
        except StoreError:
            self._conn.close()
            raise
        self._seen_version = self.data_version()

    # -- life cycle -------------------------------------------------------
    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError(f"the store {self.path} is closed")
        return self._conn

    def close(self):
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    @property
    def closed(self) -> bool:
        return self._conn is None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- schema -----------------------------------------------------------
    def schema_version(self) -> int:
        return self.conn.execute("PRAGMA user_version").fetchone()[0]

    def _refuse_newer(self):
        current, latest = self.schema_version(), SCHEMA_VERSION
        if current > latest:
            raise SchemaTooNew(
                f"{self.path} has schema version {current}, but this Pishkhan knows only up to "
                f"{latest}: it was written by a newer release. Upgrade Pishkhan; "
                "the file was not changed.")

    def _migrate(self):
        """Apply every schema step not yet recorded in ``schema_steps``.

        Steps are tracked one by one, so a step numbered below the file's
        ``user_version`` (one merged late) is still applied. A file from
        before the table existed counts its steps up to ``user_version``.
        """
        steps = migrations()
        self._refuse_newer()
        if self._applied_steps() >= {n for n, _, _ in steps}:
            return
        with self.transaction():
            applied = self._applied_steps()  # another process may have migrated meanwhile
            if not self._has_table("schema_steps"):
                self.conn.execute("CREATE TABLE schema_steps (number INTEGER PRIMARY KEY, "
                                  "name TEXT NOT NULL, applied_at TEXT NOT NULL)")
                for number, name, _ in steps:
                    if number in applied:
                        self.conn.execute("INSERT INTO schema_steps VALUES (?, ?, ?)",
                                          (number, name, iso(self.clock())))
            for number, name, sql in steps:
                if number in applied:
                    continue
                for statement in _split_sql(sql):
                    self.conn.execute(statement)
                self.conn.execute("INSERT INTO schema_steps VALUES (?, ?, ?)",
                                  (number, name, iso(self.clock())))
            self.conn.execute(f"PRAGMA user_version = {max(n for n, _, _ in steps)}")

    def _has_table(self, name: str) -> bool:
        return self.conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                                 (name,)).fetchone() is not None

    def _applied_steps(self) -> set[int]:
        if self._has_table("schema_steps"):
            return {r[0] for r in self.conn.execute("SELECT number FROM schema_steps")}
        current = self.schema_version()
        return {n for n, _, _ in migrations() if n <= current}

    # -- transactions -----------------------------------------------------
    @contextmanager
    def transaction(self):
        """``BEGIN IMMEDIATE`` … ``COMMIT``; rolls back if the block raises."""
        with self._lock:
            conn = self.conn
            if conn.in_transaction:  # nested: join the outer one
                yield conn
                return
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def execute(self, sql: str, params=()):
        with self._lock:
            return self.conn.execute(sql, params)

    def query(self, sql: str, params=()) -> list[sqlite3.Row]:
        with self._lock:
            return self.conn.execute(sql, params).fetchall()

    def query_one(self, sql: str, params=()):
        with self._lock:
            return self.conn.execute(sql, params).fetchone()

    # -- change detection -------------------------------------------------
    def data_version(self) -> int:
        """SQLite's counter that moves when *another* connection commits."""
        with self._lock:
            return self.conn.execute("PRAGMA data_version").fetchone()[0]

    def changed(self) -> bool:
        """True once after another process has committed since the last call."""
        version = self.data_version()
        if version != self._seen_version:
            self._seen_version = version
            return True
        return False

    # -- timestamps -------------------------------------------------------
    def now(self) -> dt.datetime:
        return self.clock()

    def now_iso(self) -> str:
        return iso(self.clock())

    def stamp(self):
        """The :class:`~pishkhan.hardware.clock.Stamp` of now: boot id, seconds since boot, sync."""
        return self.boot.stamp()

    # -- settings ---------------------------------------------------------
    def get_setting(self, key: str, default=None):
        row = self.query_one("SELECT value FROM settings WHERE key = ?", (key,))
        return json.loads(row[0]) if row else default

    def set_setting(self, key: str, value):
        with self.transaction() as c:
            c.execute("INSERT INTO settings(key, value) VALUES (?, ?) "
                      "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                      (key, json.dumps(value, ensure_ascii=False)))

    # -- audit log --------------------------------------------------------
    def audit(self, actor: str, action: str, subject: str = "", **detail) -> int:
        """Append who did what, when, to the audit log; returns the row id."""
        with self.transaction() as c:
            cur = c.execute("INSERT INTO audit_log(at, actor, action, subject, detail) VALUES (?,?,?,?,?)",
                            (self.now_iso(), actor, action, str(subject),
                             json.dumps(detail, ensure_ascii=False, default=str)))
            return cur.lastrowid

    def audit_entries(self, *, action: str | None = None, limit: int = 100) -> list[dict]:
        sql = "SELECT * FROM audit_log"
        params: tuple = ()
        if action:
            sql += " WHERE action = ?"
            params = (action,)
        rows = self.query(sql + " ORDER BY id DESC LIMIT ?", params + (limit,))
        return [dict(r) | {"detail": json.loads(r["detail"])} for r in rows]

    # -- state log --------------------------------------------------------
    def record_state(self, component: str, state: str, reason: str = "", **detail) -> bool:
        """Record *component*'s state if it differs from the last one recorded in this boot.

        Returns True when a row was written. The rows are the facts the
        compliance judge reads: kiosk accepting or not, counters, display,
        printer. Each carries the boot id, seconds since boot and whether the
        wall clock was synchronised (:meth:`stamp`).
        """
        with self.transaction() as c:
            last = c.execute("SELECT state, reason, detail, boot_id FROM state_log WHERE component = ? "
                             "ORDER BY id DESC LIMIT 1", (component,)).fetchone()
            payload = json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str)
            stamp = self.stamp()
            if (last and last["state"] == state and last["reason"] == reason and last["detail"] == payload
                    and last["boot_id"] == stamp.boot_id):  # a new boot states it again
                return False
            c.execute("INSERT INTO state_log(at, component, state, reason, detail, boot_id, mono, clock_synced) "
                      "VALUES (?,?,?,?,?,?,?,?)",
                      (self.now_iso(), component, state, reason, payload, stamp.boot_id, stamp.mono,
                       int(stamp.synced)))
            return True

    def last_state(self, component: str) -> dict | None:
        row = self.query_one("SELECT * FROM state_log WHERE component = ? ORDER BY id DESC LIMIT 1",
                             (component,))
        return dict(row) | {"detail": json.loads(row["detail"])} if row else None

    def state_history(self, component: str | None = None, limit: int = 1000) -> list[dict]:
        if component:
            rows = self.query("SELECT * FROM state_log WHERE component = ? ORDER BY id LIMIT ?",
                              (component, limit))
        else:
            rows = self.query("SELECT * FROM state_log ORDER BY id LIMIT ?", (limit,))
        return [dict(r) | {"detail": json.loads(r["detail"])} for r in rows]


def open_store(config, **kw) -> Store:
    """The device's store as *config* places it, its facts stamped by the configured clock."""
    from pishkhan.hardware.clock import clock_from_config

    kw.setdefault("boot", clock_from_config(config))
    return Store(config.store_path, **kw)


def _split_sql(script: str) -> list[str]:
    """Split a schema file into statements (triggers keep their BEGIN…END)."""
    statements, buf = [], []
    for line in script.splitlines():
        stripped = line.split("--", 1)[0].rstrip() if not line.lstrip().startswith("--") else ""
        if not stripped.strip():
            continue
        buf.append(line)
        candidate = "\n".join(buf)
        if stripped.endswith(";") and sqlite3.complete_statement(candidate):
            statements.append(candidate)
            buf = []
    if "".join(buf).strip():
        statements.append("\n".join(buf))
    return statements
