"""Durability: two processes issuing at once, and SIGKILL at random instants."""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import time

import pytest
from queue_helpers import LANE_A, LANE_B

from pishkhan.config import parse_config
from pishkhan.queue.core import Queue
from pishkhan.store.database import Store


def _config(state_dir):
    return parse_config({"device": {"state_dir": state_dir}, "hours": {"always_open": True}})


def _issue_many(state_dir, n, start, out):
    """Child: wait for the start signal, issue *n* tickets alternating lanes, send the labels."""
    cfg = _config(state_dir)
    with Store(cfg.store_path) as st:
        q = Queue(st, cfg)
        start.wait()
        out.send([(t.lane, t.number) for t in (q.issue(LANE_A if i % 2 else LANE_B) for i in range(n))])


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


def test_two_processes_issuing_at_once_never_collide(shared, store):
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Event()
    pipes, procs = [], []
    for _ in range(2):
        parent, child = ctx.Pipe(duplex=False)
        p = ctx.Process(target=_issue_many, args=(shared, 60, start, child))
        p.start()
        pipes.append(parent)
        procs.append(p)
    start.set()
    results = [pipe.recv() for pipe in pipes]
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    everything = results[0] + results[1]
    assert len(everything) == 120 and len(set(everything)) == 120
    for lane in "AB":
        numbers = sorted(n for l, n in everything if l == lane)
        first = 1 if lane == "A" else 101
        assert numbers == list(range(first, first + 60))  # no gap, no duplicate
    rows = store.query("SELECT lane, number FROM tickets")
    assert sorted(map(tuple, rows)) == sorted(everything)


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
        first = os.read(r, 64)
        time.sleep(rng.uniform(0, 0.03))
        os.kill(p.pid, signal.SIGKILL)
        p.join(10)
        data = first
        while chunk := os.read(r, 65536):
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
