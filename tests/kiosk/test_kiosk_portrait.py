"""The kiosk on a portrait touchscreen (800x1280): same journey, nothing off screen."""

from __future__ import annotations

import pytest
from kiosk_harness import pump, seen

from kivy.core.window import Window
from kivy.uix.scrollview import ScrollView

from kiosk.widgets import MIN_TARGET, Btn, Tile, walk

FIRST = "ID-01"


@pytest.fixture
def portrait():
    before = tuple(Window.size)
    Window.size = (800, 1280)
    pump(frames=5)
    yield
    Window.size = before
    pump(frames=5)


def _scrolled(w) -> bool:
    """Whether *w* lies inside a ScrollView: it may be scrolled out of sight, the view itself may not."""
    parent = w.parent
    while parent is not None and parent is not Window:  # the window is its own parent
        if isinstance(parent, ScrollView):
            return True
        parent = parent.parent
    return False


def _off_screen(kiosk):
    """Visible buttons, tiles and scrolling lists that stick out of the window
    (left, right, top or bottom), or buttons and tiles too small to touch."""
    bad = []
    for w in walk(kiosk.screen):
        if not (w.width > 0 and w.opacity > 0 and w.get_root_window() is not None):
            continue
        touchable = isinstance(w, (Btn, Tile))
        if touchable and min(w.width, w.height) < MIN_TARGET - 2:
            bad.append((w.name, "small", tuple(w.size)))
        if not (touchable and not _scrolled(w)) and not isinstance(w, ScrollView):
            continue
        x0, y0 = w.to_window(w.x, w.y)
        if x0 < -1 or x0 + w.width > Window.width + 1 or y0 < -1 or y0 + w.height > Window.height + 1:
            bad.append((getattr(w, "name", "") or type(w).__name__, "outside", (x0, y0, w.width, w.height)))
    return bad


def test_portrait_ticket_in_three_touches(portrait, make_kiosk, open_store, tmp_path):
    d = make_kiosk(open_store)
    assert Window.height > Window.width
    assert d.kiosk.current == "attract"
    assert _off_screen(d.kiosk) == []
    d.tap("start")
    assert d.kiosk.current == "browse"
    assert _off_screen(d.kiosk) == []
    title = d.find("title")
    assert title.to_window(*title.pos)[1] + title.height <= Window.height  # the title is on screen
    seen(d.screenshot(tmp_path / "browse-portrait.png"), "خدمت مورد نظر را انتخاب کنید", "کارت هوشمند ملی")
    d.tap(f"service:{FIRST}")
    assert d.kiosk.current == "detail"
    assert _off_screen(d.kiosk) == []
    take = d.find("take-ticket")
    assert 0 <= take.to_window(*take.pos)[1]  # the button is not pushed below the screen
    seen(d.screenshot(tmp_path / "detail-portrait.png"), "جمع کل", "مدارک لازم", "دریافت نوبت")
    d.tap("take-ticket")
    assert d.touches == 3 and d.kiosk.current == "ticket"
    d.wait_for(lambda: d.kiosk.screen.params.get("print_state") != "printing")
    assert d.kiosk.screen.params["print_state"] == "printed"
    assert _off_screen(d.kiosk) == []
    assert [r["label"] for r in open_store.query("SELECT label FROM tickets")] == ["A001"]


def test_portrait_staff_screens_fit_and_keep_their_targets(portrait, make_kiosk, open_store, config):
    from pishkhan.boards.notices import post_notice
    from pishkhan.queue.core import Queue

    from kiosk.widgets import overflows

    post_notice(open_store, "برق ساختمان از ساعت ۱۲ تا ۱۳ قطع است", actor="test")
    queue = Queue(open_store, config)
    for code in (FIRST, "ID-02", FIRST):
        queue.issue(code)
    d = make_kiosk(open_store)
    d.kiosk.enter_staff()
    problems = []
    for lang in ("fa", "en"):
        d.kiosk.lang = lang
        for name in ("staff_counters", "staff_services", "staff_notices", "staff_queue", "staff_usb", "staff_info"):
            d.kiosk.home()
            pump()
            d.tap(name)
            d.kiosk.screen.refresh()
            pump(frames=4)
            problems += [(lang, name, p) for p in _off_screen(d.kiosk) + overflows(d.kiosk.screen)]
    assert problems == []
