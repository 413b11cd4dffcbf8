"""The tariff board document: its schema, validation and typed model.

A board lists the services an office offers, grouped in categories, with the
official government fee and office fee in rials. The wire form is JSON with
``"format": "pishkhan.board/1"``; :func:`parse_board` checks every field and
reports *all* problems at once, each with its exact path.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from pishkhan.exc import BoardInvalid

FORMAT = "pishkhan.board/1"
LEVELS = ("national", "province", "office")
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")


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

    def to_json(self) -> dict:
        data = {"level": self.level}
        if self.province is not None:
            data["province"] = self.province
        if self.office is not None:
            data["office"] = self.office
        return data


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

    def services(self):
        """Every service, in board order."""
        for category in self.categories:
            yield from category.services

    def service(self, code: str) -> Service | None:
        return next((s for s in self.services() if s.code == code), None)


def _describe(value) -> str:
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return "an array" if isinstance(value, list) else "an object"
    return repr(value)


class _Checker:
    """Collects errors while walking a document."""

    def __init__(self):
        self.errors: list[str] = []

    def error(self, path: str, message: str):
        self.errors.append(f"{path}: {message}")

    def text(self, obj: dict, key: str, path: str, *, required=True, allow_empty=False) -> str:
        where = f"{path}.{key}" if path else key
        if key not in obj:
            if required:
                self.error(where, "is required")
            return ""
        value = obj[key]
        if not isinstance(value, str):
            self.error(where, f"must be a string, got {_describe(value)}")
            return ""
        if not allow_empty and not value.strip():
            self.error(where, "must not be empty")
        return value

    def fee(self, obj: dict, key: str, path: str) -> int:
        where = f"{path}.{key}"
        if key not in obj:
            self.error(where, "is required")
            return 0
        value = obj[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            self.error(where, f"must be a non-negative integer, got {_describe(value)}")
            return 0
        return value

    def code(self, obj: dict, path: str, seen: dict[str, str]) -> str:
        value = self.text(obj, "code", path)
        if value and not _CODE.match(value):
            self.error(f"{path}.code", f"must be 1-32 ASCII letters, digits, '.', '_' or '-', got {_describe(value)}")
        elif value in seen:
            self.error(f"{path}.code", f"duplicate code {_describe(value)}, first used at {seen[value]}")
        elif value:
            seen[value] = path
        return value

    def strings(self, obj: dict, key: str, path: str) -> tuple[str, ...]:
        where = f"{path}.{key}" if path else key
        value = obj.get(key, [])
        if not isinstance(value, list):
            self.error(where, f"must be an array of strings, got {_describe(value)}")
            return ()
        out = []
        for i, item in enumerate(value):
            if not isinstance(item, str) or not item.strip():
                self.error(f"{where}[{i}]", f"must be a non-empty string, got {_describe(item)}")
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
    if level not in LEVELS:
        c.error("scope.level", f"must be one of national, province, office, got {_describe(level)}")
        return Scope("national")
    if level == "province":
        province = c.text(raw, "province", "scope")
        return Scope(level, province=province)
    if level == "office":
        office = c.text(raw, "office", "scope")
        return Scope(level, office=office)
    return Scope(level)


def _service(c: _Checker, raw, path: str, seen: dict[str, str]) -> Service | None:
    if not isinstance(raw, dict):
        c.error(path, f"must be an object, got {_describe(raw)}")
        return None
    code = c.code(raw, path, seen)
    title = c.text(raw, "title", path)
    return Service(
        code=code,
        title=title,
        government_fee=c.fee(raw, "government_fee", path),
        office_fee=c.fee(raw, "office_fee", path),
        title_en=c.text(raw, "title_en", path, required=False),
        documents=c.strings(raw, "documents", path),
        notes=c.text(raw, "notes", path, required=False, allow_empty=True),
    )


def _category(c: _Checker, raw, path: str, seen_cat: dict, seen_svc: dict) -> Category | None:
    if not isinstance(raw, dict):
        c.error(path, f"must be an object, got {_describe(raw)}")
        return None
    code = c.code(raw, path, seen_cat)
    title = c.text(raw, "title", path)
    services_raw = raw.get("services")
    services = []
    if services_raw is None:
        c.error(f"{path}.services", "is required")
    elif not isinstance(services_raw, list):
        c.error(f"{path}.services", f"must be an array, got {_describe(services_raw)}")
    else:
        for i, s in enumerate(services_raw):
            service = _service(c, s, f"{path}.services[{i}]", seen_svc)
            if service:
                services.append(service)
    return Category(code, title, tuple(services), c.text(raw, "title_en", path, required=False))


def parse_board(data) -> Board:
    """Validate a board document (a dict) and return the typed :class:`Board`.

    Raises :exc:`BoardInvalid` listing every error found, each as
    ``path: reason`` (e.g. ``categories[2].services[5].office_fee: must be a
    non-negative integer, got "12,000"``).
    """
    c = _Checker()
    if not isinstance(data, dict):
        raise BoardInvalid([f"(document): must be a JSON object, got {_describe(data)}"])
    fmt = data.get("format")
    if fmt != FORMAT:
        c.error("format", f"must be {_describe(FORMAT)}, got {_describe(fmt)}")
    issuer = c.text(data, "issuer", "")
    scope = _scope(c, data)

    version = data.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        c.error("version", f"must be a positive integer, got {_describe(version)}")
        version = 0

    effective = dt.date.min
    raw_eff = data.get("effective_from")
    if not isinstance(raw_eff, str):
        c.error("effective_from", f"must be a date as YYYY-MM-DD, got {_describe(raw_eff)}")
    else:
        try:
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw_eff):
                raise ValueError
            effective = dt.date.fromisoformat(raw_eff)
            if not 2000 <= effective.year <= 2199:
                c.error("effective_from", f"must be a Gregorian date (2000-2199), got {_describe(raw_eff)}"
                        + (", which looks like a Jalali date" if 1300 <= effective.year <= 1500 else ""))
        except ValueError:
            c.error("effective_from", f"must be a date as YYYY-MM-DD, got {_describe(raw_eff)}")

    categories = []
    raw_cats = data.get("categories")
    seen_cat: dict[str, str] = {}
    seen_svc: dict[str, str] = {}
    if raw_cats is None:
        c.error("categories", "is required")
    elif not isinstance(raw_cats, list):
        c.error("categories", f"must be an array, got {_describe(raw_cats)}")
    else:
        if not raw_cats and scope.level != "office":
            c.error("categories", "must list at least one category")
        for i, raw in enumerate(raw_cats):
            cat = _category(c, raw, f"categories[{i}]", seen_cat, seen_svc)
            if cat:
                categories.append(cat)

    hide = c.strings(data, "hide", "")
    notices = c.strings(data, "notices", "")
    if hide and scope.level != "office":
        c.error("hide", "only an office board may hide services")

    if c.errors:
        raise BoardInvalid(c.errors)
    return Board(issuer, scope, version, effective, tuple(categories), hide, notices, raw=data)


def load_board_file(path) -> dict:
    """Read a board or signed-board JSON file, with clear errors."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise BoardInvalid([f"(file): {path} does not exist"]) from None
    return load_board_bytes(data, name=str(path))


def load_board_bytes(data: bytes, *, name: str) -> dict:
    """A board or signed-board JSON document from *data* (already read, e.g. from a USB stick) called *name*."""
    path = name
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise BoardInvalid([f"(file): {path} is not UTF-8 text ({e.reason} at byte {e.start})"]) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise BoardInvalid([f"(file): {path} is not valid JSON: {e.msg} at line {e.lineno} column {e.colno}"]) from None
