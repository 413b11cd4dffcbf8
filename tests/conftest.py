"""Fixtures every test area shares: a real store file, config, keys, boards."""

from __future__ import annotations

import copy
import json
import os
from importlib import resources

import pytest
from queue_helpers import Clock, make_store

from pishkhan.boards.installed import install_board
from pishkhan.config import parse_config
from pishkhan.queue.core import Queue
from pishkhan.boards.signing import SigningKey
from pishkhan.store.database import Store
from pishkhan.boards.trust import trust_key


def pytest_configure(config):
    """Under pytest-xdist (``make test`` runs two workers) each worker gets its own Xvfb, state and Kivy folder.

    Two workers' Kivy windows on one X screen would overlap, and a screenshot
    of one would show the other; two workers sharing ``PISHKHAN_STATE_DIR`` or
    ``KIVY_HOME`` would write the same files.
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker.startswith("gw"):
        return
    for name in ("PISHKHAN_STATE_DIR", "KIVY_HOME"):
        if os.environ.get(name):
            os.environ[name] = f"{os.environ[name].rstrip('/')}-{worker}"
    if os.environ.get("PISHKHAN_TEST_XVFB_PER_WORKER"):
        from cli.headless import VirtualDisplay

        screen = VirtualDisplay((1920, 1920), force=True, first=150 + 20 * int(worker[2:] or 0))
        screen.start()
        config.add_cleanup(screen.stop)


@pytest.fixture(scope="session")
def sample_doc_session() -> dict:
    return json.loads(resources.files("pishkhan.data").joinpath("sample_board.json").read_text(encoding="utf-8"))


@pytest.fixture
def sample_doc(sample_doc_session) -> dict:
    """The shipped sample board (unsigned), a fresh copy per test."""
    return copy.deepcopy(sample_doc_session)


@pytest.fixture(scope="session")
def issuer_key() -> SigningKey:
    return SigningKey.generate()


@pytest.fixture
def config(tmp_path):
    """Default configuration, office always open, state under tmp_path."""
    return parse_config({"device": {"state_dir": str(tmp_path / "state")},
                         "hours": {"always_open": True}})


@pytest.fixture
def store(config):
    """A real, empty store file."""
    with Store(config.store_path) as st:
        yield st


@pytest.fixture
def board_store(store, issuer_key, sample_doc):
    """A store that trusts *issuer_key* and has the sample board installed."""
    trust_key(store, issuer_key.public, label="test issuer", actor="test")
    install_board(store, issuer_key.sign(sample_doc), source="cli", actor="test")
    return store


# Queue fixtures (the queue's and the panel's tests): a store on a real file with a
# controllable clock, the sample board installed, and a queue whose counters are open.
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
