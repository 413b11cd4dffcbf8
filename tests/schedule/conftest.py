"""Fixtures for the schedule tests: an office in province 23 with real hours, a store, keys."""

from __future__ import annotations

import json
from importlib import resources

import pytest
from queue_helpers import Clock
from schedule_helpers import tehran

from pishkhan.boards.signing import SigningKey
from pishkhan.boards.trust import trust_key
from pishkhan.config import parse_config
from pishkhan.schedule.installed import install_schedule
from pishkhan.store.database import Store


@pytest.fixture
def office_config(tmp_path):
    """Default configuration with the real weekly hours (not always open), office 23-1234 in province 23."""
    return parse_config({"device": {"state_dir": str(tmp_path / "state")}, "hours": {"always_open": False}})


@pytest.fixture
def clock():
    return Clock(tehran(2026, 12, 5, 10, 0))  # a Saturday


@pytest.fixture
def sstore(office_config, clock):
    with Store(office_config.store_path, clock=clock) as st:
        yield st


@pytest.fixture(scope="session")
def province_key() -> SigningKey:
    return SigningKey.generate()


@pytest.fixture
def trusted(sstore, province_key):
    """The store trusts *province_key* for any scope."""
    trust_key(sstore, province_key.public, label="test", actor="test")
    return province_key


@pytest.fixture
def install(sstore, trusted):
    """Sign *doc* with the trusted key and install it for office 23-1234 in province 23."""
    def do(doc, *, key=None, **kw):
        kw.setdefault("province", "23")
        kw.setdefault("office", "23-1234")
        return install_schedule(sstore, (key or trusted).sign(doc), source=kw.pop("source", "cli"), actor="test", **kw)
    return do


@pytest.fixture
def sample_schedule() -> dict:
    return json.loads(resources.files("pishkhan.data").joinpath("sample_schedule.json").read_text(encoding="utf-8"))
