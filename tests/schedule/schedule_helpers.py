"""Helpers shared by the schedule tests (importable; fixtures are in conftest.py)."""

from __future__ import annotations

import copy
import datetime as dt

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
