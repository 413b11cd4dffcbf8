"""One office's working day: which document decides it, and what it says.

:class:`OfficeCalendar` folds the installed schedules and holiday lists for
this office (national, its province, itself) into one :class:`Day` per date.
For a date *D*, each scope's document is the highest version whose
``effective_from`` is on or before *D*, so a future version waits for its
date and a newer one replaces the older from then on.

A date no schedule and no holiday list is in effect on keeps the
configuration's weekly hours, exactly as before any document arrived.
Otherwise the first rule that speaks decides:

1. an exception in a schedule — the office's, then the province's, then the
   national one (the most specific wins);
2. the province's holiday list;
3. the national holiday list;
4. the built-in calendar (the ``holidays`` package, :mod:`.defaults`), but
   only on dates no national holiday list in effect *covers*: inside its
   ``covers`` span the centre's list is the whole truth, so a lunar holiday
   the package estimated on the wrong day is not closed;
5. the weekly shifts of the most specific schedule in effect, else the
   configuration's weekly hours.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pishkhan.schedule.document import HolidayList, Schedule, Shift, SpecialDay
from pishkhan.text.jalali import TEHRAN

#: Kinds of :class:`Day`: the weekly rule, or a dated exception.
WEEKLY = "weekly"


@dataclass(frozen=True)
class Day:
    """What one date's hours are and which document said so.

    ``kind`` is ``weekly``, ``holiday``, ``closure`` or ``hours``; ``reason``
    is the Persian reason of an exception ("" for a weekly day); ``source``
    names the deciding document, e.g. ``schedule province:23 v3``,
    ``holidays national v1``, ``calendar`` (built-in) or ``config``.
    """

    date: dt.date
    shifts: tuple[Shift, ...]
    kind: str = WEEKLY
    reason: str = ""
    source: str = "config"

    @property
    def periods(self) -> list[tuple[dt.datetime, dt.datetime]]:
        return [(dt.datetime.combine(self.date, s.start, TEHRAN), dt.datetime.combine(self.date, s.end, TEHRAN))
                for s in self.shifts]

    @property
    def closed(self) -> bool:
        return not self.shifts

    def to_json(self) -> dict:
        return {"date": self.date.isoformat(), "kind": self.kind, "shifts": [s.label for s in self.shifts],
                "reason": self.reason, "source": self.source}


def _label(doc) -> str:
    return f"{doc.kind} {doc.scope.key} v{doc.version}"


def _in_effect(docs: list, day: dt.date):
    """The highest version among *docs* (one scope) already in effect on *day*."""
    best = None
    for doc in docs:
        if doc.effective_from <= day and (best is None or doc.version > best.version):
            best = doc
    return best


class OfficeCalendar:
    """The day-by-day hours of one office from its installed documents.

    :param schedules: installed schedules, any scopes (others than this office's are ignored).
    :param holiday_lists: installed holiday lists.
    :param province: this office's province code (None: province documents ignored).
    :param office: this office's id (None: office documents ignored).
    :param fallback_week: the configuration's hours, ``date.weekday()`` -> ``[(open, close), ...]``.
    :param defaults: the built-in calendar, an object with ``holiday(day) -> SpecialDay | None``; None for none.
    """

    def __init__(self, *, schedules: list[Schedule], holiday_lists: list[HolidayList], province: str | None,
                 office: str | None, fallback_week: dict[int, list[tuple[dt.time, dt.time]]], defaults=None):
        self.scopes = ["office:" + office] if office else []
        self.scopes += ["province:" + province] if province else []
        self.scopes.append("national")  # most specific first
        self.schedules = {k: [s for s in schedules if s.scope.key == k] for k in self.scopes}
        self.holiday_lists = {k: [h for h in holiday_lists if h.scope.key == k] for k in self.scopes}
        self.fallback_week = {d: tuple(Shift(s, e) for s, e in sorted(spans)) for d, spans in fallback_week.items()}
        self.defaults = defaults
        self._days: dict[dt.date, Day] = {}

    @property
    def empty(self) -> bool:
        """True when no document for this office is installed at all."""
        return not any(self.schedules.values()) and not any(self.holiday_lists.values())

    def schedules_on(self, day: dt.date) -> list[Schedule]:
        """The schedule in effect on *day* for each scope, most specific first."""
        return [s for s in (_in_effect(self.schedules[k], day) for k in self.scopes) if s is not None]

    def holiday_lists_on(self, day: dt.date) -> list[HolidayList]:
        """The holiday list in effect on *day* for each scope, most specific first."""
        return [h for h in (_in_effect(self.holiday_lists[k], day) for k in self.scopes) if h is not None]

    def day(self, day: dt.date) -> Day:
        """The hours of *day* (a Tehran date)."""
        found = self._days.get(day)
        if found is None:
            if len(self._days) > 1000:
                self._days.clear()
            found = self._days[day] = self._decide(day)
        return found

    def _decide(self, day: dt.date) -> Day:
        schedules = self.schedules_on(day)
        lists = self.holiday_lists_on(day)
        if not schedules and not lists:
            return Day(day, self.fallback_week.get(day.weekday(), ()))
        for schedule in schedules:
            special = schedule.special(day)
            if special:
                return self._special(day, special, _label(schedule))
        for holiday_list in lists:
            special = holiday_list.holiday(day)
            if special:
                return self._special(day, special, _label(holiday_list))
        national_covers = any(h.scope.key == "national" and h.covers(day) for h in lists)
        if self.defaults is not None and not national_covers:
            special = self.defaults.holiday(day)
            if special:
                return self._special(day, special, "calendar")
        if schedules:
            return Day(day, schedules[0].week.get(day.weekday(), ()), source=_label(schedules[0]))
        return Day(day, self.fallback_week.get(day.weekday(), ()))

    @staticmethod
    def _special(day: dt.date, special: SpecialDay, source: str) -> Day:
        return Day(day, special.shifts if special.kind == "hours" else (), special.kind, special.reason, source)
