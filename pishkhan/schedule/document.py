"""The working-hours schedule and the holiday list: schemas, validation, typed models.

Both arrive signed, in the envelope of :mod:`pishkhan.boards.signing`, and
are checked against the same trust list as boards.

A **schedule** (``"format": "pishkhan.schedule/1"``) is announced by the
provincial working group (or nationally, or for one office)::

    {"format": "pishkhan.schedule/1",
     "issuer": "کارگروه استانی دفاتر پیشخوان استان تهران",
     "scope": {"level": "province", "province": "23"},
     "version": 3,
     "effective_from": "2026-03-21",
     "week": {"saturday": ["07:30-14:30"], ..., "thursday": ["07:30-12:30"], "friday": []},
     "exceptions": [
       {"kind": "closure", "from": "2026-12-15", "to": "2026-12-16", "reason": "تعطیلی به دلیل آلودگی هوا"},
       {"kind": "hours", "date": "2027-03-14", "shifts": ["07:30-12:00", "16:00-19:00"],
        "reason": "افزایش ساعت کاری در روزهای پایانی سال"},
       {"kind": "holiday", "date": "2026-12-24", "reason": "سوگواری"}]}

Rules:

- ``week`` names all seven days (English names, as in the configuration);
  each holds up to four shifts ``"HH:MM-HH:MM"`` (two-digit hours and minutes,
  Latin digits), each ending after it starts, in order, not overlapping and
  not touching (touching shifts are one shift). ``[]`` is a closed day.
- ``exceptions`` (optional) are dated: ``kind`` is ``holiday`` (an official
  holiday), ``closure`` (the province closes offices: air pollution, heat,
  mourning) or ``hours`` (shortened or extended hours, with its ``shifts``).
  Each has ``date``, or ``from`` and ``to`` (inclusive, at most
  :data:`MAX_RANGE_DAYS` days), and a ``reason`` a person can read, shown to
  customers. Two exceptions may not cover the same day, and an exception
  ending before ``effective_from`` is refused (it could never apply).
- A **holiday list** (``"format": "pishkhan.holidays/1"``, national or
  province scope) is the official calendar the centre publishes separately::

      {"format": "pishkhan.holidays/1", "issuer": "...", "scope": {"level": "national"},
       "version": 1, "effective_from": "2026-03-21",
       "covers": {"from": "2026-03-21", "to": "2027-03-20"},
       "holidays": [{"date": "2026-03-21", "reason": "عید نوروز"}, ...]}

  ``covers`` is the span the list is complete for: inside it the national
  list replaces the built-in calendar (see :mod:`pishkhan.schedule.calendar`);
  every holiday lies inside it.
- Dates are Gregorian ``YYYY-MM-DD`` in Asia/Tehran, as for boards; a date
  that looks Jalali (year 1300-1500) is refused with that hint.
- ``version`` is a whole number from 1 to 2^31-1; a newer version of the
  same kind and scope replaces the older one from its ``effective_from``
  (at most 10,000 above it, like every signed document's).
- Unknown keys are errors at every level, so a misspelt key is never ignored.

:func:`parse_schedule`, :func:`parse_holidays` and :func:`parse_document`
report *all* problems at once, each with its exact path.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from pishkhan.boards.checker import Checker
from pishkhan.boards.document import Scope
from pishkhan.exc import ScheduleInvalid
from pishkhan.text.safety import describe

FORMAT = "pishkhan.schedule/1"
HOLIDAYS_FORMAT = "pishkhan.holidays/1"
#: The week in Iranian order, with each day's ``date.weekday()`` (Monday = 0).
WEEKDAYS = {"saturday": 5, "sunday": 6, "monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4}
KINDS = ("holiday", "closure", "hours")
MAX_SHIFTS = 4
MAX_RANGE_DAYS = 92
MAX_COVER_DAYS = 1100
MAX_REASON = 200
MAX_EXCEPTIONS = 500

_SHIFT = re.compile(r"^([0-9]{2}):([0-9]{2})-([0-9]{2}):([0-9]{2})$")
_SCHEDULE_KEYS = {"format", "issuer", "scope", "version", "effective_from", "week", "exceptions"}
_HOLIDAYS_KEYS = {"format", "issuer", "scope", "version", "effective_from", "covers", "holidays"}
_EXCEPTION_KEYS = {"kind", "date", "from", "to", "reason", "shifts"}
_HOLIDAY_KEYS = {"date", "from", "to", "reason"}


@dataclass(frozen=True)
class Shift:
    """One open period of a day, e.g. 07:30-14:30 (Tehran time)."""

    start: dt.time
    end: dt.time

    @property
    def label(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


@dataclass(frozen=True)
class SpecialDay:
    """A dated exception: a holiday, a closure or changed hours, from *first* to *last* inclusive."""

    kind: str
    first: dt.date
    last: dt.date
    reason: str
    shifts: tuple[Shift, ...] = ()

    def covers(self, day: dt.date) -> bool:
        return self.first <= day <= self.last

    def to_json(self) -> dict:
        data = {"kind": self.kind}
        if self.first == self.last:
            data["date"] = self.first.isoformat()
        else:
            data |= {"from": self.first.isoformat(), "to": self.last.isoformat()}
        data["reason"] = self.reason
        if self.kind == "hours":
            data["shifts"] = [s.label for s in self.shifts]
        return data


def _find(specials: tuple[SpecialDay, ...], day: dt.date) -> SpecialDay | None:
    return next((s for s in specials if s.covers(day)), None)


@dataclass(frozen=True)
class Schedule:
    """A validated working-hours schedule, as issued.

    :attr:`week` maps ``date.weekday()`` (Monday = 0) to that day's shifts.
    """

    issuer: str
    scope: Scope
    version: int
    effective_from: dt.date
    week: dict[int, tuple[Shift, ...]]
    exceptions: tuple[SpecialDay, ...] = ()
    raw: dict = field(default_factory=dict, compare=False, repr=False)

    kind = "schedule"

    def special(self, day: dt.date) -> SpecialDay | None:
        """The exception covering *day*, if any."""
        return _find(self.exceptions, day)


@dataclass(frozen=True)
class HolidayList:
    """A validated list of official holidays, complete from *covers_from* to *covers_to*."""

    issuer: str
    scope: Scope
    version: int
    effective_from: dt.date
    covers_from: dt.date
    covers_to: dt.date
    holidays: tuple[SpecialDay, ...]
    raw: dict = field(default_factory=dict, compare=False, repr=False)

    kind = "holidays"

    def covers(self, day: dt.date) -> bool:
        return self.covers_from <= day <= self.covers_to

    def holiday(self, day: dt.date) -> SpecialDay | None:
        return _find(self.holidays, day)


def reason_problem(text: str, *, limit: int = MAX_REASON) -> str | None:
    """Why *text* cannot be shown to customers as a reason, or None when it can.

    The same rules as every board text field (:mod:`pishkhan.text.safety`):
    no control, direction-changing or invisible characters, something
    visible, at most *limit* characters.
    """
    from pishkhan.text.safety import text_problems

    if not text.strip():
        return "must not be empty"
    if len(text) > limit:
        return f"must be at most {limit} characters, got {len(text)}"
    problems = text_problems(text, max_len=limit)
    return "; ".join(problems) if problems else None


class _Checker(Checker):
    """Schedules' and holiday lists' own fields on top of the shared :class:`~pishkhan.boards.checker.Checker`."""

    def only(self, obj: dict, allowed: set[str], path: str):
        for key in obj:
            if key not in allowed:
                where = f"{path}.{key}" if path else str(key)
                self.error(where, f"unknown key (expected one of {', '.join(sorted(allowed))})")

    def text(self, obj: dict, key: str, path: str, *, limit: int = MAX_REASON) -> str:
        where = f"{path}.{key}" if path else key
        if key not in obj:
            self.error(where, "is required")
            return ""
        value = obj[key]
        if not isinstance(value, str):
            self.error(where, f"must be a string, got {describe(value)}")
            return ""
        problem = reason_problem(value, limit=limit)
        if problem:
            self.error(where, problem)
        return value

    def span(self, obj: dict, path: str, *, limit: int) -> tuple[dt.date, dt.date] | None:
        """``date``, or ``from`` and ``to``: the first and last day, inclusive."""
        if "date" in obj:
            if "from" in obj or "to" in obj:
                self.error(path, "give either date, or from and to, not both")
                return None
            day = self.date(obj, "date", path)
            return (day, day) if day else None
        if "from" not in obj and "to" not in obj:
            self.error(path, "needs date, or from and to")
            return None
        first, last = self.date(obj, "from", path), self.date(obj, "to", path)
        if first is None or last is None:
            return None
        if last < first:
            self.error(f"{path}.to", f"must not be before from ({first.isoformat()}), got {describe(obj['to'])}")
            return None
        if (last - first).days + 1 > limit:
            self.error(path, f"covers {(last - first).days + 1} days; at most {limit} are allowed")
            return None
        return first, last

    def shifts(self, raw, path: str, *, allow_empty: bool) -> tuple[Shift, ...]:
        if not isinstance(raw, list):
            self.error(path, f"must be an array of \"HH:MM-HH:MM\" strings, got {describe(raw)}")
            return ()
        if not raw and not allow_empty:
            self.error(path, "must list at least one shift (use a closure for a closed day)")
        if len(raw) > MAX_SHIFTS:
            self.error(path, f"at most {MAX_SHIFTS} shifts a day, got {len(raw)}")
            return ()
        out: list[Shift] = []
        for i, item in enumerate(raw):
            where = f"{path}[{i}]"
            m = _SHIFT.fullmatch(item) if isinstance(item, str) else None
            if not m:
                self.error(where, f"must be \"HH:MM-HH:MM\" with Latin digits, e.g. \"07:30-14:30\", got {describe(item)}")
                continue
            h1, m1, h2, m2 = map(int, m.groups())
            try:
                shift = Shift(dt.time(h1, m1), dt.time(h2, m2))
            except ValueError:
                self.error(where, f"{describe(item)} is not a valid time of day (00:00-23:59)")
                continue
            if shift.end <= shift.start:
                self.error(where, f"{describe(item)}: the shift must end after it starts")
                continue
            if out and shift.start <= out[-1].end:
                self.error(where, f"{describe(item)} must start after the previous shift ends at "
                                  f"{out[-1].end:%H:%M} (shifts in order, not overlapping; write touching shifts as one)")
                continue
            out.append(shift)
        return tuple(out)

    def scope(self, data: dict, levels: tuple[str, ...]) -> Scope:
        raw = data.get("scope")
        if raw is None:
            self.error("scope", "is required")
            return Scope("national")
        if not isinstance(raw, dict):
            self.error("scope", f"must be an object, got {describe(raw)}")
            return Scope("national")
        level = raw.get("level")
        if level not in levels:
            self.error("scope.level", f"must be one of {', '.join(levels)}, got {describe(level)}")
            return Scope("national")
        if level == "province":
            self.only(raw, {"level", "province"}, "scope")
            return Scope(level, province=self.code(raw, "province"))
        if level == "office":
            self.only(raw, {"level", "office"}, "scope")
            return Scope(level, office=self.code(raw, "office"))
        self.only(raw, {"level"}, "scope")
        return Scope(level)

    def code(self, raw: dict, key: str) -> str:
        value = raw.get(key)
        if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,31}", value):
            self.error(f"scope.{key}", f"must be 1-32 ASCII letters, digits, '.', '_' or '-', got {describe(value)}")
            return ""
        return value

    def no_overlap(self, specials: list[tuple[SpecialDay, str]]):
        ordered = sorted(specials, key=lambda s: (s[0].first, s[0].last))
        for (a, path_a), (b, path_b) in zip(ordered, ordered[1:]):
            if b.first <= a.last:
                self.error(path_b, f"covers {b.first.isoformat()}, which {path_a} already covers "
                                   "(one entry per day; put both reasons in one entry)")


def _head(c: _Checker, data, fmt: str, allowed: set[str], what: str):
    if not isinstance(data, dict):
        raise ScheduleInvalid([f"(document): must be a JSON object, got {describe(data)}"], what=what)
    if data.get("format") != fmt:
        c.error("format", f"must be {describe(fmt)}, got {describe(data.get('format'))}")
    c.only(data, allowed, "")


def parse_schedule(data) -> Schedule:
    """Validate a schedule document (a dict) and return the typed :class:`Schedule`.

    Raises :exc:`~pishkhan.exc.ScheduleInvalid` listing every error as
    ``path: reason`` (e.g. ``week.sunday[1]: "12:00-13:00" must start after
    the previous shift ends at 14:30 ...``).
    """
    c = _Checker()
    _head(c, data, FORMAT, _SCHEDULE_KEYS, "schedule")
    issuer = c.text(data, "issuer", "")
    scope = c.scope(data, ("national", "province", "office"))
    version = c.version(data)
    effective = c.date(data, "effective_from", "")

    week: dict[int, tuple[Shift, ...]] = {}
    raw_week = data.get("week")
    if not isinstance(raw_week, dict):
        c.error("week", f"must be an object naming the seven days, got {describe(raw_week)}"
                if "week" in data else "is required")
    else:
        c.only(raw_week, set(WEEKDAYS), "week")
        for name, index in WEEKDAYS.items():
            if name not in raw_week:
                c.error(f"week.{name}", "is required (use [] for a closed day)")
                continue
            week[index] = c.shifts(raw_week[name], f"week.{name}", allow_empty=True)

    exceptions: list[tuple[SpecialDay, str]] = []
    raw_exc = data.get("exceptions", [])
    if not isinstance(raw_exc, list):
        c.error("exceptions", f"must be an array, got {describe(raw_exc)}")
    elif len(raw_exc) > MAX_EXCEPTIONS:
        c.error("exceptions", f"at most {MAX_EXCEPTIONS} exceptions, got {len(raw_exc)}")
    else:
        for i, raw in enumerate(raw_exc):
            special = _exception(c, raw, f"exceptions[{i}]", effective)
            if special:
                exceptions.append((special, f"exceptions[{i}]"))
        c.no_overlap(exceptions)

    if c.errors:
        raise ScheduleInvalid(c.result(), what="schedule")
    return Schedule(issuer, scope, version, effective, week,
                    tuple(sorted((s for s, _ in exceptions), key=lambda s: s.first)), raw=data)


def _exception(c: _Checker, raw, path: str, effective: dt.date | None) -> SpecialDay | None:
    if not isinstance(raw, dict):
        c.error(path, f"must be an object, got {describe(raw)}")
        return None
    c.only(raw, _EXCEPTION_KEYS, path)
    kind = raw.get("kind")
    if kind not in KINDS:
        c.error(f"{path}.kind", f"must be one of {', '.join(KINDS)}, got {describe(kind)}")
    span = c.span(raw, path, limit=MAX_RANGE_DAYS)
    reason = c.text(raw, "reason", path)
    shifts: tuple[Shift, ...] = ()
    if kind == "hours":
        if "shifts" not in raw:
            c.error(f"{path}.shifts", "is required for kind \"hours\"")
        else:
            shifts = c.shifts(raw["shifts"], f"{path}.shifts", allow_empty=False)
    elif "shifts" in raw and kind in KINDS:
        c.error(f"{path}.shifts", f"only kind \"hours\" has shifts; a {kind} closes the whole day")
    if span and effective and span[1] < effective:
        c.error(path, f"ends {span[1].isoformat()}, before effective_from {effective.isoformat()}: it would never apply")
    if kind not in KINDS or span is None:
        return None
    return SpecialDay(kind, span[0], span[1], reason, shifts)


def parse_holidays(data) -> HolidayList:
    """Validate a holiday-list document and return the typed :class:`HolidayList`.

    Raises :exc:`~pishkhan.exc.ScheduleInvalid` listing every error.
    """
    c = _Checker()
    _head(c, data, HOLIDAYS_FORMAT, _HOLIDAYS_KEYS, "holiday list")
    issuer = c.text(data, "issuer", "")
    scope = c.scope(data, ("national", "province"))
    version = c.version(data)
    effective = c.date(data, "effective_from", "")

    covers = None
    raw_cov = data.get("covers")
    if not isinstance(raw_cov, dict):
        c.error("covers", "is required: {\"from\": YYYY-MM-DD, \"to\": YYYY-MM-DD}, the span the list is complete for"
                if raw_cov is None else f"must be an object with from and to, got {describe(raw_cov)}")
    else:
        c.only(raw_cov, {"from", "to"}, "covers")
        if "from" not in raw_cov or "to" not in raw_cov:
            c.error("covers", "needs both from and to")
        else:
            covers = c.span(raw_cov, "covers", limit=MAX_COVER_DAYS)

    holidays: list[tuple[SpecialDay, str]] = []
    raw_list = data.get("holidays")
    if not isinstance(raw_list, list):
        c.error("holidays", f"must be an array, got {describe(raw_list)}" if "holidays" in data else "is required")
    elif len(raw_list) > MAX_EXCEPTIONS:
        c.error("holidays", f"at most {MAX_EXCEPTIONS} entries, got {len(raw_list)}")
    else:
        for i, raw in enumerate(raw_list):
            path = f"holidays[{i}]"
            if not isinstance(raw, dict):
                c.error(path, f"must be an object, got {describe(raw)}")
                continue
            c.only(raw, _HOLIDAY_KEYS, path)
            span = c.span(raw, path, limit=MAX_RANGE_DAYS)
            reason = c.text(raw, "reason", path)
            if span is None:
                continue
            if covers and not (covers[0] <= span[0] and span[1] <= covers[1]):
                c.error(path, f"{span[0].isoformat()} lies outside covers "
                              f"({covers[0].isoformat()} to {covers[1].isoformat()})")
            holidays.append((SpecialDay("holiday", span[0], span[1], reason), path))
        c.no_overlap(holidays)

    if c.errors:
        raise ScheduleInvalid(c.result(), what="holiday list")
    return HolidayList(issuer, scope, version, effective, covers[0], covers[1],
                       tuple(sorted((h for h, _ in holidays), key=lambda h: h.first)), raw=data)


def parse_document(data) -> Schedule | HolidayList:
    """A schedule or a holiday list, chosen by its ``format``."""
    if isinstance(data, dict) and data.get("format") == HOLIDAYS_FORMAT:
        return parse_holidays(data)
    if isinstance(data, dict) and data.get("format") != FORMAT:
        raise ScheduleInvalid([f"format: must be {describe(FORMAT)} or {describe(HOLIDAYS_FORMAT)}, "
                               f"got {describe(data.get('format'))}"], what="document")
    return parse_schedule(data)


def load_document_file(path) -> dict:
    """Read a schedule, holiday-list or signed JSON file, with clear errors."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScheduleInvalid([f"(file): {path} does not exist"], what="document") from None
    except UnicodeDecodeError as e:
        raise ScheduleInvalid([f"(file): {path} is not UTF-8 text ({e.reason} at byte {e.start})"],
                              what="document") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise ScheduleInvalid([f"(file): {path} is not valid JSON: {e.msg} at line {e.lineno} column {e.colno}"],
                              what="document") from None
