"""The store's units of work, its threads, and the errors it gives for a locked or damaged file."""

from __future__ import annotations

import sqlite3
import threading
import time

import pytest
from queue_helpers import LANE_A, LANE_C
from store_faults import damage, write_lock_held

from pishkhan.boards.installed import board_signature, effective_for_config, set_unavailable
from pishkhan.boards.notices import active_notices, post_notice
from pishkhan.exc import PishkhanError, StoreCorrupt, StoreError, StoreLocked
from pishkhan.queue.core import Queue
from pishkhan.store.database import Store


def test_a_write_commits_what_fn_did_and_returns_its_result(tmp_path):
    with Store(tmp_path / "s.db") as st:
        rowid = st.write(lambda c: c.execute("INSERT INTO settings(key, value) VALUES ('a', '1')").lastrowid)
        assert rowid >= 1
        with Store(tmp_path / "s.db") as other:  # committed: another process sees it
            assert other.get_setting("a") == 1


def test_a_write_that_raises_leaves_nothing(tmp_path):
    with Store(tmp_path / "s.db") as st:
        def half(c):
            c.execute("INSERT INTO settings(key, value) VALUES ('a', '1')")
            st.audit("test", "inner")  # joins this write
            raise ValueError("stop here")

        with pytest.raises(ValueError, match="stop here"):
            st.write(half)
        assert st.get_setting("a") is None
        assert st.audit_entries() == []
        st.set_setting("b", 2)  # the store is usable after the rollback
        assert st.get_setting("b") == 2


def test_a_read_inside_a_write_sees_the_write_and_a_write_inside_a_read_is_refused(tmp_path):
    with Store(tmp_path / "s.db") as st:
        def write(c):
            c.execute("INSERT INTO settings(key, value) VALUES ('a', '5')")
            return st.get_setting("a")

        assert st.write(write) == 5
        with pytest.raises(StoreError, match="cannot start inside a read"):
            st.read(lambda c: st.set_setting("x", 1))
        assert st.get_setting("x") is None


def test_a_read_sees_one_snapshot(tmp_path):
    path = tmp_path / "s.db"
    with Store(path) as st, Store(path) as other:
        st.set_setting("n", 1)

        def twice(c):
            first = c.execute("SELECT value FROM settings WHERE key = 'n'").fetchone()[0]
            other.set_setting("n", 2)  # another process commits in between
            return first, c.execute("SELECT value FROM settings WHERE key = 'n'").fetchone()[0]

        assert st.read(twice) == ("1", "1")
        assert st.get_setting("n") == 2


def test_reads_do_not_wait_for_a_write_in_progress(tmp_path):
    with Store(tmp_path / "s.db") as st:
        st.set_setting("n", 1)
        inside, release = threading.Event(), threading.Event()

        def slow(c):
            c.execute("UPDATE settings SET value = '2' WHERE key = 'n'")
            inside.set()
            release.wait(10)

        writer = threading.Thread(target=st.write, args=(slow,))
        writer.start()
        try:
            assert inside.wait(10)
            start = time.monotonic()
            assert st.get_setting("n") == 1  # the committed value, at once
            assert time.monotonic() - start < 1.0
        finally:
            release.set()
            writer.join()
        assert st.get_setting("n") == 2


def test_connections_are_released(tmp_path):
    """Reads from many short threads (the kiosk prints on one per ticket) reuse a few connections."""
    with Store(tmp_path / "s.db") as st:
        for _ in range(30):
            t = threading.Thread(target=st.query, args=("SELECT COUNT(*) FROM settings",))
            t.start()
            t.join()
        assert len(st._idle) <= Store.idle_readers
    assert st.closed
    with pytest.raises(StoreError, match="closed"):
        st.query("SELECT 1")


def test_threads_issuing_and_reading_at_once_lose_nothing(queue, qstore):
    errors, issued = [], []

    def issue():
        try:
            for _ in range(15):
                issued.append(queue.issue(LANE_C))
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    def read(stop):
        try:
            while not stop.is_set():
                queue.status()
                queue.recent_calls()
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    stop = threading.Event()
    readers = [threading.Thread(target=read, args=(stop,)) for _ in range(2)]
    writers = [threading.Thread(target=issue) for _ in range(3)]
    for t in readers + writers:
        t.start()
    for t in writers:
        t.join()
    stop.set()
    for t in readers:
        t.join()
    assert errors == []
    assert sorted(t.number for t in issued) == list(range(1, 46))
    assert queue.waiting("C") == 45


def test_driver_errors_are_store_errors_not_sqlite_errors(tmp_path):
    with Store(tmp_path / "s.db") as st:
        with pytest.raises(StoreError, match=f"{tmp_path}.*no such table") as info:
            st.query("SELECT * FROM nowhere")
        assert not isinstance(info.value, sqlite3.Error)
        assert isinstance(info.value, PishkhanError)


# -- a locked store -----------------------------------------------------------------
def test_a_store_locked_by_another_program_says_so_from_every_write(qstore, config, clock):
    with Store(qstore.path, clock=clock, timeout=0.2) as st:
        q = Queue(st, config)
        q.open_counter(1, actor="test")
        with write_lock_held(st.path):
            writes = [lambda: st.set_setting("x", 1), lambda: st.audit("test", "x"),
                      lambda: st.record_state("kiosk", "accepting"), lambda: st.execute("DELETE FROM settings"),
                      lambda: st.write(lambda c: None), lambda: q.issue(LANE_A), lambda: q.call_next(1),
                      lambda: post_notice(st, "سلام"), lambda: set_unavailable(st, LANE_A, "قطع")]
            for write in writes:
                start = time.monotonic()
                with pytest.raises(StoreLocked, match=f"{st.path} is locked by another program: waited 0.2 s"):
                    write()
                assert time.monotonic() - start >= 0.15
            # reading goes on while another program writes (WAL)
            assert q.waiting() == 0 and active_notices(st) == [] and q.open_counters() == [1]
        assert q.issue(LANE_A).label == "A001"  # once the lock is gone, writing works again
        assert st.get_setting("x") is None


# -- a damaged store ----------------------------------------------------------------
def test_a_damaged_store_says_so_from_its_public_methods(qstore, config):
    q = Queue(qstore, config)
    q.open_counter(1, actor="test")
    q.issue(LANE_A)
    damage(qstore.path)
    calls = [lambda: qstore.get_setting("x"), lambda: qstore.set_setting("x", 1), lambda: qstore.audit_entries(),
             lambda: qstore.record_state("kiosk", "accepting"), lambda: qstore.last_state("kiosk"),
             lambda: q.waiting(), lambda: q.issue(LANE_A), lambda: q.recent_calls(), lambda: q.status(),
             lambda: active_notices(qstore), lambda: board_signature(qstore),
             lambda: effective_for_config(qstore, config)]
    for call in calls:
        with pytest.raises(StoreCorrupt, match=f"the store {qstore.path} is damaged"):
            call()
    with pytest.raises(StoreCorrupt, match="not a usable Pishkhan store"):
        Store(qstore.path)
