"""Reading what the fleet database holds: every stored value is untrusted.

The rows were written from what devices sent. Validation on the way in may
change, a row may predate it, or be written by hand; a page must show
whatever is there and never fail on it. So every stored JSON field is read
here, with these rules:

- :func:`loads` decodes a JSON text and bounds what it holds;
  text that is not JSON, nests too deep, or is not of the expected type
  (an object where an object is expected, …) is **unreadable**: the page
  shows «نامعلوم» for it and a :class:`Tally` counts it.
- what it keeps is a value JSON can carry and a page can show: at most
  :data:`MAX_DEPTH` levels, :data:`MAX_ITEMS` items a list or object,
  :data:`MAX_VALUES` values in all and :data:`MAX_TEXT` characters a string; NaN and infinities become None,
  lone surrogates U+FFFD. What it had to change counts as unreadable too.
- :func:`integer` is a whole number within bounds, or None;
  :func:`status.parse_time <central.status.parse_time>` a time within
  :data:`YEARS` (beyond them the Tehran and Jalali conversions overflow).

Text shown in HTML is made visible by :func:`central.web.render.visible`
(bidi and control characters written out as ``\\u202e``).
"""

from __future__ import annotations

import json
import math
from collections import Counter

MAX_DEPTH = 12
MAX_ITEMS = 500
MAX_TEXT = 2000
#: The most values (of any depth) kept of one stored field.
MAX_VALUES = 20_000
#: The years a stored time may fall in; others are unreadable.
YEARS = (1900, 2999)


class Tally:
    """Stored values a page or a scrape could not read, counted by table and province."""

    def __init__(self):
        self.counts: Counter = Counter()

    def add(self, table: str, *, province: str | None = "", n: int = 1):
        if n:
            self.counts[(table, province or "")] += n

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def loads(text, *, kind: type | tuple = dict, tally: Tally | None = None, table: str = "",
          province: str | None = "", bounded: bool = True):
    """The JSON value stored as *text*, cleaned (unless not *bounded*: a signed document whose code
    is computed from it as it is), if it is a *kind*; else None.

    Nothing stored (None or ``""``) is None and not counted; anything else that
    is not a readable *kind* is counted in *tally* under *table*.
    """
    if text is None or text == "":
        return None
    try:
        value = json.loads(text) if isinstance(text, (str, bytes, bytearray)) else text
    except (ValueError, TypeError, RecursionError):
        value = _BAD
    if value is not _BAD and (kind is None or isinstance(value, kind)):
        if not bounded:
            return value
        cleaner = _Cleaner()
        value = cleaner.clean(value)
        if tally is not None:
            tally.add(table, province=province, n=cleaner.changed)
        return value
    if tally is not None:
        tally.add(table, province=province)
    return None


_BAD = object()


class _Cleaner:
    def __init__(self):
        self.changed = 0
        self.budget = MAX_VALUES

    def clean(self, value, depth: int = 0):
        self.budget -= 1
        if self.budget < 0:
            self.changed += self.budget == -1
            return None
        if isinstance(value, str):
            return self.text(value)
        if value is None or isinstance(value, (bool, int)):
            return value
        if isinstance(value, float):
            if math.isfinite(value):
                return value
            self.changed += 1
            return None
        if depth >= MAX_DEPTH:
            self.changed += 1
            return None
        if isinstance(value, dict):
            if len(value) > MAX_ITEMS:
                self.changed += 1
            items = list(value.items())[:MAX_ITEMS]
            return {self.text(str(k)): self.clean(v, depth + 1) for k, v in items}
        if isinstance(value, (list, tuple)):
            if len(value) > MAX_ITEMS:
                self.changed += 1
            return [self.clean(v, depth + 1) for v in value[:MAX_ITEMS]]
        self.changed += 1
        return None

    def text(self, value: str) -> str:
        if len(value) > MAX_TEXT:
            self.changed += 1
            value = value[:MAX_TEXT] + "…"
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate, from a "\\ud800" escape in the JSON
            self.changed += 1
            value = "".join("\ufffd" if "\ud800" <= ch <= "\udfff" else ch for ch in value)
        return value


def integer(value, *, low: int, high: int) -> int | None:
    """*value* if it is a whole number (not a bool) from *low* to *high*, else None."""
    if isinstance(value, int) and not isinstance(value, bool) and low <= value <= high:
        return value
    return None

