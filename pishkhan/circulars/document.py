"""The circulars index (``pishkhan.circulars/1``): what circulars, instructions, regulations and tariff lists a
scope has communicated to its offices.

An index is signed like every document and installed through the one install
path (:mod:`pishkhan.circulars.installed`). Its payload::

    {"format": "pishkhan.circulars/1", "issuer": "…", "version": 7,
     "scope": {"level": "national"} | {"level": "province", "province": "23"},
     "issued_at": "2026-12-07T10:00:00Z",
     "circulars": [
       {"number": "1405/123", "kind": "circular", "title": "…", "issuer": "…",
        "issued_on": "1405-09-16", "effective_on": "1405-09-20", "summary": "…", "urgent": false,
        "attachment": {"sha256": "<64 lowercase hex>", "size": 123456, "media_type": "application/pdf",
                       "path": "circulars/pool/<sha256>.pdf"},
        "supersedes": ["1404/88"]}]}

Rules, every one checked and all problems reported at once (``invalid``, as a
:exc:`~pishkhan.exc.CircularRefused`; a payload that is not an object, or an
unknown top-level field, is ``malformed``):

- ``version`` a whole number from 1 to 2^31-1, counting up per scope;
  ``scope`` national or one province (a code as boards have);
  ``issuer`` text of at most 120 characters; ``issued_at`` a UTC time ending in ``Z``.
- ``circulars`` at most :data:`MAX_ENTRIES` entries (may be empty), no number twice.
- ``number``: 1-40 characters of ``0-9``, ``۰-۹``, ``A-Za-z``, ``/ - . _``,
  starting with a letter or digit; Persian digits are stored as Latin ones
  (``۱۴۰۵/۱۲۳`` is ``1405/123``).
- ``kind`` one of :data:`KINDS`; ``title`` ≤ 200, ``issuer`` ≤ 120 and
  ``summary`` ≤ 2000 characters of safe text (:mod:`pishkhan.text.safety`;
  the summary may hold line breaks); ``urgent`` true or false (left out: false).
- ``issued_on`` and ``effective_on`` are real Jalali dates ``YYYY-MM-DD``
  (years 1300-1500, checked with jdatetime); ``effective_on`` is not before ``issued_on``.
- ``attachment``: exactly sha256 (64 lowercase hex), size (1 byte to
  :data:`MAX_ATTACHMENT`, 20 MiB), media_type ``application/pdf`` and
  path ``circulars/pool/<sha256>.pdf``.
- ``supersedes`` (optional): at most 20 numbers, not the entry's own.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import jdatetime

from pishkhan.boards.checker import Checker
from pishkhan.boards.document import Scope, _Checker
from pishkhan.exc import CircularRefused
from pishkhan.text.safety import check_text, describe

FORMAT = "pishkhan.circulars/1"
KEYS = ("format", "issuer", "version", "scope", "issued_at", "circulars")
ENTRY_KEYS = ("number", "kind", "title", "issuer", "issued_on", "effective_on", "summary", "urgent",
              "attachment", "supersedes")
ATTACHMENT_KEYS = ("sha256", "size", "media_type", "path")
SCOPE_KEYS = {"national": ("level",), "province": ("level", "province")}
#: The kinds of document, with their Persian names.
KINDS = {"circular": "بخشنامه", "instruction": "دستورالعمل", "regulation": "آیین‌نامه",
         "tariff_list": "فهرست تعرفه"}
MEDIA_TYPES = {"application/pdf": "pdf"}
MAX_ENTRIES = 500
MAX_ISSUER = 120
MAX_TITLE = 200
MAX_SUMMARY = 2000
MAX_SUPERSEDES = 20
#: The largest attachment an entry may name (bytes).
MAX_ATTACHMENT = 20 * 1024 ** 2

_NUMBER = re.compile(r"[0-9A-Za-z][0-9A-Za-z/._-]{0,39}", re.ASCII)
_PERSIAN_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹", "0123456789")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_JALALI = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z")


@dataclass(frozen=True)
class Attachment:
    """The file an entry names, by its hash: where the centre's pool serves it."""

    sha256: str
    size: int
    media_type: str
    path: str

    @property
    def file_name(self) -> str:
        """The name the office keeps it under: ``<sha256>.pdf``."""
        return f"{self.sha256}.{MEDIA_TYPES[self.media_type]}"

    def to_json(self) -> dict:
        return {"sha256": self.sha256, "size": self.size, "media_type": self.media_type, "path": self.path}


@dataclass(frozen=True)
class Circular:
    """One checked entry of an index."""

    number: str
    kind: str
    title: str
    issuer: str
    issued_on: str     # Jalali YYYY-MM-DD
    effective_on: str  # Jalali YYYY-MM-DD
    summary: str
    urgent: bool
    attachment: Attachment
    supersedes: tuple[str, ...] = ()

    def to_json(self) -> dict:
        data = {"number": self.number, "kind": self.kind, "title": self.title, "issuer": self.issuer,
                "issued_on": self.issued_on, "effective_on": self.effective_on, "summary": self.summary,
                "urgent": self.urgent, "attachment": self.attachment.to_json()}
        if self.supersedes:
            data["supersedes"] = list(self.supersedes)
        return data


@dataclass(frozen=True)
class CircularsIndex:
    """A checked circulars index: a scope's current list."""

    issuer: str
    version: int
    scope: Scope
    issued_at: dt.datetime
    circulars: tuple[Circular, ...]

    kind = "circulars"

    def to_json(self) -> dict:
        return {"format": FORMAT, "issuer": self.issuer, "version": self.version, "scope": self.scope.to_json(),
                "issued_at": self.issued_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "circulars": [c.to_json() for c in self.circulars]}


def normalise_number(value) -> str | None:
    """A circular's number with Persian digits made Latin, or None when it is not a number's shape."""
    if not isinstance(value, str):
        return None
    text = value.translate(_PERSIAN_DIGITS)
    return text if _NUMBER.fullmatch(text) else None


def parse_jalali(text) -> jdatetime.date | None:
    """A real Jalali date ``YYYY-MM-DD`` (years 1300-1500), or None."""
    m = _JALALI.fullmatch(text) if isinstance(text, str) else None
    if not m or not 1300 <= int(m[1]) <= 1500:
        return None
    try:
        return jdatetime.date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        return None


class _IndexChecker(_Checker):
    """The index's own fields on top of the boards' checker (text, codes, arrays)."""

    def jalali(self, obj: dict, key: str, path: str) -> jdatetime.date | None:
        where = f"{path}.{key}"
        if key not in obj:
            self.error(where, "is required")
            return None
        day = parse_jalali(obj[key])
        if day is None:
            self.error(where, f"must be a real Jalali date YYYY-MM-DD (1300-1500), got {describe(obj[key])}")
        return day

    def number(self, value, where: str) -> str | None:
        number = normalise_number(value)
        if number is None:
            self.error(where, "must be 1-40 of 0-9, ۰-۹, A-Z, a-z, '/', '-', '.', '_' starting with a letter or "
                              f"digit, got {describe(value)}")
        return number


def _scope(c: _IndexChecker, data: dict) -> Scope:
    raw = data.get("scope")
    if not isinstance(raw, dict) or raw.get("level") not in SCOPE_KEYS:
        c.error("scope", f'must be {{"level": "national"}} or {{"level": "province", "province": CODE}}, '
                         f"got {describe(raw)}")
        return Scope("national")
    level = raw["level"]
    c.keys(raw, SCOPE_KEYS[level], "scope")
    if level == "province":
        return Scope(level, province=c.code(raw, "scope", {}, key="province"))
    return Scope(level)


def _issued_at(c: Checker, data: dict) -> dt.datetime:
    raw = data.get("issued_at")
    if isinstance(raw, str) and _TIME.fullmatch(raw):
        try:
            return dt.datetime.fromisoformat(raw[:-1]).replace(tzinfo=dt.timezone.utc)
        except ValueError:
            pass
    c.error("issued_at", f"must be a UTC time like 2026-12-07T10:00:00Z, got {describe(raw)}")
    return dt.datetime.min.replace(tzinfo=dt.timezone.utc)


def _attachment(c: _IndexChecker, raw, path: str) -> Attachment | None:
    if not isinstance(raw, dict):
        c.error(path, f"must be an object with {', '.join(ATTACHMENT_KEYS)}, got {describe(raw)}")
        return None
    c.keys(raw, ATTACHMENT_KEYS, path)
    before = len(c.errors)
    sha = raw.get("sha256")
    if not isinstance(sha, str) or not _SHA256.fullmatch(sha):
        c.error(f"{path}.sha256", f"must be 64 lowercase hex digits, got {describe(sha)}")
    size = c.integer(raw, "size", path, low=1, high=MAX_ATTACHMENT, what="a whole number of bytes from 1",
                     unit=" bytes (20 MiB)")
    media = raw.get("media_type")
    if media not in MEDIA_TYPES:
        c.error(f"{path}.media_type", f"must be one of {', '.join(MEDIA_TYPES)}, got {describe(media)}")
    elif isinstance(sha, str) and raw.get("path") != f"circulars/pool/{sha}.{MEDIA_TYPES[media]}":
        c.error(f"{path}.path", f"must be circulars/pool/<sha256>.{MEDIA_TYPES[media]}, got {describe(raw.get('path'))}")
    if len(c.errors) != before:
        return None
    return Attachment(sha, size, media, raw["path"])


def _entry(c: _IndexChecker, raw, path: str, seen: dict[str, str]) -> Circular | None:
    if not isinstance(raw, dict):
        c.error(path, f"must be an object, got {describe(raw)}")
        return None
    before = len(c.errors)
    c.keys(raw, ENTRY_KEYS, path)
    number = c.number(raw.get("number"), f"{path}.number") if "number" in raw else None
    if "number" not in raw:
        c.error(f"{path}.number", "is required")
    elif number is not None:
        if number in seen:
            c.error(f"{path}.number", f"{number} is listed twice, first at {seen[number]}")
        seen.setdefault(number, path)
    kind = raw.get("kind")
    if kind not in KINDS:
        c.error(f"{path}.kind", f"must be one of {', '.join(KINDS)}, got {describe(kind)}")
    title = c.text(raw, "title", path, max_len=MAX_TITLE)
    issuer = c.text(raw, "issuer", path, max_len=MAX_ISSUER)
    if "summary" not in raw:
        c.error(f"{path}.summary", "is required")
    else:
        c.extend(check_text(raw["summary"], f"{path}.summary", max_len=MAX_SUMMARY, lines=True))
    urgent = raw.get("urgent", False)
    if not isinstance(urgent, bool):
        c.error(f"{path}.urgent", f"must be true or false, got {describe(urgent)}")
    issued, effective = c.jalali(raw, "issued_on", path), c.jalali(raw, "effective_on", path)
    if issued and effective and effective < issued:
        c.error(f"{path}.effective_on", f"{raw['effective_on']} is before issued_on {raw['issued_on']}")
    attachment = _attachment(c, raw.get("attachment"), f"{path}.attachment") if "attachment" in raw else None
    if "attachment" not in raw:
        c.error(f"{path}.attachment", "is required")
    supersedes = []
    for i, item in enumerate(c.array(raw, "supersedes", path, limit=MAX_SUPERSEDES, what=" of numbers")):
        other = c.number(item, f"{path}.supersedes[{i}]")
        if other is not None and other == number:
            c.error(f"{path}.supersedes[{i}]", "a circular cannot supersede itself")
        elif other is not None and other not in supersedes:
            supersedes.append(other)
    if len(c.errors) != before:
        return None
    return Circular(number, kind, title, issuer, raw["issued_on"], raw["effective_on"], raw["summary"], urgent,
                    attachment, tuple(supersedes))


def _refused(errors: list[str], *, reason: str = "invalid") -> CircularRefused:
    head = f"circulars index is {'malformed' if reason == 'malformed' else 'invalid'}"
    return CircularRefused((head + ":\n  " + "\n  ".join(errors))[:2000], reason=reason)


def parse_circulars(data) -> CircularsIndex:
    """Check a circulars index payload; raises :exc:`~pishkhan.exc.CircularRefused` listing every problem
    (``malformed``: not an object or unknown top-level fields; ``invalid``: the rest)."""
    if not isinstance(data, dict):
        raise _refused([f"(document): must be a JSON object, got {describe(data)}"], reason="malformed")
    c = _IndexChecker()
    c.keys(data, KEYS, "")
    if c.errors:
        raise _refused(c.result(), reason="malformed")
    if data.get("format") != FORMAT:
        c.error("format", f"must be {describe(FORMAT)}, got {describe(data.get('format'))}")
    issuer = c.text(data, "issuer", "", max_len=MAX_ISSUER)
    scope = _scope(c, data)
    version = c.version(data)
    issued_at = _issued_at(c, data)
    seen: dict[str, str] = {}
    entries = []
    for i, raw in enumerate(c.array(data, "circulars", "", limit=MAX_ENTRIES, what=" of circulars",
                                    required=True)):
        entry = _entry(c, raw, f"circulars[{i}]", seen)
        if entry:
            entries.append(entry)
    if c.errors:
        raise _refused(c.result())
    return CircularsIndex(issuer, version, scope, issued_at, tuple(entries))
