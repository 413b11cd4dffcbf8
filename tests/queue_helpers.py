"""Helpers shared by the queue tests (importable; fixtures are in conftest.py)."""

from __future__ import annotations

import datetime as dt

from pishkhan.boards.installed import install_board
from pishkhan.store.database import Store
from pishkhan.boards.trust import trust_key

#: Saturday 28 November 2026, 10:30 in Tehran (07:00 UTC).
START = dt.datetime(2026, 11, 28, 7, 0, tzinfo=dt.timezone.utc)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, at: dt.datetime = START):
        self.at = at

    def __call__(self) -> dt.datetime:
        return self.at

    def advance(self, minutes: float = 0, *, seconds: float = 0):
        self.at += dt.timedelta(minutes=minutes, seconds=seconds)

    def set(self, at: dt.datetime):
        self.at = at


def make_store(path, *, clock, issuer_key, signed_board) -> Store:
    """A store file with the issuer trusted and the sample board installed."""
    st = Store(path, clock=clock)
    trust_key(st, issuer_key.public, label="test issuer", actor="test")
    install_board(st, signed_board, source="cli", actor="test")
    return st


#: Services of the sample board, by the lane the default configuration gives them.
LANE_A = "ID-01"      # id-card
LANE_B = "VEH-01"     # vehicle
LANE_C = "POST-01"    # post
