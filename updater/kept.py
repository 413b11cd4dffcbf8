"""kept/: the packages the device can go back to, one per version, each with its sha256 beside it.

``pishkhan_<version>.deb`` and ``pishkhan_<version>.deb.sha256``; a package counts as kept only when its
file still has the recorded hash (an SD card that lost a block must not be the way back).
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def sync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_whole(path: Path, data: bytes, *, mode: int = 0o644) -> None:
    """*data* at *path*, or the old file: written beside, synced, renamed, the folder synced."""
    part = path.with_name(path.name + ".part")
    fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(part, mode)
    os.replace(part, path)
    sync_dir(path.parent)


class Kept:
    """The kept packages in *folder* (made 0755 on first keep)."""

    def __init__(self, folder):
        self.folder = Path(folder)

    def path(self, version: str) -> Path:
        return self.folder / f"pishkhan_{version.replace(':', '%3a')}.deb"

    def has(self, version: str) -> bool:
        """An intact package of *version* is kept."""
        deb = self.path(version)
        try:
            recorded = deb.with_name(deb.name + ".sha256").read_text().split()[0]
            return deb.is_file() and sha256_of(deb) == recorded
        except (OSError, IndexError):
            return False

    def keep(self, source: Path, *, version: str, sha256: str, move: bool = False) -> Path:
        """*source* (whose hash is *sha256*) kept as *version*'s package; its path."""
        self.folder.mkdir(mode=0o755, parents=True, exist_ok=True)
        deb = self.path(version)
        part = deb.with_name(deb.name + ".part")
        if move:
            os.replace(source, part)
        else:
            shutil.copyfile(source, part)
        with open(part, "rb") as f:
            os.fsync(f.fileno())
        os.chmod(part, 0o644)
        os.replace(part, deb)
        write_whole(deb.with_name(deb.name + ".sha256"), f"{sha256}  {deb.name}\n".encode())
        return deb

    def versions(self) -> list[str]:
        if not self.folder.is_dir():
            return []
        return sorted(p.name[len("pishkhan_"):-len(".deb")].replace("%3a", ":")
                      for p in self.folder.glob("pishkhan_*.deb"))

    def forget(self, version: str) -> None:
        deb = self.path(version)
        for p in (deb, deb.with_name(deb.name + ".sha256")):
            p.unlink(missing_ok=True)

    def prune(self, *, keep: set[str]) -> list[str]:
        """Forget every version not in *keep*; the versions forgotten."""
        gone = [v for v in self.versions() if v not in keep]
        for v in gone:
            self.forget(v)
        return gone
