"""The built-in holiday calendar: Iran's official holidays from the ``holidays`` package.

It serves until the centre has spoken: :mod:`.calendar` consults it only on
dates no installed national holiday list covers. Names are the package's
Persian ones (``fa_IR``); lunar holidays the package could only estimate
keep its «(تخمینی)» mark. The package is imported on first use (it costs
about 0.1 s), once per process, and each year is computed once.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading

from pishkhan.schedule.document import SpecialDay

log = logging.getLogger(__name__)


class PackageHolidays:
    """Iran's holidays as ``holidays.country_holidays("IR", language="fa_IR")`` gives them."""

    def __init__(self):
        self._years: dict[int, dict[dt.date, str]] = {}
        self._lock = threading.Lock()
        self.available = True

    def _year(self, year: int) -> dict[dt.date, str]:
        with self._lock:
            if year not in self._years:
                self._years[year] = self._load(year)
            return self._years[year]

    def _load(self, year: int) -> dict[dt.date, str]:
        if not self.available:
            return {}
        try:
            import holidays
        except ImportError:
            log.warning("the holidays package is not installed: no built-in holiday calendar")
            self.available = False
            return {}
        table = holidays.country_holidays("IR", years=year, language="fa_IR")
        return {day: "، ".join(part.strip() for part in name.replace("؛", ";").split(";"))
                for day, name in table.items()}

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


#: The one shared instance (the package's tables are worth computing once).
CALENDAR = PackageHolidays()
