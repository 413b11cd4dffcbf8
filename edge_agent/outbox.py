"""The durable outbox: every message the agent publishes is written here first.

Where it lives
    Its own SQLite file, ``{state_dir}/outbox.db``, not the store. The store
    is shared by the kiosk, the display and the panel, and SQLite lets one
    writer at a time into a file: a drain acknowledging a few thousand
    messages, or a day of telemetry arriving after an outage, would hold the
    lock a customer's ticket needs. Its own file also keeps its size bound
    (``mqtt.outbox_max_bytes``) from bloating the store that inspectors copy,
    lets acknowledgements be written without an fsync (below), and a broken
    outbox file cannot take the office's records with it. Measured
    (``bench/agent.py``, 2-core VM): a kiosk state write took p50 2.6 ms,
    max 18 ms while an outbox drained into a file of its own, but p50 0.3-2 s,
    max 4 s while it drained inside the store file. SD-card wear is the same
    either way for the same messages: about 25 kB written per enqueue (three
    4 kB pages and the WAL fsync: hence one index, and the sequence number and
    totals on one row) and 3 kB per acknowledged message, without an fsync. What
    the two files cannot share is a transaction: a producer that must not
    send a message twice after a crash (a daily report, an event derived
    from stored facts) passes ``key=`` and the outbox refuses a second
    message with the same key.

Durability
    WAL mode. A message is enqueued in one transaction with ``synchronous =
    FULL``: when :meth:`Outbox.enqueue` returns, it and its sequence number
    survive a power cut. The sequence number is allocated in that same
    transaction, so a crash can never give two messages one number or skip
    one. A message is deleted only when the broker has acknowledged it
    (PUBACK of QoS 1), in a transaction with ``synchronous = NORMAL``: a
    power cut may undo an acknowledgement (the next FULL commit makes it
    durable too), so the message is sent again — a duplicate the centre
    recognises by ``seq`` — but nothing is ever lost. Which messages are in
    flight is known only in memory: after a restart everything still here
    is sent again.

Epoch
    The file draws a random ``epoch`` when it is made; every message carries
    it beside its ``seq`` (:func:`pishkhan.protocol.payloads.in_epoch`). A new
    file — deleted, re-imaged card, a fresh install — numbers from 1 again in a
    new epoch, which the centre follows (docs/mqtt.md). A file from before
    epochs keeps the epoch ``''`` and numbers on.

Last Will numbers
    A Last Will's ``seq`` is reserved before the connection that carries it
    (:meth:`Outbox.reserve_will`) and kept in the table ``wills`` until a
    message that accounts for it is written: the birth announcing it as
    ``will_seq``, the clean offline carrying it, or a message of its own
    (:meth:`Outbox.forget_will`, in that message's transaction): the will's
    own bytes, kept in ``wills`` when it was reserved, so the centre sees
    one payload under that number whoever sends it; a birth the bounds drop
    gives its number back (as one that reached a broker). A number is
    recorded as gone to a broker when it is reserved, before its attempt, and
    is never put in a second will (the broker may hold it and send it); one
    whose attempt never opened a socket is given back
    (:meth:`Outbox.unexpose_will`) and used again for the next attempt, after
    a restart too. So no reserved number is ever left unaccounted, nor sent
    with two payloads (docs/mqtt.md, "Gaps and duplicates"); a full disk
    only stops new connections (no will can be reserved).

A full disk
    Nothing is lost and nothing is renumbered: a write that finds the disk
    full raises :exc:`~pishkhan.exc.OutboxFull` and leaves the file as it
    was. Telemetry that could not be written is counted in memory
    (:attr:`Outbox.unwritten`); the next telemetry written uses that many
    numbers first and counts them as dropped (``telemetry.disk_full``), in its
    own transaction, so the centre excuses exactly those gaps; its figures
    say so already (:meth:`Outbox.stats`). Other producers write again later
    (their messages are keyed).

Streams and order
    Each message belongs to a stream (the topic's last level). Messages
    leave in the order they were enqueued within a stream; between streams,
    ``status`` goes first, then command results, events, reported state,
    daily reports, and telemetry last (:data:`STREAMS`).

Bounds and what goes first when full
    At most ``max_bytes`` of payload and topic, and nothing older than
    ``max_age_days``. The age of a message made in this boot is measured on
    the boot clock (``CLOCK_BOOTTIME``), so a wall clock corrected by NTP
    cannot age messages out early. When an enqueue passes ``max_bytes``,
    room is made down to 90 % of it, in this order:

    1. coalesce telemetry: delete, oldest first, telemetry superseded by a
       newer message with the same ``coalesce`` key (the latest one stays);
    2. drop the oldest telemetry;
    3. drop the oldest ``status`` and ``reported`` messages (a later one
       replaces their content);
    4. only then the oldest events, daily reports and command results;
    5. last of all the oldest ``facts`` (a dropped link breaks the fact
       chain: the centre can no longer verify those days).

    The message being enqueued is never the one dropped, nor one the MQTT
    client holds in flight (:attr:`Outbox.busy`; it would be sent all the
    same, and the centre would take it for both dropped and received). Every drop is
    counted by stream and reason (``coalesced``, ``full``, ``age``) in the
    file, and :meth:`Outbox.stats` gives depth, bytes, the oldest message's
    age and the drop counters for telemetry. A telemetry producer that sends
    changes only must send a full reading after its messages were dropped
    (the ``dropped`` counters move).

Several processes may enqueue into the same file; the agent drains it.
"""

from __future__ import annotations

import errno
import json
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from pishkhan.exc import OutboxError, OutboxFull
from pishkhan.protocol.payloads import format_time


@dataclass(frozen=True)
class Stream:
    name: str
    send_rank: int   # lower leaves first
    drop_class: int  # lower is dropped first when full


STREAMS = {s.name: s for s in (
    Stream("status", 0, 1),
    Stream("result", 1, 2),
    Stream("event", 2, 2),
    Stream("reported", 3, 1),
    Stream("report", 4, 2),
    Stream("telemetry", 5, 0),
    Stream("facts", 2, 3),  # the fact chain: a dropped link breaks it at the centre, so it goes last
)}

LOW_WATER = 0.9

_SCHEMA = """
-- One row: the next sequence number and the running totals, on one page (one page written per enqueue);
-- and the epoch the numbers count in (drawn when the file is made; '' in a file from before epochs).
CREATE TABLE IF NOT EXISTS state (id INTEGER PRIMARY KEY CHECK (id = 1), next_seq INTEGER NOT NULL,
                                  count INTEGER NOT NULL, bytes INTEGER NOT NULL, epoch TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS messages (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    stream       TEXT NOT NULL,
    send_rank    INTEGER NOT NULL,
    drop_class   INTEGER NOT NULL,
    topic        TEXT NOT NULL,
    payload      BLOB NOT NULL,
    retain       INTEGER NOT NULL DEFAULT 0,
    seq          INTEGER NOT NULL,
    created_at   REAL NOT NULL,   -- wall clock, Unix seconds
    boot_id      TEXT NOT NULL,
    created_boot REAL NOT NULL,   -- CLOCK_BOOTTIME seconds in that boot
    size         INTEGER NOT NULL,
    coalesce_key TEXT
);
-- The only index: what to send next. Dropping (rare, only when full) scans in id order.
CREATE INDEX IF NOT EXISTS messages_send ON messages(send_rank, id);
CREATE TRIGGER IF NOT EXISTS messages_in AFTER INSERT ON messages
BEGIN UPDATE state SET count = count + 1, bytes = bytes + NEW.size WHERE id = 1; END;
CREATE TRIGGER IF NOT EXISTS messages_out AFTER DELETE ON messages
BEGIN UPDATE state SET count = count - 1, bytes = bytes - OLD.size WHERE id = 1; END;
CREATE TABLE IF NOT EXISTS dropped (stream TEXT NOT NULL, reason TEXT NOT NULL, count INTEGER NOT NULL,
                                    PRIMARY KEY (stream, reason));
CREATE TABLE IF NOT EXISTS keys (key TEXT PRIMARY KEY, seq INTEGER NOT NULL, created_at REAL NOT NULL);
-- Last Will numbers reserved and not yet announced (by a birth, a clean offline, or a message of their own);
-- exposed: a connection attempt with it reached a broker (the socket opened), so it is never used again.
-- payload: the will's own bytes, sent by the agent itself when no birth announces the number.
CREATE TABLE IF NOT EXISTS wills (seq INTEGER PRIMARY KEY, exposed INTEGER NOT NULL DEFAULT 0,
                                  reserved_at REAL NOT NULL, payload BLOB);
"""


def _error(e: sqlite3.Error, text: str) -> OutboxError:
    """*e* as an :exc:`OutboxError` saying *text*; :exc:`OutboxFull` when the disk is full."""
    name = getattr(e, "sqlite_errorname", "") or ""
    if name.startswith("SQLITE_FULL") or "disk is full" in str(e):
        return OutboxFull(f"{text}: the disk is full ({e}); nothing was written")
    return OutboxError(f"{text}: {e}")


def boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return "unknown"


def new_epoch() -> str:
    """A new outbox epoch: 16 random hex digits (the envelope's ``epoch``)."""
    return secrets.token_hex(8)


def boottime() -> float:
    try:
        return time.clock_gettime(time.CLOCK_BOOTTIME)
    except (AttributeError, OSError):
        return time.monotonic()


@dataclass(frozen=True)
class Pending:
    """A message waiting to be sent."""

    id: int
    stream: str
    topic: str
    payload: bytes
    retain: bool
    seq: int


class Outbox:
    """The outbox file at *path*.

    :param max_bytes: bound on the bytes of payload and topic kept.
    :param max_age_days: messages older than this are dropped by :meth:`enforce`.
    :param clock: wall clock (Unix seconds); tests pass their own.
    :param boot_clock: seconds on the boot clock; tests pass their own.
    """

    def __init__(self, path, *, max_bytes: int = 50_000_000, max_age_days: float = 14,
                 clock=time.time, boot_clock=boottime, boot: str | None = None, timeout: float = 15.0):
        if max_bytes < 1024:
            raise OutboxError(f"mqtt.outbox_max_bytes must be at least 1024, got {max_bytes}")
        if max_age_days <= 0:
            raise OutboxError(f"mqtt.outbox_max_age_days must be positive, got {max_age_days}")
        self.path = Path(path)
        self.max_bytes = int(max_bytes)
        self.max_age = float(max_age_days) * 86400
        self.clock = clock
        self.boot_clock = boot_clock
        self.boot = boot or boot_id()
        self.listeners: list = []  # called with no argument after each enqueue
        #: ``busy() -> ids`` of messages in the MQTT client's hands: the bounds never drop those (the client
        #: would still send them, and a message both dropped and delivered would hide a loss at the centre).
        self.busy = lambda: ()
        self._lock = threading.RLock()
        self._sync = ""
        #: Telemetry this process could not write (the disk full): no number was used; the next telemetry
        #: written uses that many numbers first and counts them as dropped (``telemetry.disk_full``).
        self.unwritten = 0
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(str(self.path), timeout=timeout, isolation_level=None,
                                         check_same_thread=False)
            self._conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            self._conn.execute("PRAGMA auto_vacuum = INCREMENTAL")  # only takes effect on a new file
            mode = self._conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode.lower() != "wal":
                raise OutboxError(f"{self.path}: could not switch to WAL mode (got {mode})")
            self._synchronous("FULL")
            with self._transaction():
                for statement in _SCHEMA.split(";\n"):
                    if statement.strip():
                        self._conn.execute(statement)
                self.epoch = self._epoch(self._conn)
                if "payload" not in [row[1] for row in self._conn.execute("PRAGMA table_info(wills)")]:
                    self._conn.execute("ALTER TABLE wills ADD COLUMN payload BLOB")
        except sqlite3.Error as e:
            raise _error(e, f"cannot open the outbox {self.path}") from None
        except OSError as e:
            kind = OutboxFull if e.errno == errno.ENOSPC else OutboxError
            raise kind(f"cannot open the outbox {self.path}: {e}") from None

    @staticmethod
    def _epoch(c) -> str:
        """This file's epoch: drawn with its first state row; a file from before epochs keeps ``''`` (its
        numbers go on where they were, in the epoch the centre already knows)."""
        if "epoch" not in [row[1] for row in c.execute("PRAGMA table_info(state)")]:
            c.execute("ALTER TABLE state ADD COLUMN epoch TEXT NOT NULL DEFAULT ''")
        c.execute("INSERT OR IGNORE INTO state(id, next_seq, count, bytes, epoch) VALUES (1, 1, 0, 0, ?)",
                  (new_epoch(),))
        return c.execute("SELECT epoch FROM state WHERE id = 1").fetchone()[0]

    @classmethod
    def for_config(cls, config, **kwargs) -> "Outbox":
        return cls(config.state_dir / "outbox.db", max_bytes=config.mqtt.outbox_max_bytes,
                   max_age_days=config.mqtt.outbox_max_age_days, **kwargs)

    # -- plumbing -------------------------------------------------------------
    def close(self):
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            raise OutboxError(f"the outbox {self.path} is closed")
        return self._conn

    def _synchronous(self, level: str):
        if self._sync != level:
            self.conn.execute(f"PRAGMA synchronous = {level}")
            self._sync = level

    class _Txn:
        def __init__(self, outbox, sync):
            self.outbox, self.sync = outbox, sync

        def __enter__(self):
            self.outbox._lock.acquire()
            try:
                self.outbox._synchronous(self.sync)
                self.outbox.conn.execute("BEGIN IMMEDIATE")
            except BaseException:
                self.outbox._lock.release()
                raise
            return self.outbox.conn

        def __exit__(self, kind, value, tb):
            try:
                self.outbox.conn.execute("ROLLBACK" if kind else "COMMIT")
            finally:
                self.outbox._lock.release()

    def _transaction(self, sync: str = "FULL"):
        return Outbox._Txn(self, sync)

    def _allocate(self, c) -> int:
        return c.execute("UPDATE state SET next_seq = next_seq + 1 WHERE id = 1 RETURNING next_seq - 1").fetchone()[0]

    # -- producing --------------------------------------------------------------
    def transact(self, fn):
        """Run ``fn(connection)`` in one durable transaction of this file (a producer's own tables)."""
        try:
            with self._transaction() as c:
                return fn(c)
        except sqlite3.Error as e:
            raise _error(e, f"cannot use the outbox {self.path}") from None

    def reserve_seq(self) -> int:
        """Allocate a sequence number without a message (tools; the agent's Last Will uses :meth:`reserve_will`)."""
        with self._transaction() as c:
            return self._allocate(c)

    def reserve_will(self, *, avoid=(), build=None) -> tuple[int, float]:
        """The number for the next connection attempt's Last Will and when it was reserved: one reserved
        before that never reached a broker, else a new one (kept in ``wills`` until accounted for). It is
        recorded as gone to a broker before it can go (:meth:`unexpose_will` when the attempt's socket
        never opened), so a full disk or a crash can never let a number that left be put in a second will.
        *avoid*: numbers this process knows went to a broker, whatever the file says. *build*: ``build(seq,
        reserved_at) -> bytes``, the will's payload, kept to be sent as it is (:meth:`will_payload`)."""
        avoid = ",".join(str(int(seq)) for seq in avoid) or "0"
        try:
            with self._transaction() as c:
                row = c.execute(f"SELECT seq, reserved_at FROM wills WHERE exposed = 0 AND seq NOT IN ({avoid}) "
                                "ORDER BY seq LIMIT 1").fetchone()
                if row:
                    seq, at = row
                else:
                    seq, at = self._allocate(c), self.clock()
                    c.execute("INSERT INTO wills(seq, exposed, reserved_at) VALUES (?, 0, ?)", (seq, at))
                c.execute("UPDATE wills SET exposed = 1, payload = ? WHERE seq = ?",
                          (None if build is None else bytes(build(seq, at)), seq))
                return seq, at
        except sqlite3.Error as e:
            raise _error(e, f"cannot reserve a Last Will number in {self.path}") from None

    def will_payload(self, seq: int) -> tuple[bytes | None, float | None]:
        """The Last Will numbered *seq* as it went to the broker (None when not kept) and when it was reserved."""
        with self._lock:
            row = self.conn.execute("SELECT payload, reserved_at FROM wills WHERE seq = ?", (seq,)).fetchone()
        return (bytes(row[0]) if row and row[0] is not None else None, row[1] if row else None)

    def expose_will(self, seq: int):
        """The Last Will numbered *seq* is going to a broker: never use it for another will."""
        try:
            with self._transaction() as c:
                c.execute("UPDATE wills SET exposed = 1 WHERE seq = ?", (seq,))
        except sqlite3.Error as e:
            raise _error(e, f"cannot write to the outbox {self.path}") from None

    def unexpose_will(self, seq: int):
        """The attempt with the Last Will numbered *seq* never opened a socket: the number may be used again."""
        try:
            with self._transaction() as c:
                c.execute("UPDATE wills SET exposed = 0 WHERE seq = ?", (seq,))
        except sqlite3.Error as e:
            raise _error(e, f"cannot write to the outbox {self.path}") from None

    def unannounced_wills(self, *, exposed: bool = True) -> list[int]:
        """Reserved Last Will numbers no message accounts for yet (only those that reached a broker, by default)."""
        with self._lock:
            sql = "SELECT seq FROM wills" + (" WHERE exposed = 1" if exposed else "") + " ORDER BY seq"
            return [r[0] for r in self.conn.execute(sql)]

    @staticmethod
    def forget_will(c, seq: int):
        """In a message's transaction (``enqueue(also=...)``): that message accounts for the will number *seq*."""
        c.execute("DELETE FROM wills WHERE seq = ?", (seq,))

    def enqueue(self, stream: str, topic: str, build, *, retain: bool = False, key: str | None = None,
                coalesce: str | None = None, seq: int | None = None, also=None) -> int:
        """Write a message durably and return its sequence number.

        :param build: ``build(seq, sent_at) -> bytes``, the payload for the
            allocated number and time (they go inside the payload).
        :param key: refuse a second message with this key: the first one's
            seq is returned and nothing is written.
        :param coalesce: telemetry with the same key may be coalesced to the latest when full.
        :param seq: use this number, reserved earlier with :meth:`reserve_seq`.
        :param also: ``also(connection)`` runs in the same transaction after the
            message is written: a producer's own bookkeeping in this file (the
            fact chain's head), kept or lost together with the message.
        """
        if stream not in STREAMS:
            raise OutboxError(f"unknown stream {stream!r}; known: {sorted(STREAMS)}")
        info = STREAMS[stream]
        skip = self.unwritten if stream == "telemetry" and seq is None else 0
        try:
            with self._transaction() as c:
                if key is not None:
                    row = c.execute("SELECT seq FROM keys WHERE key = ?", (key,)).fetchone()
                    if row:
                        return row[0]
                if skip:  # the numbers of the telemetry a full disk kept out, dropped: the centre excuses them
                    c.execute("UPDATE state SET next_seq = next_seq + ? WHERE id = 1", (skip,))
                    self._count_drops(c, {"telemetry": skip}, "disk_full")
                number = seq if seq is not None else self._allocate(c)
                now = self.clock()
                payload = bytes(build(number, format_time(now)))
                size = len(payload) + len(topic.encode("utf-8"))
                if size > self.max_bytes * (1 - LOW_WATER):
                    raise OutboxError(f"a {stream} message of {size} bytes is too large for the outbox "
                                      f"(mqtt.outbox_max_bytes = {self.max_bytes}; at most "
                                      f"{int(self.max_bytes * (1 - LOW_WATER))} bytes a message)")
                cur = c.execute(
                    "INSERT INTO messages(stream, send_rank, drop_class, topic, payload, retain, seq, created_at, "
                    "boot_id, created_boot, size, coalesce_key) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                    (stream, info.send_rank, info.drop_class, topic, payload, int(retain), number, now,
                     self.boot, self.boot_clock(), size, coalesce))
                if key is not None:
                    c.execute("INSERT INTO keys(key, seq, created_at) VALUES (?,?,?)", (key, number, now))
                if also is not None:
                    also(c)
                if c.execute("SELECT bytes FROM state").fetchone()[0] > self.max_bytes:
                    self._make_room(c, keep=cur.lastrowid)
        except sqlite3.Error as e:
            error = _error(e, f"cannot write to the outbox {self.path}")
            if isinstance(error, OutboxFull) and stream == "telemetry" and seq is None:
                self.unwritten += 1
            raise error from None
        self.unwritten -= skip
        for listener in list(self.listeners):
            listener()
        return number

    def _make_room(self, c, *, keep: int):
        target = self.max_bytes * LOW_WATER
        total = c.execute("SELECT bytes FROM state").fetchone()[0]
        latest = [r[0] for r in c.execute("SELECT MAX(id) FROM messages WHERE drop_class = 0 AND "
                                           "coalesce_key IS NOT NULL GROUP BY coalesce_key")]
        keep_ids = ",".join(str(int(i)) for i in [keep] + latest)
        held = ",".join(str(int(i)) for i in [keep, *self.busy()])  # never the new one, nor one in flight
        steps = [
            ("coalesced", f"drop_class = 0 AND coalesce_key IS NOT NULL AND id NOT IN ({keep_ids}) "
                          f"AND id NOT IN ({held})"),
            ("full", f"drop_class = 0 AND id NOT IN ({held})"),
            ("full", f"drop_class = 1 AND id NOT IN ({held})"),
            ("full", f"drop_class = 2 AND id NOT IN ({held})"),
            ("full", f"drop_class = 3 AND id NOT IN ({held})"),
        ]
        for reason, where in steps:
            after = 0
            while total > target:
                rows = c.execute(f"SELECT id, stream, size FROM messages WHERE {where} AND id > ? "
                                 "ORDER BY id LIMIT 512", (after,)).fetchall()
                if not rows:
                    break
                doomed, counts = [], {}
                for id_, stream, size in rows:
                    if total <= target:
                        break
                    doomed.append(id_)
                    counts[stream] = counts.get(stream, 0) + 1
                    total -= size
                after = rows[-1][0]
                if counts.get("status"):
                    self._unannounce(c, doomed)
                self._delete(c, doomed)
                self._count_drops(c, counts, reason)

    def _unannounce(self, c, ids):
        """Births among *ids*, about to be dropped: the Last Will numbers they announced go back to ``wills``,
        as numbers that reached a broker (the agent sends each on a message of its own)."""
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            for (payload,) in c.execute(f"SELECT payload FROM messages WHERE stream = 'status' AND id IN "
                                        f"({','.join('?' * len(chunk))})", chunk).fetchall():
                try:
                    will = json.loads(payload).get("will_seq")
                except (ValueError, AttributeError):
                    continue
                if type(will) is int:
                    c.execute("INSERT OR IGNORE INTO wills(seq, exposed, reserved_at) VALUES (?, 1, ?)",
                              (will, self.clock()))

    @staticmethod
    def _delete(c, ids):
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            c.execute(f"DELETE FROM messages WHERE id IN ({','.join('?' * len(chunk))})", chunk)

    @staticmethod
    def _count_drops(c, counts: dict, reason: str):
        for stream, n in counts.items():
            c.execute("INSERT INTO dropped(stream, reason, count) VALUES (?,?,?) ON CONFLICT(stream, reason) "
                      "DO UPDATE SET count = count + excluded.count", (stream, reason, n))

    # -- draining ---------------------------------------------------------------
    def pending(self, limit: int, *, exclude=()) -> list[Pending]:
        """Up to *limit* messages to send next, skipping the ids in *exclude* (in flight)."""
        if limit <= 0:
            return []
        exclude = set(exclude)
        with self._lock:
            rows = self.conn.execute(
                "SELECT id, stream, topic, payload, retain, seq FROM messages ORDER BY send_rank, id LIMIT ?",
                (limit + len(exclude),)).fetchall()
        out = [Pending(r[0], r[1], r[2], bytes(r[3]), bool(r[4]), r[5]) for r in rows if r[0] not in exclude]
        return out[:limit]

    def ack(self, ids) -> int:
        """Delete acknowledged messages; returns how many were still here."""
        ids = list(ids)
        if not ids:
            return 0
        try:
            with self._transaction("NORMAL") as c:
                before = c.execute("SELECT count FROM state").fetchone()[0]
                self._delete(c, ids)
                return before - c.execute("SELECT count FROM state").fetchone()[0]
        except sqlite3.Error as e:
            raise _error(e, f"cannot write to the outbox {self.path}") from None

    def enforce(self) -> int:
        """Drop messages past ``max_age_days`` and forget old keys; returns how many were dropped."""
        now, boot_now = self.clock(), self.boot_clock()
        held = ",".join(str(int(i)) for i in self.busy()) or "0"  # in flight: the client sends it anyway
        where = (f"((boot_id = :boot AND created_boot < :boot_limit) OR "
                 f"(boot_id != :boot AND created_at < :wall_limit)) AND id NOT IN ({held})")
        params = {"boot": self.boot, "boot_limit": boot_now - self.max_age, "wall_limit": now - self.max_age}
        try:
            with self._transaction() as c:
                counts = dict(c.execute(f"SELECT stream, COUNT(*) FROM messages WHERE {where} GROUP BY stream",
                                        params).fetchall())
                if counts.get("status"):
                    self._unannounce(c, [r[0] for r in c.execute(
                        f"SELECT id FROM messages WHERE stream = 'status' AND ({where})", params).fetchall()])
                if counts:
                    c.execute(f"DELETE FROM messages WHERE {where}", params)
                    self._count_drops(c, counts, "age")
                c.execute("DELETE FROM keys WHERE created_at < ?", (now - 2 * self.max_age,))
            with self._lock:
                free = self.conn.execute("PRAGMA freelist_count").fetchone()[0]
                page = self.conn.execute("PRAGMA page_size").fetchone()[0]
                used = self.conn.execute("SELECT bytes FROM state").fetchone()[0]
                if free * page > max(4 << 20, used):
                    self.conn.execute("PRAGMA incremental_vacuum")
            return sum(counts.values())
        except sqlite3.Error as e:
            raise _error(e, f"cannot write to the outbox {self.path}") from None

    # -- figures ----------------------------------------------------------------
    def depth(self) -> int:
        with self._lock:
            return self.conn.execute("SELECT count FROM state").fetchone()[0]

    def stats(self) -> dict:
        """Depth, bytes, age of the oldest message (seconds, None when empty) and drop counters."""
        with self._lock:
            count, total = self.conn.execute("SELECT count, bytes FROM state").fetchone()
            oldest = self.conn.execute("SELECT created_at, boot_id, created_boot FROM messages "
                                       "ORDER BY id LIMIT 1").fetchone()
            dropped = {f"{s}.{r}": n for s, r, n in
                       self.conn.execute("SELECT stream, reason, count FROM dropped ORDER BY stream, reason")}
        if self.unwritten:  # counted as the next telemetry written will count them (its own figures say so)
            dropped["telemetry.disk_full"] = dropped.get("telemetry.disk_full", 0) + self.unwritten
        age = None
        if oldest:
            age = self.boot_clock() - oldest[2] if oldest[1] == self.boot else self.clock() - oldest[0]
            age = round(max(age, 0.0), 3)
        return {"depth": count, "bytes": total, "oldest_age_s": age, "dropped": dropped}

    def streams(self) -> dict[str, int]:
        with self._lock:
            return dict(self.conn.execute("SELECT stream, COUNT(*) FROM messages GROUP BY stream").fetchall())

    def waiting(self, seq: int) -> bool:
        """True while the message numbered *seq* is still here (not acknowledged, not dropped)."""
        with self._lock:
            return self.conn.execute("SELECT 1 FROM messages WHERE seq = ? LIMIT 1", (seq,)).fetchone() is not None
