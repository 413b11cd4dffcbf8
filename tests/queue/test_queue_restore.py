"""Numbering never repeats a printed number, even after the store file is restored from an older copy."""

from __future__ import annotations

import json
import multiprocessing
import shutil
import sqlite3

import pytest
from queue_helpers import LANE_A, LANE_B, make_store

from pishkhan.config import parse_config
from pishkhan.exc import StoreCorrupt, StoreError
from pishkhan.hardware.printer import FakePrinter
from pishkhan.queue.core import Queue
from pishkhan.queue.issuing import issue_and_print
from pishkhan.queue.numbering import HighWaterMark, mark_path
from pishkhan.store.database import Store


def _copy(path, to):
    """A consistent copy of the store, as a backup tool would take it."""
    src, dst = sqlite3.connect(path), sqlite3.connect(to)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()


def _restore(path, copy):
    for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        leftover.unlink(missing_ok=True)
    shutil.copy(copy, path)


@pytest.fixture
def office(config, clock, issuer_key, signed_board):
    """Open the store on a controllable clock with counter 1 open; returns a function to reopen it."""
    opened = []

    def open_queue(cfg=config):
        st = Store(cfg.store_path, clock=clock)
        opened.append(st)
        q = Queue(st, cfg)
        for n in (1, 2, 3):
            q.open_counter(n, actor="test")
        return q

    with make_store(config.store_path, clock=clock, issuer_key=issuer_key, signed_board=signed_board):
        pass
    yield open_queue
    for st in opened:
        st.close()


def test_a_store_restored_from_an_older_copy_goes_on_after_the_last_printed_number(office, config, tmp_path):
    q = office()
    printer = FakePrinter()
    labels = [issue_and_print(q, printer, LANE_A, config=config).ticket.label for _ in range(2)]
    _copy(config.store_path, tmp_path / "after-A002.db")
    labels += [issue_and_print(q, printer, LANE_A, config=config).ticket.label for _ in range(3)]
    assert labels == ["A001", "A002", "A003", "A004", "A005"]
    q.store.close()
    _restore(config.store_path, tmp_path / "after-A002.db")
    q = office()
    assert [t.label for t in q.tickets()] == ["A001", "A002"]  # the copy forgot A003-A005
    assert q.issue(LANE_A).label == "A006"  # not A003: A003-A005 were printed
    assert q.issue(LANE_A).label == "A007"


def test_a_copy_taken_before_any_ticket_and_other_lanes(office, config, tmp_path):
    q = office()
    _copy(config.store_path, tmp_path / "empty.db")
    for _ in range(4):
        q.issue(LANE_A)
    q.issue(LANE_B)
    q.store.close()
    _restore(config.store_path, tmp_path / "empty.db")
    q = office()
    assert q.tickets() == []
    assert q.issue(LANE_B).label == "102"  # each lane keeps its own mark (B numbers in 101-499)
    assert q.issue(LANE_A).label == "A005"


def test_a_range_lane_goes_on_after_the_mark(office, config, tmp_path):
    q = office()
    assert q.issue(LANE_B).label == "101"
    _copy(config.store_path, tmp_path / "copy.db")
    assert [q.issue(LANE_B).label for _ in range(2)] == ["102", "103"]
    q.store.close()
    _restore(config.store_path, tmp_path / "copy.db")
    q = office()
    assert q.issue(LANE_B).label == "104"


def test_numbers_still_restart_on_the_next_day(office, config, clock, tmp_path):
    q = office()
    _copy(config.store_path, tmp_path / "copy.db")
    for _ in range(3):
        q.issue(LANE_A)
    q.store.close()
    _restore(config.store_path, tmp_path / "copy.db")
    clock.advance(24 * 60)
    q = office()
    assert q.issue(LANE_A).label == "A001"


def test_the_mark_is_written_before_the_ticket_is_returned(office, config):
    q = office()
    mark = HighWaterMark(mark_path(config.store_path))
    assert mark.path == config.state_dir / "pishkhan.numbering.hwm"
    for n in range(1, 4):
        t = q.issue(LANE_A)
        assert mark.last(t.day, "A") == t.number == n
    data = json.loads(mark.path.read_text())
    assert data == {"days": {t.day: {"A": 3}}}
    assert sorted(p.name for p in config.state_dir.iterdir() if "numbering" in p.name) == [
        "pishkhan.numbering.hwm", "pishkhan.numbering.hwm.lock"]  # no temporary left


def test_the_mark_keeps_only_recent_days(office, clock, config):
    q = office()
    for _ in range(10):
        q.issue(LANE_A)
        clock.advance(24 * 60)
    days = json.loads(mark_path(config.store_path).read_text())["days"]
    assert len(days) == 7 and all(lanes == {"A": 1} for lanes in days.values())


def test_a_missing_mark_falls_back_on_the_store(office, config):
    q = office()
    q.issue(LANE_A)
    q.issue(LANE_A)
    mark_path(config.store_path).unlink()
    assert q.issue(LANE_A).label == "A003"


@pytest.mark.parametrize("content", [b"", b"{not json", b'{"days": {"x": {"A": "five"}}}', b"\xff\xfe", b"[]"])
def test_a_damaged_mark_is_refused_and_nothing_is_issued(office, config, content):
    q = office()
    q.issue(LANE_A)
    mark_path(config.store_path).write_bytes(content)
    printer = FakePrinter()
    with pytest.raises(StoreCorrupt, match="numbering mark .*pishkhan.numbering.hwm is damaged"):
        issue_and_print(q, printer, LANE_A, config=config)
    assert printer.jobs == [] and [t.label for t in q.tickets()] == ["A001"]
    assert mark_path(config.store_path).read_bytes() == content  # left for a person to look at


def test_a_mark_that_fails_after_the_commit_cancels_the_ticket_unprinted(office, config, monkeypatch):
    q = office()
    q.issue(LANE_A)
    printer = FakePrinter()

    def fail(*a, **k):
        raise StoreError("cannot write the numbering mark: the disk is full")

    monkeypatch.setattr(q.mark, "raise_to", fail)
    with pytest.raises(StoreError, match="numbering mark"):
        issue_and_print(q, printer, LANE_A, config=config)
    monkeypatch.undo()
    assert printer.jobs == []
    assert [(t.label, t.state) for t in q.tickets()] == [("A001", "waiting"), ("A002", "cancelled")]
    assert q.issue(LANE_A).label == "A003"  # A002 is never handed out


def _issue_n(state_dir, n, start, out):
    cfg = parse_config({"device": {"state_dir": state_dir}, "hours": {"always_open": True}})
    with Store(cfg.store_path) as st:
        q = Queue(st, cfg)
        start.wait(30)
        out.put([q.issue(LANE_A).number for _ in range(n)])


def test_processes_issuing_at_once_leave_the_mark_at_the_highest_number(store, config, issuer_key, signed_board):
    from pishkhan.boards.installed import install_board
    from pishkhan.boards.trust import trust_key

    trust_key(store, issuer_key.public, label="t", actor="test")
    install_board(store, signed_board, source="cli", actor="test")
    Queue(store, config).open_counter(1, actor="test")
    ctx = multiprocessing.get_context("spawn")
    start, out = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_issue_n, args=(str(config.state_dir), 15, start, out)) for _ in range(3)]
    for p in procs:
        p.start()
    start.set()
    numbers = sorted(n for _ in procs for n in out.get(timeout=120))
    for p in procs:
        p.join(30)
    assert numbers == list(range(1, 46))
    day = Queue(store, config).tickets()[0].day
    assert HighWaterMark(mark_path(config.store_path)).last(day, "A") == 45


def test_the_mark_follows_the_store_file_name(tmp_path):
    assert mark_path(tmp_path / "pishkhan.db") == tmp_path / "pishkhan.numbering.hwm"
    assert mark_path(tmp_path / "other.db") == tmp_path / "other.numbering.hwm"
