"""The package pool: each release package as ``<sha256>.deb`` in one folder, and the folder's index.

A package is named by the SHA-256 of its bytes, so a name is never reused for
other bytes, a device asks for exactly the file a signed release document
named, and serving the pool needs no other lookup (the enrolment server's
``/releases/pool/<sha256>.deb``, :func:`central.enrolment.server.pool_routes`).
``index.json`` in the folder lists each package's name, version, architecture,
size and when it was added (written whole, atomically; it is not served).

What a package is comes from the ``.deb`` itself (``dpkg-deb -f``), never from
the operator: name, version, architecture. A file that is not a Debian
package is refused (:exc:`PoolRefused` ``not_a_package``).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from central.errors import PoolRefused
from central.pool_files import copy_by_hash
from pishkhan.exc import CentralError

#: A pool file's name: 64 lowercase hex digits and ``.deb``; nothing else is ever served from the pool.
POOL_NAME = re.compile(r"[0-9a-f]{64}\.deb")
#: The path of a package under the server's base URL (the release document's ``package.path``).
POOL_PREFIX = "releases/pool/"
#: The largest package the pool takes (the device caps its download at the document's ``size``).
MAX_PACKAGE_BYTES = 512 * 1024 * 1024
INDEX = "index.json"
_FIELD = re.compile(r"[A-Za-z0-9.+~:_-]{1,128}")


@dataclass(frozen=True)
class Package:
    """One package in the pool."""

    sha256: str
    name: str
    version: str
    architecture: str
    size: int
    added_at: str

    @property
    def file_name(self) -> str:
        return f"{self.sha256}.deb"

    @property
    def path(self) -> str:
        """Where a device fetches it, under the server's base URL."""
        return POOL_PREFIX + self.file_name

    def to_json(self) -> dict:
        return asdict(self)


def deb_fields(path) -> dict:
    """``{"name", "version", "architecture"}`` of the Debian package at *path* (``dpkg-deb -f``)."""
    try:
        done = subprocess.run(["dpkg-deb", "-f", str(path), "Package", "Version", "Architecture"],
                              capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise PoolRefused(f"{path}: cannot run dpkg-deb ({e})", reason="unreadable") from None
    if done.returncode != 0:
        raise PoolRefused(f"{path} is not a Debian package: {done.stderr.strip()[:300]}", reason="not_a_package")
    fields = {}
    for line in done.stdout.splitlines():
        name, sep, value = line.partition(":")
        if sep:
            fields[name.strip().lower()] = value.strip()
    out = {"name": fields.get("package", ""), "version": fields.get("version", ""),
           "architecture": fields.get("architecture", "")}
    for key, value in out.items():
        if not _FIELD.fullmatch(value):
            raise PoolRefused(f"{path}: its {key} field {value[:80]!r} is missing or not a Debian {key}",
                              reason="not_a_package")
    return out


class Pool:
    """The pool folder *directory* (made if missing)."""

    def __init__(self, directory):
        self.directory = Path(directory)

    def file(self, sha256: str) -> Path:
        return self.directory / f"{sha256}.deb"

    def add(self, package_file, *, now: dt.datetime | None = None) -> Package:
        """Copy *package_file* into the pool as ``<sha256>.deb`` (once: the same bytes again change nothing)."""
        source = Path(package_file)
        try:
            size = source.stat().st_size
        except OSError as e:
            raise PoolRefused(f"{source}: {e.strerror or e}", reason="unreadable") from None
        if size > MAX_PACKAGE_BYTES:
            raise PoolRefused(f"{source}: {size:,} bytes; the pool takes at most {MAX_PACKAGE_BYTES:,}",
                              reason="too_large")
        fields = deb_fields(source)
        sha, size = copy_by_hash(source, self.directory, suffix=".deb", max_bytes=MAX_PACKAGE_BYTES,
                                 too_large=lambda most: PoolRefused(f"{source}: grew past {most:,} bytes while it "
                                                                    "was read", reason="too_large"))
        known = self.index()
        if sha in known:
            return known[sha]
        at = (now or dt.datetime.now(dt.timezone.utc)).strftime("%Y-%m-%dT%H:%M:%SZ")
        package = Package(sha256=sha, size=size, added_at=at, **fields)
        known[sha] = package
        self._write_index(known)
        return package

    def index(self) -> dict[str, Package]:
        """sha256 -> :class:`Package`, as ``index.json`` lists them (empty when there is none)."""
        try:
            data = json.loads((self.directory / INDEX).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as e:
            raise CentralError(f"the pool's index {self.directory / INDEX} cannot be read: {e}") from None
        return {p["sha256"]: Package(**p) for p in data.get("packages", [])}

    def _write_index(self, packages: dict[str, Package]):
        body = json.dumps({"format": "pishkhan.pool/1",
                           "packages": [p.to_json() for p in sorted(packages.values(), key=lambda p: p.added_at)]},
                          ensure_ascii=False, indent=1)
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".index-")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(body)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, self.directory / INDEX)


