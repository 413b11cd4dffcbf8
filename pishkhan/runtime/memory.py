"""Hand memory the process has freed back to the system.

A kiosk or wall display runs for weeks. Python and the C libraries under it
(Pillow, FreeType, the GL driver) free memory into glibc's heap, which keeps
the pages for reuse; after a burst of work the process looks larger than it
is. :func:`release_free_memory` collects garbage and asks glibc to return the
free pages (``malloc_trim``). Call it at quiet moments, e.g. when the kiosk
goes back to its attract screen.

:func:`tune_heap` sets two of glibc's allocator limits for a long-running
app, each worth several MB on the wall display (docs/performance.md):

- at most :data:`HEAP_ARENAS` heaps (arenas). glibc gives each new thread an
  arena of its own, up to eight per core, and memory a thread freed stays in
  its arena, out of the other threads' reach;
- a block of :data:`MMAP_THRESHOLD` or more is always mapped on its own and
  unmapped when freed. Left to itself, glibc raises that threshold to the
  size of the largest block freed so far (up to 32 MB), so that after one
  screenshot of the wall every decoded page and drawn image lands in a heap
  and stays there, freed but held, until the next :func:`release_free_memory`.

Each app calls it first thing, before its threads start.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
from functools import lru_cache


#: glibc heaps (arenas) an app process keeps: the main thread's and one for all the others.
HEAP_ARENAS = 2
#: Blocks this large or larger are mapped on their own (bytes): a page's rows, a drawn label, a screenshot.
MMAP_THRESHOLD = 256 * 1024
#: ``mallopt``'s parameters (glibc's malloc.h).
_M_MMAP_THRESHOLD, _M_ARENA_MAX = -3, -8


@lru_cache(maxsize=1)
def _libc():
    """The C library, or None where it cannot be loaded."""
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None


def tune_heap(*, arenas: int = HEAP_ARENAS, mmap_threshold: int = MMAP_THRESHOLD) -> bool:
    """Let glibc make at most *arenas* heaps from now on, and map every block of *mmap_threshold* bytes
    or more on its own.

    Call before the process starts its threads: a thread that already has an
    arena keeps it. True when glibc took both, False where the C library has
    no ``mallopt`` (musl, macOS) or refused one.
    """
    mallopt = getattr(_libc(), "mallopt", None)
    if mallopt is None:
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return mallopt(_M_ARENA_MAX, int(arenas)) == 1 and mallopt(_M_MMAP_THRESHOLD, int(mmap_threshold)) == 1


@lru_cache(maxsize=1)
def _malloc_trim():
    """glibc's ``malloc_trim``, or None where the C library has none (musl, macOS)."""
    trim = getattr(_libc(), "malloc_trim", None)
    if trim is None:
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
