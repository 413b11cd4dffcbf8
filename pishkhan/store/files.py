"""State files written whole: after a power cut a file is the old one or the new one, never half.

Every file the device keeps beside its SQLite files (board pages, snapshots,
the voice's WAVs, the verified-boards list, the numbering mark) is written
with :func:`write_whole`: into a temporary file in the same folder, flushed
to the card with ``fsync``, renamed over the name, and the folder fsynced so
the rename itself survives. Without the ``fsync`` a power cut can leave the
new name pointing at an empty or partial file (the kernel had not written
the data yet): a snapshot whose hash the store recorded would not match, a
cached page or voice would be blank for ever. ``tests/power/test_state_files.py``
checks that the device's code writes its files this way.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from pishkhan.store.database import fsync_dir


def write_whole(path, data, *, sync_folder: bool = True) -> Path:
    """Write *data* to *path* so that a power cut leaves the old file or the new one.

    :param data: the bytes, or ``fn(file)`` writing them to a binary file
        object (e.g. ``lambda f: image.save(f, "PNG")``).
    :param sync_folder: fsync the folder after the rename; a caller writing
        several files into one folder may leave it to the last one.
    :raises OSError: nothing is left at *path* but the old file then.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{threading.get_ident()}.tmp")
    try:
        with open(tmp, "wb") as f:
            if callable(data):
                data(f)
            else:
                f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
        raise
    if sync_folder:
        fsync_dir(path.parent)
    return path
