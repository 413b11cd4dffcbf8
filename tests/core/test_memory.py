"""release_free_memory gives freed heap pages back to the system; tune_heap bounds glibc's heap."""

import gc
import sys
import weakref

import pytest

from pishkhan.runtime.memory import HEAP_ARENAS, _malloc_trim, release_free_memory


def rss_kib() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS in /proc/self/status")


@pytest.mark.skipif(not sys.platform.startswith("linux") or _malloc_trim() is None, reason="glibc only")
def test_freed_heap_goes_back_to_the_system():
    # Many small blocks (below the mmap threshold) live on the heap; the last
    # one pins the heap's top so that free() alone cannot shrink it.
    blocks = [bytearray(4000) for _ in range(40_000)]  # ~160 MB
    for b in blocks:
        b[0] = 1
    keep = bytearray(4000)
    before_free = rss_kib()
    del blocks
    after_free = rss_kib()
    assert release_free_memory() is True
    after_trim = rss_kib()
    assert after_free - after_trim > 100_000, (before_free, after_free, after_trim)
    del keep


class _Node:
    """An object that can sit in a reference cycle and be weakly referenced."""


def _cycle():
    """A reference cycle only the cyclic garbage collector can free, and a weak reference to it."""
    a, b = _Node(), _Node()
    a.other, b.other = b, a
    return weakref.ref(a)


@pytest.mark.parametrize("trim", ["missing", "present"])
def test_it_collects_garbage_with_or_without_malloc_trim(monkeypatch, trim):
    if trim == "missing":
        monkeypatch.setattr("pishkhan.runtime.memory._malloc_trim", lambda: None)
    gc.disable()  # only release_free_memory may collect here
    try:
        gc.collect()
        ref = _cycle()
        assert ref() is not None  # reference counting alone cannot free a cycle
        result = release_free_memory()
        assert ref() is None, "release_free_memory did not collect the unreachable cycle"
    finally:
        gc.enable()
    if trim == "missing":
        assert result is False
    else:
        assert isinstance(result, bool)


# tune_heap changes the allocator for the whole process, so each check runs in a fresh interpreter.
HEAP_CHECK = r"""
import ctypes, sys, threading
from pishkhan.runtime import memory

libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]


class Info(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
                 "keepcost")]


libc.mallinfo2.restype = Info
if sys.argv[1] == "tuned":
    assert memory.tune_heap() is True
# A big block freed raises glibc's own threshold to its size ...
libc.free(libc.malloc(10 << 20))
before = libc.mallinfo2().hblkhd
block = libc.malloc(1 << 20)
mapped = libc.mallinfo2().hblkhd - before >= 1 << 20  # ... so that a 1 MB block would go to the heap
# Eight threads alive at once, each allocating: glibc gives each an arena unless told otherwise.
barrier = threading.Barrier(9)
def work():
    libc.free(libc.malloc(1000))
    barrier.wait()
threads = [threading.Thread(target=work) for _ in range(8)]
for t in threads:
    t.start()
barrier.wait()
libc.malloc_stats()  # one "Arena N:" paragraph per arena, on stderr
for t in threads:
    t.join()
print("mapped" if mapped else "heap")
"""


@pytest.mark.skipif(not sys.platform.startswith("linux") or _malloc_trim() is None, reason="glibc only")
@pytest.mark.parametrize("mode", ["tuned", "untuned"])
def test_tune_heap_bounds_arenas_and_maps_big_blocks_on_their_own(mode):
    import subprocess

    done = subprocess.run([sys.executable, "-c", HEAP_CHECK, mode], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    arenas = done.stderr.count("Arena ")
    if mode == "tuned":
        assert arenas <= HEAP_ARENAS, done.stderr
        assert done.stdout.strip() == "mapped"
    else:  # the check itself can tell: untuned glibc makes more arenas and keeps the block in a heap
        assert arenas > HEAP_ARENAS, done.stderr
        assert done.stdout.strip() == "heap"
