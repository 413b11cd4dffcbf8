"""The release document (``pishkhan.release/1``): which package a scope of the fleet should run, and when.

A release document is signed like every document and installed through the
one install path (:mod:`pishkhan.releases.installed`). Its payload::

    {"format": "pishkhan.release/1", "issuer": "…", "version": 3,
     "scope": {"level": "national"} | {"level": "province", "province": "23"} |
              {"level": "office", "office": "OFF-1"} | {"level": "device", "device": "pi-0001"},
     "rollout": "R-20261207-1",
     "package": {"name": "pishkhan", "version": "0.9.0+…", "architecture": "arm64",
                 "sha256": "<64 lowercase hex>", "size": 55000000, "path": "releases/pool/<sha256>.deb"},
     "not_before": "2026-12-07T18:00:00Z", "expires": "2026-12-21T18:00:00Z",
     "window": {"start": "22:00", "end": "05:00"}, "canary_percent": 5,
     "min_version_to_upgrade_from": "0.8.0", "rollback": false, "urgent": false, "halted": false}

Required: format, version, scope, rollout, package, not_before, expires.
Left out: issuer ``""``, window none (any time outside working hours),
canary_percent 100, min_version_to_upgrade_from none, the flags false.
``expires`` lies after ``not_before`` and at most 90 days after it; the
window is Tehran local time and may run over midnight (start after end);
``canary_percent`` is 0 to 100 with at most two decimals; the package's
``path`` is exactly ``releases/pool/<sha256>.deb``. Any other field, or a
field of the wrong shape, is refused (``malformed`` for unknown fields,
``invalid`` for the rest) as a :exc:`~pishkhan.exc.ReleaseRefused`.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from debian.debian_support import Version

from pishkhan.exc import ReleaseRefused

FORMAT = "pishkhan.release/1"
KEYS = {"format", "issuer", "version", "scope", "rollout", "package", "not_before", "expires", "window",
        "canary_percent", "min_version_to_upgrade_from", "rollback", "urgent", "halted"}
REQUIRED = ("format", "version", "scope", "rollout", "package", "not_before", "expires")
PACKAGE_KEYS = {"name", "version", "architecture", "sha256", "size", "path"}
#: The longest a release document may live.
MAX_LIFETIME = dt.timedelta(days=90)
#: The largest package a document may name (bytes).
MAX_SIZE = 2 * 1024 ** 3
LEVELS = ("device", "office", "province", "national")  # most specific first

_CODE = re.compile(r"[A-Za-z0-9._-]{1,32}")
_PACKAGE_NAME = re.compile(r"[a-z0-9][a-z0-9+.-]{1,99}")
_DEB_VERSION = re.compile(r"([0-9]+:)?[0-9][A-Za-z0-9.+~-]{0,60}")
_ARCH = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z")
_CLOCK = re.compile(r"([01]\d|2[0-3]):[0-5]\d")


def version_key(text: str) -> Version:
    """A Debian package version, comparable by Debian's rules (``python-debian``)."""
    return Version(text)


def compare_versions(a: str, b: str) -> int:
    """-1, 0 or 1 as Debian version *a* is below, equal to or above *b*."""
    va, vb = Version(a), Version(b)
    return (va > vb) - (va < vb)


def is_debian_version(text) -> bool:
    """Whether *text* is a Debian version this project accepts (upstream starting with a digit, ≤ 64 chars)."""
    if not isinstance(text, str) or len(text) > 64 or not _DEB_VERSION.fullmatch(text):
        return False
    try:
        Version(text)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class ReleaseScope:
    """Which devices a release document is for: the country, a province, an office or one device."""

    level: str
    province: str | None = None
    office: str | None = None
    device: str | None = None

    @property
    def key(self) -> str:
        """``national``, ``province:23``, ``office:OFF-1`` or ``device:pi-0001``."""
        if self.level == "national":
            return "national"
        return f"{self.level}:{getattr(self, self.level)}"

    @property
    def rank(self) -> int:
        """0 for a device's own document, up to 3 for a national one (lower wins)."""
        return LEVELS.index(self.level)

    def elsewhere(self, *, province: str | None, office: str | None, device: str | None = None) -> str | None:
        """Why this scope is not this device's (``"office OFF-2, this office is OFF-1"``), or None.

        *province*, *office* and *device* are the device's own; None skips that check.
        """
        if self.level == "province" and province is not None and self.province != province:
            return f"province {self.province}, this office is in province {province}"
        if self.level == "office" and office is not None and self.office != office:
            return f"office {self.office}, this office is {office}"
        if self.level == "device" and device is not None and self.device != device:
            return f"device {self.device}, this device is {device}"
        return None

    def to_json(self) -> dict:
        data = {"level": self.level}
        if self.level != "national":
            data[self.level] = getattr(self, self.level)
        return data


@dataclass(frozen=True)
class Package:
    """The one file a release names: a Debian package in the pool, by its hash."""

    name: str
    version: str
    architecture: str
    sha256: str
    size: int
    path: str

    def to_json(self) -> dict:
        return {"name": self.name, "version": self.version, "architecture": self.architecture,
                "sha256": self.sha256, "size": self.size, "path": self.path}


@dataclass(frozen=True)
class Window:
    """Tehran local times between which an update may start (``start`` after ``end``: over midnight)."""

    start: dt.time
    end: dt.time

    def contains(self, moment: dt.time) -> bool:
        if self.start < self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end

    @property
    def label(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


@dataclass(frozen=True)
class Release:
    """A checked release document."""

    issuer: str
    version: int
    scope: ReleaseScope
    rollout: str
    package: Package
    not_before: dt.datetime
    expires: dt.datetime
    window: Window | None = None
    canary_percent: float = 100
    min_version: str = ""
    rollback: bool = False
    urgent: bool = False
    halted: bool = False

    kind = "release"

    def expired(self, now: dt.datetime) -> bool:
        return now >= self.expires


def _invalid(message: str) -> ReleaseRefused:
    return ReleaseRefused(f"release document: {message}"[:300], reason="invalid")


def parse_time(value, field: str) -> dt.datetime:
    """An ISO UTC time ending in ``Z`` as an aware datetime."""
    if not isinstance(value, str) or not _TIME.fullmatch(value):
        raise _invalid(f"{field} must be a UTC time like 2026-12-07T18:00:00Z, got {value!r}")
    try:
        return dt.datetime.fromisoformat(value[:-1]).replace(tzinfo=dt.timezone.utc)
    except ValueError:
        raise _invalid(f"{field} is not a real time: {value!r}") from None


def _scope(value) -> ReleaseScope:
    if not isinstance(value, dict) or value.get("level") not in LEVELS:
        raise _invalid(f"scope must be an object whose level is one of {', '.join(LEVELS)}, got {value!r}")
    level = value["level"]
    expected = {"level"} if level == "national" else {"level", level}
    if set(value) != expected:
        raise _invalid(f"a {level} scope has exactly the fields {sorted(expected)}, got {sorted(value)}")
    if level == "national":
        return ReleaseScope("national")
    code = value[level]
    if not isinstance(code, str) or not _CODE.fullmatch(code):
        raise _invalid(f"scope.{level} must be 1-32 letters, digits, '.', '_' or '-', got {code!r}")
    return ReleaseScope(level, **{level: code})


def _package(value) -> Package:
    if not isinstance(value, dict):
        raise _invalid("package must be an object with name, version, architecture, sha256, size and path")
    if set(value) != PACKAGE_KEYS:
        raise _invalid(f"package has exactly the fields {sorted(PACKAGE_KEYS)}, got {sorted(value)}")
    name, version, arch, sha, size, path = (value[k] for k in ("name", "version", "architecture", "sha256",
                                                                 "size", "path"))
    if not isinstance(name, str) or not _PACKAGE_NAME.fullmatch(name):
        raise _invalid(f"package.name must be a Debian package name, got {name!r}")
    if not is_debian_version(version):
        raise _invalid(f"package.version must be a Debian version, got {version!r}")
    if not isinstance(arch, str) or not _ARCH.fullmatch(arch):
        raise _invalid(f"package.architecture must be a Debian architecture like arm64, got {arch!r}")
    if not isinstance(sha, str) or not _SHA256.fullmatch(sha):
        raise _invalid(f"package.sha256 must be 64 lowercase hex digits, got {sha!r}")
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= MAX_SIZE:
        raise _invalid(f"package.size must be a whole number of bytes from 1 to {MAX_SIZE:,}, got {size!r}")
    if path != f"releases/pool/{sha}.deb":
        raise _invalid(f"package.path must be releases/pool/{sha}.deb, got {path!r}")
    return Package(name, version, arch, sha, size, path)


def _window(value) -> Window | None:
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) != {"start", "end"}:
        raise _invalid(f'window must be {{"start": "HH:MM", "end": "HH:MM"}}, got {value!r}')
    start, end = value["start"], value["end"]
    for field, text in (("start", start), ("end", end)):
        if not isinstance(text, str) or not _CLOCK.fullmatch(text):
            raise _invalid(f'window.{field} must be "HH:MM" (00:00-23:59), got {text!r}')
    if start == end:
        raise _invalid("window.start and window.end must differ")
    return Window(dt.time.fromisoformat(start), dt.time.fromisoformat(end))


def _flag(document: dict, name: str) -> bool:
    value = document.get(name, False)
    if not isinstance(value, bool):
        raise _invalid(f"{name} must be true or false, got {value!r}")
    return value


def parse_release(document) -> Release:
    """Check a release payload; raises :exc:`~pishkhan.exc.ReleaseRefused` (``malformed``, ``invalid``)."""
    if not isinstance(document, dict):
        raise ReleaseRefused("release document: the payload must be an object", reason="malformed")
    extra = set(document) - KEYS
    if extra:
        raise ReleaseRefused(f"release document: unknown fields {sorted(extra)[:10]}; known: {sorted(KEYS)}"[:500],
                             reason="malformed")
    if document.get("format") != FORMAT:
        raise _invalid(f"format must be {FORMAT!r}, got {document.get('format')!r}")
    missing = [k for k in REQUIRED if k not in document]
    if missing:
        raise _invalid(f"missing fields {missing}")
    issuer = document.get("issuer", "")
    if not isinstance(issuer, str) or len(issuer) > 120:
        raise _invalid("issuer must be text of at most 120 characters")
    rollout = document["rollout"]
    if not isinstance(rollout, str) or not _CODE.fullmatch(rollout):
        raise _invalid(f"rollout must be 1-32 letters, digits, '.', '_' or '-', got {rollout!r}")
    not_before, expires = parse_time(document["not_before"], "not_before"), parse_time(document["expires"], "expires")
    if not not_before < expires <= not_before + MAX_LIFETIME:
        raise _invalid("expires must come after not_before, and at most 90 days after it")
    canary = document.get("canary_percent", 100)
    if isinstance(canary, bool) or not isinstance(canary, (int, float)) or not 0 <= canary <= 100 \
            or abs(round(canary * 100) - canary * 100) > 1e-6:
        raise _invalid(f"canary_percent must be a number from 0 to 100 with at most two decimals, got {canary!r}")
    min_version = document.get("min_version_to_upgrade_from", "")
    if min_version != "" and not is_debian_version(min_version):
        raise _invalid(f"min_version_to_upgrade_from must be a Debian version, got {min_version!r}")
    return Release(issuer=issuer, version=document["version"], scope=_scope(document["scope"]), rollout=rollout,
                   package=_package(document["package"]), not_before=not_before, expires=expires,
                   window=_window(document.get("window")), canary_percent=canary, min_version=min_version,
                   rollback=_flag(document, "rollback"), urgent=_flag(document, "urgent"),
                   halted=_flag(document, "halted"))
