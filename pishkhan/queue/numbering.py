"""The numbering high-water mark: the last number issued, per day and lane, outside the store.

A store restored from an older copy has forgotten the tickets issued since
the copy; numbering from it alone would print ``A003`` a second time. So
every issued number is also written to a small file beside the store
(``<store stem>.numbering.hwm``, e.g. ``pishkhan.numbering.hwm`` in the
state folder), and the next number is the larger of the store's and the
mark's. The file is JSON, ``{"days": {"1405-09-07": {"A": 5}}}``, keeping
only the last :data:`KEEP_DAYS` days; it is written whole to a temporary
file, fsynced and renamed over the old one (then the folder is fsynced), so
it is always either the old mark or the new one. Writers take an ``flock`` on
``<mark>.lock`` and merge with what is there, so the mark never goes down
when several processes issue at once.

The mark is written after the ticket commits and before the ticket is
returned (so before it is printed): a ticket never printed is all a crash in
between can leave unmarked, and no number is skipped. Before the commit,
:meth:`HighWaterMark.check_writable` makes sure the mark's folder can take
the write (writable, some free space), so a full disk or a read-only folder
fails the issue with nothing committed.

A missing mark is no mark (a new device, or the file was removed on
purpose). A mark that cannot be read is refused
(:exc:`~pishkhan.exc.StoreCorrupt`): numbering without it could repeat a
printed number. Writing it is part of issuing: a mark that cannot be written
(full disk, read-only folder) fails the issue before the ticket commits.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
from pathlib import Path

from pishkhan.exc import StoreCorrupt
from pishkhan.store.database import _os_error, fsync_dir

#: Days of marks kept in the file (numbers restart each day).
KEEP_DAYS = 7

#: Free bytes the mark's folder must have before a ticket commits.
MIN_FREE = 64 * 1024


def mark_path(store_path) -> Path:
    """The high-water mark file that goes with the store at *store_path*."""
    store_path = Path(store_path)
    return store_path.with_name(f"{store_path.stem}.numbering.hwm")


class HighWaterMark:
    """The last numbers issued, per day and lane, kept in one small file.

    :param path: the mark file (see :func:`mark_path`).
    """

    def __init__(self, path):
        self.path = Path(path)

    def _read(self) -> dict:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return {}
        except OSError as e:
            raise _os_error(e, f"read the numbering mark {self.path}") from None
        try:
            days = json.loads(data.decode("utf-8"))["days"]
            if not isinstance(days, dict) or not all(
                    isinstance(lanes, dict) and all(isinstance(n, int) and not isinstance(n, bool)
                                                    for n in lanes.values()) for lanes in days.values()):
                raise ValueError("not a mapping of days to lanes to numbers")
            return days
        except (ValueError, KeyError, TypeError, UnicodeDecodeError) as e:
            raise StoreCorrupt(f"the numbering mark {self.path} is damaged ({e}); without it a number printed "
                               "earlier today could be printed again. Move it aside only if today's highest "
                               "issued number is known to be in the store") from None

    def last(self, day: str, lane: str) -> int | None:
        """The highest number issued on *day* in *lane*, or None."""
        return self._read().get(day, {}).get(lane)

    def check_writable(self):
        """Raise a :exc:`~pishkhan.exc.StoreError` when the mark could not be written now."""
        folder = self.path.parent
        doing = f"write the numbering mark {self.path}"
        try:
            if not os.access(folder, os.W_OK) or (self.path.exists() and not os.access(self.path, os.W_OK)):
                raise PermissionError(13, "permission denied")
            free = os.statvfs(folder)
            if free.f_bavail * free.f_frsize < MIN_FREE:
                raise OSError(28, f"less than {MIN_FREE // 1024} KiB free")
            if free.f_flag & os.ST_RDONLY:
                raise OSError(30, "read-only file system")
        except OSError as e:
            raise _os_error(e, doing) from None

    def raise_to(self, day: str, lane: str, number: int):
        """Record that *number* was issued on *day* in *lane* (the mark never goes down)."""
        lock = self.path.with_name(self.path.name + ".lock")
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}-{threading.get_ident()}.tmp")
        try:
            with open(lock, "a") as held:
                fcntl.flock(held, fcntl.LOCK_EX)
                days = self._read()
                lanes = days.setdefault(day, {})
                if lanes.get(lane, 0) >= number:
                    return
                lanes[lane] = number
                kept = {d: days[d] for d in sorted(days)[-KEEP_DAYS:]}
                with open(tmp, "wb") as f:
                    f.write(json.dumps({"days": kept}, sort_keys=True).encode())
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(tmp, self.path)
                fsync_dir(self.path.parent)
        except OSError as e:
            try:
                tmp.unlink(missing_ok=True)
            except OSError:
                pass
            raise _os_error(e, f"write the numbering mark {self.path}") from None
