"""release_free_memory gives freed heap pages back to the system."""

import sys

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


def test_without_malloc_trim_it_still_collects(monkeypatch):
    monkeypatch.setattr("pishkhan.runtime.memory._malloc_trim", lambda: None)
    assert release_free_memory() is False
