"""The store's threading design, measured: one shared connection or a reader per thread.

Two designs of one process's access to the SQLite file are compared on a
store with the real schema and a day's tickets:

- ``locked``: one connection shared by every thread behind one lock (each
  unit of work holds the lock from start to end);
- ``readers``: each read runs on a connection of its own (one per read in
  progress, from a small pool; a ``BEGIN`` … ``COMMIT`` read transaction,
  concurrent with other reads and with the writer, as WAL allows), and every
  write goes to one writer connection behind a lock, inside ``BEGIN IMMEDIATE``.

``Store`` (the row so named) is :class:`pishkhan.store.database.Store` as
built, for comparison with the design it implements. Printed per design:

- reads/s with 1, 2 and 4 threads reading (a wall-poll-like read: recent
  calls, waiting per lane, each counter's ticket);
- writes/s with 1, 2 and 4 threads writing (a ticket-like write: count,
  number, insert the ticket and its event; ``synchronous=FULL``);
- p50 / p95 / max milliseconds of a ticket-like write while N other threads
  read without pause (the kiosk issuing while the wall and the panel read);
- p50 / p95 of a poll-like read while another thread writes without pause.

    .venv/bin/python bench/store.py [--seconds 2] [--writes 200] [--dir /var/tmp]
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pishkhan.store.database import Store  # noqa: E402

DAY = "2026-11-28"
LANES = ("A", "B", "C")


def _connect(path, *, readonly=False):
    conn = sqlite3.connect(str(path), timeout=15, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA busy_timeout = 15000")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA foreign_keys = ON")
    if readonly:
        conn.execute("PRAGMA query_only = ON")
    return conn


class Locked:
    """Design 1: one connection, one lock around every unit of work."""

    name = "locked"

    def __init__(self, path):
        self.conn = _connect(path)
        self.lock = threading.RLock()

    def read(self, fn):
        with self.lock:
            self.conn.execute("BEGIN")
            try:
                return fn(self.conn)
            finally:
                self.conn.execute("COMMIT")

    def write(self, fn):
        with self.lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                result = fn(self.conn)
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")
            return result

    def close(self):
        self.conn.close()


class Readers:
    """Design 2: reads on connections of their own (one per read in progress, kept
    in a small pool), every write on one writer connection behind a lock."""

    name = "readers"

    def __init__(self, path):
        self.path = path
        self.writer = _connect(path)
        self.lock = threading.Lock()
        self.pool_lock = threading.Lock()
        self.idle = []
        self.opened = []

    def read(self, fn):
        with self.pool_lock:
            conn = self.idle.pop() if self.idle else None
        if conn is None:
            conn = _connect(self.path, readonly=True)
            self.opened.append(conn)
        try:
            conn.execute("BEGIN")
            try:
                return fn(conn)
            finally:
                conn.execute("COMMIT")
        finally:
            with self.pool_lock:
                self.idle.append(conn)

    def write(self, fn):
        with self.lock:
            self.writer.execute("BEGIN IMMEDIATE")
            try:
                result = fn(self.writer)
            except BaseException:
                self.writer.execute("ROLLBACK")
                raise
            self.writer.execute("COMMIT")
            return result

    def close(self):
        for conn in self.opened + [self.writer]:
            conn.close()


class Built:
    """The store as built (its own read/write)."""

    name = "Store"

    def __init__(self, path):
        self.store = Store(path)
        self.read = self.store.read
        self.write = self.store.write

    def close(self):
        self.store.close()


DESIGNS = (Locked, Readers)


def poll_read(c):
    """What the wall's poll and the panel read."""
    calls = c.execute("SELECT k.id, k.counter, k.at, k.recall, t.* FROM calls k JOIN tickets t ON t.id = k.ticket_id "
                      "WHERE t.day = ? ORDER BY k.id DESC LIMIT 7", (DAY,)).fetchall()
    waiting = c.execute("SELECT lane, COUNT(*) FROM tickets WHERE day = ? AND state = 'waiting' GROUP BY lane",
                        (DAY,)).fetchall()
    current = [c.execute("SELECT * FROM tickets WHERE counter = ? AND day = ? AND state IN ('called','serving') "
                         "ORDER BY called_at DESC, id DESC LIMIT 1", (n, DAY)).fetchone() for n in (1, 2, 3)]
    return len(calls), len(waiting), current


class Issuer:
    """Ticket-like writes with numbers no other issuer uses."""

    def __init__(self, lane):
        self.lane = lane

    def __call__(self, c):
        c.execute("SELECT lane, COUNT(*) FROM tickets WHERE day = ? AND state = 'waiting' GROUP BY lane",
                  (DAY,)).fetchall()
        last = c.execute("SELECT MAX(number) FROM tickets WHERE day = ? AND lane = ? AND origin_id IS NULL",
                         (DAY, self.lane)).fetchone()[0] or 0
        at = "2026-11-28T07:00:00.000000Z"
        cur = c.execute("INSERT INTO tickets(day, lane, number, label, service_code, service_title, state, "
                        "issued_at, arrived_at) VALUES (?,?,?,?,?,?,?,?,?)",
                        (DAY, self.lane, last + 1, f"{self.lane}{last + 1:03d}", "ID-01", "کارت ملی",
                         "waiting", at, at))
        c.execute("INSERT INTO ticket_events(ticket_id, at, event) VALUES (?,?,'waiting')", (cur.lastrowid, at))
        return cur.lastrowid


def prepare(path: Path):
    """The real schema (by the store's migrations) and 400 tickets of one day."""
    Store(path).close()
    c = _connect(path)
    at = "2026-11-28T06:00:00.000000Z"
    c.execute("BEGIN")
    for i in range(400):
        lane = LANES[i % 3]
        state = "done" if i < 340 else ("called" if i < 343 else "waiting")
        counter = (i % 3) + 1 if state != "waiting" else None
        cur = c.execute("INSERT INTO tickets(day, lane, number, label, service_code, service_title, state, "
                        "issued_at, arrived_at, counter, called_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                        (DAY, lane, 1000 + i, f"{lane}{i:03d}", "ID-01", "کارت ملی", state, at, at,
                         counter, at if counter else None))
        if counter:
            c.execute("INSERT INTO calls(ticket_id, counter, at) VALUES (?,?,?)", (cur.lastrowid, counter, at))
    c.execute("COMMIT")
    c.close()


def run_threads(count, target, seconds):
    """Start *count* threads running ``target(stop)``; return what each returned."""
    stop = threading.Event()
    results = [None] * count

    def body(i):
        results[i] = target(stop)

    threads = [threading.Thread(target=body, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join()
    return results


def throughput(design, kind, threads, seconds):
    lanes = iter(f"T{i}" for i in range(100))

    def reader(stop):
        n = 0
        while not stop.is_set():
            design.read(poll_read)
            n += 1
        return n

    def writer(stop):
        issue, n = Issuer(next(lanes)), 0
        while not stop.is_set():
            design.write(issue)
            n += 1
        return n

    counts = run_threads(threads, reader if kind == "read" else writer, seconds)
    return sum(counts) / seconds


def pct(samples, p):
    samples = sorted(samples)
    return samples[min(len(samples) - 1, int(round(p / 100 * (len(samples) - 1))))]


def write_latency(design, readers, writes):
    """Milliseconds per ticket-like write while *readers* threads read without pause."""
    stop = threading.Event()

    def reader():
        while not stop.is_set():
            design.read(poll_read)

    threads = [threading.Thread(target=reader) for _ in range(readers)]
    for t in threads:
        t.start()
    time.sleep(0.05)
    issue, samples = Issuer("W"), []
    for _ in range(writes):
        start = time.perf_counter()
        design.write(issue)
        samples.append((time.perf_counter() - start) * 1000)
        time.sleep(0.002)
    stop.set()
    for t in threads:
        t.join()
    return samples


def read_latency(design, reads):
    """Milliseconds per poll-like read while another thread writes without pause."""
    stop = threading.Event()

    def writer():
        issue = Issuer("R")
        while not stop.is_set():
            design.write(issue)

    t = threading.Thread(target=writer)
    t.start()
    time.sleep(0.05)
    samples = []
    for _ in range(reads):
        start = time.perf_counter()
        design.read(poll_read)
        samples.append((time.perf_counter() - start) * 1000)
        time.sleep(0.002)
    stop.set()
    t.join()
    return samples


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=2.0, help="length of each throughput run")
    ap.add_argument("--writes", type=int, default=200, help="samples of each latency run")
    ap.add_argument("--dir", help="folder for the store file (default: a temporary one; use the real disk)")
    args = ap.parse_args(argv)
    designs = DESIGNS + ((Built,) if hasattr(Store, "write") else ())
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        print(f"store file in {tmp}; {args.seconds:g} s per throughput run, {args.writes} samples per latency run")
        print(f"{'design':<11} {'reads/s 1':>10} {'2':>7} {'4':>7}   {'writes/s 1':>10} {'2':>6} {'4':>6}")
        for number, cls in enumerate(designs):
            path = Path(tmp) / f"{number}.db"
            prepare(path)
            design = cls(path)
            try:
                reads = [throughput(design, "read", n, args.seconds) for n in (1, 2, 4)]
                writes = [throughput(design, "write", n, args.seconds) for n in (1, 2, 4)]
            finally:
                design.close()
            print(f"{cls.name:<11} {reads[0]:>10.0f} {reads[1]:>7.0f} {reads[2]:>7.0f}   "
                  f"{writes[0]:>10.0f} {writes[1]:>6.0f} {writes[2]:>6.0f}")
        print()
        print(f"{'design':<11} {'write ms while N threads read: N':>34}   {'read ms while one writes':>24}")
        print(f"{'':<11} {'1: p50/p95/max':>18} {'2: p50/p95/max':>18}   {'p50/p95':>24}")
        for number, cls in enumerate(designs):
            path = Path(tmp) / f"{number}.db"
            design = cls(path)
            try:
                cells = []
                for readers in (1, 2):
                    w = write_latency(design, readers, args.writes)
                    cells.append(f"{statistics.median(w):.1f}/{pct(w, 95):.1f}/{max(w):.1f}")
                r = read_latency(design, args.writes)
            finally:
                design.close()
            print(f"{cls.name:<11} {cells[0]:>18} {cells[1]:>18}   "
                  f"{statistics.median(r):.2f}/{pct(r, 95):.2f}".rjust(24))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
