"""The built-in calendar: Iran's holidays from the holidays package, computed out of process."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

from pishkhan.schedule.defaults import CALENDAR, PackageHolidays


def test_iran_holidays_in_persian():
    nowruz = CALENDAR.holiday(dt.date(2026, 3, 21))
    assert nowruz.kind == "holiday" and "نوروز" in nowruz.reason and "فطر" in nowruz.reason
    assert ";" not in nowruz.reason  # two holidays on one day read as a Persian list
    assert "عاشورا" in CALENDAR.holiday(dt.date(2026, 6, 25)).reason
    assert CALENDAR.holiday(dt.date(2026, 12, 22)) is None
    assert CALENDAR.holiday(dt.date(2027, 6, 15)).reason.endswith("(تخمینی)")  # a lunar date the package estimates
    days = [h.first for h in CALENDAR.between(dt.date(2026, 3, 20), dt.date(2026, 3, 24))]
    assert days == [dt.date(2026, 3, d) for d in (20, 21, 22, 23, 24)]


def test_the_package_never_loads_into_our_process():
    code = ("import sys, datetime as dt\n"
            "from pishkhan.schedule.defaults import CALENDAR\n"
            "assert CALENDAR.holiday(dt.date(2026, 12, 23)) is not None\n"
            "print('holidays' in sys.modules)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False"


def test_a_calendar_that_cannot_be_computed_gives_no_holidays_once(caplog):
    calls = []

    def broken(years):
        calls.append(years)
        raise RuntimeError("the holidays package could not compute: ModuleNotFoundError")

    cal = PackageHolidays(compute=broken)
    assert cal.holiday(dt.date(2026, 3, 21)) is None
    assert cal.holiday(dt.date(2026, 6, 25)) is None
    assert cal.holiday(dt.date(2027, 1, 1)) is None  # 2025-2027 were asked for together
    assert calls == [[2025, 2026, 2027]]
    assert "no built-in holiday calendar for [2025, 2026, 2027]" in caplog.text
