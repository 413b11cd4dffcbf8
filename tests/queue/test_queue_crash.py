"""Durability: several processes issuing at once, and SIGKILL at random instants."""

from __future__ import annotations

import multiprocessing
import os
import random
import select
import signal
import time

import pytest
from queue_helpers import LANE_A, LANE_B

from pishkhan.config import parse_config
from pishkhan.queue.core import Queue
from pishkhan.store.database import Store


#: Processes issuing at once, and tickets each.
WRITERS, PER_WRITER = 4, 20
#: How long a writer inside the issuing transaction waits for the others to join it.
RENDEZVOUS_SECONDS = 3.0


def _config(state_dir):
    return parse_config({"device": {"state_dir": state_dir}, "hours": {"always_open": True}})


def _issue_many(state_dir, n, start, inside, out):
    """Child: wait at *start* with the others, issue *n* tickets alternating lanes, send the labels.

    The first ticket also waits at *inside* once its number is read and before
    it is written (the ``INSERT``, seen through SQLite's trace hook): if two
    processes could ever be inside the issuing transaction together, they all
    meet there and write at once. With ``BEGIN IMMEDIATE`` the others wait for
    the lock outside, the rendezvous times out, and each reports it met nobody.
    """
    import threading

    try:
        cfg = _config(state_dir)
        with Store(cfg.store_path) as st:
            q = Queue(st, cfg)
            met = []

            def trace(sql):
                if not met and sql.startswith("INSERT INTO tickets("):
                    try:
                        inside.wait(timeout=RENDEZVOUS_SECONDS)
                        met.append(True)
                    except threading.BrokenBarrierError:
                        met.append(False)

            st._writer.set_trace_callback(trace)  # the store's one writer connection: a probe, tests only
            start.wait(timeout=60)
            got = [(t.lane, t.number) for t in (q.issue(LANE_A if i % 2 else LANE_B) for i in range(n))]
            out.send(("ok", got, met[0]))
    except BaseException as e:  # reported, not lost: the parent says which process failed and how
        out.send(("error", f"{type(e).__name__}: {e}", None))
    finally:
        out.close()


def _issue_forever(state_dir, fd):
    """Child: issue tickets until killed; report each one after issue() returns."""
    cfg = _config(state_dir)
    with Store(cfg.store_path) as st:
        q = Queue(st, cfg)
        while True:
            t = q.issue(LANE_A)
            os.write(fd, f"{t.id} {t.lane} {t.number}\n".encode())


@pytest.fixture
def shared(store, config, issuer_key, signed_board):
    """A store file on the real clock with the board installed and counter 1 open."""
    from pishkhan.boards.installed import install_board
    from pishkhan.boards.trust import trust_key

    trust_key(store, issuer_key.public, label="t", actor="test")
    install_board(store, signed_board, source="cli", actor="test")
    Queue(store, config).open_counter(1, actor="test")
    Queue(store, config).open_counter(2, actor="test")
    return str(config.state_dir)


def _finish(procs):
    for p in procs:
        p.join(30)
        if p.exitcode is None:
            p.kill()
            p.join(5)


def test_processes_issuing_at_once_never_collide(shared, store):
    ctx = multiprocessing.get_context("spawn")
    start, inside = ctx.Barrier(WRITERS), ctx.Barrier(WRITERS)
    pipes, procs = [], []
    try:
        for _ in range(WRITERS):
            parent, child = ctx.Pipe(duplex=False)
            p = ctx.Process(target=_issue_many, args=(shared, PER_WRITER, start, inside, child))
            p.start()
            child.close()  # only the child holds its end: a child that dies gives EOF, not a hang
            pipes.append(parent)
            procs.append(p)
        results = []
        for i, pipe in enumerate(pipes):
            assert pipe.poll(120), f"writer {i} sent nothing within 120 s"
            results.append(pipe.recv())
    finally:
        _finish(procs)
    errors = [detail for state, detail, _ in results if state != "ok"]
    assert errors == [], errors
    assert [p.exitcode for p in procs] == [0] * WRITERS
    # Nobody was ever inside the issuing transaction together with another.
    assert [met for _, _, met in results] == [False] * WRITERS
    everything = [t for _, got, _ in results for t in got]
    assert len(everything) == WRITERS * PER_WRITER and len(set(everything)) == len(everything)
    for lane in "AB":
        numbers = sorted(n for l, n in everything if l == lane)
        first = 1 if lane == "A" else 101
        assert numbers == list(range(first, first + WRITERS * PER_WRITER // 2))  # no gap, no duplicate
    rows = store.query("SELECT lane, number FROM tickets")
    assert sorted(map(tuple, rows)) == sorted(everything)


def _read(fd, timeout: float = 30.0) -> bytes:
    """os.read that gives up after *timeout* seconds instead of blocking for ever."""
    ready, _, _ = select.select([fd], [], [], timeout)
    if not ready:
        raise AssertionError(f"the issuing child wrote nothing within {timeout} s")
    return os.read(fd, 65536)


def test_sigkill_mid_issue_loses_nothing_reported_and_duplicates_nothing(shared, store):
    ctx = multiprocessing.get_context("fork")
    rng = random.Random(7)
    reported = {}
    for _ in range(12):
        r, w = os.pipe()
        p = ctx.Process(target=_issue_forever, args=(shared, w))
        p.start()
        os.close(w)
        # let it start issuing, then kill it at a random instant
        first = _read(r)
        time.sleep(rng.uniform(0, 0.03))
        os.kill(p.pid, signal.SIGKILL)
        p.join(10)
        assert p.exitcode == -signal.SIGKILL, p.exitcode
        data = first
        while chunk := _read(r):
            data += chunk
        os.close(r)
        for line in data.decode().splitlines():
            if line.count(" ") == 2:  # a half-written last line was never "reported"
                tid, lane, number = line.split()
                reported[int(tid)] = (lane, int(number))
    assert len(reported) > 12
    rows = {r["id"]: (r["lane"], r["number"]) for r in store.query("SELECT id, lane, number FROM tickets")}
    lost = {tid for tid in reported if rows.get(tid) != reported[tid]}
    assert lost == set()
    numbers = sorted(n for lane, n in rows.values())
    assert len(numbers) == len(set(numbers))               # no duplicate
    assert numbers == list(range(1, len(numbers) + 1))     # no gap either
    assert store.query_one("PRAGMA integrity_check")[0] == "ok"
