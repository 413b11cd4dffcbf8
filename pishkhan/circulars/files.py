"""The circulars' attachments kept at the office: ``<state>/circulars/<sha256>.pdf``, whole or not at all.

:class:`AttachmentStore` writes an attachment to ``<sha256>.part`` as it
arrives, stops as soon as more bytes come than the index names, checks the
SHA-256 and size, then ``fsync``\\ s the file, renames it to its final name
and ``fsync``\\ s the folder. A power cut or a kill at any moment leaves either
no file under the final name or the whole checked one; a ``.part`` left
behind is removed by :meth:`AttachmentStore.clean` (at the agent's start).

Bounds, each refused as :exc:`~pishkhan.exc.CircularRefused` ``too_large``
with a message naming it: one file at most :data:`MAX_FILE` (20 MiB), the
folder's kept attachments at most :data:`MAX_FOLDER` (1 GiB), and never a
write that would leave less than :data:`MIN_FREE` (200 MiB) free on the disk.
(The count bound, 2,000 circulars, is the install path's: see
:mod:`pishkhan.circulars.installed`.) A file whose bytes differ from the
index is ``wrong_hash``.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from pathlib import Path
from typing import Iterable

from pishkhan.circulars.document import MAX_ATTACHMENT
from pishkhan.exc import CircularRefused

MAX_FILE = MAX_ATTACHMENT
MAX_FOLDER = 1024 ** 3
MIN_FREE = 200 * 1024 ** 2
SUFFIX = ".pdf"
_SHA256 = re.compile(r"[0-9a-f]{64}")


def _sha(sha256: str) -> str:
    if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256):
        raise ValueError(f"not a SHA-256 in lowercase hex: {sha256!r}")
    return sha256


def file_sha256(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class AttachmentStore:
    """The kept attachments in *folder*, within the bounds given (defaults: the module's)."""

    def __init__(self, folder, *, max_file: int = MAX_FILE, max_folder: int = MAX_FOLDER, min_free: int = MIN_FREE):
        self.folder = Path(folder)
        self.max_file, self.max_folder, self.min_free = max_file, max_folder, min_free

    def path(self, sha256: str) -> Path:
        """Where the attachment *sha256* is kept (whether or not it is there)."""
        return self.folder / f"{_sha(sha256)}{SUFFIX}"

    def has(self, sha256: str, size: int | None = None) -> bool:
        """Whether the attachment is kept (of *size*, when given); the hash is checked by :meth:`verify`."""
        path = self.path(sha256)
        return path.is_file() and (size is None or path.stat().st_size == size)

    def verify(self, sha256: str) -> bool:
        """Whether the kept file's bytes still hash to *sha256*."""
        try:
            return file_sha256(self.path(sha256)) == sha256
        except OSError:
            return False

    def clean(self) -> int:
        """Remove every ``.part`` file left by a write that did not finish; returns how many."""
        if not self.folder.is_dir():
            return 0
        removed = 0
        for part in self.folder.glob("*.part"):
            try:
                part.unlink()
                removed += 1
            except OSError:  # gone already, or not a file (a directory planted there): never stops the start
                pass
        return removed

    def used(self) -> int:
        """Bytes of the kept attachments."""
        if not self.folder.is_dir():
            return 0
        return sum(p.stat().st_size for p in self.folder.glob(f"*{SUFFIX}") if p.is_file())

    def check_room(self, size: int):
        """Refuse (``too_large``, naming the bound) an attachment of *size* bytes that would break a bound."""
        if size > self.max_file:
            raise CircularRefused(f"the attachment is {size:,} bytes; a file may be at most {self.max_file:,} "
                                  "(bound: file size)", reason="too_large")
        used = self.used()
        if used + size > self.max_folder:
            raise CircularRefused(f"the circulars folder holds {used:,} bytes; {size:,} more would pass its bound "
                                  f"of {self.max_folder:,} (bound: folder size)", reason="too_large")
        self.folder.mkdir(parents=True, exist_ok=True)
        free = shutil.disk_usage(self.folder).free
        if free - size < self.min_free:
            raise CircularRefused(f"the disk has {free:,} bytes free; {size:,} more would leave less than "
                                  f"{self.min_free:,} (bound: free disk)", reason="too_large")

    def keep(self, sha256: str, size: int, chunks: Iterable[bytes]) -> Path:
        """Write *chunks* as the attachment *sha256* of *size* bytes, whole and checked, or raise
        :exc:`~pishkhan.exc.CircularRefused` (``too_large``, ``wrong_hash``) leaving nothing behind.
        An exception from *chunks* (the network) also leaves nothing and goes on up."""
        final = self.path(sha256)
        self.check_room(size)
        part = final.with_suffix(".part")
        digest, written = hashlib.sha256(), 0
        try:
            part.unlink(missing_ok=True)  # whatever is there (a symlink planted to a file elsewhere) is never followed
            fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
            with open(fd, "wb") as f:
                for chunk in chunks:
                    written += len(chunk)
                    if written > size:
                        raise CircularRefused(f"the server sent more than the {size:,} bytes the index names",
                                              reason="wrong_hash")
                    digest.update(chunk)
                    f.write(chunk)
                if written != size or digest.hexdigest() != sha256:
                    raise CircularRefused(f"got {written:,} bytes hashing to {digest.hexdigest()[:16]}…; the index "
                                          f"names {size:,} bytes hashing to {sha256[:16]}…", reason="wrong_hash")
                f.flush()
                os.fsync(f.fileno())
            os.replace(part, final)
        except BaseException:
            part.unlink(missing_ok=True)
            raise
        fd = os.open(self.folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        return final
