"""Jalali (Solar Hijri) dates in Asia/Tehran time, written in Persian."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import jdatetime

from pishkhan.text.persian import to_persian_digits

TEHRAN = ZoneInfo("Asia/Tehran")

#: Persian weekday names, indexed by Python's ``date.weekday()`` (Monday = 0).
WEEKDAYS = ["دوشنبه", "سه‌شنبه", "چهارشنبه", "پنج‌شنبه", "جمعه", "شنبه", "یکشنبه"]
WEEKDAYS_EN = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
MONTHS = ["فروردین", "اردیبهشت", "خرداد", "تیر", "مرداد", "شهریور",
          "مهر", "آبان", "آذر", "دی", "بهمن", "اسفند"]


def now() -> dt.datetime:
    """The current time, aware, in Asia/Tehran."""
    return dt.datetime.now(TEHRAN)


def to_tehran(moment: dt.datetime) -> dt.datetime:
    """*moment* seen in Asia/Tehran; a naive time is taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(TEHRAN)


def today(moment: dt.datetime | None = None) -> dt.date:
    """The Gregorian date in Tehran at *moment* (default: now)."""
    return to_tehran(moment or now()).date()


def to_jalali(day: dt.date) -> jdatetime.date:
    """The Jalali date for a Gregorian *day*."""
    return jdatetime.date.fromgregorian(date=day)


def weekday_name(day: dt.date) -> str:
    """Persian weekday name of *day*."""
    return WEEKDAYS[day.weekday()]


def month_name(day: dt.date) -> str:
    """Persian name of *day*'s Jalali month."""
    return MONTHS[to_jalali(day).month - 1]


def format_date(day: dt.date, *, weekday: bool = True) -> str:
    """E.g. «شنبه ۷ آذر ۱۴۰۵»."""
    j = to_jalali(day)
    text = f"{to_persian_digits(j.day)} {MONTHS[j.month - 1]} {to_persian_digits(j.year)}"
    return f"{weekday_name(day)} {text}" if weekday else text


def format_numeric(day: dt.date) -> str:
    """E.g. «۱۴۰۵/۰۹/۰۷»."""
    j = to_jalali(day)
    return to_persian_digits(f"{j.year:04d}/{j.month:02d}/{j.day:02d}")


def format_time(moment: dt.datetime | dt.time, *, seconds: bool = False) -> str:
    """E.g. «۰۸:۳۰» in Persian digits (a datetime is shown in Tehran time)."""
    if isinstance(moment, dt.datetime):
        moment = to_tehran(moment).time()
    pattern = "%H:%M:%S" if seconds else "%H:%M"
    return to_persian_digits(moment.strftime(pattern))


def parse_iso_date(text: str) -> dt.date:
    """Read a ``YYYY-MM-DD`` Gregorian date (any digits)."""
    from pishkhan.text.persian import to_latin_digits
    return dt.date.fromisoformat(to_latin_digits(text).strip())


def from_jalali(year: int, month: int, day: int) -> dt.date:
    """The Gregorian date of a Jalali date."""
    return jdatetime.date(year, month, day).togregorian()
