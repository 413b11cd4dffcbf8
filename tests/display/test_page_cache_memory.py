"""The wall's page cache keeps memory bounded whatever the board's size: a
few pages decoded, the rest as PNG files on disk, the next page read ahead.

A real board of 500 services (the most a board may have) (signed with the test key, installed through
the store) is rendered by the real renderer; decoded pages are counted on
the cache's own page store and memory is measured with tracemalloc (every
decoded page is a Python ``bytes`` object, so the traced memory holds them).
"""

from __future__ import annotations

import json
import tracemalloc

import pytest
from PIL import Image

from bench.render_limits import big_board  # the same board the bench measures
from display.page_cache import KEEP_DECODED, PageCache, PageFiles
from pishkhan.boards.installed import effective_for_config, install_board, set_unavailable
from pishkhan.boards.trust import trust_key
from pishkhan.render import typeset

SERVICES = 500  # the most a board may have (pishkhan.boards.document)
SIZE = (960, 540)
PAGE_BYTES = SIZE[0] * SIZE[1] * 3


@pytest.fixture
def big_store(store, issuer_key):
    trust_key(store, issuer_key.public, label="test issuer", actor="test")
    install_board(store, issuer_key.sign(big_board(SERVICES)), source="cli", actor="test")
    return store


def test_a_500_service_board_is_shown_with_a_few_pages_in_memory(tmp_path, config, big_store, monkeypatch):
    held = []  # pages decoded in the set after each page drawn and each page shown
    real_append = PageFiles.append

    def append(files, image):
        real_append(files, image)
        held.append(len(files.decoded()))

    monkeypatch.setattr(PageFiles, "append", append)
    tracemalloc.start()
    try:
        cache = PageCache(big_store, config, size=SIZE, directory=tmp_path / "pages")
        pages = cache.refresh()
        assert pages.count == len(pages.pages) >= 40 and pages.verified
        assert typeset.font.cache_info().currsize == 0  # the renderer's faces closed once every page is drawn
        for _ in range(2):  # the wall's rotation, twice round
            for i in range(pages.count):
                assert len(pages.page(i)) == PAGE_BYTES
                assert pages.pages.settle(10)
                decoded = pages.pages.decoded()
                held.append(len(decoded))
                assert (i + 1) % pages.count in decoded  # the next page is ready before it is asked for
        retained, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    every_page = pages.count * PAGE_BYTES
    assert max(held) <= KEEP_DECODED
    assert retained < every_page / 5, f"{retained / 1e6:.1f} MB kept for {pages.count} pages"
    assert peak < every_page / 4, f"{peak / 1e6:.1f} MB at the peak for {pages.count} pages"
    assert not pages.pages.errors and not cache.errors

    # the pages read back are the pages drawn
    from pishkhan.render.board_layout import layout_pages
    from pishkhan.render.board_pages import draw_page
    from pishkhan.text import jalali

    board = effective_for_config(big_store, config)
    layouts = cache._layout(layout_pages, board, jalali.now())
    for i in (1, pages.count - 1):
        assert pages.image(i).tobytes() == draw_page(layouts[i]).tobytes()

    # on disk: one folder for the set, every page a PNG, complete
    folder = tmp_path / "pages" / pages.key
    assert sorted(p.name for p in folder.glob("*.png")) == [f"{i:04d}.png" for i in range(pages.count)]
    assert json.loads((folder / "meta.json").read_text())["count"] == pages.count
    cache.close()

    # a restarted wall shows them from disk at once, one page decoded
    again = PageCache(big_store, config, size=SIZE, directory=tmp_path / "pages")
    loaded = again.refresh()
    assert loaded.from_disk and loaded.count == pages.count and len(loaded.pages.decoded()) == 1
    assert loaded.page(pages.count - 1) == pages.image(pages.count - 1).tobytes()
    again.close()


def test_only_the_set_on_show_and_the_one_before_stay_on_disk(tmp_path, config, board_store):
    def render(board, *, config, size, now):
        return [Image.new("RGB", size, (n * 40, 200, 200)) for n in range(5)]

    cache = PageCache(board_store, config, size=(320, 200), render=render, directory=tmp_path / "pages")
    codes = [s.code for s in effective_for_config(board_store, config).services()][:3]
    sets = [cache.refresh()]
    for code in codes:
        set_unavailable(board_store, code, "موقتاً", actor="test")
        sets.append(cache.refresh())
    assert len({s.key for s in sets}) == 4
    kept = sorted(p.name for p in (tmp_path / "pages").iterdir())
    assert kept == sorted([sets[-1].key, sets[-2].key])
    assert sets[-2].pages.decoded() == []  # the set before is on disk only
    assert len(sets[-1].pages.decoded()) <= KEEP_DECODED
    assert Image.frombytes("RGB", (320, 200), sets[-1].page(3)).getpixel((0, 0)) == (120, 200, 200)
    # a page whose file has gone shows blank and says why, instead of stopping the wall (page(3) read page 4
    # ahead on the reader thread: let that finish and drop it, or it would be shown from memory)
    assert sets[-1].pages.settle()
    sets[-1].pages.forget()
    (tmp_path / "pages" / sets[-1].key / "0004.png").unlink()
    assert set(sets[-1].pages.get(4)) == {255} and "0004.png" in sets[-1].pages.errors[-1]
    cache.close()


def test_without_a_folder_the_pages_go_to_a_temporary_one_removed_on_close(config, board_store):
    cache = PageCache(board_store, config, size=(640, 400), directory=None)
    pages = cache.refresh()
    folder = pages.pages.folder
    assert pages.count >= 1 and folder.is_dir() and len(list(folder.glob("*.png"))) == pages.count
    cache.close()
    assert not folder.parent.exists()
