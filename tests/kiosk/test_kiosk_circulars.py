"""The circulars library on the kiosk: staff read a circular's pages (drawn from its PDF, read back by
OCR) and acknowledge it; a corrupt PDF is said in Persian and the rest of the library works; the
inspector's view, reached from the PIN pad without a PIN, changes nothing whatever is pressed."""

from __future__ import annotations

import sqlite3

import pytest
from circulars_for_screens import entry, install, keep, persian_pdf
from kiosk_harness import pump, seen

from kiosk.app import INSPECTOR_SCREENS, STAFF_SCREENS
from kiosk.strings import t
from kiosk.widgets import Btn, Tile, overflows, walk

TITLE = "بخشنامه تعرفه گذرنامه"
SECOND = "صفحه دوم پیوست"


@pytest.fixture
def library_store(open_store, config, issuer_key):
    """Three circulars: a two-page Persian PDF (kept), an instruction not yet fetched, a corrupt PDF (kept)."""
    good, corrupt = persian_pdf(TITLE, SECOND), b"%PDF-1.4\n" + b"not a pdf at all " * 40
    install(open_store, issuer_key, [
        entry("1405/123", good, title=TITLE, issued_on="1405-09-16"),
        entry("1405/7", persian_pdf("دستورالعمل"), kind="instruction", title="دستورالعمل پذیرش",
              issued_on="1405-08-01"),
        entry("1405/99", corrupt, title="بخشنامه خراب", issued_on="1405-09-01")])
    keep(open_store, config, good, number="1405/123")
    keep(open_store, config, corrupt, number="1405/99")
    return open_store


def enter_staff(d):
    d.kiosk.open_pin_pad()
    pump()
    for digit in "1234":
        d.tap(f"pin:{digit}")
    d.tap("pin:OK")
    assert d.kiosk.current == "staff"


def tiles(d) -> list:
    return sorted((w for w in walk(d.kiosk.screen) if isinstance(w, Tile)), key=lambda w: -w.y)


def test_staff_read_the_pages_and_acknowledge_and_a_corrupt_file_is_said(make_kiosk, library_store, tmp_path):
    d = make_kiosk(library_store)
    enter_staff(d)
    d.tap("staff_library")
    shown = tiles(d)
    assert [w.name for w in shown] == ["circular:1405/123", "circular:1405/99", "circular:1405/7"]  # newest first
    first = " ".join(label.text for label in walk(shown[0]) if hasattr(label, "text"))
    assert t("unread") in first and shown[0].unread
    d.tap("kind:instruction")
    assert [w.name for w in tiles(d)] == ["circular:1405/7"]
    d.tap("kind:all")
    d.tap("circular:1405/123")
    assert d.find("summary").text.startswith("ساعت کار دفاتر")
    d.tap("pages")
    assert d.kiosk.current == "staff_circular_page" and d.find("page-prev").disabled
    assert not overflows(d.kiosk.screen)
    seen(d.screenshot(tmp_path / "page1.png"), TITLE)  # the PDF's own Persian title, read off the kiosk's screen
    d.tap("page-next")
    assert d.find("page-number").text == t("page_of", n=2, total=2) and d.find("page-next").disabled
    pages = sorted(p.name for p in (d.config.state_dir / "circulars" / "pages").iterdir())
    assert len(pages) == 2 and pages[0].endswith("-1.png")  # cached by hash and page
    d.tap("back")  # the page turned in place: one back to the circular
    d.tap("acknowledge")
    assert d.find("message").text == t("acknowledged_ok")
    e = d.kiosk.model.library.entry("national", "1405/123")
    assert e.acknowledged_by == "staff" and e.acknowledged_at
    facts = library_store.query("SELECT actor, action, subject FROM audit_log WHERE action = 'circular.acknowledged'")
    assert [tuple(r) for r in facts] == [("staff", "circular.acknowledged", "national/1405/123")]
    assert "acknowledge" not in {getattr(w, "name", "") for w in walk(d.kiosk.screen)}  # once only
    d.tap("back")
    assert not tiles(d)[0].unread
    # a corrupt file is said in Persian, and the library works on
    d.tap("circular:1405/99")
    d.tap("pages")
    assert d.find("page-problem").text == t("file_broken")
    d.tap("to-library")
    # one not fetched yet likewise; a named acknowledgement, typed on the Persian keyboard's screen
    d.tap("circular:1405/7")
    d.tap("pages")
    assert d.find("page-problem").text == t("file_missing")
    d.tap("back")
    d.tap("acknowledge-named")
    assert d.kiosk.current == "staff_ack_name"
    d.kiosk.screen.set_text("مریم رضایی")
    d.tap("submit")
    assert d.kiosk.current == "staff_circular" and d.find("message").text == t("acknowledged_ok")
    assert d.kiosk.model.library.entry("national", "1405/7").acknowledged_by == "مریم رضایی"


def dump(store_path) -> list[str]:
    """Everything in the store file, as SQL (read on a connection of its own)."""
    with sqlite3.connect(f"file:{store_path}?mode=ro", uri=True) as c:
        return list(c.iterdump())


def buttons(screen) -> list[str]:
    return sorted({w.name for w in walk(screen) if isinstance(w, (Btn, Tile)) and w.name and not w.disabled})


def press(kiosk, name) -> bool:
    """Press the button *name* on the current screen; False when it is not there (an earlier press removed it)."""
    for w in walk(kiosk.screen):
        if getattr(w, "name", None) == name and isinstance(w, (Btn, Tile)):
            if isinstance(w, Tile):
                w.on_press()
            else:
                w.dispatch("on_release")
            return True
    return False


def test_the_inspector_sees_everything_and_can_change_nothing(make_kiosk, library_store, config):
    d = make_kiosk(library_store)
    d.kiosk.open_pin_pad()
    pump()
    d.tap("inspector")  # no PIN
    k = d.kiosk
    assert k.current == "inspector" and not k.staff_mode
    before = dump(config.store_path)
    # every screen reachable from the inspector's menu, and every button there pressed once (the header's language
    # and text-size buttons, the same on every screen, on the menu)
    todo, opened, done, left_to = [("inspector", (), ())], {("inspector", ())}, set(), set()
    while todo:
        name, params, history = todo.pop()
        for button in buttons(_open(k, name, params, history)):
            if (name, button) in done or (name != "inspector" and button in ("language", "text-size")):
                continue
            done.add((name, button))
            _open(k, name, params, history)
            press(k, button)
            assert not k.staff_mode, f"{button} on {name} entered staff mode"
            assert k.current not in STAFF_SCREENS | {"staff"}, f"{button} on {name} opened {k.current}"
            if k.current not in INSPECTOR_SCREENS:
                left_to.add(k.current)  # the way out: the customers' start
                assert not k.inspector_mode
                continue
            key = (k.current, tuple(sorted((p, v) for p, v in k.screen.params.items() if p != "message")))
            if key not in opened:
                opened.add(key)
                todo.append((*key, tuple((n, tuple(sorted(p.items()))) for n, p in k.history)))
    assert left_to == {"attract"}
    assert {name for name, _ in opened} == INSPECTOR_SCREENS  # every inspector screen was reached
    assert {"acknowledge", "acknowledge-named"}.isdisjoint(b for _, b in done) and len(done) > 25
    assert dump(config.store_path) == before  # nothing changed: no acknowledgement, no audit, no setting
    k.lang, k.scale = "fa", 1.0  # the walk pressed the language and text-size buttons
    k.enter_inspector()
    assert press(k, "inspector_library")
    text = " ".join(w.text for w in walk(k.screen) if hasattr(w, "text") and isinstance(w.text, str))
    assert t("not_acknowledged") in text and "دریافت:" in text  # received and acknowledged times
    k.last_touch -= float(config.kiosk.staff_timeout) + 1  # left alone: back to the customers' start
    k.tick()
    assert k.current == "attract" and not k.inspector_mode
    k.enter_staff()  # staff reach it from their menu too, and come back to it
    assert press(k, "inspector_title") and k.current == "inspector"
    assert press(k, "inspector_exit") and k.current == "staff" and k.staff_mode


def _open(k, name, params, history):
    k.inspector_mode = True
    k.history = [(n, dict(p)) for n, p in history]
    k.show(name, push=False, **dict(params))
    return k.screen
