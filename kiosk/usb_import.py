"""Find signed board files on a USB stick and install one, reading only regular files on the stick.

A stick comes from anywhere, so what is on it is taken with care:

- **Only regular files that live under the mount folder.** Every entry is
  looked at with ``lstat``: no link is followed, not to a file and not to a
  folder, so nothing outside the stick is read. Folders are opened one by one
  relative to their parent with ``O_NOFOLLOW | O_DIRECTORY``; the file with
  ``O_NOFOLLOW | O_NONBLOCK | O_NOCTTY`` and checked again with ``fstat``
  once open. A FIFO, device, socket or link — named ``*.json`` or swapped in
  after the scan — is refused, and opening a FIFO never waits for a writer.
- **Bounded scan.** :func:`scan` goes at most :data:`MAX_DEPTH` folders deep,
  looks at no more than :data:`MAX_ENTRIES` entries in all, lists at most
  :data:`MAX_FILES` files (newest first), and stops after
  :data:`SCAN_SECONDS`. Hidden entries (``.name``) are passed over; names that
  are not printable UTF-8 (bidi controls, stray bytes) are left out and counted.
- **Bounded read.** A file is read only when it is at most :data:`MAX_DEPTH`
  folders deep (as the scan lists them) and ``fstat`` gives at most
  :data:`MAX_BYTES`, and in chunks that stop at one byte over that limit
  (a file that grows) and after :data:`READ_SECONDS`.
- **Never hangs, never raises.** Both run in a worker thread and the caller
  waits at most the time limit (plus :data:`GRACE`), so a stick that hangs in
  the kernel gives a clear error instead of freezing staff mode.
  :func:`scan` never raises: its :class:`Scan` says what was found, how many
  entries were left out and, when it failed, why. :func:`import_board`
  raises only :exc:`~pishkhan.exc.BoardError` — :exc:`~pishkhan.exc.BoardFileError`
  for the file, the others for the board in it.

Installing goes through :func:`pishkhan.boards.installed.install_board`, the one
path for every source: a board that is invalid, wrongly signed or not newer
is refused with its reason, and the installed board stays.
"""

from __future__ import annotations

import errno
import os
import stat
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path, PurePath

from pishkhan.boards.document import load_board_bytes
from pishkhan.boards.installed import InstalledBoard, install_board
from pishkhan.exc import BoardFileError, BoardInvalid

MAX_DEPTH = 3
MAX_FILES = 50
MAX_ENTRIES = 2000
MAX_BYTES = 5 * 1024 * 1024
SCAN_SECONDS = 3.0
READ_SECONDS = 5.0
#: Extra seconds the caller waits for a worker past its own time limit.
GRACE = 1.0
CHUNK = 64 * 1024

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
_ALLOWED_FORMAT = {"\u200c", "\u200d"}  # ZWNJ and ZWJ: Persian names need them


@dataclass(frozen=True)
class Scan:
    """What a scan of the stick found.

    ``problem`` is None, ``missing`` (no such folder), ``unreadable`` or
    ``timeout``; ``detail`` says more in English (for the log).
    ``skipped`` counts ``*.json`` entries that are not regular files and
    entries with unusable names; ``truncated`` is True when the entry or
    time limit stopped the scan early.
    """

    mount: Path
    files: tuple[Path, ...] = ()
    skipped: int = 0
    truncated: bool = False
    problem: str | None = None
    detail: str = ""


class _TimedOut(Exception):
    pass


def _in_worker(fn, seconds: float, what: str):
    """*fn()* in a daemon thread; raises :class:`_TimedOut` when it has not returned after *seconds*."""
    box: dict = {}

    def run():
        try:
            box["value"] = fn()
        except BaseException as e:  # handed to the caller as it is
            box["error"] = e

    worker = threading.Thread(target=run, name=f"usb-{what}", daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        raise _TimedOut(what)
    if "error" in box:
        raise box["error"]
    return box["value"]


def usable_name(name: str) -> bool:
    """True for a name that can be shown: printable UTF-8 (ZWNJ allowed), no controls, at most 255 bytes."""
    try:
        size = len(name.encode("utf-8"))
    except UnicodeEncodeError:
        return False
    return 0 < size <= 255 and all(ch.isprintable() or ch in _ALLOWED_FORMAT for ch in name)


def _open_dir(root_fd: int, parts) -> int:
    """A new descriptor for the folder *parts* under *root_fd*, never through a link."""
    fd = os.dup(root_fd)
    try:
        for part in parts:
            child = os.open(part, _DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = child
    except BaseException:
        os.close(fd)
        raise
    return fd


def scan(mount, *, max_depth: int = MAX_DEPTH, max_entries: int = MAX_ENTRIES, max_files: int = MAX_FILES,
         seconds: float = SCAN_SECONDS) -> Scan:
    """The ``*.json`` regular files on the stick at *mount*, newest first; never raises."""
    root = Path(mount) if mount else Path("")
    if not str(mount or "").strip():
        return Scan(root, problem="missing", detail="kiosk.usb_mount is empty")
    try:
        return _in_worker(lambda: _scan(root, time.monotonic() + seconds, max_depth, max_entries, max_files),
                          seconds + GRACE, "scan")
    except _TimedOut:
        return Scan(root, problem="timeout", detail=f"the stick did not answer within {seconds:g} s")
    except Exception as e:  # the staff screen must always get an answer
        return Scan(root, problem="unreadable", detail=f"{type(e).__name__}: {e}")


def _scan(root: Path, deadline: float, max_depth: int, max_entries: int, max_files: int) -> Scan:
    try:
        root_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_NONBLOCK | os.O_CLOEXEC)
    except (FileNotFoundError, NotADirectoryError):
        return Scan(root, problem="missing", detail=f"{root} is not a folder")
    except OSError as e:
        return Scan(root, problem="unreadable", detail=f"{root}: {e.strerror}")
    found: list[tuple[float, tuple[str, ...]]] = []
    entries = skipped = 0
    truncated = False
    try:
        pending: deque[tuple[str, ...]] = deque([()])
        while pending and not truncated:
            parts = pending.popleft()  # breadth first: the files nearest the top count first
            try:
                fd = _open_dir(root_fd, parts)
                try:
                    with os.scandir(fd) as listing:
                        for entry in listing:
                            entries += 1
                            if entries > max_entries or time.monotonic() > deadline:
                                truncated = True
                                break
                            name = entry.name
                            if name.startswith("."):
                                continue
                            json_name = name.lower().endswith(".json")
                            try:
                                info = entry.stat(follow_symlinks=False)
                            except OSError:
                                skipped += json_name
                                continue
                            mode, mtime = info.st_mode, info.st_mtime
                            if stat.S_ISDIR(mode):
                                if len(parts) < max_depth and usable_name(name):
                                    pending.append(parts + (name,))
                                continue
                            if not json_name:
                                continue
                            if not stat.S_ISREG(mode) or not usable_name(name):
                                skipped += 1
                                continue
                            found.append((mtime, parts + (name,)))
                finally:
                    os.close(fd)
            except OSError as e:
                if not parts:
                    return Scan(root, problem="unreadable", detail=f"{root}: {e.strerror}")
                skipped += 1  # a folder that went away, or became a link, or cannot be read
    finally:
        os.close(root_fd)
    found.sort(key=lambda item: (-item[0], item[1]))
    files = tuple(root.joinpath(*parts) for _, parts in found[:max_files])
    return Scan(root, files=files, skipped=skipped, truncated=truncated,
                detail="stopped at the entry or time limit" if truncated else "")


def _parts_under(mount, path) -> tuple[str, ...]:
    root, target = PurePath(mount), PurePath(path)
    if not target.is_absolute():
        target = root / target
    try:
        parts = target.relative_to(root).parts
    except ValueError:
        parts = ()
    if not parts or any(p in ("..", ".") for p in parts):
        raise BoardFileError(f"{_shown(str(path))} is not a file on the USB stick ({mount})")
    if len(parts) - 1 > MAX_DEPTH:
        raise BoardFileError(f"{_shown('/'.join(parts))} is more than {MAX_DEPTH} folders deep on the stick; "
                             "put the board nearer the top")
    return parts


def _shown(name: str) -> str:
    return name if usable_name(name.replace("/", "")) else ascii(name)


_KINDS = ((stat.S_ISDIR, "folder"), (stat.S_ISFIFO, "FIFO (named pipe)"), (stat.S_ISCHR, "character device"),
          (stat.S_ISBLK, "block device"), (stat.S_ISSOCK, "socket"), (stat.S_ISLNK, "link"))


def _kind(mode: int) -> str:
    return next((label for test, label in _KINDS if test(mode)), "special file")


def _file_error(shown: str, e: OSError, *, in_folder: bool) -> BoardFileError:
    if e.errno in (errno.ELOOP, errno.ENOTDIR) and in_folder:
        return BoardFileError(f"{shown}: a folder on its path is a link or not a folder; links are not followed")
    if e.errno == errno.ELOOP:
        return BoardFileError(f"{shown} is a link; only regular files on the stick are read, links are not followed")
    if e.errno == errno.ENOENT:
        return BoardFileError(f"{shown} is no longer on the stick")
    if e.errno in (errno.EACCES, errno.EPERM):
        return BoardFileError(f"{shown} cannot be read: permission denied")
    if e.errno == errno.EIO:
        return BoardFileError(f"{shown} could not be read: the stick gave an input/output error")
    if e.errno in (errno.ENXIO, errno.ENODEV, errno.EISDIR):
        return BoardFileError(f"{shown} is not a regular file; only regular files on the stick are read")
    return BoardFileError(f"{shown} could not be read: {e.strerror or e}")


def read_board_file(mount, path, *, max_bytes: int = MAX_BYTES, seconds: float = READ_SECONDS) -> bytes:
    """The bytes of the regular file *path* on the stick at *mount*, bounded by *max_bytes* and *seconds*.

    :raises BoardFileError: not a regular file on the stick, too large, unreadable or too slow.
    """
    parts = _parts_under(mount, path)
    shown = _shown("/".join(parts))
    limit_mb = f"{max_bytes / 1024 / 1024:g} MB"

    def work() -> bytes:
        deadline = time.monotonic() + seconds
        try:
            root_fd = os.open(mount, os.O_RDONLY | os.O_DIRECTORY | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError as e:
            raise BoardFileError(f"the USB stick ({mount}) cannot be opened: {e.strerror}") from None
        try:
            try:
                dir_fd = _open_dir(root_fd, parts[:-1])
            except OSError as e:
                raise _file_error(shown, e, in_folder=True) from None
            try:
                fd = os.open(parts[-1], _FILE_FLAGS, dir_fd=dir_fd)
            except OSError as e:
                raise _file_error(shown, e, in_folder=False) from None
            finally:
                os.close(dir_fd)
        finally:
            os.close(root_fd)
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise BoardFileError(f"{shown} is a {_kind(info.st_mode)}, not a regular file; "
                                     "only regular files on the stick are read")
            if info.st_size > max_bytes:
                raise BoardFileError(f"{shown} is larger than {limit_mb}; not a board")
            chunks, total = [], 0
            while True:
                if time.monotonic() > deadline:
                    raise BoardFileError(f"{shown} could not be read within {seconds:g} s; the stick is too slow")
                try:
                    chunk = os.read(fd, min(CHUNK, max_bytes + 1 - total))
                except OSError as e:
                    raise _file_error(shown, e, in_folder=False) from None
                if not chunk:
                    return b"".join(chunks)
                total += len(chunk)
                if total > max_bytes:
                    raise BoardFileError(f"{shown} is larger than {limit_mb} (it grew while read); not a board")
                chunks.append(chunk)
        finally:
            os.close(fd)

    try:
        return _in_worker(work, seconds + GRACE, "read")
    except _TimedOut:
        raise BoardFileError(f"{shown}: the stick did not answer within {seconds:g} s") from None
    except MemoryError:
        raise BoardFileError(f"{shown} could not be read: out of memory") from None


def import_board(store, path, *, config, actor: str = "staff") -> InstalledBoard:
    """Install the signed board in *path* on the stick; raises a :exc:`~pishkhan.exc.BoardError` saying why not."""
    mount = config.kiosk.usb_mount
    data = read_board_file(mount, path)
    name = _shown("/".join(_parts_under(mount, path)))
    try:
        envelope = load_board_bytes(data, name=name)
    except RecursionError:
        raise BoardInvalid([f"(file): {name} is nested too deeply to be a board"]) from None
    except ValueError as e:  # e.g. a number with more digits than Python converts
        raise BoardInvalid([f"(file): {name} cannot be read as a board: {e}"]) from None
    return install_board(store, envelope, source="usb", actor=actor,
                         province=config.office.province, office=config.office.office_id)
