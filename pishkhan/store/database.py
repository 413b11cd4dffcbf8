"""The local store: one SQLite file shared by every process on the device.

The file runs in WAL mode with ``synchronous=FULL`` and a busy timeout, so
the agent, the kiosk and the display can each open it and write. A process
notices another's commit through :meth:`Store.changed` (``PRAGMA
data_version``). The schema is versioned with ``PRAGMA user_version`` and
upgraded by the numbered SQL files in ``pishkhan/store/schema/``.

**Opening is guarded.** Only a missing file is made fresh, and it is built
aside and linked into place whole, so no process ever sees a half-made
store. An existing file is used only when it is a Pishkhan store: it must
be a SQLite file (a 0-byte file is *not* a missing one), carry Pishkhan's
``application_id`` (or, made before it was set, hold the core tables), and
pass ``PRAGMA quick_check``. Anything else is refused with
:exc:`~pishkhan.exc.StoreCorrupt` naming the file and what to do; the file
is left byte for byte as it was (nothing is written before the checks pass),
so the damaged copy can be kept aside and a backup restored. A missing file
whose ``-wal`` journal is still there is refused too (the journal would be
replayed onto an empty file). ``quick_check`` reads every page once, so
opening costs about one read of the file (``bench/store_guard.py``; figures
in docs/performance.md). Before SQLite opens the file only ``stat`` looks at it: opening and
closing it from Python would drop this process's POSIX locks on it.
"""

from __future__ import annotations

import datetime as dt
import errno
import functools
import json
import os
import sqlite3
import threading
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

from pishkhan.exc import (SchemaTooNew, StoreConstraint, StoreCorrupt, StoreError, StoreFull, StoreLocked,
                          StoreReadOnly, StoreUnreadable)


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def iso(moment: dt.datetime) -> str:
    """A UTC timestamp as stored: ``2026-11-28T07:30:00.123456Z``."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso(text: str) -> dt.datetime:
    """A timestamp as :func:`iso` writes it; :exc:`ValueError` for any other form.

    ``fromisoformat`` on the fixed shape, ``strptime`` (far slower over a
    year of facts: docs/performance.md) only to word a refusal.
    """
    if (len(text) == 27 and text[4] == "-" and text[7] == "-" and text[10] == "T" and text[19] == "."
            and text[26] == "Z"):
        try:
            return dt.datetime.fromisoformat(text[:26]).replace(tzinfo=dt.timezone.utc)
        except ValueError:
            pass
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.timezone.utc)


def migrations() -> list[tuple[int, str, str]]:
    """Every schema step as ``(number, name, sql)``, in order.

    The steps are read once per process: a process that has dropped its
    privileges since, or whose package was upgraded under it, still migrates
    with the steps of the code it runs. A step file that cannot be read is
    :exc:`~pishkhan.exc.StoreUnreadable` naming it, never a damaged store.
    """
    return list(_schema_steps(_schema_folder()))


def _schema_folder():
    """The package folder holding the numbered SQL steps."""
    return resources.files("pishkhan.store.schema")


@functools.lru_cache(maxsize=4)
def _schema_steps(folder) -> tuple[tuple[int, str, str], ...]:
    steps = []
    try:
        for entry in folder.iterdir():
            name = entry.name
            if name.endswith(".sql") and name[:4].isdigit():
                steps.append((int(name[:4]), name, entry.read_text(encoding="utf-8")))
    except OSError as e:
        raise _unreadable(e, what="Pishkhan's own schema files", fallback=folder) from None
    steps.sort()
    numbers = [n for n, _, _ in steps]
    if len(set(numbers)) != len(numbers):
        raise StoreError(f"two schema steps share a number: {numbers}")
    return tuple(steps)


SCHEMA_VERSION = max(n for n, _, _ in migrations())

#: ``PRAGMA application_id`` of a Pishkhan store ("PSKN").
APPLICATION_ID = 0x50534B4E

#: The tables of the first schema step: a file made before the application
#: id was set is a Pishkhan store when it holds them all.
CORE_TABLES = frozenset({"audit_log", "state_log", "settings", "trusted_keys", "boards"})


class Store:
    """The device's SQLite file, used through units of work.

    :param path: the file; created, with its folder, when missing.
    :param clock: returns the current aware datetime; tests pass their own.
    :param timeout: seconds to wait for another process's lock.
    :param boot: a :class:`~pishkhan.hardware.clock.ClockStatus` that stamps each
        fact with its boot id, seconds since boot and clock-sync state
        (default: the real machine's).

    :meth:`read` and :meth:`write` run ``fn(connection)``: a read sees one
    consistent snapshot; a write runs inside ``BEGIN IMMEDIATE`` and commits
    when *fn* returns, or rolls back when it raises. A write (or read) made
    inside a write on the same thread joins it; a write cannot start inside
    a read. Nothing outside the store holds a connection after *fn* returns.

    **Threads.** Every write goes to one writer connection, one thread at a
    time (a lock); each read takes a read connection of its own from a small
    pool (opened when needed, ``query_only``), so a read never waits for a
    write or for another read, as WAL allows. Against one connection shared
    behind a lock (the store before; ``bench/store.py``, figures in
    docs/performance.md) throughput is the same (the GIL and the disk bound
    it, threads add nothing), but behind one lock a read waits for a whole write and its
    fsync, and a thread reading in a loop starves a writer (the lock is not
    fair: a ticket once waited half a second while the wall polled). Hence
    this design; paho's network thread, the page cache's worker and the
    kiosk's print thread may all use one store.

    **Errors.** Every driver error leaves the store as a
    :exc:`~pishkhan.exc.StoreError` naming the file: :exc:`StoreLocked`
    (another program held the write lock past *timeout*), :exc:`StoreCorrupt`,
    :exc:`StoreReadOnly`, :exc:`StoreConstraint` (the schema refused a
    change), or :exc:`StoreError` itself; so callers catch
    :exc:`~pishkhan.exc.PishkhanError` once.

    Use it as a context manager or call :meth:`close`. A closed store raises
    :exc:`StoreError` on use.
    """

    #: Read connections kept open when idle.
    idle_readers = 4

    def __init__(self, path, *, clock=utc_now, timeout: float = 15.0, boot=None):
        self.path = Path(path)
        self.clock = clock
        if boot is None:
            from pishkhan.hardware.clock import system_clock
            boot = system_clock()
        self.boot = boot
        self.timeout = float(timeout)
        self._write_lock = threading.RLock()
        self._pool_lock = threading.Lock()
        self._idle: list[sqlite3.Connection] = []
        self._local = threading.local()  # .conn: the connection this thread's unit of work uses
        self._closed = False
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise StoreError(f"cannot open the store {self.path}: {e}") from None
        self._create_or_check_header()
        self._writer = self._connect()
        try:
            with self._driver_errors("open"):
                self._refuse_newer()  # nothing writes to the file before these checks pass
                stamp_id = self._recognise()
                mode = self._writer.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                if mode.lower() != "wal":
                    raise StoreError(f"{self.path}: could not switch to WAL mode (got {mode})")
                self._writer.execute("PRAGMA synchronous = FULL")
                if stamp_id:
                    self.write(lambda c: c.execute(f"PRAGMA application_id = {APPLICATION_ID}"))
                self._migrate()
                self._seen_version = self._writer.execute("PRAGMA data_version").fetchone()[0]
        except StoreCorrupt as e:
            self._writer.close()
            if e.__cause__ is None:
                raise
            raise self._refused(str(e.__cause__)) from None
        except StoreError:
            self._writer.close()
            raise
        except OSError as e:  # a file that cannot be read is not a damaged store
            self._writer.close()
            raise _unreadable(e, what="a file the store needs", fallback=self.path) from None
        except Exception as e:  # the driver on a hostile file: still a StoreError, never a traceback
            self._writer.close()
            raise self._refused(f"{type(e).__name__}: {e}") from None

    # -- the open guard -------------------------------------------------------
    def _refused(self, what: str) -> StoreCorrupt:
        return StoreCorrupt(
            f"{self.path} is not a usable Pishkhan store: {what}. The file was left as it is. "
            f"Keep it aside, never overwrite it: move it away (mv {self.path} {self.path}.damaged, with its "
            "-wal and -shm files if any), then restore a backup in its place, or start again with an empty "
            "store (one is made only when no file is there); trusted keys and boards must then be installed "
            "again")

    def _create_or_check_header(self):
        """Make a missing store whole, or refuse an empty file.

        Only ``stat`` looks at the file here: opening and closing it would drop
        this process's SQLite locks on it (POSIX locks belong to the process),
        and another process could then delete the journal under a store open
        here. SQLite itself refuses what is not a database.
        """
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            wal = self.path.with_name(self.path.name + "-wal")
            if wal.exists() and wal.stat().st_size > 0:
                raise StoreCorrupt(
                    f"the store {self.path} is missing but its journal {wal} is there; restore the store "
                    f"file from a backup, or move {wal} aside to start with an empty store") from None
            self._create_fresh()
            return
        except OSError as e:
            raise _unreadable(e, what="the store", fallback=self.path) from None
        if size == 0:
            raise self._refused("the file is empty (0 bytes), so it holds none of the store's data")

    def _create_fresh(self):
        """Build an empty store beside :attr:`path` and link it into place whole."""
        tmp = self.path.with_name(f".{self.path.name}.new-{os.getpid()}-{threading.get_ident()}")
        try:
            for leftover in (tmp, tmp.with_name(tmp.name + "-wal"), tmp.with_name(tmp.name + "-shm")):
                leftover.unlink(missing_ok=True)
            conn = sqlite3.connect(str(tmp), isolation_level=None)
            try:
                conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                conn.execute("PRAGMA journal_mode = WAL")
            finally:
                conn.close()
            fd = os.open(tmp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            try:
                os.link(tmp, self.path)  # never replaces: a store another process made meanwhile wins
            except FileExistsError:
                pass
            fsync_dir(self.path.parent)
        except (OSError, sqlite3.Error) as e:
            raise _os_error(e, f"create the store {self.path}") from None
        finally:
            try:
                tmp.unlink(missing_ok=True)
            except OSError:
                pass

    def _recognise(self) -> bool:
        """Refuse a SQLite file that is not a sound Pishkhan store; True when its id is still to be set."""
        c = self._writer
        app_id = c.execute("PRAGMA application_id").fetchone()[0]
        if app_id not in (0, APPLICATION_ID):
            raise self._refused(f"it is the SQLite database of another program (application_id {app_id:#x}, "
                                f"a Pishkhan store has {APPLICATION_ID:#x})")
        problems = [r[0] for r in c.execute("PRAGMA quick_check(5)").fetchall()]
        if problems != ["ok"]:
            raise self._refused("it fails SQLite's integrity check (" + "; ".join(problems) + ")")
        if app_id == 0:
            tables = {r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if not CORE_TABLES <= tables:
                shown = ", ".join(sorted(tables)[:8]) or "none"
                raise self._refused(f"it is a SQLite database without Pishkhan's tables (its tables: {shown})")
            return True
        return False

    # -- connections --------------------------------------------------------
    def _connect(self, *, reader: bool = False) -> sqlite3.Connection:
        with self._driver_errors("open"):
            conn = sqlite3.connect(str(self.path), timeout=self.timeout, isolation_level=None,
                                   check_same_thread=False)
            try:
                conn.row_factory = sqlite3.Row
                conn.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
                conn.execute("PRAGMA foreign_keys = ON")
                if reader:
                    conn.execute("PRAGMA query_only = ON")
            except BaseException:
                conn.close()
                raise
        return conn

    def _check_open(self):
        if self._closed:
            raise StoreError(f"the store {self.path} is closed")

    def _take_reader(self) -> sqlite3.Connection:
        self._check_open()
        with self._pool_lock:
            if self._idle:
                return self._idle.pop()
        return self._connect(reader=True)

    def _give_back(self, conn: sqlite3.Connection):
        with self._pool_lock:
            if not self._closed and len(self._idle) < self.idle_readers and not conn.in_transaction:
                self._idle.append(conn)
                return
        conn.close()

    @contextmanager
    def _driver_errors(self, doing: str):
        """Turn a driver error into a :exc:`StoreError` that says what went wrong."""
        try:
            yield
        except sqlite3.Error as e:
            raise self._wrap(e, doing) from e

    def _wrap(self, e: sqlite3.Error, doing: str) -> StoreError:
        name = getattr(e, "sqlite_errorname", "") or ""
        text = str(e)
        if self._closed or "closed database" in text:
            return StoreError(f"the store {self.path} is closed")
        if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "locked" in text:
            return StoreLocked(f"the store {self.path} is locked by another program: waited {self.timeout:g} s "
                               f"to {doing} and gave up ({text})")
        if name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")) or isinstance(e, sqlite3.DatabaseError) and (
                "malformed" in text or "not a database" in text):
            return StoreCorrupt(f"the store {self.path} is damaged ({text}); keep the damaged file aside "
                                "(move it away, never overwrite it) and restore a backup; a new empty store "
                                "is made at the next start only when no file is there")
        if name.startswith("SQLITE_CANTOPEN") and not _readable(self.path):
            return _unreadable(PermissionError(errno.EACCES, "permission denied", str(self.path)),
                               what="the store", fallback=self.path)
        if name.startswith("SQLITE_READONLY") or name.startswith("SQLITE_CANTOPEN") and not _writable(self.path):
            return StoreReadOnly(f"the store {self.path} cannot be written ({text}); check the permissions of "
                                 "the file and its folder, and that the disk is not mounted read-only")
        if name.startswith("SQLITE_FULL") or "disk is full" in text:
            return StoreFull(f"the disk holding the store {self.path} is full ({text}); nothing was written")
        if name.startswith("SQLITE_CONSTRAINT") or isinstance(e, sqlite3.IntegrityError):
            return StoreConstraint(f"the store {self.path} refused the change: {text}")
        return StoreError(f"the store {self.path} failed to {doing}: {text} ({name or type(e).__name__})")

    # -- units of work ------------------------------------------------------
    def read(self, fn):
        """``fn(connection)`` on one consistent snapshot; returns what *fn* returns.

        Inside a write on the same thread, *fn* reads that write's connection
        (and so sees its changes).
        """
        local = self._local
        joined = getattr(local, "conn", None)
        if joined is not None:
            with self._driver_errors("read"):
                return fn(joined)
        conn = self._take_reader()
        local.conn = conn
        try:
            with self._driver_errors("read"):
                conn.execute("BEGIN")
                try:
                    return fn(conn)
                finally:
                    if conn.in_transaction:
                        conn.execute("COMMIT")  # nothing was written: this ends the snapshot
        finally:
            local.conn = None
            self._give_back(conn)

    def write(self, fn):
        """``fn(connection)`` inside ``BEGIN IMMEDIATE``: committed when *fn*
        returns, rolled back when it raises. Returns what *fn* returns.

        A write inside a write on the same thread joins the outer one.
        """
        local = self._local
        joined = getattr(local, "conn", None)
        if joined is not None:
            if joined is not self._writer:
                raise StoreError(f"a write to {self.path} cannot start inside a read; "
                                 "make the whole unit of work a write")
            with self._driver_errors("write"):
                return fn(joined)
        with self._write_lock:
            self._check_open()
            conn = self._writer
            local.conn = conn
            try:
                with self._driver_errors("write"):
                    conn.execute("BEGIN IMMEDIATE")
                    try:
                        result = fn(conn)
                        conn.execute("COMMIT")
                    except BaseException:
                        if conn.in_transaction:
                            try:
                                conn.execute("ROLLBACK")
                            except sqlite3.Error:
                                pass  # the first error says more
                        raise
                    return result
            finally:
                local.conn = None

    def execute(self, sql: str, params=()) -> int:
        """Run one writing statement as a unit of work; returns the rows it changed."""
        return self.write(lambda c: c.execute(sql, params).rowcount)

    def query(self, sql: str, params=()) -> list[sqlite3.Row]:
        return self.read(lambda c: c.execute(sql, params).fetchall())

    def query_one(self, sql: str, params=()):
        return self.read(lambda c: c.execute(sql, params).fetchone())

    # -- life cycle -------------------------------------------------------
    def close(self):
        with self._write_lock:
            if self._closed:
                return
            self._closed = True
            with self._pool_lock:
                idle, self._idle = self._idle, []
            for conn in idle + [self._writer]:
                conn.close()

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- schema -----------------------------------------------------------
    def schema_version(self) -> int:
        return self.query_one("PRAGMA user_version")[0]

    def _refuse_newer(self):
        current, latest = self._writer.execute("PRAGMA user_version").fetchone()[0], SCHEMA_VERSION
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
        if self._applied_steps(self._writer) >= {n for n, _, _ in steps}:
            return

        def upgrade(c):
            applied = self._applied_steps(c)  # another process may have migrated meanwhile
            if not _has_table(c, "schema_steps"):
                c.execute("CREATE TABLE schema_steps (number INTEGER PRIMARY KEY, "
                          "name TEXT NOT NULL, applied_at TEXT NOT NULL)")
                for number, name, _ in steps:
                    if number in applied:
                        c.execute("INSERT INTO schema_steps VALUES (?, ?, ?)", (number, name, iso(self.clock())))
            for number, name, sql in steps:
                if number in applied:
                    continue
                for statement in _split_sql(sql):
                    c.execute(statement)
                c.execute("INSERT INTO schema_steps VALUES (?, ?, ?)", (number, name, iso(self.clock())))
            c.execute(f"PRAGMA user_version = {max(n for n, _, _ in steps)}")

        self.write(upgrade)

    @staticmethod
    def _applied_steps(c) -> set[int]:
        if _has_table(c, "schema_steps"):
            return {r[0] for r in c.execute("SELECT number FROM schema_steps")}
        current = c.execute("PRAGMA user_version").fetchone()[0]
        return {n for n, _, _ in migrations() if n <= current}

    # -- change detection -------------------------------------------------
    def data_version(self) -> int:
        """SQLite's counter that moves when *another* process commits."""
        with self._write_lock:  # the writer's counter: this process's reads never move it
            self._check_open()
            with self._driver_errors("read"):
                return self._writer.execute("PRAGMA data_version").fetchone()[0]

    def changed(self) -> bool:
        """True once after another process has committed since the last call."""
        with self._write_lock:
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
        self.write(lambda c: c.execute("INSERT INTO settings(key, value) VALUES (?, ?) "
                      "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                      (key, json.dumps(value, ensure_ascii=False))))

    # -- audit log --------------------------------------------------------
    def audit(self, actor: str, action: str, subject: str = "", **detail) -> int:
        """Append who did what, when, to the audit log; returns the row id."""
        row = (self.now_iso(), actor, action, str(subject), json.dumps(detail, ensure_ascii=False, default=str))
        return self.write(lambda c: c.execute(
            "INSERT INTO audit_log(at, actor, action, subject, detail) VALUES (?,?,?,?,?)", row).lastrowid)

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
        payload = json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str)
        stamp = self.stamp()

        def record(c):
            last = c.execute("SELECT state, reason, detail, boot_id FROM state_log WHERE component = ? "
                             "ORDER BY id DESC LIMIT 1", (component,)).fetchone()
            if (last and last["state"] == state and last["reason"] == reason and last["detail"] == payload
                    and last["boot_id"] == stamp.boot_id):  # a new boot states it again
                return False
            c.execute("INSERT INTO state_log(at, component, state, reason, detail, boot_id, mono, clock_synced) "
                      "VALUES (?,?,?,?,?,?,?,?)",
                      (self.now_iso(), component, state, reason, payload, stamp.boot_id, stamp.mono,
                       int(stamp.synced)))
            return True

        return self.write(record)

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


def _writable(path: Path) -> bool:
    """Whether this process may write *path* and its folder (False on a read-only mount)."""
    try:
        if os.statvfs(path.parent).f_flag & os.ST_RDONLY:
            return False
        return os.access(path.parent, os.W_OK) and (not path.exists() or os.access(path, os.W_OK))
    except OSError:
        return False


def _readable(path: Path) -> bool:
    """Whether this process may reach and read *path* (a missing file counts as readable)."""
    try:
        return os.access(path.parent, os.X_OK) and (not path.exists() or os.access(path, os.R_OK))
    except OSError:
        return False


def _unreadable(e: OSError, *, what: str, fallback) -> StoreUnreadable:
    """An :exc:`OSError` met while reading *what*, in words that name the file and send no one to move it."""
    path = e.filename or fallback
    if e.errno in (errno.EACCES, errno.EPERM):
        return StoreUnreadable(
            f"cannot read {what}: permission denied on {path}. Nothing was changed and the file stays where it is; "
            "give the user this program runs as read access to it (and to its folders), "
            "then start again", path=path, reason="permission_denied")
    return StoreUnreadable(f"cannot read {what}: {path}: {e.strerror or e}. Nothing was changed",
                           path=path, reason="unreadable")


def fsync_dir(folder):
    """Make a rename or link in *folder* durable."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _os_error(e: Exception, doing: str) -> StoreError:
    """An OS or driver error met while writing a store's files, in words."""
    code = getattr(e, "errno", None)
    if code == errno.ENOSPC or "disk is full" in str(e):
        return StoreFull(f"cannot {doing}: the disk is full ({e}); nothing was written. Free some space")
    if code in (errno.EACCES, errno.EPERM, errno.EROFS) or "readonly" in str(e):
        return StoreReadOnly(f"cannot {doing}: it cannot be written ({e}); check the permissions of the "
                             "file and its folder, and that the disk is not mounted read-only")
    return StoreError(f"cannot {doing}: {e}")


def _has_table(c, name: str) -> bool:
    return c.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)).fetchone() is not None


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
