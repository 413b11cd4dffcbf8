"""A real small filesystem (tmpfs, needs root) and a file that fills it to the last block: the full-disk tests."""

from __future__ import annotations

import os
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pytest


@contextmanager
def small_disk(size: str = "2m"):
    """A tmpfs of *size* mounted in a new folder; skipped when not root."""
    if os.geteuid() != 0:
        pytest.skip("needs root to mount a small filesystem")
    where = Path(tempfile.mkdtemp(prefix="pishkhan-full-"))
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], check=True, timeout=30)
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False, timeout=30)
        where.rmdir()


def fill(folder: Path) -> Path:
    """Write zeros into *folder*/filler until the disk is full (the last block too); the filler's path."""
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        for size in (1 << 16, 4096, 512, 1):
            try:
                while True:
                    os.write(fd, b"\0" * size)
            except OSError:
                pass
    finally:
        os.close(fd)
    return filler
