"""What every signed document's parser uses to collect its errors: one :class:`Checker`.

A parser walks its document once and reports *all* problems, each as
``path: problem``, at most :data:`MAX_ERRORS` listed (the rest counted).
Boards (:mod:`pishkhan.boards.document`) and schedules and holiday lists
(:mod:`pishkhan.schedule.document`) add their own fields' checks on top.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re

from pishkhan.text.safety import describe, quoted, terminal_safe

#: Errors listed in one refusal; the rest are counted.
MAX_ERRORS = 100
#: Versions a signed document (a board, a schedule, a holiday or trust list) may carry.
MAX_VERSION = 2 ** 31 - 1
#: How far above the installed version of its scope a new signed document may go, so that a
#: mistyped version cannot leave no room for later ones (the first of a scope counts from 0).
MAX_VERSION_STEP = 10_000
CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,31}", re.ASCII)  # used with fullmatch
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class Checker:
    """Collects errors while walking a document (at most :data:`MAX_ERRORS` listed)."""

    def __init__(self):
        self.errors: list[str] = []
        self.unlisted = 0

    def error(self, path: str, message: str):
        self.extend([f"{path}: {message}"])

    def extend(self, messages: list[str]):
        """Add messages already written as ``path: problem``."""
        for message in messages:
            if len(self.errors) < MAX_ERRORS:
                self.errors.append(message)
            else:
                self.unlisted += 1

    def result(self) -> list[str]:
        more = [f"(document): {self.unlisted:,} more error(s) not listed"] if self.unlisted else []
        return self.errors + more

    def keys(self, obj: dict, known, path: str, *, elsewhere=()):
        """Refuse keys of *obj* not in *known*, naming the closest known one."""
        for key in obj:
            if key in known:
                continue
            name = key if isinstance(key, str) else str(key)
            short = terminal_safe(name[:40], newlines=False) + ("…" if len(name) > 40 else "")
            where = f"{path}.{short}" if path else short
            if key in elsewhere:
                self.error(where, f"is not used {elsewhere[key]}")
                continue
            close = difflib.get_close_matches(name[:64], known, n=1, cutoff=0.6)
            hint = f"; did you mean {quoted(close[0])}?" if close else f"; known keys: {', '.join(known)}"
            self.error(where, f"unknown key {describe(key) if isinstance(key, str) else repr(key)}{hint}")

    def integer(self, obj: dict, key: str, path: str, *, low: int, high: int, what: str, unit: str = "") -> int:
        where = f"{path}.{key}" if path else key
        if key not in obj:
            self.error(where, "is required")
            return 0
        value = obj[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            self.error(where, f"must be {what}, got {describe(value)}")
            return 0
        if value > high:
            self.error(where, f"must be at most {high:,}{unit}, got {describe(value)}")
            return 0
        return value

    def version(self, data: dict) -> int:
        """The document's ``version``: a whole number from 1 to :data:`MAX_VERSION`."""
        return self.integer(data, "version", "", low=1, high=MAX_VERSION, what="a positive integer")

    def date(self, obj: dict, key: str, path: str) -> dt.date | None:
        """A Gregorian ``YYYY-MM-DD`` date from 2000 to 2199 (a Jalali-looking year is named as such)."""
        where = f"{path}.{key}" if path else key
        raw = obj.get(key)
        if not isinstance(raw, str) or not _DATE.fullmatch(raw):
            self.error(where, f"must be a date as YYYY-MM-DD, got {describe(raw)}")
            return None
        try:
            value = dt.date.fromisoformat(raw)
        except ValueError:
            self.error(where, f"must be a date as YYYY-MM-DD, got {describe(raw)}")
            return None
        if not 2000 <= value.year <= 2199:
            self.error(where, f"must be a Gregorian date (2000-2199), got {describe(raw)}"
                       + (", which looks like a Jalali date" if 1300 <= value.year <= 1500 else ""))
            return None
        return value

    def code_value(self, value, where: str) -> bool:
        """Whether *value* is a code: 1-32 ASCII letters, digits, ``.``, ``_`` or ``-``."""
        if not isinstance(value, str):
            self.error(where, f"must be a string, got {describe(value)}")
        elif not value.strip():
            self.error(where, "must not be empty")
        elif not CODE.fullmatch(value):
            self.error(where, f"must be 1-32 ASCII letters, digits, '.', '_' or '-', got {describe(value)}")
        else:
            return True
        return False
