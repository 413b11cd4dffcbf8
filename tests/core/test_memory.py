"""release_free_memory gives freed heap pages back to the system."""

import gc
import sys
import weakref

import pytest

from pishkhan.runtime.memory import _malloc_trim, release_free_memory


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
