"""Queue fixtures: a store on a real file with a controllable clock, the sample
board installed, and a queue whose counters are open."""

from __future__ import annotations

import pytest
from queue_helpers import Clock, make_store

from pishkhan.config import parse_config
from pishkhan.queue import Queue


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture(scope="session")
def signed_board(issuer_key, sample_doc_session):
    return issuer_key.sign(sample_doc_session)


@pytest.fixture
def qstore(config, clock, issuer_key, signed_board):
    with make_store(config.store_path, clock=clock, issuer_key=issuer_key, signed_board=signed_board) as st:
        yield st


@pytest.fixture
def make_config(tmp_path):
    """Build a configuration: always open, state under tmp_path, *sections* merged in."""
    def build(**sections):
        data = {"device": {"state_dir": str(tmp_path / "state")}, "hours": {"always_open": True}}
        for key, value in sections.items():
            if isinstance(value, dict) and key in data:
                data[key] = data[key] | value
            else:
                data[key] = value
        return parse_config(data)
    return build


@pytest.fixture
def queue(qstore, config):
    """The default lanes (A prefix, B 101-499, C prefix) with counters 1, 2, 3 open."""
    q = Queue(qstore, config)
    for n in (1, 2, 3):
        q.open_counter(n, actor="test")
    return q
