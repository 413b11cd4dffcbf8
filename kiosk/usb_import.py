"""Find signed board files on a USB stick and install one.

Installing goes through :func:`pishkhan.boards.installed.install_board`, the one
path for every source: a board that is invalid, wrongly signed or not newer
is refused with its reason, and the installed board stays.
"""

from __future__ import annotations

import os
from pathlib import Path

from pishkhan.boards.document import load_board_file
from pishkhan.boards.installed import InstalledBoard, install_board

MAX_DEPTH = 3
MAX_FILES = 50
MAX_BYTES = 5 * 1024 * 1024


def scan(mount) -> list[Path]:
    """``*.json`` files under *mount* (a few folders deep), newest first."""
    root = Path(mount)
    found: list[Path] = []
    if not root.is_dir():
        return found
    base_depth = len(root.parts)
    for folder, dirs, files in os.walk(root):
        depth = len(Path(folder).parts) - base_depth
        dirs[:] = sorted(d for d in dirs if not d.startswith(".")) if depth < MAX_DEPTH else []
        for name in files:
            if name.lower().endswith(".json") and not name.startswith("."):
                found.append(Path(folder) / name)
        if len(found) >= MAX_FILES:
            break
    found.sort(key=lambda p: (-p.stat().st_mtime, str(p)))
    return found[:MAX_FILES]


def import_board(store, path, *, config, actor: str = "staff") -> InstalledBoard:
    """Install the signed board in *path*; raises a :exc:`~pishkhan.exc.BoardError` saying why not."""
    from pishkhan.exc import BoardInvalid

    path = Path(path)
    if path.stat().st_size > MAX_BYTES:
        raise BoardInvalid([f"(file): {path.name} is larger than {MAX_BYTES // 1024 // 1024} MB; not a board"])
    envelope = load_board_file(path)
    return install_board(store, envelope, source="usb", actor=actor,
                         province=config.get("office.province"), office=config.get("office.office_id"))
