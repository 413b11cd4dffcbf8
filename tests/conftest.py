"""Fixtures every test area shares: a real store file, config, keys, boards."""

from __future__ import annotations

import copy
import json
from importlib import resources

import pytest

from pishkhan.board_store import install_board
from pishkhan.config import parse_config
from pishkhan.signing import SigningKey
from pishkhan.store import Store
from pishkhan.trust import trust_key


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
