"""Hand memory the process has freed back to the system.

A kiosk or wall display runs for weeks. Python and the C libraries under it
(Pillow, FreeType, the GL driver) free memory into glibc's heap, which keeps
the pages for reuse; after a burst of work the process looks larger than it
is. :func:`release_free_memory` collects garbage and asks glibc to return the
free pages (``malloc_trim``). Call it at quiet moments, e.g. when the kiosk
goes back to its attract screen.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
from functools import lru_cache


@lru_cache(maxsize=1)
def _malloc_trim():
    """glibc's ``malloc_trim``, or None where the C library has none (musl, macOS)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


def release_free_memory() -> bool:
    """Collect garbage, then return free heap pages to the system.

    True when the C library could return some memory, False when it had
    none to return or has no ``malloc_trim``.
    """
    gc.collect()
    trim = _malloc_trim()
    return bool(trim(0)) if trim is not None else False
