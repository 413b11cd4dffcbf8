"""The built-in holiday calendar: Iran's official holidays from the ``holidays`` package.

It serves until the centre has spoken: :mod:`.calendar` consults it only on
dates no installed national holiday list covers. Names are the package's
Persian ones (``fa_IR``); lunar holidays the package could only estimate
keep its «(تخمینی)» mark.

Importing ``holidays`` costs resident memory for good (it loads every
country; docs/performance.md), more than the kiosk, the display or the agent should
carry for a few dozen dates. So the tables are computed in a short-lived
child process (``python -I -c ...``), a few years at a time, and only the
dates come back. A year that cannot be computed (package missing, child
failed) has no built-in holidays, is logged once, and is not retried.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import subprocess
import sys
import threading

from pishkhan.schedule.document import SpecialDay

log = logging.getLogger(__name__)

_CHILD = """\
import json, sys
import holidays
years = [int(a) for a in sys.argv[1:]]
table = holidays.country_holidays("IR", years=years, language="fa_IR")
json.dump({day.isoformat(): name for day, name in table.items()}, sys.stdout, ensure_ascii=False)
"""


def _tidy(name: str) -> str:
    """The package joins two holidays on one day with ";": show them as a Persian list."""
    return "، ".join(part.strip() for part in name.replace("؛", ";").split(";") if part.strip())


def compute_years(years: list[int], *, timeout: float = 60.0) -> dict[int, dict[dt.date, str]]:
    """Iran's holidays of *years* from the ``holidays`` package, computed in a child process."""
    proc = subprocess.run([sys.executable, "-I", "-c", _CHILD, *map(str, years)], capture_output=True,
                          text=True, encoding="utf-8", timeout=timeout)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"the holidays package could not compute {years}: {last}")
    out: dict[int, dict[dt.date, str]] = {y: {} for y in years}
    for day, name in json.loads(proc.stdout).items():
        date = dt.date.fromisoformat(day)
        out.setdefault(date.year, {})[date] = _tidy(name)
    return out


class PackageHolidays:
    """Iran's holidays as ``holidays.country_holidays("IR", language="fa_IR")`` gives them.

    :param compute: ``years -> {year: {date: name}}``; default :func:`compute_years`.
    """

    def __init__(self, compute=compute_years):
        self.compute = compute
        self._years: dict[int, dict[dt.date, str]] = {}
        self._lock = threading.Lock()

    def _year(self, year: int) -> dict[dt.date, str]:
        with self._lock:
            if year not in self._years:
                wanted = [y for y in (year - 1, year, year + 1) if y not in self._years]
                try:
                    self._years.update(self.compute(wanted))
                except (OSError, RuntimeError, ValueError, subprocess.TimeoutExpired) as e:
                    log.warning("no built-in holiday calendar for %s: %s", wanted, e)
                for y in wanted:
                    self._years.setdefault(y, {})
            return self._years[year]

    def holiday(self, day: dt.date) -> SpecialDay | None:
        name = self._year(day.year).get(day)
        return SpecialDay("holiday", day, day, name) if name else None

    def between(self, first: dt.date, last: dt.date) -> list[SpecialDay]:
        """Every holiday from *first* to *last* inclusive, in order."""
        out = []
        for year in range(first.year, last.year + 1):
            for day, name in sorted(self._year(year).items()):
                if first <= day <= last:
                    out.append(SpecialDay("holiday", day, day, name))
        return out


#: The one shared instance per process.
CALENDAR = PackageHolidays()
