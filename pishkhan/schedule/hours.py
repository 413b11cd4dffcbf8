"""When the office is open: the small interface the queue, kiosk and display use.

:class:`Hours` answers "open now?", "closes when?" and "opens next when?".
:class:`WeeklyHours` reads the weekly hours from the configuration;
:class:`AlwaysOpen` is for demos and tests. :class:`ScheduleHours` answers
from the signed schedules and holiday lists installed in the store (see
:mod:`pishkhan.schedule.calendar` for which document decides a day) and
reads them again whenever one is installed, so a process built before an
install sees the new hours without a restart; until anything is installed
it answers exactly as the configuration's :class:`WeeklyHours`.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import sqlite3
import threading

from pishkhan.text import jalali
from pishkhan.exc import ConfigError, PishkhanError
from pishkhan.schedule import strings as S
from pishkhan.schedule.calendar import Day
from pishkhan.schedule.defaults import CALENDAR
from pishkhan.schedule.document import Shift
from pishkhan.schedule.installed import generation, office_calendar
from pishkhan.text.jalali import TEHRAN
from pishkhan.text.persian import to_latin_digits, to_persian_digits

log = logging.getLogger(__name__)

DAY_KEYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
Period = tuple[dt.datetime, dt.datetime]


class Hours:
    """Base: subclasses give :meth:`periods` for a day; the rest follows."""

    def periods(self, day: dt.date) -> list[Period]:
        """Open periods on *day* (Tehran date) as aware datetimes, in order."""
        raise NotImplementedError

    def current_period(self, at: dt.datetime) -> Period | None:
        at = jalali.to_tehran(at)
        for start, end in self.periods(at.date()):
            if start <= at < end:
                return start, end
        return None

    def is_open(self, at: dt.datetime) -> bool:
        return self.current_period(at) is not None

    def closes_at(self, at: dt.datetime) -> dt.datetime | None:
        """End of the open period *at* falls in, or None when closed."""
        period = self.current_period(at)
        return period[1] if period else None

    def next_open(self, at: dt.datetime, *, days: int = 31) -> dt.datetime | None:
        """Start of the next open period after *at* (None if none within *days*)."""
        at = jalali.to_tehran(at)
        for offset in range(days + 1):
            for start, _ in self.periods(at.date() + dt.timedelta(days=offset)):
                if start > at:
                    return start
        return None

    def describe_day(self, day: dt.date, lang: str = "fa") -> str:
        """E.g. «۰۷:۳۰ تا ۱۴:۳۰», or «تعطیل» when closed all day; ``lang="en"``: 07:30-14:30, Closed."""
        periods = self.periods(day)
        if lang == "en":
            return ", ".join(f"{s:%H:%M}-{e:%H:%M}" for s, e in periods) or S.CLOSED_EN
        if not periods:
            return S.CLOSED
        return "، ".join(f"{jalali.format_time(s)} تا {jalali.format_time(e)}" for s, e in periods)

    def describe_next_open(self, at: dt.datetime, lang: str = "fa") -> str:
        """E.g. «شنبه ۷ آذر، ساعت ۰۷:۳۰» for the closed screen; ``lang="en"``: Saturday 28 November, 07:30."""
        start = self.next_open(at)
        if start is None:
            return "not announced" if lang == "en" else "اعلام نشده"
        if lang == "en":
            return f"{start:%A %d %B, %H:%M}"
        day = start.date()
        j = jalali.to_jalali(day)
        return (f"{jalali.weekday_name(day)} {to_persian_digits(j.day)} {jalali.MONTHS[j.month - 1]}، "
                f"ساعت {jalali.format_time(start)}")


class AlwaysOpen(Hours):
    """Open at every minute (demos and tests)."""

    def periods(self, day):
        start = dt.datetime.combine(day, dt.time(0, 0), TEHRAN)
        return [(start, start + dt.timedelta(days=1))]

    def describe_day(self, day, lang="fa"):
        return "open all day" if lang == "en" else "شبانه‌روزی"


_SPAN = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


def parse_span(text: str) -> tuple[dt.time, dt.time]:
    """Read ``"07:30-14:30"`` (any digits)."""
    m = _SPAN.match(to_latin_digits(text))
    if not m:
        raise ConfigError(f"hours must look like \"07:30-14:30\", got {text!r}")
    h1, m1, h2, m2 = map(int, m.groups())
    try:
        start, end = dt.time(h1, m1), dt.time(h2, m2)
    except ValueError:
        raise ConfigError(f"hours {text!r}: not a valid time of day") from None
    if end <= start:
        raise ConfigError(f"hours {text!r}: closing must be after opening")
    return start, end


class WeeklyHours(Hours):
    """The same hours every week, per weekday.

    :param week: maps ``date.weekday()`` (Monday = 0) to ``(open, close)`` times.
    """

    def __init__(self, week: dict[int, list[tuple[dt.time, dt.time]]]):
        self.week = {d: sorted(spans) for d, spans in week.items()}

    def periods(self, day):
        return [(dt.datetime.combine(day, s, TEHRAN), dt.datetime.combine(day, e, TEHRAN))
                for s, e in self.week.get(day.weekday(), [])]


class ScheduleHours(Hours):
    """The hours the installed schedules and holiday lists give this office.

    :param store: the device store; read again whenever a schedule or holiday
        list is installed (by this process or another).
    :param province: this office's province code.
    :param office: this office's id.
    :param fallback: the configuration's :class:`WeeklyHours`, for days no
        document speaks for.
    :param defaults: the built-in holiday calendar; default
        :data:`pishkhan.schedule.defaults.CALENDAR`.

    When the store cannot be read, it keeps answering from what it read last.
    """

    def __init__(self, store, *, province: str | None, office: str | None, fallback: WeeklyHours, defaults=None):
        self.store = store
        self.province = province
        self.office = office
        self.fallback = fallback
        self.defaults = CALENDAR if defaults is None else defaults
        self._generation = None
        self._calendar = None
        self._failing = False
        self._lock = threading.Lock()

    def calendar(self):
        """The current :class:`~pishkhan.schedule.calendar.OfficeCalendar`, or None when nothing is installed."""
        with self._lock:
            try:
                gen = generation(self.store)
                if gen != self._generation:
                    cal = office_calendar(self.store, province=self.province, office=self.office,
                                          fallback_week=self.fallback.week, defaults=self.defaults)
                    self._calendar = None if cal.empty else cal
                    self._generation = gen
                self._failing = False
            except (PishkhanError, sqlite3.Error, ValueError, KeyError):
                if not self._failing:  # once per outage, not at every question
                    log.exception("cannot read the installed schedules; keeping the hours read before")
                self._failing = True
            return self._calendar

    def day(self, day: dt.date):
        """The :class:`~pishkhan.schedule.calendar.Day` for *day*: shifts, kind, reason and source."""
        cal = self.calendar()
        if cal is None:
            return Day(day, tuple(Shift(s, e) for s, e in self.fallback.week.get(day.weekday(), [])))
        return cal.day(day)

    def periods(self, day):
        cal = self.calendar()
        return self.fallback.periods(day) if cal is None else cal.day(day).periods

    def describe_day(self, day, lang="fa"):
        """As :meth:`Hours.describe_day`, with the reason of a holiday, closure or changed hours."""
        info = self.day(day)
        plain = super().describe_day(day, lang)
        if info.kind not in S.KIND_EN:
            return plain
        if lang == "en":
            return S.KIND_EN[info.kind].format(hours=plain)
        if info.kind == "hours":
            return S.HOURS_BECAUSE.format(hours=plain, reason=info.reason)
        return S.CLOSED_BECAUSE.format(reason=info.reason)


def weekly_from_config(config) -> WeeklyHours:
    """The ``[hours]`` section's weekly hours (ignoring ``always_open``)."""
    week = config.hours
    days = (week.monday, week.tuesday, week.wednesday, week.thursday, week.friday, week.saturday, week.sunday)
    return WeeklyHours({index: [parse_span(span) for span in spans] for index, spans in enumerate(days)})


def hours_from_config(config, *, store=None) -> Hours:
    """The office's :class:`Hours`: the installed schedule, else the ``[hours]`` section.

    With *store*, a :class:`ScheduleHours` that answers from the config's weekly
    hours until a schedule or holiday list is installed, and from those once one
    is (no restart needed). ``hours.always_open`` wins over everything (demos, tests).
    """
    if config.hours.always_open:
        return AlwaysOpen()
    weekly = weekly_from_config(config)
    if store is None:
        return weekly
    return ScheduleHours(store, province=config.office.province, office=config.office.office_id,
                         fallback=weekly)
