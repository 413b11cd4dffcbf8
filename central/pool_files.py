"""A file copied into a content-addressed pool folder: named by its SHA-256, written whole or not at all.

The release pool (:mod:`central.releases.pool`) and the circulars' PDF pool
(:mod:`central.circulars.pool`) both keep their files this way.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Callable


def copy_by_hash(source, directory, *, suffix: str, max_bytes: int,
                 too_large: Callable[[int], Exception]) -> tuple[str, int]:
    """Copy *source* into *directory* as ``<sha256><suffix>`` (the same bytes again change nothing), fsynced and
    renamed into place; ``(sha256, size)``. A file that grows past *max_bytes* while it is read raises
    ``too_large(max_bytes)`` and leaves nothing behind."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    digest, size = hashlib.sha256(), 0
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".adding-")
    try:
        with open(source, "rb") as src, os.fdopen(fd, "wb") as out:
            for chunk in iter(lambda: src.read(1 << 20), b""):
                size += len(chunk)
                if size > max_bytes:
                    raise too_large(max_bytes)
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o644)
        sha = digest.hexdigest()
        final = directory / f"{sha}{suffix}"
        if final.exists():
            os.unlink(tmp)
        else:
            os.replace(tmp, final)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return sha, size
