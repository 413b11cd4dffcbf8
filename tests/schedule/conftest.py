"""Fixtures for the schedule tests: an office in province 23 with real hours, a store, keys."""

from __future__ import annotations

import copy
import datetime as dt
import json
from importlib import resources

import pytest
from queue_helpers import Clock

from pishkhan.boards.signing import SigningKey
from pishkhan.boards.trust import trust_key
from pishkhan.config import parse_config
from pishkhan.schedule.installed import install_schedule
from pishkhan.store.database import Store
from pishkhan.text.jalali import TEHRAN

WEEK = {"saturday": ["07:30-14:30"], "sunday": ["07:30-14:30"], "monday": ["07:30-14:30"],
        "tuesday": ["07:30-14:30"], "wednesday": ["07:30-14:30"], "thursday": ["07:30-12:30"], "friday": []}


def tehran(y, m, d, hh=0, mm=0) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, tzinfo=TEHRAN)


def schedule_doc(*, level="province", version=1, effective="2026-03-21", week=None, exceptions=(), **scope) -> dict:
    if level == "province":
        scope.setdefault("province", "23")
    return {"format": "pishkhan.schedule/1", "issuer": f"کارگروه {level}", "scope": {"level": level, **scope},
            "version": version, "effective_from": effective, "week": copy.deepcopy(week or WEEK),
            "exceptions": list(exceptions)}


def holidays_doc(*, level="national", version=1, effective="2026-03-21", covers=("2026-03-21", "2027-03-20"),
                 holidays=(), **scope) -> dict:
    if level == "province":
        scope.setdefault("province", "23")
    return {"format": "pishkhan.holidays/1", "issuer": "مرکز", "scope": {"level": level, **scope},
            "version": version, "effective_from": effective, "covers": {"from": covers[0], "to": covers[1]},
            "holidays": list(holidays)}


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
