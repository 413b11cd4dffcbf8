"""The tariff board document: its schema, validation and typed model.

A board lists the services an office offers, grouped in categories, with the
official government fee and office fee in rials. The wire form is JSON with
``"format": "pishkhan.board/1"``; :func:`parse_board` checks every field and
reports *all* problems at once (at most :data:`MAX_ERRORS` listed), each with
its exact path, e.g. ``categories[0].services[2].title: U+202E RIGHT-TO-LEFT
OVERRIDE at position 7 is not allowed``. Files are read with
:func:`load_board_file`, the strict loader of :mod:`pishkhan.boards.jsonlimits`
(at most 4 MiB, 16 levels deep, no key twice in one object).

Keys: an object may hold only the keys of the schema below; any other key is
refused, with the closest known key as a hint (``goverment_fee``: did you
mean ``government_fee``?). ``scope`` holds ``level`` and the one id its level
uses (``province`` or ``office``).

Text: every text field is checked by :func:`pishkhan.text.safety.check_text`
(no bidi controls or directional marks, no control or invisible format
characters but ZWNJ/ZWJ, no unpaired surrogates, noncharacters or private-use
characters, at least one visible character; no field allows a line break) and
has a length limit, in characters:

==============================  =====
``issuer``                        120
category ``title``/``title_en``   120
service ``title``/``title_en``    200
each of a service's documents     150
service ``notes`` (may be "")     500
each notice                       280
==============================  =====

Codes (service, category, ``hide`` entries, ``scope.province``,
``scope.office``) are 1-32 ASCII letters, digits, ``.``, ``_`` or ``-``.

Counts: at most 100 categories and 500 services per board (the sample national
board has 51), 10 documents per service, 10 notices per board, and ``hide``
at most 500 codes.

Numbers: ``government_fee`` and ``office_fee`` are whole rials from 0 to
10^13 (ten trillion rials; so a total is below 2^53 and exact everywhere).
``version`` is a whole number from 1 to 2^31-1 and counts up per scope; to
keep a mistyped version from locking a scope (no later board could be
newer), :func:`~pishkhan.boards.install.install_signed` also refuses a
board more than :data:`MAX_VERSION_STEP` (10,000) versions above the one
installed for its scope (the first board of a scope counts from 0), so
versions are 1, 2, 3, …, not dates. ``effective_from`` is a Gregorian date
from 2000 to 2199.

Complaint channel (طرح تکریم ارباب رجوع): a national or province board may
carry ``complaints``, an object with at least one of ``phone`` (3-20 of
``0-9``, ``۰-۹``, ``+``, ``-``, space; kept with Latin digits), ``short_code``
(3-8 digits, e.g. an SMS number ``30001234`` or a phone line ``124``) and
``url`` (``https://`` only, at most 200 characters of printable ASCII, no
spaces, user names or fragments). The office's kiosk shows the most specific
layer's channel (province over national) on its start screen and every
ticket. An office board may not carry one (an office does not name who
hears complaints about it). A board without ``complaints`` is valid and
shows none.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from pishkhan.boards.checker import (CODE as _CODE, MAX_ERRORS, MAX_VERSION, MAX_VERSION_STEP,  # noqa: F401
                                     Checker)
from pishkhan.exc import BoardInvalid
from pishkhan.text.safety import check_text, describe as _describe

FORMAT = "pishkhan.board/1"
LEVELS = ("national", "province", "office")

MAX_ISSUER = 120
MAX_CATEGORY_TITLE = 120
MAX_TITLE = 200
MAX_DOCUMENT = 150
MAX_NOTES = 500
MAX_NOTICE = 280
MAX_CATEGORIES = 100
MAX_SERVICES = 500
MAX_DOCUMENTS = 10
MAX_NOTICES = 10
MAX_FEE = 10 ** 13

BOARD_KEYS = ("format", "issuer", "scope", "version", "effective_from", "categories", "hide", "notices",
              "complaints")
COMPLAINT_KEYS = ("phone", "short_code", "url")
MAX_URL = 200
_PHONE = re.compile(r"\+?[0-9۰-۹][0-9۰-۹ -]{1,18}[0-9۰-۹]")
_SHORT_CODE = re.compile(r"[0-9۰-۹]{3,8}")
_URL = re.compile(r"https://[A-Za-z0-9.-]+\.[A-Za-z]{2,}(:[0-9]{1,5})?(/[!$&'()*+,;=:@%/?A-Za-z0-9._~-]*)?",
                  re.ASCII)
SCOPE_KEYS = {"national": ("level",), "province": ("level", "province"), "office": ("level", "office")}
CATEGORY_KEYS = ("code", "title", "title_en", "services")
SERVICE_KEYS = ("code", "title", "title_en", "government_fee", "office_fee", "documents", "notes")


@dataclass(frozen=True)
class Scope:
    """Where a board applies: the whole country, one province or one office."""

    level: str
    province: str | None = None
    office: str | None = None

    @property
    def key(self) -> str:
        """A short string naming the scope, e.g. ``province:23``."""
        if self.level == "province":
            return f"province:{self.province}"
        if self.level == "office":
            return f"office:{self.office}"
        return "national"

    def elsewhere(self, *, province: str | None, office: str | None) -> str | None:
        """Why this scope is not the office's (``"province 23, this office is in province 07"``), or None.

        *province* and *office* are the office's own; None skips that check.
        """
        if self.level == "province" and province is not None and self.province != province:
            return f"province {self.province}, this office is in province {province}"
        if self.level == "office" and office is not None and self.office != office:
            return f"office {self.office}, this office is {office}"
        return None

    def to_json(self) -> dict:
        data = {"level": self.level}
        if self.province is not None:
            data["province"] = self.province
        if self.office is not None:
            data["office"] = self.office
        return data


def scope_key_of(scope) -> str | None:
    """The :attr:`Scope.key` of a document's ``scope`` as it came (not yet checked), or None when it names none."""
    if not isinstance(scope, dict):
        return None
    level = scope.get("level")
    if level == "national":
        return "national"
    if level in ("province", "office") and isinstance(scope.get(level), str):
        return f"{level}:{scope[level]}"
    return None


@dataclass(frozen=True)
class Complaints:
    """Where a customer complains (the customer-respect channel); empty fields are not shown."""

    phone: str = ""
    short_code: str = ""
    url: str = ""

    def __bool__(self) -> bool:
        return bool(self.phone or self.short_code or self.url)

    def to_json(self) -> dict:
        return {k: v for k, v in (("phone", self.phone), ("short_code", self.short_code), ("url", self.url)) if v}


def _latin_digits(text: str) -> str:
    return text.translate(str.maketrans("۰۱۲۳۴۵۶۷۸۹", "0123456789"))


@dataclass(frozen=True)
class Service:
    """One service with its official fees (rials) and what to bring."""

    code: str
    title: str
    government_fee: int
    office_fee: int
    title_en: str = ""
    documents: tuple[str, ...] = ()
    notes: str = ""

    @property
    def total_fee(self) -> int:
        return self.government_fee + self.office_fee


@dataclass(frozen=True)
class Category:
    code: str
    title: str
    services: tuple[Service, ...]
    title_en: str = ""


@dataclass(frozen=True)
class Board:
    """A validated board, as issued (not yet layered)."""

    issuer: str
    scope: Scope
    version: int
    effective_from: dt.date
    categories: tuple[Category, ...]
    hide: tuple[str, ...] = ()
    notices: tuple[str, ...] = ()
    raw: dict = field(default_factory=dict, compare=False, repr=False)
    complaints: Complaints | None = None

    def services(self):
        """Every service, in board order."""
        for category in self.categories:
            yield from category.services

    def service(self, code: str) -> Service | None:
        return next((s for s in self.services() if s.code == code), None)


class _Checker(Checker):
    """The board's own fields on top of the shared :class:`~pishkhan.boards.checker.Checker`."""

    def text(self, obj: dict, key: str, path: str, *, max_len: int, required=True, allow_empty=False) -> str:
        where = f"{path}.{key}" if path else key
        if key not in obj:
            if required:
                self.error(where, "is required")
            return ""
        value = obj[key]
        problems = check_text(value, where, max_len=max_len, allow_empty=allow_empty)
        self.extend(problems)
        return value if isinstance(value, str) else ""

    def fee(self, obj: dict, key: str, path: str) -> int:
        return self.integer(obj, key, path, low=0, high=MAX_FEE, what="a non-negative integer", unit=" rials")

    def code(self, obj: dict, path: str, seen: dict[str, str], key: str = "code") -> str:
        where = f"{path}.{key}" if path else key
        if key not in obj:
            self.error(where, "is required")
            return ""
        value = obj[key]
        if not self.code_value(value, where):
            return ""
        if value in seen:
            self.error(where, f"duplicate code {_describe(value)}, first used at {seen[value]}")
        else:
            seen[value] = path
        return value

    def array(self, obj: dict, key: str, path: str, *, limit: int, what: str, required=False) -> list:
        """The array at *key* (its first *limit* items), or [] with an error."""
        where = f"{path}.{key}" if path else key
        if key not in obj:
            if required:
                self.error(where, "is required")
            return []
        value = obj[key]
        if not isinstance(value, list):
            self.error(where, f"must be an array{what}, got {_describe(value)}")
            return []
        if len(value) > limit:
            self.error(where, f"has {len(value):,} items; at most {limit:,} are allowed")
            return value[:limit]
        return value

    def strings(self, obj: dict, key: str, path: str, *, limit: int, max_len: int) -> tuple[str, ...]:
        where = f"{path}.{key}" if path else key
        out = []
        for i, item in enumerate(self.array(obj, key, path, limit=limit, what=" of strings")):
            if not isinstance(item, str) or not item.strip():
                self.error(f"{where}[{i}]", f"must be a non-empty string, got {_describe(item)}")
                continue
            problems = check_text(item, f"{where}[{i}]", max_len=max_len)
            if problems:
                self.extend(problems)
            else:
                out.append(item)
        return tuple(out)


def _scope(c: _Checker, data: dict) -> Scope:
    raw = data.get("scope")
    if raw is None:
        c.error("scope", "is required")
        return Scope("national")
    if not isinstance(raw, dict):
        c.error("scope", f"must be an object, got {_describe(raw)}")
        return Scope("national")
    level = raw.get("level")
    if not isinstance(level, str) or level not in LEVELS:
        c.error("scope.level", f"must be one of national, province, office, got {_describe(level)}")
        return Scope("national")
    c.keys(raw, SCOPE_KEYS[level], "scope",
           elsewhere={k: f"by a {level} board" for k in ("province", "office")})
    if level == "province":
        return Scope(level, province=c.code(raw, "scope", {}, key="province"))
    if level == "office":
        return Scope(level, office=c.code(raw, "scope", {}, key="office"))
    return Scope(level)


def _service(c: _Checker, raw, path: str, seen: dict[str, str]) -> Service | None:
    if not isinstance(raw, dict):
        c.error(path, f"must be an object, got {_describe(raw)}")
        return None
    c.keys(raw, SERVICE_KEYS, path)
    code = c.code(raw, path, seen)
    title = c.text(raw, "title", path, max_len=MAX_TITLE)
    return Service(
        code=code,
        title=title,
        government_fee=c.fee(raw, "government_fee", path),
        office_fee=c.fee(raw, "office_fee", path),
        title_en=c.text(raw, "title_en", path, max_len=MAX_TITLE, required=False),
        documents=c.strings(raw, "documents", path, limit=MAX_DOCUMENTS, max_len=MAX_DOCUMENT),
        notes=c.text(raw, "notes", path, max_len=MAX_NOTES, required=False, allow_empty=True),
    )


def _category(c: _Checker, raw, path: str, seen_cat: dict, seen_svc: dict, room: int) -> Category | None:
    """One category; *room* is how many services the board may still have."""
    if not isinstance(raw, dict):
        c.error(path, f"must be an object, got {_describe(raw)}")
        return None
    c.keys(raw, CATEGORY_KEYS, path)
    code = c.code(raw, path, seen_cat)
    title = c.text(raw, "title", path, max_len=MAX_CATEGORY_TITLE)
    services = []
    services_raw = c.array(raw, "services", path, limit=MAX_SERVICES, what="", required=True)
    if len(services_raw) > room:
        c.error(f"{path}.services", f"takes the board past {MAX_SERVICES:,} services, the most a board may have")
        services_raw = services_raw[:max(room, 0)]
    for i, s in enumerate(services_raw):
        service = _service(c, s, f"{path}.services[{i}]", seen_svc)
        if service:
            services.append(service)
    return Category(code, title, tuple(services),
                    c.text(raw, "title_en", path, max_len=MAX_CATEGORY_TITLE, required=False))


def _complaints(c: _Checker, data: dict, scope: Scope) -> Complaints | None:
    """The board's complaint channel, or None; each field bounded and checked (module docstring)."""
    if "complaints" not in data:
        return None
    raw = data["complaints"]
    if not isinstance(raw, dict):
        c.error("complaints", f"must be an object with phone, short_code or url, got {_describe(raw)}")
        return None
    if scope.level == "office":
        c.error("complaints", "only a national or province board may name the complaint channel")
    c.keys(raw, COMPLAINT_KEYS, "complaints")
    if not any(k in raw for k in COMPLAINT_KEYS):
        c.error("complaints", "must give at least one of phone, short_code, url")
    out = {}
    for key, pattern, what in (
            ("phone", _PHONE, "3-20 digits, spaces, '-' and a leading '+'"),
            ("short_code", _SHORT_CODE, "3-8 digits"),
            ("url", _URL, f"an https:// address of at most {MAX_URL} printable ASCII characters")):
        if key not in raw:
            continue
        value = raw[key]
        if (not isinstance(value, str) or len(value) > (MAX_URL if key == "url" else 20)
                or not pattern.fullmatch(value)):
            c.error(f"complaints.{key}", f"must be {what}, got {_describe(value)}")
            continue
        out[key] = value if key == "url" else _latin_digits(value)
    return Complaints(**out)


def parse_board(data) -> Board:
    """Validate a board document (a dict) and return the typed :class:`Board`.

    Raises :exc:`BoardInvalid` listing every error found, each as
    ``path: reason`` (e.g. ``categories[2].services[5].office_fee: must be a
    whole number of rials from 0 to 10,000,000,000,000, got "12,000"``).
    The rules are in this module's docstring.
    """
    c = _Checker()
    if not isinstance(data, dict):
        raise BoardInvalid([f"(document): must be a JSON object, got {_describe(data)}"])
    fmt = data.get("format")
    if fmt != FORMAT:
        c.error("format", f"must be {_describe(FORMAT)}, got {_describe(fmt)}")
    c.keys(data, BOARD_KEYS, "")
    issuer = c.text(data, "issuer", "", max_len=MAX_ISSUER)
    scope = _scope(c, data)

    version = c.version(data)

    effective = c.date(data, "effective_from", "") or dt.date.min

    categories = []
    seen_cat: dict[str, str] = {}
    seen_svc: dict[str, str] = {}
    raw_cats = c.array(data, "categories", "", limit=MAX_CATEGORIES, what="", required=True)
    if "categories" in data and isinstance(data["categories"], list) and not raw_cats and scope.level != "office":
        c.error("categories", "must list at least one category")
    count = 0
    for i, raw in enumerate(raw_cats):
        room = MAX_SERVICES - count
        if isinstance(raw, dict) and isinstance(raw.get("services"), list):
            count += min(len(raw["services"]), max(room, 0))
        cat = _category(c, raw, f"categories[{i}]", seen_cat, seen_svc, room)
        if cat:
            categories.append(cat)

    hide = ()
    hide_raw = c.array(data, "hide", "", limit=MAX_SERVICES, what=" of service codes")
    if hide_raw:
        hide = tuple(h for i, h in enumerate(hide_raw) if c.code_value(h, f"hide[{i}]"))
    notices = c.strings(data, "notices", "", limit=MAX_NOTICES, max_len=MAX_NOTICE)
    if hide_raw and scope.level != "office":
        c.error("hide", "only an office board may hide services")

    complaints = _complaints(c, data, scope)

    if c.errors:
        raise BoardInvalid(c.result())
    return Board(issuer, scope, version, effective, tuple(categories), hide, notices, raw=data,
                 complaints=complaints or None)


def load_board_file(path) -> dict:
    """Read a board or signed-board JSON file with the strict loader, with clear errors.

    See :mod:`pishkhan.boards.jsonlimits` for its size, depth and key rules.
    """
    from pishkhan.boards.jsonlimits import load_json_file

    return load_json_file(path)


def load_board_bytes(data: bytes, *, name: str) -> dict:
    """A board or signed-board JSON document from *data* (already read, e.g. from a USB stick) called *name*,
    by the same strict loader as :func:`load_board_file`."""
    from pishkhan.boards.jsonlimits import load_json

    return load_json(data, source=name)
