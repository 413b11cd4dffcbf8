"""A customer at the kiosk: real window, real touches, real store, fake printer."""

from __future__ import annotations

import datetime as dt

from kiosk_harness import pump, seen

from kiosk.widgets import MIN_TARGET, Btn, Tile, find, overflows, walk
from pishkhan.boards.installed import install_board
from pishkhan.config import parse_config
from pishkhan.text.jalali import TEHRAN
from pishkhan.store.database import Store
from pishkhan.boards.trust import trust_key

FIRST = "ID-01"


def test_ticket_in_three_touches_is_stored_and_printed(make_kiosk, open_store, tmp_path):
    d = make_kiosk(open_store)
    assert d.kiosk.current == "attract"
    seen(d.screenshot(tmp_path / "attract.png"), "برای گرفتن نوبت لمس کنید", "تعرفه خدمات", "ساعات کاری امروز")
    d.tap("start")
    assert d.kiosk.current == "browse"
    seen(d.screenshot(tmp_path / "browse.png"), "خدمت مورد نظر را انتخاب کنید", "کارت هوشمند ملی", "هزینه کل")
    d.tap(f"service:{FIRST}")
    assert d.kiosk.current == "detail"
    seen(d.screenshot(tmp_path / "detail.png"), "جزئیات خدمت", "ثبت‌نام و صدور اولیه کارت هوشمند ملی", "هزینه دولتی",
         "کارمزد دفتر", "جمع کل", "مدارک لازم", "اصل شناسنامه", "دریافت نوبت", "کسی جلوتر از شما نیست")
    d.tap("take-ticket")
    assert d.touches == 3
    assert d.kiosk.current == "ticket"
    d.wait_for(lambda: d.kiosk.screen.params.get("print_state") != "printing")
    assert d.kiosk.screen.params["print_state"] == "printed"
    # The huge number itself defeats Tesseract; its text is checked on the widget.
    assert d.find("ticket-number").text == "A۰۰۱"
    seen(d.screenshot(tmp_path / "ticket.png"), "نوبت شما چاپ شد", "ثبت‌نام و صدور اولیه کارت هوشمند ملی")

    rows = open_store.query("SELECT * FROM tickets")
    assert [(r["label"], r["service_code"], r["print_state"]) for r in rows] == [("A001", FIRST, "ok")]
    assert b"\x1dv0" in d.printer.data and len(d.printer.jobs) == 1  # an ESC/POS raster image
    assert open_store.last_state("kiosk")["state"] == "accepting"
    d.tap("done")
    assert d.kiosk.current == "attract"


def test_priority_ticket_says_so_on_screen_and_in_the_store(make_kiosk, open_store):
    d = make_kiosk(open_store, threaded_print=False)
    d.tap("start")
    d.tap(f"service:{FIRST}")
    d.tap("priority-ticket")
    assert d.kiosk.current == "ticket" and d.find("priority-mark").text == "نوبت ویژه"
    assert [r["priority"] for r in open_store.query("SELECT priority FROM tickets")] == [1]
    d.tap("done")
    d.tap("start")
    d.tap(f"service:{FIRST}")
    d.tap("take-ticket")
    assert find(d.kiosk.screen, "priority-mark") is None


def test_printer_failure_keeps_the_number_on_screen(make_kiosk, open_store, tmp_path):
    d = make_kiosk(open_store)
    d.printer.fail_with("paper_out")
    d.tap("start")
    d.tap(f"service:{FIRST}")
    d.tap("take-ticket")
    d.wait_for(lambda: d.kiosk.screen.params.get("print_state") != "printing")
    assert d.kiosk.screen.params["print_state"] == "failed"
    assert d.find("ticket-number").text == "A۰۰۱"
    seen(d.screenshot(tmp_path / "failed.png"), "لطفاً شماره خود را یادداشت کنید", "چاپگر کار نمی‌کند")
    ticket = open_store.query_one("SELECT * FROM tickets")
    assert ticket["print_state"] == "paper_out" and ticket["state"] == "waiting"
    assert open_store.last_state("printer")["state"] == "paper_out"
    # The kiosk goes on: the next customer gets a ticket once paper is back.
    d.printer.recover()
    d.tap("done")
    d.tap("start")
    d.tap(f"service:{FIRST}")
    d.tap("take-ticket")
    d.wait_for(lambda: d.kiosk.screen.params.get("print_state") == "printed")
    assert [r["label"] for r in open_store.query("SELECT label FROM tickets ORDER BY id")] == ["A001", "A002"]


def _closed_office(tmp_path, issuer_key, sample_doc):
    """Weekly hours, and a store whose clock says Friday 10:00 in Tehran (closed)."""
    cfg = parse_config({"device": {"state_dir": str(tmp_path / "closed")}})
    friday = dt.datetime(2026, 11, 27, 10, 0, tzinfo=TEHRAN)
    store = Store(cfg.store_path, clock=lambda: friday.astimezone(dt.timezone.utc))
    trust_key(store, issuer_key.public, actor="test")
    install_board(store, issuer_key.sign(sample_doc), source="cli", actor="test")
    return cfg, store


def test_closed_screen_says_why_and_when(make_kiosk, tmp_path, issuer_key, sample_doc):
    cfg, store = _closed_office(tmp_path, issuer_key, sample_doc)
    with store:
        d = make_kiosk(store, cfg=cfg)
        assert "خدمات و تعرفه‌ها" in d.find("start").text  # not "take a ticket"
        d.tap("start")  # says why at once, not after a choice of service
        assert d.kiosk.current == "closed"
        seen(d.screenshot(tmp_path / "closed.png"), "دفتر اکنون بسته است", "دوباره", "شنبه", "۰۷:۳۰")
        d.tap("see-services")  # the fees can still be read
        d.tap(f"service:{FIRST}")
        assert d.kiosk.current == "detail" and find(d.kiosk.screen, "take-ticket") is None
        assert "دفتر اکنون بسته است" in d.find("not-accepting").text and "۰۷:۳۰" in d.find("not-accepting").text
        assert store.query("SELECT COUNT(*) FROM tickets")[0][0] == 0
        last = store.last_state("kiosk")
        assert (last["state"], last["reason"]) == ("not_accepting", "closed")


def test_no_counter_open_is_refused(make_kiosk, board_store):
    d = make_kiosk(board_store)
    d.tap("start")
    assert d.kiosk.current == "closed" and d.kiosk.screen.params["reason"] == "no_counter"
    assert board_store.last_state("kiosk")["reason"] == "no_counter"


def test_out_of_service_without_a_board_shows_the_device_id(make_kiosk, store, tmp_path):
    d = make_kiosk(store)
    assert d.kiosk.current == "out"
    seen(d.screenshot(tmp_path / "out.png"), "این دستگاه موقتاً از کار افتاده است", "کارمندان دفتر اطلاع دهید")
    assert d.find("device-id").text == "dev-0001"
    last = store.last_state("kiosk")
    assert (last["state"], last["reason"]) == ("out_of_service", "no_board")


def test_search_with_the_persian_keyboard(make_kiosk, open_store, tmp_path):
    d = make_kiosk(open_store)
    d.tap("start")
    d.tap("search")
    for ch in "گذرنامه":
        d.tap(f"key:{ch}")
    assert d.kiosk.screen.params["query"] == "گذرنامه"
    seen(d.screenshot(tmp_path / "search.png"), "گذرنامه", "صدور گذرنامه")
    tiles = [w for w in walk(d.kiosk.screen) if str(getattr(w, "name", "")).startswith("service:")]
    assert tiles and all(w.name.startswith("service:PASS") for w in tiles)
    d.tap(tiles[0].name)
    assert d.kiosk.current == "detail"
    d.tap("back")
    assert d.kiosk.current == "search" and d.kiosk.screen.params["query"] == "گذرنامه"
    d.tap("key:delete")
    assert d.kiosk.screen.params["query"] == "گذرنام"


def test_idle_timeout_returns_to_attract_for_the_next_customer(make_kiosk, open_store):
    now = [1000.0]
    d = make_kiosk(open_store, monotonic=lambda: now[0])
    d.tap("language")
    d.tap("text-size")
    d.tap("start")
    d.tap(f"service:{FIRST}")
    now[0] += d.config.get("kiosk.idle_timeout") - 1
    d.kiosk.tick()
    assert d.kiosk.current == "detail"
    now[0] += 2
    d.kiosk.tick()
    assert d.kiosk.current == "attract"
    assert (d.kiosk.lang, d.kiosk.scale) == ("fa", 1.0)  # the next customer starts in Persian


def test_english_screens_carry_no_persian_of_the_kiosk_own(make_kiosk, open_store, config):
    """Today's hours and the ticket's service are in English too (board documents
    and notices are the office's own words, in Persian only)."""
    import re

    d = make_kiosk(open_store, threaded_print=False)
    d.tap("language")
    assert re.search("[\u0600-\u06FF]", d.find("hours").text) is None, d.find("hours").text
    d.tap("start")
    d.tap(f"service:{FIRST}")
    d.tap("take-ticket")
    assert d.find("ticket-service").text == "Smart national ID card: first issue"


def test_language_toggle_mirrors_the_layout_and_text_size_grows(make_kiosk, open_store, tmp_path):
    d = make_kiosk(open_store)
    d.tap("start")
    back = d.find("back")
    assert back.to_window(*back.center)[0] > d.kiosk.width / 2  # Persian: back on the right
    size = d.find(f"service:{FIRST}").children[-1].font_size
    d.tap("language")
    back = d.find("back")
    assert back.to_window(*back.center)[0] < d.kiosk.width / 2  # English: back on the left
    assert "Choose a service" in d.find("title").text
    d.tap("language")
    d.tap("text-size")
    assert d.find(f"service:{FIRST}").children[-1].font_size > size


def test_every_touch_target_is_at_least_12mm(make_kiosk, open_store):
    d = make_kiosk(open_store)
    checked = 0
    for step in ("start", f"service:{FIRST}", "back", "search"):
        d.tap(step)
        for w in walk(d.kiosk.screen):
            if isinstance(w, (Btn, Tile)) and w.width > 0:
                assert min(w.width, w.height) >= MIN_TARGET - 2, (d.kiosk.current, w.name, w.size)
                checked += 1
    assert checked > 40


def test_at_the_largest_text_size_no_button_spills_its_words(make_kiosk, open_store):
    d = make_kiosk(open_store)
    d.tap("start")
    d.tap("text-size")
    d.tap("text-size")
    assert d.kiosk.scale == 1.5
    checked = shrunk = 0
    for step in (None, f"service:{FIRST}", "back", "search"):
        if step:
            d.tap(step)
        pump()
        for w in walk(d.kiosk.screen):
            if isinstance(w, Btn) and w.width > 0 and w.text:
                tw, th = w.texture_size
                assert th <= w.height - 8 and tw <= w.width - 8, (d.kiosk.current, w.name, w.text, w.size, tw, th)
                checked += 1
                shrunk += w.font_size < w._type_size
    assert checked > 20 and shrunk >= 1  # e.g. a long group name at 1.5x


def test_nothing_overlaps_at_any_text_size_in_either_language(make_kiosk, open_store, config):
    """Kivy draws fixed rows that do not fit over their neighbours: every screen
    a customer passes must fit at every text size (checked on the laid-out widgets),
    and every character shown must be in the font (Kivy drops missing ones silently)."""
    from kivy.uix.label import Label

    from pishkhan.exc import MissingGlyph
    from pishkhan.render.typeset import check_glyphs
    from pishkhan.boards.notices import post_notice
    from pishkhan.queue.core import Queue

    post_notice(open_store, "برق ساختمان از ساعت ۱۲ تا ۱۳ قطع است", actor="test")
    queue = Queue(open_store, config)
    for _ in range(3):
        queue.issue(FIRST)
    d = make_kiosk(open_store, threaded_print=False)
    found, seen_screens = [], set()

    def check():
        d.kiosk.screen.refresh()
        pump(frames=4)
        seen_screens.add(d.kiosk.current)
        found.extend(f"{d.kiosk.lang} {d.kiosk.scale} {d.kiosk.current}: {o}" for o in overflows(d.kiosk.screen))
        for w in walk(d.kiosk.screen):
            if isinstance(w, Label) and w.text:
                try:
                    check_glyphs(w.text, "Bold" if w.bold or "Bold" in w.font_name else "Regular")
                except MissingGlyph as e:
                    found.append(f"{d.kiosk.current}: {e}")

    for lang in ("fa", "en"):
        for scale in (1.0, 1.25, 1.5):
            d.kiosk.finish()
            d.kiosk.lang, d.kiosk.scale = lang, scale
            check()
            for step in ("start", f"service:{FIRST}", "back", "search", "home", "start", f"service:{FIRST}",
                         "take-ticket"):
                d.tap(step)
                if step not in ("back", "home"):
                    check()
    assert seen_screens == {"attract", "browse", "detail", "search", "ticket"}
    assert found == []


def test_another_process_marking_a_service_unavailable_updates_the_screen(make_kiosk, open_store, config):
    from pishkhan.boards.installed import set_unavailable

    d = make_kiosk(open_store)
    d.tap("start")
    assert "فعلاً" not in d.find(f"service:{FIRST}").children[0].text
    with Store(config.store_path) as other:  # e.g. the agent, on behalf of the centre
        set_unavailable(other, FIRST, "سامانه قطع است", actor="centre")
    d.kiosk.tick()
    pump()
    assert "سامانه قطع است" in d.find(f"service:{FIRST}").children[0].text
